"""Live runs from other commands: run -d, ps, logs (-f), kill, --resume, sweeps sharing the GPUs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import GIT_ENV
from test_run import record
from test_scheduler import FAKE_JOB


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def ps(repo):
    return json.loads(repo.gitexp("ps", "--json").stdout)


def gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_detach_then_ps_logs_and_kill_a_whole_sweep(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2, 0.3]\n  sleep: 60\n")
    started = time.time()
    proc = repo.gitexp("run", "exp.yml", "-d", "-j", "2")
    assert time.time() - started < 30 and "3 run(s) queued in sweep exp" in proc.stderr
    scheduler_pid = int(proc.stderr.split("scheduler pid ")[1].split()[0])

    def two_running():
        running = [r for r in ps(repo) if r["status"] == "running"]
        return running if len(running) == 2 else None

    rows = wait_for(two_running, what="two running runs")
    assert {r["sweep"] for r in rows} == {"exp"} and all(r["pid"] for r in rows)
    assert [r["status"] for r in ps(repo)].count("queued") == 1
    first = rows[0]["run"]
    wait_for(lambda: "trained lr" in repo.gitexp("logs", first).stdout, what="output in logs")

    killed = repo.gitexp("kill", "exp")
    assert killed.stderr.count("cancelled") == 3
    assert ps(repo) == []
    infos = [record(repo, ref) for ref in repo.refs()]
    assert sorted(i["status"] for i in infos) == ["cancelled"] * 3
    wait_for(lambda: all(gone(r["pid"]) for r in rows), timeout=10, what="the jobs' process groups to go")
    wait_for(lambda: gone(scheduler_pid), what="the background scheduler to exit")
    assert "trained lr" in repo.gitexp("logs", first).stdout  # the committed log, once it ended


@pytest.mark.slow
def test_kill_one_run_lets_the_others_finish(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2]\n  sleep: 60\n")
    repo.gitexp("run", "exp.yml", "-d", "-j", "2")
    wait_for(lambda: len([r for r in ps(repo) if r["status"] == "running"]) == 2, what="two running runs")
    repo.gitexp("kill", "exp/lr0.1")
    assert [r["run"] for r in ps(repo)] == ["exp/lr0.2"]
    repo.gitexp("kill", "lr0.2")
    assert {record(repo, ref)["status"] for ref in repo.refs()} == {"cancelled"}


def test_logs_follow_until_the_run_ends(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n  sleep: 2\n")
    repo.gitexp("run", "exp.yml", "-d")
    ref = next(iter(repo.refs()))  # queued before `run -d` returns
    followed = repo.gitexp("logs", "-f", ref.removeprefix("refs/experiments/"))
    assert "trained lr 0.1" in followed.stdout
    # -f returns once the run has ended; its record follows within moments
    wait_for(lambda: record(repo, ref)["status"] == "completed", timeout=10, what="the completed record")


def test_kill_refuses_what_is_not_running(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n")
    repo.gitexp("run", "exp.yml")
    proc = repo.gitexp("kill", "exp/lr0.1", check=False)
    assert proc.returncode == 2 and "not running" in proc.stderr
    proc = repo.gitexp("kill", "nosuch", check=False)
    assert proc.returncode == 2 and "no run" in proc.stderr


def test_resume_reruns_only_runs_without_a_completed_record(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  fail: [true, false]\n")
    assert repo.gitexp("run", "exp.yml", check=False).returncode == 1
    proc = repo.gitexp("run", "exp.yml", "--resume", check=False)
    assert "--resume skipped 1 completed run(s)" in proc.stderr
    by_fail = {record(repo, ref)["params"]["fail"]: record(repo, ref) for ref in repo.refs()}
    assert len(repo.refs()) == 2  # rerun in place, no new run
    assert [a["status"] for a in by_fail[True]["attempts"]] == ["failed", "failed"]
    assert len(by_fail[False]["attempts"]) == 1


def test_two_sweeps_launched_at_once_share_the_gpu_through_one_ledger(repo, tmp_path):
    repo.commit(**{"fakejob.py": FAKE_JOB})
    state = tmp_path / "gpu-state"
    state.mkdir()
    env = {**os.environ, **GIT_ENV, "GITEXP_FAKE_GPUS": json.dumps([{"name": "small", "memory_mib": 8000}]),
           "GITEXP_FAKE_GPU_STATE": str(state)}
    # 2048 MiB each, 1024 MiB margin: three fit on the GPU, never four
    for name in ("a", "b"):
        repo.write(f"{name}.yml", "CMD: python fakejob.py\nRESOURCES:\n  gpu_mem: 2G\n"
                                  "HPARAMS:\n  mib: [2000, 2001]\n  expect: 4\n  hold: 2\n")
    procs = [subprocess.Popen([sys.executable, "-m", "gitexp", "run", f"{name}.yml"], cwd=repo.path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    peers = [json.loads(line)["peers"] for out, _ in outputs for line in out.splitlines() if '"peers"' in line]
    assert len(peers) == 4 and max(peers) <= 3
    assert json.loads((repo.path / ".git/gitexp/gpus.json").read_text()) == []


def test_ps_reads_the_index_live_rows_not_every_record(repo, monkeypatch):
    import recordgen
    from gitexp.index.live import live_runs
    from gitexp.record import liveness
    from gitexp.record.git import Git, open_repo
    from gitexp.run import control

    here = {"scheduler": liveness.owner()}  # this process: alive, so the runs stay running
    records = recordgen.synthetic(20, sweeps=2)
    records += [recordgen.Record("live", f"r{i}", {"lr": i}, {"acc": 0.1 * i}, status=status, info=here)
                for i, status in enumerate(("running", "queued"))]
    recordgen.write(repo.path, records)
    git = open_repo(repo.path)
    expected = control.ps(git)  # every record read
    assert [r["run"] for r in expected] == ["live/r0", "live/r1"]
    live_runs(git)  # builds the index
    spawned = []
    real = Git.spawn
    monkeypatch.setattr(Git, "spawn", lambda self, *args: spawned.append(args) or real(self, *args))
    fresh = control.ps(git, live_runs(git))
    assert [{k: v for k, v in r.items() if k != "elapsed"} for r in fresh] == \
           [{k: v for k, v in r.items() if k != "elapsed"} for r in expected]
    assert not [args for args in spawned if args[:1] == ("cat-file",)]  # no record was read


def test_kill_reads_the_runs_it_names_not_every_record(repo, monkeypatch):
    """Resolving and waiting on one run costs O(1) runs, a sweep O(its runs), at any repo size."""
    import recordgen
    from gitexp.record import liveness
    from gitexp.record.git import CatFile, open_repo
    from gitexp.record.refs import RunRef
    from gitexp.run import control

    here = {"scheduler": liveness.owner()}  # this process: alive, so the runs stay running
    records = recordgen.synthetic(20, sweeps=2)
    records += [recordgen.Record("live", f"r{i}", {"lr": i}, {"acc": 0.1 * i}, status="running", info=here)
                for i in range(2)]
    recordgen.write(repo.path, records)
    git = open_repo(repo.path)
    others = [sha for ref, sha in repo.refs().items() if not ref.startswith("refs/experiments/live/")]
    asked = []
    real = CatFile._ask
    monkeypatch.setattr(CatFile, "_ask", lambda self, rev, *a, **k: asked.append(rev) or real(self, rev, *a, **k))
    assert control.live_targets(git, ["live/r0"]) == [RunRef("live", "r0")]
    assert sorted(map(str, control.live_targets(git, ["live"]))) == ["live/r0", "live/r1"]
    result = control.stop(git, [RunRef("live", "r1")], wait=0)  # nobody answers: still live after the wait
    assert result.still_live == ["live/r1"] and not result.stopped
    control.StopRequests(git).clear(RunRef("live", "r1"))
    assert asked and not [rev for rev in asked if any(rev.startswith(sha) for sha in others)]


def test_kill_of_a_sweep_with_nothing_live_says_so(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n")
    repo.gitexp("run", "exp.yml")
    proc = repo.gitexp("kill", "exp", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "gitexp: error: sweep exp has no queued or running run (nothing to stop) (see `gitexp ps`)"]
