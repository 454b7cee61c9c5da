"""`--backend farm` round trips through a stand-in submit command that runs each job locally
(detached, like a real batch system would): submission, code by commit, report files, records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GIT_ENV, git

STAND_IN = """\
#!/bin/sh
# A farm's submit command, minus the farm: note the arguments, start the job script detached.
echo "$@" >> "$(dirname "$0")/submissions"
for last; do :; done
nohup /bin/sh "$last" > /dev/null 2>&1 < /dev/null &
echo "Submitted batch job $!"
"""

HOLD_PY = """\
import os, sys, time
import gitexp
gitexp.log({"alive": 1.0}, step=0)
print("holding", flush=True)
while os.path.exists(sys.argv[sys.argv.index("--hold") + 1]):
    time.sleep(0.2)
print("released")
"""


@pytest.fixture
def farm(repo, tmp_path):
    """A `.runx` whose FARM section points SUBMIT_CMD at the stand-in."""
    submit = tmp_path / "farm" / "submit.sh"
    submit.parent.mkdir()
    submit.write_text(STAND_IN)
    repo.write(".runx", f"FARM: here\nhere:\n  SUBMIT_CMD: /bin/sh {submit}\n  RESOURCES:\n    gpu: 0\n    mem: 4\n")
    repo.git("add", ".runx")
    repo.git("commit", "-q", "-m", "farm config")
    return submit.parent


def _info(repo, run_id: str) -> dict:
    return json.loads(repo.show(f"refs/experiments/{run_id}:.gitexp/run.json"))


def test_farm_round_trip_same_record_as_local_plus_where(repo, farm):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.01]\n  logdir: LOGDIR\n")
    proc = repo.gitexp("run", "exp.yml", "--backend", "farm", "-j", "2")
    assert "trained lr 0.1" in proc.stdout  # job output streams back through the report files

    submissions = (farm / "submissions").read_text().splitlines()
    assert len(submissions) == 2 and all(s.startswith("--gpus 0 --mem 4 ") for s in submissions)
    for run_id, lr in (("exp/lr0.1", 0.1), ("exp/lr0.01", 0.01)):
        info = _info(repo, run_id)
        assert info["status"] == "completed" and info["exit_code"] == 0
        assert info["backend"] == "farm"
        assert info["where"]["farm"] == "here" and info["where"]["host"] and info["where"]["job_id"].isdigit()
        run_dir = info["logdir"]
        assert f"trained lr {lr} logdir {run_dir} env {run_dir}" in repo.show(f"refs/experiments/{run_id}:.gitexp/output.log")
        metrics = json.loads(repo.show(f"refs/experiments/{run_id}:.gitexp/metrics.json"))
        assert metrics == {"loss": pytest.approx(lr / 3), "acc": pytest.approx(0.5 + 2 * lr)}
        series = repo.show(f"refs/experiments/{run_id}:.gitexp/metrics.jsonl").splitlines()
        assert len(series) == 6
        script = Path(run_dir, ".gitexp", "farm", "job.sh").read_text()
        assert f'S={info["snapshot"]}' in script and "archive" in script  # code by commit, not a copy
    assert repo.git("status", "--porcelain") == "?? exp.yml\n"  # the user's tree untouched


def test_farm_failure_and_code_from_a_remote(repo, farm, tmp_path):
    hub = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(hub))
    repo.git("remote", "add", "hub", str(hub))
    repo.git("config", "gitexp.farmCode", "hub")
    repo.write("exp.yml", "CMD: python train.py --fail\nHPARAMS:\n  lr: [0.5]\n")
    proc = repo.gitexp("run", "exp.yml", "--backend", "farm", check=False)
    assert proc.returncode == 1
    info = _info(repo, "exp/lr0.5")
    assert info["status"] == "failed" and info["exit_code"] == 3
    assert "boom" in repo.show("refs/experiments/exp/lr0.5:.gitexp/output.log")
    # the job fetched its code from the remote: the run's ref was published there first
    assert git(hub, "cat-file", "-t", info["snapshot"]).strip() == "commit"
    assert "git --git-dir=\"$tmp.git\" fetch" in Path(info["logdir"], ".gitexp/farm/job.sh").read_text()


@pytest.mark.slow
def test_farm_job_that_dies_is_lost_and_resume_reruns_it(repo, farm, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    repo.write("hold.py", HOLD_PY)
    repo.write("exp.yml", f"CMD: python hold.py\nHPARAMS:\n  hold: [{hold}]\n")
    repo.git("config", "gitexp.farmLostAfter", "2")
    driver = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml", "--backend", "farm"],
                              cwd=repo.path, env={**os.environ, **GIT_ENV},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid_file = None
        for _ in range(300):
            found = list(repo.path.glob(".git/gitexp/runs/exp/*/.gitexp/farm/pid"))
            if found and found[0].read_text().strip():
                pid_file = found[0]
                break
            time.sleep(0.1)
        assert pid_file, "the job never started"
        shell, child = (int(x) for x in pid_file.read_text().split())
        for _ in range(100):  # the pid is written as the job starts; setsid makes it a group a moment later
            if os.getpgid(child) == child:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the job {child} never became its own process group")
        os.kill(shell, signal.SIGKILL)  # the node goes away: watcher and job die, no exit report
        os.killpg(child, signal.SIGKILL)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 1, err
    run_id = f"exp/{pid_file.parents[2].name}"
    info = _info(repo, run_id)
    assert info["status"] == "lost" and info["exit_code"] is None
    assert "no heartbeat" in info["lost_reason"]

    hold.unlink()
    repo.gitexp("run", "exp.yml", "--backend", "farm", "--resume")
    info = _info(repo, run_id)
    assert info["status"] == "completed" and [a["status"] for a in info["attempts"]] == ["lost", "completed"]
    assert "released" in repo.show(f"refs/experiments/{run_id}:.gitexp/output.log")
