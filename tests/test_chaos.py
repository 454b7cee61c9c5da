"""Chaos: kill -9 at random points of sweeps, concurrent launches with queries in a loop, many
short jobs on many slots. Each scenario prints one `chaos:` line of figures (bench/benchmarks.md's
reliability table quotes them; `pytest tests/test_chaos.py -s` shows them). The full-disk and
hostile-input parts of the suite are in test_faults.py and test_hostile_inputs.py.

CHAOS_TRIALS overrides the number of kill -9 trials (20 by default)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import GIT_ENV, alive

pytestmark = pytest.mark.slow

JOB_PY = """\
import os, sys, time, subprocess
import gitexp
open(os.path.join(os.environ["PIDS"], str(os.getpid())), "w").close()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
open(os.path.join(os.environ["PIDS"], str(child.pid)), "w").close()  # one that even leaves the group
for step in range(4):
    gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
    time.sleep(float(sys.argv[-1]) / 4)
child.kill()
"""
SWEEP = "CMD: python job.py\nHPARAMS:\n  sleep: [0.2, 0.4, 0.6, 0.8]\n"
ENV = {**os.environ, **GIT_ENV}


def _gitexp(path: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gitexp", *args], cwd=path, capture_output=True, text=True,
                          env={**ENV, **(env or {})}, timeout=timeout)


def _records(path: Path) -> list[dict]:
    proc = _gitexp(path, "ls", "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _fsck(path: Path) -> bool:
    proc = subprocess.run(["git", "fsck", "--no-progress", "--no-dangling"], cwd=path, capture_output=True, text=True, env=ENV)
    return proc.returncode == 0 and not proc.stdout.strip()


def _kill_trial(template: Path, root: Path, seed: int) -> dict:
    """One trial: a sweep killed -9 at a random moment, then checked and resumed."""
    path, pids = root / f"repo{seed}", root / f"pids{seed}"
    shutil.copytree(template, path, symlinks=True)
    pids.mkdir()
    user_state = subprocess.run(["git", "status", "--porcelain", "-uall"], cwd=path, capture_output=True,
                                text=True).stdout, (path / ".git/HEAD").read_text(), (path / ".git/index").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "s.yml", "-j", "2"], cwd=path,
                            env={**ENV, "PIDS": str(pids)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(pids.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(random.Random(seed).uniform(0.0, 1.0))  # somewhere between the first job and the last
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20  # the reaper: SIGTERM, then SIGKILL 3 s later
    while any(alive(int(p.name)) for p in pids.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = sum(alive(int(p.name)) for p in pids.iterdir())
    before = _records(path)
    stuck = sum(r["status"] in ("running", "queued") for r in before)
    done_before = sum(r["status"] == "completed" for r in before)
    resumed = _gitexp(path, "run", "s.yml", "--resume", "-j", "3", env={"PIDS": str(pids)})
    done = sorted(r["params"]["sleep"] for r in _records(path) if r["status"] == "completed")
    after = subprocess.run(["git", "status", "--porcelain", "-uall"], cwd=path, capture_output=True,
                           text=True).stdout, (path / ".git/HEAD").read_text(), (path / ".git/index").read_bytes()
    return {"orphans": orphans, "stuck": stuck, "resumed": resumed.returncode == 0 and done == [0.2, 0.4, 0.6, 0.8],
            "fsck": _fsck(path), "untouched": after == user_state, "done_before": done_before}


@pytest.mark.timeout(400)
def test_kill_9_at_random_points_of_a_sweep(repo, tmp_path):
    repo.write("job.py", JOB_PY)
    repo.write("s.yml", SWEEP)
    repo.commit("chaos job")
    trials = int(os.environ.get("CHAOS_TRIALS", "20"))
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda seed: _kill_trial(repo.path, tmp_path, seed), range(trials)))
    figures = {"trials": trials, "orphans": sum(r["orphans"] for r in results),
               "stuck": sum(r["stuck"] for r in results), "resume_failed": sum(not r["resumed"] for r in results),
               "fsck_failed": sum(not r["fsck"] for r in results), "user_repo_changed": sum(not r["untouched"] for r in results),
               "completed_when_killed": sum(r["done_before"] for r in results),
               "runs": trials * 4}
    print(f"\nchaos: kill -9 {json.dumps(figures)}")
    assert figures["orphans"] == figures["stuck"] == figures["resume_failed"] == 0, results
    assert figures["fsck_failed"] == figures["user_repo_changed"] == 0, results


def test_four_concurrent_launches_with_queries_in_a_loop(repo):
    repo.write("job.py", JOB_PY)
    for name in "abcd":
        repo.write(f"{name}.yml", SWEEP)
    pids = repo.path.parent / "pids"
    pids.mkdir()
    sweeps = [subprocess.Popen([sys.executable, "-m", "gitexp", "run", f"{name}.yml", "-j", "3"], cwd=repo.path,
                               env={**ENV, "PIDS": str(pids)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for name in "abcd"]
    queries = failed = 0
    while any(p.poll() is None for p in sweeps):
        proc = _gitexp(repo.path, "query", "select sweep, status, count(*) group by all", "--format", "json")
        queries += 1
        failed += proc.returncode != 0 or "Traceback" in proc.stderr
    outcomes = [p.communicate() for p in sweeps]
    runs = _records(repo.path)
    figures = {"launches": 4, "queries": queries, "query_errors": failed,
               "launch_errors": sum(p.returncode != 0 for p in sweeps), "runs": len(runs),
               "completed": sum(r["status"] == "completed" for r in runs), "fsck": _fsck(repo.path)}
    print(f"\nchaos: concurrent {json.dumps(figures)}")
    assert failed == 0 and figures["launch_errors"] == 0, outcomes
    assert figures["runs"] == figures["completed"] == 16 and figures["fsck"]
    assert all(len(r["metrics"]) == 1 for r in runs)  # every record complete: its points are there


@pytest.mark.parametrize("trial", [1, 2, 3])
def test_a_hundred_jobs_on_twenty_slots(repo, trial):
    values = ", ".join(str(i) for i in range(100))
    repo.write("many.yml", f"CMD: python -c 'print(\"loss 0.5\")'\nMETRICS:\n  loss: 'loss ([0-9.]+)'\n"
                           f"HPARAMS:\n  i: [{values}]\n")
    proc = _gitexp(repo.path, "run", "many.yml", "-j", "20", timeout=300)
    runs = _records(repo.path)
    figures = {"trial": trial, "jobs": 100, "slots": 20, "exit": proc.returncode, "runs": len(runs),
               "completed": sum(r["status"] == "completed" for r in runs),
               "with_points": sum(r["metrics"].get("loss") == 0.5 for r in runs),
               "fsck": _fsck(repo.path)}
    print(f"\nchaos: 100 jobs {json.dumps(figures)}")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert figures["runs"] == figures["completed"] == figures["with_points"] == 100 and figures["fsck"]
