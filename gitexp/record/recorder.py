"""Turn a run's live folder into a record commit (the only path from run folder to git).

The scheduler calls it when a run starts, every live interval, and when it ends; `reconcile`
calls it to mark runs of a vanished scheduler `lost`, or to commit the final state a dead
scheduler left in the folder but could not write to git. The live `run.json` is written first, so
when a git write fails (disk full) the folder still holds everything and the next command can
commit it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitexp.errors import GitCommandError, RefConflictError, RefLockError
from gitexp.record import liveness, model as record, store
from gitexp.record.git import Git
from gitexp.record.refs import RunRef


def files_from_folder(files: record.RunFiles, info: dict[str, Any], output: bytes | None = None,
                      run_json: bytes | None = None) -> dict[str, bytes]:
    try:
        series = files.series.read_bytes()
    except FileNotFoundError:
        series = b""
    metrics = record.summarize(record.parse_series(series), record.read_json(files.summary_overrides, {}))
    if output is None:
        output = files.output.read_bytes() if files.output.exists() else b""
    return store.record_files(info, metrics, series, output, run_json)


@dataclass(frozen=True)
class Update:
    """One run's new state: its run.json, the ref value it replaces, and its output so far."""

    run: RunRef
    info: dict[str, Any]
    old: str | None
    message: str
    output: bytes | None = None


def keep_in_folder(files: record.RunFiles, run_json: bytes) -> None:
    """Write a run's state (its encoded run.json) into its live folder, best effort: on a full
    disk an existing `run.json` is rewritten in place (`write_bytes_atomic`); without room for
    one, nothing."""
    try:
        files.create()
        record.write_bytes_atomic(files.run_json, run_json)
    except OSError:
        pass


@dataclass
class Committed:
    """What one `commit_runs` did: the new commits, the runs whose ref changed behind our back
    (their folders keep everything; nothing of anyone else's was overwritten), and the runs git
    could not write this time (a lock it could not take: try them again)."""

    done: dict[RunRef, str] = field(default_factory=dict)
    refused: dict[RunRef, RefConflictError] = field(default_factory=dict)
    failed: dict[RunRef, GitCommandError] = field(default_factory=dict)


def commit_runs(git: Git, updates: list[Update]) -> Committed:
    """Write each live run.json, then commit every folder's state in one ref transaction.

    When one ref stops the transaction (moved, or locked by another git), the others are
    written one by one, so a stale `.lock` of one run holds back no other run's record. A
    failure to write git's objects (the disk is full) is raised: nothing could be written."""
    writes = []
    for update in updates:
        files = record.RunFiles.for_run(git.gitexp_dir, update.run)
        run_json = record.json_file(update.info)  # encoded once: for the folder and for git
        keep_in_folder(files, run_json)  # on a full disk the git write below fails too
        writes.append(store.RecordWrite(update.run, update.info["snapshot"], update.old,
                                        files_from_folder(files, update.info, update.output, run_json),
                                        update.message))
    try:
        return Committed(store.write_records(git, writes))
    except RefConflictError as error:
        if len(writes) == 1:
            return Committed(refused={writes[0].run: error})
    except RefLockError:  # a ref's lock, not the objects (those fail the whole batch: raised)
        if len(writes) == 1:
            raise
    result = Committed()  # one ref stopped the transaction: find which, write the others
    for write in writes:
        try:
            result.done.update(store.write_records(git, [write]))
        except RefConflictError as error:
            result.refused[write.run] = error
        except GitCommandError as error:
            result.failed[write.run] = error
    return result


def commit_run(git: Git, run: RunRef, info: dict[str, Any], old: str | None, message: str,
               output: bytes | None = None) -> str:
    """`commit_runs` for one run; raises RefConflictError if its ref moved behind our back."""
    result = commit_runs(git, [Update(run, info, old, message, output)])
    if result.refused:
        raise result.refused[run]
    return result.done[run]


def reconcile(git: Git, runs: list[store.Run]) -> list[store.Run]:
    """Mark runs whose scheduler died `lost` (in git); returns the runs as they now stand."""
    result = []
    for run in runs:
        if run.live and run.status not in ("running", "queued") and liveness.owner_alive(run.info) is False:
            # The committed record still says running but the live folder holds the final state:
            # the scheduler's last git write failed (disk full) before it died. Commit it now.
            try:
                commit = commit_run(git, run.ref, run.info, run.commit, f"gitexp: {run.id} {run.status} (recovered)")
            except (RefConflictError, GitCommandError):  # moved by someone else, or no room yet: next time
                result.append(run)
                continue
            run = store.Run(run.ref, commit, run.info, run.metrics)
        elif run.status in ("running", "queued") and liveness.owner_alive(run.info) is False:
            info = dict(run.info, status="lost", ended=run.info.get("ended") or record.now_iso())
            info["lost_reason"] = "the scheduler that owned this run is gone (killed or crashed)"
            message = f"gitexp: {run.id} lost"
            try:
                if run.live:
                    commit = commit_run(git, run.ref, info, run.commit, message)
                else:  # no live folder here: keep the committed files, change only run.json
                    commit = restamp(git, run, info, message)
            except RefConflictError:
                result.append(run)  # someone else updated it first; their word stands
                continue
            except GitCommandError:
                result.append(run)  # git could not write (a full disk): marked lost by a later command
                continue
            run = store.Run(run.ref, commit, info, run.metrics)
        result.append(run)
    return result


def restamp(git: Git, run: store.Run, info: dict[str, Any], message: str) -> str:
    """A new record commit for a run that is not live: `info` as its run.json, the committed
    metrics, series and output kept; the ref moves only from `run.commit` (old-value check)."""
    with git.cat_file() as cat:
        def blob(name: str) -> bytes:
            return cat.blob(f"{run.commit}:{record.RECORD_DIR}/{name}") or b""
        files = store.record_files(info, run.metrics, blob(record.SERIES_JSONL), blob(record.OUTPUT_LOG))
    write = store.RecordWrite(run.ref, info["snapshot"], run.commit, files, message)
    return store.write_records(git, [write])[run.ref]
