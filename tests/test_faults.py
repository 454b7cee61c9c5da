"""Faults real training scripts cause: endless lines, exits right after logging, escaping children,
odd bytes in values, torn series lines, catastrophic regexes, a full disk, a deleted run folder.
Each test fails on the code before its fix (by its assertion, or by pytest's timeout)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import GIT_ENV, alive


def _runs(repo) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(repo.gitexp("ls", "--json").stdout)}


LONG_LINE_PY = """\
import sys
out = sys.stdout.buffer
out.write(b"x" * (8 * 1024 * 1024))  # 8 MB with no newline at all
out.write(b" loss 0.25\\n")
for i in range(3):
    out.write(b"loss %d\\n" % i)
out.flush()
"""


@pytest.mark.timeout(60)
def test_a_line_of_megabytes_without_newline_neither_freezes_nor_loses_output(repo):
    repo.write("long.py", LONG_LINE_PY)
    repo.write("s.yml", "CMD: python long.py\nMETRICS:\n  loss: 'loss ([0-9.]+)'\nHPARAMS:\n  RUNX.TAG: [long]\n")
    proc = repo.gitexp("run", "s.yml", check=False)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(repo.show("refs/experiments/s/long:.gitexp/run.json"))
    assert record["output"]["bytes"] == 8 * 1024 * 1024 + len(" loss 0.25\n") + 3 * len("loss 0\n")
    points = [json.loads(line) for line in repo.show("refs/experiments/s/long:.gitexp/metrics.jsonl").splitlines()]
    assert [p["value"] for p in points][-3:] == [0.0, 1.0, 2.0]


def test_lines_reach_on_line_whole_and_a_huge_one_in_bounded_pieces(tmp_path):
    from gitexp.record.output import CappedOutput
    from gitexp.run.executor import MAX_LINE, Process

    lines: list[bytes] = []
    script = ("import sys; o = sys.stdout.buffer; o.write(b'a\\rb\\nc'); o.flush(); o.write(b'd\\n');"
              f"o.write(b'y' * {3 * MAX_LINE + 5}); o.write(b'\\nlast')")
    process = Process((f"{sys.executable} -c \"{script}\"",), tmp_path, dict(os.environ),
                      CappedOutput(tmp_path / "out.log"), on_line=lines.append)
    process.start()
    while process.poll() is None:
        time.sleep(0.01)
    assert lines[:3] == [b"a\r", b"b\n", b"cd\n"] and lines[-1] == b"last"
    assert all(len(line) <= MAX_LINE + 1 for line in lines)
    assert b"".join(lines[3:-1]) == b"y" * (3 * MAX_LINE + 5) + b"\n"


ESCAPE_PY = """\
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True)  # setsid(): out of the job's process group
open(os.environ["PIDFILE"], "w").write(str(child.pid))
print("started", child.pid, flush=True)
"""


def test_children_that_setsid_are_ended_with_their_run(repo, tmp_path):
    pidfile = tmp_path / "pid"
    repo.write("escape.py", ESCAPE_PY)
    repo.write("s.yml", "CMD: python escape.py\nHPARAMS:\n  RUNX.TAG: [escape]\n")
    proc = repo.gitexp("run", "s.yml", env={"PIDFILE": str(pidfile)}, timeout=30)
    assert "completed" in proc.stderr
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "a child that left the process group outlived its run"
    # it held the output pipe: the run's record still ends (the scheduler did not wait on it)
    assert _runs(repo)["escape"]["status"] == "completed"


EXIT_RIGHT_AFTER_LOG_PY = """\
import time
import gitexp
from gitexp.track import api

real = api.append_lines
def slow_disk(path, lines):  # the background flush holds the points while it writes
    time.sleep(0.5)
    real(path, lines)
api.append_lines = slow_disk
api.FLUSH_EVERY = 0.05
gitexp.log({"loss": 0.5}, step=0)
time.sleep(0.2)  # the flusher thread has taken the point and is writing it: exit now
"""


def test_points_logged_right_before_exit_are_on_disk(repo):
    repo.write("quick.py", EXIT_RIGHT_AFTER_LOG_PY)
    repo.write("s.yml", "CMD: python quick.py\nHPARAMS:\n  RUNX.TAG: [quick]\n")
    repo.gitexp("run", "s.yml")
    series = repo.show("refs/experiments/s/quick:.gitexp/metrics.jsonl")
    assert [json.loads(line)["value"] for line in series.splitlines()] == [0.5]


SURROGATE_PY = """\
import os, sys
import gitexp
if sys.argv[-1] == "bad":
    gitexp.log({"t": os.fsdecode(b"\\xff"), "acc": 0.5})
    gitexp.flush()
    with open(os.path.join(os.environ["GITEXP_RUN_DIR"], ".gitexp", "metrics.jsonl"), "a") as f:
        f.write('{"step": 1, "key": "old", "value": "\\\\udcff", "time": 1.0}\\n')  # as older writers did
else:
    gitexp.log({"t": "fine", "acc": 0.9})
