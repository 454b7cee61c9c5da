"""Reliability under stress: kill -9, concurrent writers and readers, a broken index, failing
git writes, refs moved behind gitexp's back. Every test is bounded by pytest's timeout."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import GIT_ENV, alive
from test_security import LspClient

SLEEPY = "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]\n  sleep: [1.5]\n"  # outlasts a query
PIDS_PY = """\
import os, sys, time, subprocess
open(os.path.join(os.environ["PIDS"], str(os.getpid())), "w").close()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(os.path.join(os.environ["PIDS"], str(child.pid)), "w").close()
time.sleep(float(sys.argv[-1]))
child.kill()
"""


def _statuses(repo) -> dict[str, str]:
    return {r["name"]: r["status"] for r in json.loads(repo.gitexp("ls", "--json").stdout)}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_of_the_scheduler(repo, tmp_path, seed):
    pids = tmp_path / "pids"
    pids.mkdir()
    repo.write("job.py", PIDS_PY)
    repo.write("s.yml", "CMD: python job.py\nHPARAMS:\n  sleep: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]\n")
    env = {**os.environ, **GIT_ENV, "PIDS": str(pids)}
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "s.yml", "-j", "2"], cwd=repo.path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(pids.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.Random(seed).uniform(0.0, 1.2))  # somewhere in the sweep
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20  # the reaper: SIGTERM, then SIGKILL 3 s later
    while any(alive(int(p.name)) for p in pids.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p.name for p in pids.iterdir() if alive(int(p.name))], "orphan job processes"
    statuses = _statuses(repo)
    assert len(statuses) == 6 and not {"running", "queued"} & set(statuses.values()), statuses
    repo.gitexp("run", "s.yml", "--resume", "-j", "3", timeout=60, env={"PIDS": str(pids)})
    done = [r for r in json.loads(repo.gitexp("ls", "--json").stdout) if r["status"] == "completed"]
    assert sorted(r["params"]["sleep"] for r in done) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@pytest.mark.slow
def test_two_sweeps_queries_and_the_language_server_at_once(repo):
    repo.write("a.yml", SLEEPY)
    repo.write("b.yml", SLEEPY.replace("1.5]", "1.0]"))
    env = {**os.environ, **GIT_ENV}
    client = LspClient(repo.path)
    client.start(repo.path)  # before the sweeps: on a busy machine they could end before it is up
    sweeps = [subprocess.Popen([sys.executable, "-m", "gitexp", "run", name, "-j", "3"], cwd=repo.path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("a.yml", "b.yml")]
    try:
        answers = 0
        while any(p.poll() is None for p in sweeps):
            query = repo.gitexp("query", "select sweep, count(*) group by sweep", "--format", "json")
            assert "lock" not in query.stderr.lower()
            lsp = client.request("gitexp/query", {"sql": "select count(*) as n"})
            assert "error" not in lsp, lsp
            answers += 1
        assert answers >= 1
        final = client.request("gitexp/runs", {"limit": 100})["result"]
    finally:
        client.close()
    for proc in sweeps:
        out, err = proc.communicate()
        assert proc.returncode == 0 and "lock" not in err.lower(), err
    runs = json.loads(repo.gitexp("ls", "--json").stdout)
    assert sorted((r["sweep"], r["params"]["lr"]) for r in runs) == \
        sorted((s, lr) for s in ("a", "b") for lr in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    assert {r["status"] for r in runs} == {"completed"}
    assert final["total"] == 12


def test_index_deleted_or_truncated_between_queries(repo):
    repo.write("s.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.2, 0.3]\n")
    repo.gitexp("run", "s.yml")
    sql = ("select name, lr, acc, (select count(*) from series s where s.run = runs.run) as points "
           "order by name")
    expected = repo.gitexp("query", sql, "--format", "csv").stdout
    index = repo.path / ".git/gitexp/index.duckdb"
    damage = [lambda: index.unlink(), lambda: index.write_bytes(index.read_bytes()[:100]),
              lambda: index.write_bytes(b"\0" * 4096), lambda: index.write_bytes(b"")]
    for hurt in damage:
        hurt()
        proc = repo.gitexp("query", sql, "--format", "csv")
        assert proc.stdout == expected and "Traceback" not in proc.stderr


FAILING_GIT = """#!/bin/sh
case " $* " in
  *" fast-import "*) if [ -e "$FAIL_WRITES" ]; then
    echo "fatal: cannot write object: No space left on device" >&2
    exit 128
  fi ;;
esac
exec {git} "$@"
"""


def test_write_failure_keeps_the_run_and_a_later_command_records_it(repo, tmp_path):
    """The job itself makes every later `git fast-import` fail (disk full) before it exits."""
    import shutil

    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "git"
    wrapper.write_text(FAILING_GIT.format(git=shutil.which("git")))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    flag = tmp_path / "disk-full"
    repo.write("s.yml", f"CMD: python train.py --lr 0.5 && touch {flag}\nHPARAMS:\n  RUNX.TAG: [full]\n")
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "FAIL_WRITES": str(flag)}
    proc = repo.gitexp("run", "s.yml", check=False, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "No space left on device" in proc.stderr.strip().splitlines()[-1]
    folder = repo.path / ".git/gitexp/runs/s/full"
    assert json.loads((folder / ".gitexp/run.json").read_text())["status"] == "completed"
    assert (folder / ".gitexp/metrics.jsonl").read_text() and b"trained lr 0.5" in (folder / ".gitexp/output.log").read_bytes()
    ref = "refs/experiments/s/full"
    assert json.loads(repo.show(f"{ref}:.gitexp/run.json"))["status"] == "running"
    flag.unlink()  # space again
    assert _statuses(repo) == {"full": "completed"}
    record = json.loads(repo.show(f"{ref}:.gitexp/run.json"))
    assert record["status"] == "completed" and record["exit_code"] == 0
    assert json.loads(repo.show(f"{ref}:.gitexp/metrics.json"))["acc"] == pytest.approx(1.5)
    assert "trained lr 0.5" in repo.show(f"{ref}:.gitexp/output.log")


def test_ref_moved_behind_gitexps_back_is_never_overwritten(repo):
    """The job moves its own ref; the scheduler's final write must refuse, keeping that value."""
    repo.write("s.yml", "CMD: python train.py --sleep 0.5 && git update-ref refs/experiments/$GITEXP_RUN HEAD\n"
                        "HPARAMS:\n  RUNX.TAG: [moved]\n")
    proc = repo.gitexp("run", "s.yml", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "changed behind gitexp's back, nothing was overwritten" in proc.stderr
    assert "s/moved: not recorded" in proc.stderr.strip().splitlines()[-1]
    assert repo.refs()["refs/experiments/s/moved"] == repo.git("rev-parse", "HEAD").strip()
    folder = repo.path / ".git/gitexp/runs/s/moved"
    # whichever write came after the move refused (normally the final one); the files stay
    assert json.loads((folder / ".gitexp/run.json").read_text())["status"] in ("running", "completed")
    assert "Traceback" not in repo.gitexp("ls").stderr  # a ref at a non-record commit is shown, not fatal
