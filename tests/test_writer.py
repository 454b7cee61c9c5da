"""The launch's record writer: git writes happen in its thread, batched, fast-forward, refusing moved refs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import GIT_ENV
from gitexp.errors import RefConflictError
from gitexp.record import recorder, store
from gitexp.record.git import open_repo
from gitexp.record.refs import RunRef
from gitexp.record.snapshot import take_snapshot
from gitexp.record.writer import RecordWriter


def _queued(git, runs):
    snap = take_snapshot(git, "s").commit
    writes = [store.RecordWrite(run, snap, None, store.record_files(
        {"schema": 1, "sweep": run.sweep, "name": run.name, "status": "queued", "snapshot": snap}, {}, b"", b""),
        "queued") for run in runs]
    return snap, store.write_records(git, writes)


def _info(run, snap, status):
    return {"schema": 1, "sweep": run.sweep, "name": run.name, "status": status, "snapshot": snap}


def test_states_merge_and_every_move_is_a_fast_forward(repo):
    git = open_repo(repo.path)
    a, b = RunRef("sw", "a"), RunRef("sw", "b")
    snap, queued = _queued(git, [a, b])
    writer = RecordWriter(git)
    writer.seed(queued)
    try:
        writer.submit(a, _info(a, snap, "running"), "a started", output=b"first\n")
        writer.submit(b, _info(b, snap, "running"), "b started")
        writer.flush()
        started = writer.commit_of(a)
        writer.submit(a, _info(a, snap, "running"), "a progress", output=b"more\n")
        writer.submit(a, _info(a, snap, "completed"), "a completed")  # merges: keeps "more"
        writer.flush()
    finally:
        writer.close()
    ref = repo.refs()["refs/experiments/sw/a"]
    assert ref == writer.commit_of(a) != started
    assert json.loads(repo.show(f"{ref}:.gitexp/run.json"))["status"] == "completed"
    assert repo.show(f"{ref}:.gitexp/output.log") == "more\n"
    # the chain of records: completed -> started -> queued, each the second parent of the next
    assert repo.git("rev-parse", f"{ref}^2").strip() == started
    assert repo.git("rev-parse", f"{started}^2").strip() == queued[a]
    assert writer.batches <= 3


def test_a_ref_moved_behind_its_back_is_refused_and_never_written_again(repo):
    git = open_repo(repo.path)
    a, b = RunRef("sw", "a"), RunRef("sw", "b")
    snap, queued = _queued(git, [a, b])
    theirs = recorder.commit_run(git, a, _info(a, snap, "failed"), queued[a], "someone else")
    writer = RecordWriter(git)
    writer.seed(queued)
    try:
        writer.submit(a, _info(a, snap, "running"), "a started")
        writer.submit(b, _info(b, snap, "running"), "b started")
        writer.flush()
        assert writer.refused() == {a}
        writer.submit(a, _info(a, snap, "completed"), "a completed")
        writer.flush()
    finally:
        writer.close()
    refs = repo.refs()
    assert refs["refs/experiments/sw/a"] == theirs
    assert json.loads(repo.show("refs/experiments/sw/b:.gitexp/run.json"))["status"] == "running"


def test_a_failed_write_is_raised_in_the_callers_thread(repo, monkeypatch):
    git = open_repo(repo.path)
    a = RunRef("sw", "a")
    snap, queued = _queued(git, [a])
    writer_threads = []

    def failing(git_, updates):
        writer_threads.append(threading.current_thread())
        raise RefConflictError("disk full")

    monkeypatch.setattr(recorder, "commit_runs", failing)
    writer = RecordWriter(git)
    writer.seed(queued)
    writer.submit(a, _info(a, snap, "running"), "a started")
    with pytest.raises(RefConflictError, match="disk full"):
        writer.flush()
    writer.close()
    assert writer_threads and writer_threads[0] is not threading.main_thread()


def test_no_gpu_library_loads_on_a_machine_without_a_gpu(tmp_path):
    from gitexp.run import gpus

    if gpus.nvidia_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    code = ("import sys; from gitexp.run import gpus; from gitexp.record.git import open_repo; "
            "s = gpus.slots_for(open_repo('.'), 2); print(type(s).__name__, 'pynvml' in sys.modules)")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["CpuSlots", "False"]


def test_a_whole_launch_loads_no_gpu_library_without_a_gpu(repo):
    """Scheduling and the run's environment record alike: NVML is never imported on a CPU machine."""
    from gitexp.record.environment import nvidia_driver_present

    if nvidia_driver_present():
        pytest.skip("this machine has an NVIDIA driver")
    repo.write("s.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitexp", "run", "s.yml"], cwd=repo.path,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **GIT_ENV})
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "gitexp.record.environment" in imported  # the environment was captured in this process
    assert not [name for name in imported if name.split(".")[0] == "pynvml"]


def test_states_arriving_one_by_one_are_gathered_into_few_batches(repo, monkeypatch):
    from gitexp.record import writer as writers

    monkeypatch.setattr(writers, "BATCH_SECONDS", 0.5)
    git = open_repo(repo.path)
    runs = [RunRef("sw", f"r{i}") for i in range(10)]
    snap, queued = _queued(git, runs)
    writer = RecordWriter(git)
    writer.seed(queued)
    try:
        started = time.monotonic()
        for run in runs:  # one job ending every 10 ms: each would be its own git write
            writer.submit(run, _info(run, snap, "completed"), f"{run} completed")
            time.sleep(0.01)
        assert not writer.settled(runs[-1])  # gathering: not in git yet, so not to be reported
        writer.flush()  # a flush writes what is pending at once
        elapsed = time.monotonic() - started
        assert all(writer.settled(run) for run in runs)
    finally:
        writer.close()
    assert writer.batches <= elapsed / 0.5 + 2
    assert all(json.loads(repo.show(f"refs/experiments/{run}:.gitexp/run.json"))["status"] == "completed"
               for run in runs)


