"""Record writes are atomic ref moves with old-value checks; records read back exactly."""

from __future__ import annotations

import json

import pytest

from gitexp.errors import RefConflictError
from gitexp.record import store
from gitexp.record.git import open_repo
from gitexp.record.refs import RunRef, sanitize
from gitexp.record.snapshot import take_snapshot


def _write(git, run, snap, old, status="running"):
    info = {"schema": 1, "sweep": run.sweep, "name": run.name, "status": status, "snapshot": snap}
    files = store.record_files(info, {"acc": 0.5}, b'{"step": 0, "key": "acc", "value": 0.5, "time": 1}\n', b"out\n")
    return store.write_records(git, [store.RecordWrite(run, snap, old, files, "test")])[run]


def test_record_layout_and_fast_forward_history(repo):
    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    run = RunRef("sw", "a")
    first = _write(git, run, snap, None)
    second = _write(git, run, snap, first, status="completed")
    assert repo.refs() == {"refs/experiments/sw/a": second}
    assert repo.git("rev-parse", f"{second}^1").strip() == snap
    assert repo.git("rev-parse", f"{second}^2").strip() == first  # fast-forward: old record kept
    tree = set(repo.git("ls-tree", "-r", "--name-only", second).split())
    assert {".gitexp/run.json", ".gitexp/metrics.json", ".gitexp/metrics.jsonl", ".gitexp/output.log",
            "train.py"} <= tree
    assert json.loads(repo.show(f"{second}:.gitexp/run.json"))["status"] == "completed"
    assert not repo.refs("refs/gitexp/")  # scratch ref cleaned up


def test_old_value_check_refuses_and_keeps_the_concurrent_write(repo):
    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    run = RunRef("sw", "a")
    first = _write(git, run, snap, None)
    theirs = _write(git, run, snap, first, status="completed")
    with pytest.raises(RefConflictError):
        _write(git, run, snap, first, status="failed")  # stale old value
    with pytest.raises(RefConflictError):
        _write(git, run, snap, None)  # create over an existing ref
    assert repo.refs()["refs/experiments/sw/a"] == theirs


def test_resolve_by_full_name_bare_name_and_sha_prefix(repo):
    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    a = _write(git, RunRef("one", "x"), snap, None)
    _write(git, RunRef("one", "y"), snap, None)
    _write(git, RunRef("two", "y"), snap, None)
    assert store.resolve(git, "one/x") == (RunRef("one", "x"), a)
    assert store.resolve(git, "x") == (RunRef("one", "x"), a)
    assert store.resolve(git, a[:10]) == (RunRef("one", "x"), a)
    with pytest.raises(Exception, match="ambiguous"):
        store.resolve(git, "y")
    with pytest.raises(Exception, match="no run"):
        store.resolve(git, "nope")


@pytest.mark.parametrize("text", ["lr=0.1/solver sgd", "..a..", "x.lock", "-a", "é" * 300, ""])
def test_sanitized_names_are_valid_ref_components(repo, text):
    name = sanitize(text)
    assert repo.git("check-ref-format", f"refs/experiments/s/{name}", check=False) == ""
    assert len(name) <= 120
