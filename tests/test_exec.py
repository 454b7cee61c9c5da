"""The recorded exit code is the script's own: a single program is executed, not `/bin/sh -c`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

GRACEFUL = '''\
import signal, sys, time
def stop(*_):
    print("saving and leaving", flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
time.sleep(60)
'''


@pytest.mark.parametrize("command, argv", [
    ("python train.py --lr 0.1", ["python", "train.py", "--lr", "0.1"]),
    ("A=1 python train.py --name 'a;b c'", ["python", "train.py", "--name", "a;b c"]),
    ("python train.py > out.txt", None), ("python $SCRIPT", None), ("cd src && python t.py", None),
    ("no-such-program-xyz --x", None),
])
def test_single_programs_are_executed_and_shell_commands_keep_the_shell(command, argv):
    from gitexp.run.executor import program

    got, env = program((command,), {"PATH": "/usr/bin:/bin"} if "python" not in command else
                       {"PATH": str(__import__("pathlib").Path(sys.executable).parent) + ":/usr/bin:/bin"})
    assert got == (argv or ["/bin/sh", "-c", command])
    if command.startswith("A=1"):
        assert env["A"] == "1"


def test_a_script_that_handles_sigint_is_recorded_with_its_own_exit_code(repo):
    repo.write("graceful.py", GRACEFUL)
    repo.write("exp.yml", "CMD: python graceful.py\nHPARAMS:\n  x: [1]\n")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml"], cwd=repo.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        runs = repo.path / ".git" / "gitexp" / "runs" / "exp" / "x1" / ".gitexp" / "output.log"
        if runs.exists() and "ready" in runs.read_text(errors="replace"):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    info = json.loads(repo.show("refs/experiments/exp/x1:.gitexp/run.json"))
    assert info["status"] == "cancelled" and info["exit_code"] == 0
    assert "saving and leaving" in repo.show("refs/experiments/exp/x1:.gitexp/output.log")


def test_a_short_jobs_descendants_are_looked_for_among_later_pids_only():
    from gitexp.run.executor import _allocated_between

    assert _allocated_between(105, 100, 110) and not _allocated_between(99, 100, 110)
    assert not _allocated_between(100, 100, 110) and not _allocated_between(111, 100, 110)
    # the kernel wrapped at pid_max while the job ran: after 4000, then from 300 up to 120
    assert _allocated_between(4001, 4000, 120) and _allocated_between(50, 4000, 120)
    assert not _allocated_between(121, 4000, 120) and not _allocated_between(3999, 4000, 120)