"""


def test_a_lone_surrogate_in_one_run_is_shown_escaped_and_breaks_no_other_run(repo):
    repo.write("sur.py", SURROGATE_PY)
    repo.write("s.yml", "CMD: python sur.py\nHPARAMS:\n  kind: [bad, good]\n")
    repo.gitexp("run", "s.yml")
    listing = repo.gitexp("ls")
    assert "Traceback" not in listing.stderr and "\\udcff" in listing.stdout and "fine" in listing.stdout
    rows = repo.gitexp("query", "select name, t, old, acc order by name", "--format", "csv").stdout.splitlines()
    assert rows == ["name,t,old,acc", "kind_bad,\\udcff,\\udcff,0.5", "kind_good,fine,,0.9"]
    assert json.loads(repo.gitexp("show", "s/kind_bad", "--json").stdout)["metrics"]["t"] == "\\udcff"


TORN_PY = """\
import os
import gitexp
series = os.path.join(os.environ["GITEXP_RUN_DIR"], ".gitexp", "metrics.jsonl")
os.makedirs(os.path.dirname(series), exist_ok=True)
with open(series, "a") as f:
    f.write('{"step": 0, "key": "loss", "val')  # a writer died mid-line: no newline
gitexp.log({"loss": 0.25}, step=1)
gitexp.flush()
with open(series, "a") as f:
    f.write('{"key": 5, "value": "nan"}\\n')
"""


def test_a_torn_line_never_eats_the_next_point_and_keys_must_be_text(repo):
    repo.write("torn.py", TORN_PY)
    repo.write("s.yml", "CMD: python torn.py\nHPARAMS:\n  RUNX.TAG: [torn]\n")
    repo.gitexp("run", "s.yml")
    assert json.loads(repo.show("refs/experiments/s/torn:.gitexp/metrics.json")) == {"loss": 0.25}
    points = repo.gitexp("query", "select key, step, value from series", "--format", "csv").stdout.splitlines()
    assert points == ["key,step,value", "loss,1,0.25"]


CATASTROPHIC_PY = """\
print("a" * 5000 + "!", flush=True)
print("loss 0.5", flush=True)
print("b" * 5000 + "!", flush=True)
print("loss 0.25", flush=True)
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("regex", [r"^(a+)+$", r"^(?=(b+)+$)b"])  # RE2 runs the first; the second needs the budget
def test_a_catastrophic_metrics_regex_neither_hangs_nor_stops_the_others(repo, regex):
    repo.write("cat.py", CATASTROPHIC_PY)
    repo.write("s.yml", "CMD: python cat.py\nMETRICS:\n  bad: '" + regex + "'\n  loss: 'loss ([0-9.]+)'\n"
                        "HPARAMS:\n  RUNX.TAG: [cat]\n")
    proc = repo.gitexp("run", "s.yml", check=False)
    assert proc.returncode == 0, proc.stderr
    series = repo.show("refs/experiments/s/cat:.gitexp/metrics.jsonl")
    assert [json.loads(line)["value"] for line in series.splitlines()] == [0.5, 0.25]
    if "?=" in regex:  # reported once, then dropped
        assert proc.stderr.count("METRICS regex") == 1 and "no longer matched" in proc.stderr


FILL_PY = """\
import os, sys, time
import gitexp
role, filler = sys.argv[-1], os.environ["FILLER"]
for step in range(40):
    gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
    print(role, "step", step, flush=True)
    if role == "fill" and step == 3:
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\\\\0" * 65536)
            except OSError as error:
                print("disk full now:", error, flush=True)
    if role == "fill" and step == 20 and os.environ.get("SPACE_RETURNS"):
        os.unlink(filler)
    time.sleep(0.05)
"""


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs (needs root and a kernel that lets us mount); skipped where not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("space_returns", [True, False])
def test_a_full_disk_stops_no_run_and_every_record_ends_truthful(repo, small_disk, space_returns):
    import shutil

    from conftest import Repo

    disk_repo = Repo(small_disk / "repo")
    shutil.copytree(repo.path, disk_repo.path, symlinks=True)
    disk_repo.write("fill.py", FILL_PY)
    disk_repo.write("s.yml", "CMD: python fill.py\nHPARAMS:\n  role: [fill, a, b, c]\n")
    filler = small_disk / "filler"
    env = {"FILLER": str(filler), **({"SPACE_RETURNS": "1"} if space_returns else {})}
    proc = disk_repo.gitexp("run", "s.yml", "-j", "4", check=False, env=env, timeout=90)
    assert "Traceback" not in proc.stderr
    assert "cannot write run records" in proc.stderr or space_returns  # said once, not per try
    assert proc.stderr.count("cannot write run records") <= 1
    if space_returns:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1
        # how many: the fill run's own space, or what a failed git write freed, may let some land
        assert re.match(r"gitexp: error: [1-4] run record\(s\) not written", proc.stderr.strip().splitlines()[-1])
        filler.unlink()  # space again: the next command writes what the folders kept
    runs = {r["name"]: r for r in json.loads(disk_repo.gitexp("ls", "--json").stdout)}
    assert {name: r["status"] for name, r in runs.items()} == {f"role_{x}": "completed" for x in ("fill", "a", "b", "c")}
    for name in runs:
        info = json.loads(disk_repo.show(f"refs/experiments/s/{name}:.gitexp/run.json"))
        assert info["exit_code"] == 0 and info["output"]["bytes"] >= len(f"{name[5:]} step 0\n") * 40
        log = disk_repo.show(f"refs/experiments/s/{name}:.gitexp/output.log")
        if space_returns:  # the whole output, though the live file stopped; and every point,
            assert f"{name[5:]} step 39" in log  # which the scripts kept until the disk took them
            series = disk_repo.show(f"refs/experiments/s/{name}:.gitexp/metrics.jsonl").splitlines()
            assert len(series) == 40
        else:  # gitexp ended with the disk full: the output kept is what the live file took
            assert (log == "" or log.startswith(f"{name[5:]} step 0")) and len(log) <= info["output"]["bytes"]
    assert disk_repo.git("fsck", "--no-progress", "--no-dangling") == ""  # a failed ref move leaves a dangling commit


