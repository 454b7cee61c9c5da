"""Runs as readers see them: listed, resolved from what the user typed, reconciled.

Every verb that reads runs (show, diff, ps, kill, logs, push, tensorboard) starts here, so a
run whose scheduler died reads as `lost` everywhere, and a bare sweep name means all its runs.
"""

from __future__ import annotations

import contextlib

from gitexp.errors import GitexpError, RunRecordError
from gitexp.record import recorder, store
from gitexp.record.git import CatFile, Git
from gitexp.record.refs import RunRef


def load_all(git: Git, sweep: str | None = None) -> list[store.Run]:
    """Every run (reconciled: dead schedulers' runs become `lost`), newest first."""
    refs = store.list_runs(git, sweep)
    if not refs:
        return []  # no cat-file process for nothing (a kill's bare run name is tried as a sweep first)
    with git.cat_file() as cat:
        runs = [store.load_run(git, cat, ref, commit) for ref, commit in refs.items()]
    runs = recorder.reconcile(git, runs)
    runs.sort(key=lambda r: (str(r.info.get("created") or ""), str(r.info.get("started") or "")), reverse=True)
    return runs


def load_one(git: Git, text: str, cat: CatFile | None = None) -> store.Run:
    """One run, read through one `cat-file --batch` process (its ref, its parent, its files);
    `cat`: one already open, so the runs of a `diff` share a process."""
    with contextlib.nullcontext(cat) if cat is not None else git.cat_file() as cat:
        ref, commit = store.resolve(git, text, cat=cat)
        if cat.object_id(f"{commit}^1^{{commit}}") is None:
            raise RunRecordError(f"{ref.id}: not a run record (the ref points at {commit[:12]}, "
                                 "which is not a commit with a code snapshot as its parent)")
        run = store.load_run(git, cat, ref, commit)
    return recorder.reconcile(git, [run])[0]


def resolve_many(git: Git, texts: list[str]) -> list[tuple[RunRef, str]]:
    """RUN arguments -> refs; a bare sweep name selects all of its runs (a run of that name
    wins). Each argument asks git about its own refs: never a listing of every run."""
    if not texts:
        raise GitexpError("name at least one run or sweep", hint="see `gitexp ls`")
    chosen: dict[RunRef, str] = {}
    for text in texts:
        sweep = store.list_runs(git, text) if "/" not in text else {}
        if sweep and not store.runs_named(git, text):
            chosen.update(sweep)
        else:
            ref, commit = store.resolve(git, text)
            chosen[ref] = commit
    return sorted(chosen.items())
