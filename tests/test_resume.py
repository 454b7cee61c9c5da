"""--resume continues a sweep: one ref per config, reruns on their own refs, -n shows the same."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

JOB = '''\
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--i", type=int)
a = p.parse_args()
print("ran", a.i, flush=True)
if a.i > 1 and os.path.exists("hold"):
    time.sleep(60)
'''


def info(repo, ref: str) -> dict:
    return json.loads(repo.show(f"{ref}:.gitexp/run.json"))


def statuses(repo) -> dict[str, str]:
    return {ref.rsplit("/", 1)[1]: info(repo, ref)["status"] for ref in repo.refs()}


def killed_sweep(repo):
    """A 3-run sweep whose scheduler is killed with -9 while i2 runs (i3 still queued)."""
    repo.write("job.py", JOB)
    repo.write("hold", "")
    repo.write("s.yml", "CMD: python job.py\nHPARAMS:\n  i: [1, 2, 3]\n")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "s.yml"], cwd=repo.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if repo.refs() and statuses(repo).get("i2") == "running":
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (repo.path / "hold").unlink()
    time.sleep(0.5)  # the reaper ends i2's process group


def test_resume_after_kill_continues_each_run_on_its_own_ref(repo):
    killed_sweep(repo)
    dry = repo.gitexp("run", "-n", "--resume", "s.yml").stdout.splitlines()
    assert [line.split()[-1] for line in dry] == ["2", "3"]  # exactly what --resume runs
    assert statuses(repo) == {"i1": "completed", "i2": "lost", "i3": "lost"}  # written before resuming
    repo.gitexp("run", "--resume", "s.yml")
    assert statuses(repo) == {"i1": "completed", "i2": "completed", "i3": "completed"}  # no i2-2, i3-2
    i2 = info(repo, "refs/experiments/s/i2")
    assert [a["status"] for a in i2["attempts"]] == ["lost", "completed"]  # the killed attempt is kept
    assert i2["attempts"][0]["attempt_id"] != i2["attempt_id"]
    assert repo.gitexp("run", "-n", "--resume", "s.yml").stdout == ""
