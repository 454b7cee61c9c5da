"""Turn a run's live folder into a record commit (the only path from run folder to git).

The scheduler calls it when a run starts, every live interval, and when it ends; `reconcile`
calls it to mark runs of a vanished scheduler `lost`, or to commit the final state a dead
scheduler left in the folder but could not write to git. The live `run.json` is written first, so
when a git write fails (disk full) the folder still holds everything and the next command can
commit it.
"""

from __future__ import annotations

from typing import Any

from gitexp import liveness, record, store
from gitexp.errors import RefConflictError
from gitexp.git import Git
from gitexp.refs import RunRef


def files_from_folder(files: record.RunFiles, info: dict[str, Any], output: bytes | None = None) -> dict[str, bytes]:
    series = files.series.read_bytes() if files.series.exists() else b""
    points = record.read_series(files.series)
    metrics = record.summarize(points, record.read_json(files.summary_overrides, {}))
    if output is None:
        output = files.output.read_bytes() if files.output.exists() else b""
    return store.record_files(info, metrics, series, output)


def commit_run(git: Git, run: RunRef, info: dict[str, Any], old: str | None, message: str,
               output: bytes | None = None) -> str:
    """Write the live run.json, then commit the folder's state as the run's new record."""
    files = record.RunFiles.for_run(git.gitexp_dir, run)
    files.create()
    record.write_json_atomic(files.run_json, info)
    write = store.RecordWrite(run, info["snapshot"], old, files_from_folder(files, info, output), message)
    return store.write_records(git, [write])[run]


def reconcile(git: Git, runs: list[store.Run]) -> list[store.Run]:
    """Mark runs whose scheduler died `lost` (in git); returns the runs as they now stand."""
    result = []
    for run in runs:
        if run.live and run.status not in ("running", "queued") and liveness.owner_alive(run.info) is False:
            # The committed record still says running but the live folder holds the final state:
            # the scheduler's last git write failed (disk full) before it died. Commit it now.
            try:
                commit = commit_run(git, run.ref, run.info, run.commit, f"gitexp: {run.id} {run.status} (recovered)")
            except RefConflictError:
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
                    commit = _restamp(git, run, info, message)
            except RefConflictError:
                result.append(run)  # someone else updated it first; their word stands
                continue
            run = store.Run(run.ref, commit, info, run.metrics)
        result.append(run)
    return result


def _restamp(git: Git, run: store.Run, info: dict[str, Any], message: str) -> str:
    with git.cat_file() as cat:
        def blob(name: str) -> bytes:
            return cat.blob(f"{run.commit}:{record.RECORD_DIR}/{name}") or b""
        files = store.record_files(info, run.metrics, blob(record.SERIES_JSONL), blob(record.OUTPUT_LOG))
    write = store.RecordWrite(run.ref, info["snapshot"], run.commit, files, message)
    return store.write_records(git, [write])[run.ref]
