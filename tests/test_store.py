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
    return store.write_records(git, [store.RecordWrite(run, snap, old, files, f"gitexp: {run} {status}")])[run]


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


def test_a_ref_git_cannot_lock_is_a_failed_write_to_retry_not_a_conflict(repo):
    """A full disk (or another git holding the lock) keeps update-ref from writing its lock file:
    the ref did not move, so the writer must try again, not give the run up as moved by someone."""
    from gitexp.errors import GitCommandError

    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    run = RunRef("sw", "a")
    first = _write(git, run, snap, None)
    lock = repo.path / ".git" / "refs" / "experiments" / "sw" / "a.lock"
    lock.write_text("")
    with pytest.raises(GitCommandError, match="a.lock") as caught:
        _write(git, run, snap, first, status="completed")
    assert not isinstance(caught.value, RefConflictError)
    assert repo.refs()["refs/experiments/sw/a"] == first and not repo.refs("refs/gitexp/")
    lock.unlink()
    assert _write(git, run, snap, first, status="completed") != first  # the retry lands


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


def _git_calls(monkeypatch):
    """Record the arguments of every git command gitexp runs through Git.call."""
    from gitexp.record.git import Git

    calls, real = [], Git.call

    def call(self, *args, **kwargs):
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Git, "call", call)
    return calls


def test_resolve_reads_one_name_and_never_lists_every_run(repo, monkeypatch):
    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    a = _write(git, RunRef("one", "x"), snap, None)
    for name in ("y", "z", "w"):
        _write(git, RunRef("two", name), snap, None)
    assert store.pack_refs(git, threshold=1)  # packed and loose refs are both found
    b = _write(git, RunRef("three", "v"), snap, None)
    # a hex prefix no object has (a fixed one would, now and then, name the snapshot or the first commit)
    absent = next(p for p in (f"{n:04x}" for n in range(0xffff, 0, -1))
                  if not repo.git("rev-parse", f"--disambiguate={p}", check=False).strip())
    calls = _git_calls(monkeypatch)
    assert store.resolve(git, "one/x") == (RunRef("one", "x"), a)
    assert store.resolve(git, "v") == (RunRef("three", "v"), b)
    assert store.resolve(git, a[:8]) == (RunRef("one", "x"), a)
    for text in ("one/nope", "nope", "one/x~1", "x^", absent, snap[:10]):
        with pytest.raises(Exception, match="no run"):
            store.resolve(git, text)
    listings = [args for args in calls if args[0] == "for-each-ref"]
    # a listing is always narrowed by git to a name pattern (the snapshot commit S, which no
    # run ref points at, is the one prefix that needs a look at the run refs)
    assert listings and sum(args[-1] == "refs/experiments/" for args in listings) == 1
    assert len(calls) <= 2 * 8


def test_pack_refs_packs_run_refs_once_many_are_loose_and_keeps_every_value(repo):
    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    repo.git("branch", "feature")
    before = repo.refs("refs/")
    assert not store.pack_refs(git, threshold=3)  # nothing loose yet
    for name in ("a", "b", "c"):
        _write(git, RunRef("sw", name), snap, None)
    assert store.loose_run_refs(git) == 3
    refs = repo.refs("refs/")
    assert store.pack_refs(git, threshold=3)
    assert store.loose_run_refs(git) == 0
    assert repo.refs("refs/") == refs and {k: v for k, v in refs.items() if k in before} == before
    assert "refs/experiments/sw/a" in (repo.path / ".git/packed-refs").read_text()


def test_series_of_several_runs_resolves_them_through_its_open_cat_file(repo, monkeypatch):
    from gitexp import inspect

    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    runs = [RunRef("sw", f"r{i}") for i in range(5)]
    for run in runs:
        _write(git, run, snap, None, status="completed")
    with git.cat_file() as cat:
        assert store.resolve(git, "sw/r1", cat=cat) == store.resolve(git, "sw/r1")
        with pytest.raises(Exception, match="no run"):
            store.resolve(git, "sw/nope", cat=cat)
    calls = _git_calls(monkeypatch)
    got = inspect.series(git, [run.id for run in runs], ["acc"])
    assert [s["run"] for s in got["series"]] == [run.id for run in runs]
    assert got["series"][0]["points"] == [[0, 0.5]]
    assert calls == []  # one cat-file process answered everything


@pytest.mark.parametrize("folder_attempt, earlier, seen", [
    ("a1", [], "completed"),  # the committed attempt itself
    ("a2", [{"attempt_id": "a1"}], "completed"),  # a retry whose `started` commit never landed
    ("a0", [], "running"),  # an earlier attempt's leftovers: the ref's newer word stands
])
def test_the_live_folder_counts_for_its_own_attempt_or_a_later_one(repo, folder_attempt, earlier, seen):
    from gitexp.record import model as record

    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    run = RunRef("sw", "a")
    info = {"schema": 1, "sweep": "sw", "name": "a", "status": "running", "snapshot": snap, "attempt_id": "a1"}
    files = store.record_files(info, {}, b"", b"")
    commit = store.write_records(git, [store.RecordWrite(run, snap, None, files, "gitexp: sw/a started")])[run]
    folder = record.RunFiles.for_run(git.gitexp_dir, run)
    folder.create()
    record.write_json_atomic(folder.run_json, dict(info, status="completed", attempt_id=folder_attempt,
                                                   attempts=earlier))
    with git.cat_file() as cat:
        assert store.load_run(git, cat, run, commit).status == seen


def test_resolve_many_asks_about_each_argument_and_never_lists_every_run(repo, monkeypatch):
    from gitexp.errors import RunNotFoundError
    from gitexp.record import view

    git = open_repo(repo.path)
    snap = take_snapshot(git, "s").commit
    a = _write(git, RunRef("one", "x"), snap, None)
    two = {name: _write(git, RunRef("two", name), snap, None) for name in ("y", "z")}
    both = _write(git, RunRef("three", "two"), snap, None)  # a run named like a sweep: the run wins
    calls = _git_calls(monkeypatch)
    assert view.resolve_many(git, ["one/x"]) == [(RunRef("one", "x"), a)]
    assert view.resolve_many(git, ["x", "three"]) == [(RunRef("one", "x"), a), (RunRef("three", "two"), both)]
    assert view.resolve_many(git, ["two"]) == [(RunRef("three", "two"), both)]
    assert store.list_runs(git, "tw*") == {} and store.list_runs(git, "two") == {
        RunRef("two", n): c for n, c in two.items()}
    with pytest.raises(RunNotFoundError):
        view.resolve_many(git, ["nope"])
    assert not [args for args in calls if args[0] == "for-each-ref" and args[-1] == "refs/experiments/"]
