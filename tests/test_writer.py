"""The launch's record writer: git writes happen in its thread, batched, fast-forward, refusing moved refs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

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