PEEK_PY = """\
import json, os, subprocess, sys
common = subprocess.check_output(["git", "rev-parse", "--git-common-dir"], text=True).strip()
if sys.argv[-1] == "first":  # the other run is still queued: its folder already holds its run.json
    path = os.path.join(common, "gitexp", "runs", "s", "role_second", ".gitexp", "run.json")
    print("second is", json.load(open(path))["status"])
"""


def test_a_queued_run_has_its_live_run_json_before_it_starts(repo):
    """Made while the disk has room, so a disk that fills before the run starts still takes its
    states (rewritten in place) and the next command commits the final one."""
    repo.write("peek.py", PEEK_PY)
    repo.write("s.yml", "CMD: python peek.py\nHPARAMS:\n  role: [first, second]\n")
    repo.gitexp("run", "s.yml", "-j", "1")
    assert "second is queued" in repo.show("refs/experiments/s/role_first:.gitexp/output.log")


DELETER_PY = """\
import os, shutil, subprocess, sys, time
import gitexp
role = sys.argv[-1]
for step in range(40):
    gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
    if role == "rm" and step == 20:
        common = subprocess.check_output(["git", "rev-parse", "--git-common-dir"], text=True).strip()
        shutil.rmtree(os.path.join(common, "gitexp"))
    time.sleep(0.05)
"""


def test_a_run_deleting_gitexps_folder_loses_no_sibling_point_and_is_said(repo):
    repo.write("deleter.py", DELETER_PY)
    repo.write("s.yml", "CMD: python deleter.py\nHPARAMS:\n  role: [rm, a, b]\n")
    proc = repo.gitexp("run", "s.yml", "-j", "3")
    assert "run folder was deleted while it ran" in proc.stderr
    for name in ("role_rm", "role_a", "role_b"):
        series = repo.show(f"refs/experiments/s/{name}:.gitexp/metrics.jsonl").splitlines()
        assert sorted(json.loads(line)["step"] for line in series) == list(range(40)), name
        info = json.loads(repo.show(f"refs/experiments/s/{name}:.gitexp/run.json"))
        assert info["status"] == "completed" and any("deleted" in w for w in info["warnings"])


LOCK_PY = """\
import os, subprocess, sys
common = subprocess.check_output(["git", "rev-parse", "--git-common-dir"], text=True).strip()
folder = os.path.join(common, "refs", "experiments", "s")
if sys.argv[-1] == "first":  # from now on git cannot move the other run's ref (as on a full disk)
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "role_second.lock"), "w").close()
print(sys.argv[-1], "done")
"""


def test_a_run_whose_started_commit_never_landed_ends_with_its_folders_final_state(repo):
    """The ref still holds the queued record; the folder holds this attempt's final state. The
    next command must see them as one attempt and commit it, not call the run `lost`."""
    repo.write("lock.py", LOCK_PY)
    repo.write("s.yml", "CMD: python lock.py\nHPARAMS:\n  role: [first, second]\n")
    proc = repo.gitexp("run", "s.yml", "-j", "1", check=False, timeout=90)
    assert proc.returncode == 1 and "1 run record(s) not written" in proc.stderr, proc.stderr
    assert json.loads(repo.show("refs/experiments/s/role_second:.gitexp/run.json"))["status"] == "queued"
    (repo.path / ".git" / "refs" / "experiments" / "s" / "role_second.lock").unlink()
    runs = {r["name"]: r["status"] for r in json.loads(repo.gitexp("ls", "--json").stdout)}
    assert runs == {"role_first": "completed", "role_second": "completed"}
    info = json.loads(repo.show("refs/experiments/s/role_second:.gitexp/run.json"))
    assert info["exit_code"] == 0 and info["attempts"][-1]["attempt_id"] == info["attempt_id"]
    assert "second done" in repo.show("refs/experiments/s/role_second:.gitexp/output.log")
