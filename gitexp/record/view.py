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
    """RUN arguments -> refs; a bare sweep name selects all of its runs."""
    if not texts:
        raise GitexpError("name at least one run or sweep", hint="see `gitexp ls`")
    runs = store.list_runs(git)
    sweeps = {run.sweep for run in runs}
    chosen: dict[RunRef, str] = {}
    for text in texts:
        if "/" not in text and text in sweeps and not any(r.name == text for r in runs):
            chosen.update({r: c for r, c in runs.items() if r.sweep == text})
        else:
            ref, commit = store.resolve(git, text, runs)
            chosen[ref] = commit
    return sorted(chosen.items())
