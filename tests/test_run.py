"""`gitexp run` end to end: real repos, real subprocesses, records read straight from git."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from test_snapshot import user_state

SWEEP = """\
CMD: python train.py
HPARAMS:
  lr: [0.1, 0.01]
  logdir: LOGDIR
"""


def record(repo, ref: str, name: str = "run.json"):
    text = repo.show(f"{ref}:.gitexp/{name}")
    return json.loads(text) if name.endswith(".json") else text


def test_sweep_becomes_one_ref_per_run_sharing_one_snapshot(repo):
    repo.write("exp.yml", SWEEP)
    repo.write("train.py", repo.path.joinpath("train.py").read_text() + "# uncommitted edit\n")
    before = user_state(repo)

    proc = repo.gitexp("run", "exp.yml")

    assert user_state(repo) == before
    refs = repo.refs()
    assert sorted(refs) == ["refs/experiments/exp/lr0.01", "refs/experiments/exp/lr0.1"]
    snapshots = {repo.git("rev-parse", f"{sha}^1").strip() for sha in refs.values()}
    assert len(snapshots) == 1
    snapshot = snapshots.pop()
    assert repo.git("rev-parse", f"{snapshot}^1").strip() == repo.git("rev-parse", "HEAD").strip()
    assert "# uncommitted edit" in repo.show(f"{snapshot}:train.py")
    assert "exp.yml" in repo.git("ls-tree", "--name-only", snapshot)

    info = record(repo, "refs/experiments/exp/lr0.1")
    run_dir = info["logdir"]
    assert info["schema"] == 1 and info["status"] == "completed" and info["exit_code"] == 0
    assert info["params"]["lr"] == 0.1
    assert info["command"] == f"python train.py --lr 0.1 --logdir {run_dir}"
    assert info["snapshot"] == snapshot and info["base_commit"] == repo.git("rev-parse", "HEAD").strip()
    assert info["started"] and info["ended"] and info["duration"] >= 0
    assert run_dir.endswith(".git/gitexp/runs/exp/lr0.1")
    assert json.loads(repo.show("refs/experiments/exp/lr0.1:.gitexp/metrics.json")) == {
        "loss": pytest.approx(0.1 / 3), "acc": pytest.approx(0.7)}
    series = [json.loads(line) for line in record(repo, "refs/experiments/exp/lr0.1", "metrics.jsonl").splitlines()]
    assert [(p["step"], p["key"]) for p in series][:2] == [(0, "loss"), (0, "acc")]
    output = record(repo, "refs/experiments/exp/lr0.1", "output.log")
    assert f"trained lr 0.1 logdir {run_dir} env {run_dir}" in output
    assert "trained lr 0.1" in proc.stdout  # streamed to the terminal too


def test_failing_run_is_recorded_failed_and_others_still_run(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  fail: [true, false]\n")
    proc = repo.gitexp("run", "exp.yml", check=False)
    assert proc.returncode == 1
    failed = record(repo, "refs/experiments/exp/fail_True")
    assert failed["status"] == "failed" and failed["exit_code"] == 3
    assert "boom" in record(repo, "refs/experiments/exp/fail_True", "output.log")
    assert record(repo, "refs/experiments/exp/fail_False")["status"] == "completed"


def test_rerun_gets_new_names_and_keeps_old_records(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.5]\n")
    repo.gitexp("run", "exp.yml")
    repo.gitexp("run", "exp.yml")
    assert sorted(repo.refs()) == ["refs/experiments/exp/lr0.5", "refs/experiments/exp/lr0.5-2"]


def test_workspace_changed_mid_sweep_runs_the_snapshotted_code(repo):
    # The first run edits train.py in the workspace; the second must still run the launch-time code.
    repo.write("train.py", "import pathlib, sys\nprint('version one')\n"
                           "pathlib.Path('train.py').write_text(\"print('version two')\\n\")\n")
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  x: [1, 2]\n")
    repo.gitexp("run", "exp.yml")
    assert "version one" in record(repo, "refs/experiments/exp/x1", "output.log")
    second = record(repo, "refs/experiments/exp/x2")
    assert "version one" in record(repo, "refs/experiments/exp/x2", "output.log")
    assert ".git/gitexp/checkouts/" in second["code_dir"]


def test_parallel_jobs_and_concurrent_launches_never_clobber(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2, 0.3]\n  sleep: 0.3\n")
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    procs = [subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml", "-j", "2"], cwd=repo.path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    refs = repo.refs()
    assert len(refs) == 9
    statuses = {record(repo, ref)["status"] for ref in refs}
    assert statuses == {"completed"}


@pytest.mark.slow
def test_ctrl_c_cancels_every_run_and_writes_every_record(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2, 0.3]\n  sleep: 30\n")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml", "-j", "2"], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while time.time() < deadline:
        if sum(1 for ref in repo.refs() if record(repo, ref)["status"] == "running") == 2:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    infos = [record(repo, ref) for ref in repo.refs()]
    assert sorted(i["status"] for i in infos) == ["cancelled"] * 3
    for info in infos:
        if info.get("pid"):
            with pytest.raises(ProcessLookupError):
                os.killpg(info["pid"], 0)


@pytest.mark.slow
def test_kill_9_of_the_scheduler_leaves_no_orphan_and_runs_become_lost(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n  sleep: 60\n")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml"], cwd=repo.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    info = {}
    while time.time() < deadline:
        refs = repo.refs()
        if refs:
            info = record(repo, next(iter(refs)))
            if info["status"] == "running":
                break
        time.sleep(0.1)
    assert info.get("status") == "running"
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.killpg(info["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the job outlived its scheduler")
    listed = json.loads(repo.gitexp("ls", "--json").stdout)
    assert listed[0]["status"] == "lost"
    assert record(repo, next(iter(repo.refs())))["status"] == "lost"


def test_a_run_whose_ref_is_taken_away_stops_alone_and_its_siblings_finish(repo):
    # Run "x1" deletes its own ref mid-run (as another tool might); gitexp must not clobber
    # whatever is there now, must stop that run, and must still record its sibling.
    repo.write("job.py", "import subprocess, sys, time\n"
                         "ref = 'refs/experiments/exp/x1'\n"
                         "if sys.argv[2] == '1':\n"
                         "    while b'running' not in subprocess.run(['git', 'show', ref + ':.gitexp/run.json'],\n"
                         "                                           capture_output=True).stdout:\n"
                         "        time.sleep(0.05)\n"
                         "    subprocess.run(['git', 'update-ref', '-d', ref], check=True)\n"
                         "    time.sleep(20)\n"
                         "else:\n    time.sleep(1)\n")
    repo.write("exp.yml", "CMD: python job.py\nHPARAMS:\n  x: [1, 2]\n")
    started = time.time()
    # the next live commit (every second here) finds the ref gone
    proc = repo.gitexp("run", "exp.yml", "-j", "2", "--live-interval", "1", check=False)
    assert time.time() - started < 15, "the run whose ref vanished was not stopped"
    assert "refs/experiments/exp/x1" not in repo.refs()
    assert record(repo, "refs/experiments/exp/x2")["status"] == "completed"
    assert proc.returncode == 1 and "x1" in proc.stderr


def test_logroot_puts_run_folders_where_the_user_asked(repo, tmp_path):
    logroot = tmp_path / "big-disk"
    repo.write("exp.yml", f"CMD: python train.py\nLOGROOT: {logroot}\nHPARAMS:\n  lr: [0.1]\n  logdir: LOGDIR\n")
    repo.gitexp("run", "exp.yml")
    info = record(repo, "refs/experiments/exp/lr0.1")
    assert info["status"] == "completed"
    assert (logroot / "exp" / "lr0.1" / ".gitexp" / "metrics.jsonl").exists()
    shown = json.loads(repo.gitexp("show", "exp/lr0.1", "--json").stdout)
    assert shown["metrics"]["acc"] == pytest.approx(0.7)
    repo.gitexp("rm", "-y", "exp")
    repo.gitexp("gc", "--no-prune")
    assert not (logroot / "exp" / "lr0.1").exists()
    assert not (repo.path / ".git" / "gitexp" / "runs" / "exp" / "lr0.1").exists()