def test_a_run_is_reported_ended_only_once_its_record_is_in_git(repo):
    import io

    from rich.console import Console

    from gitexp.run.launch import LaunchOptions, launch
    from gitexp.run.progress import Progress

    git = open_repo(repo.path)
    seen = []

    class Checking(Progress):
        def finished(self, run, status, *rest):
            committed = json.loads(repo.show(f"refs/experiments/{run}:.gitexp/run.json"))["status"]
            seen.append((run.name, status, committed))
            super().finished(run, status, *rest)

    repo.write("s.yml", "CMD: 'true'\nHPARAMS:\n  i: [0, 1, 2, 3, 4, 5, 6, 7]\n")
    progress = Checking(git.gitexp_dir, Console(file=io.StringIO()), live=False)
    result = launch(git, repo.path / "s.yml", LaunchOptions(jobs=4, progress=progress))
    assert result.ok and len(seen) == 8
    assert all(status == committed == "completed" for _, status, committed in seen), seen


def test_a_ref_git_cannot_lock_holds_back_no_other_run_of_its_batch(repo):
    """A stale `.lock` of one run (another git died holding it) fails the batch's transaction:
    the other runs are then written alone and land; the locked one waits for a retry."""
    git = open_repo(repo.path)
    a, b = RunRef("sw", "a"), RunRef("sw", "b")
    snap, queued = _queued(git, [a, b])
    lock = repo.path / ".git" / "refs" / "experiments" / "sw" / "a.lock"
    lock.write_text("")
    writer = RecordWriter(git)
    writer.seed(queued)
    try:
        writer.submit(a, _info(a, snap, "completed"), "a completed")
        writer.submit(b, _info(b, snap, "completed"), "b completed")
        writer.flush()
        left, why = writer.unwritten()
        assert left == 1 and "a.lock" in str(why)
        assert json.loads(repo.show("refs/experiments/sw/b:.gitexp/run.json"))["status"] == "completed"
        assert repo.refs()["refs/experiments/sw/a"] == queued[a]
        lock.unlink()
    finally:
        writer.close()  # the retry lands once the lock is gone
    assert writer.unwritten() == (0, None)
    assert json.loads(repo.show("refs/experiments/sw/a:.gitexp/run.json"))["status"] == "completed"


def test_a_big_sweep_starts_before_every_run_folder_is_made_and_each_gets_one_beside_the_jobs(repo):
    """Folders (reserved for a disk that fills later) are made for the first RESERVE_AT_ONCE
    queued runs before any job starts, the rest a batch a scheduler turn: a 10k-run sweep does
    not make 10k folders before its first job."""
    from gitexp.record import model as record
    from gitexp.run import launch as launches
    from gitexp.run.launch import LaunchOptions, launch

    git = open_repo(repo.path)
    count = launches.RESERVE_AT_ONCE + 40
    repo.write("s.yml", f"CMD: 'true'\nHPARAMS:\n  i: {list(range(count))}\n")
    reserved_when_queued = []

    def on_queued(runs):
        reserved_when_queued.extend(run for run in runs if record.RunFiles.for_run(git.gitexp_dir, run).run_json.exists())
        assert len(runs) == count

    result = launch(git, repo.path / "s.yml", LaunchOptions(jobs=2), on_queued=on_queued)
    assert result.ok
    assert len(reserved_when_queued) == launches.RESERVE_AT_ONCE
    assert all(json.loads(repo.show(f"{ref}:.gitexp/run.json"))["status"] == "completed" for ref in repo.refs())


def test_progress_lines_count_the_runs_by_status_as_they_change(tmp_path):
    """Each end's line says how many runs are done, running, failed: counted as states change
    (a sweep of 10k short jobs would otherwise count every run at every end)."""
    import io

    from rich.console import Console

    from gitexp.run.progress import Progress

    out = io.StringIO()
    progress = Progress(tmp_path, Console(file=out), live=False)
    a, b, c, late = (RunRef("sw", name) for name in ("a", "b", "c", "late"))
    progress.queued([a, b, c])

    class Slot:
        slot, reason = "cpu0", "cpu slot"

    progress.started(a, Slot(), 0)
    progress.started(b, Slot(), 0)
    assert progress.counts() == {"queued": 1, "running": 2}
    progress.finished(a, "completed", 0, 1.0, {})
    progress.finished(b, "failed", 1, 1.0, {})
    progress.started(late, Slot(), 0)  # a search trial: never announced as queued
    assert progress.counts() == {"queued": 1, "running": 1, "completed": 1, "failed": 1}
    progress.finished(late, "completed", 0, 1.0, {})
    progress.finished(c, "cancelled", None, None, {})
    assert progress.counts() == {"completed": 2, "failed": 1, "cancelled": 1}
    lines = out.getvalue().splitlines()
    assert lines[-1].endswith("[4/4 done, 1 failed, 1 cancelled]"), lines
    assert "[1/3 done, 1 running]" in lines[2]
