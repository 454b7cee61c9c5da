"""Read run records out of git (and live run folders) for the index.

Many records are read through one `git cat-file --batch` process whose requests are
pipelined: a thread writes every request while this thread reads the answers. Lockstep
request/response (`CatFile.read`) pays a pipe round trip per object, five times slower
for 10k runs of three files each.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from gitexp.errors import GitCommandError
from gitexp.record import model as record, store
from gitexp.record.git import Git
from gitexp.record.refs import RunRef

# The hook another module supplies to settle records before they are indexed (e.g. turn
# `running` records whose scheduler died into `lost`): same shape as `recorder.reconcile`.
Reconcile = Callable[[Git, list[store.Run]], list[store.Run]]

_FILES = (record.RUN_JSON, record.METRICS_JSON, record.SERIES_JSONL)


@dataclass
class Loaded:
    """A run as the index stores it: the record (live values overlaid) and its raw series."""

    run: store.Run
    series: bytes  # metrics.jsonl content, from the live folder when the run is live
    live: str  # signature of the live folder's files: changes when a live run logs
    # run.json / metrics.json exactly as committed, on one line, when they can go into the
    # index as they are (strict JSON, nothing fixed or overlaid): DuckDB parses them itself
    info_json: bytes | None = None
    metrics_json: bytes | None = None


def read_blobs(git: Git, revs: Iterable[str]) -> Iterator[bytes | None]:
    """Contents of `revs` in order (None for a missing object), through one process."""
    proc = git.spawn("cat-file", "--batch")
    assert proc.stdin and proc.stdout
    requests = [rev.encode() + b"\n" for rev in revs]  # ~60 bytes each: fine at 100k runs

    def feed() -> None:
        try:
            proc.stdin.write(b"".join(requests))  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        for _ in requests:
            header = proc.stdout.readline().split()
            if not header:
                raise GitCommandError("git cat-file --batch stopped answering while reading run records")
            if header[-1] == b"missing" or len(header) < 3:
                yield None
                continue
            yield proc.stdout.read(int(header[2]) + 1)[:-1]
    finally:
        proc.stdout.close()  # an early stop makes git quit on EPIPE, which frees the writer
        writer.join()
        proc.wait()


def live_signature(git: Git, run: RunRef) -> str:
    """Sizes and mtimes of a run folder's live files ('' when there is no folder)."""
    files = record.RunFiles.for_run(git.gitexp_dir, run)
    parts = []
    for path in (files.run_json, files.series, files.summary_overrides):
        try:
            stat = os.stat(path)
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "" if parts == ["-", "-", "-"] else " ".join(parts)


class _NotStrict(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotStrict(name)  # NaN / Infinity: Python reads them, DuckDB's JSON reader does not


# One decoder for every record: json.loads with a keyword argument builds a new one per call.
_STRICT = json.JSONDecoder(parse_constant=_no_constant)


def _json(data: bytes | None) -> tuple[Any, bool]:
    """(value, strict): strict when `data` is JSON any reader takes byte for byte."""
    if data is None:
        return None, False
    try:
        fixed = record.escape_surrogates(data)  # the same object when there was nothing to fix
        text = fixed.decode(json.detect_encoding(fixed), "surrogatepass")  # as json.loads decodes bytes
        return _STRICT.decode(text), fixed is data
    except _NotStrict:
        return record.loads(data), False
    except ValueError:
        return None, False


def _one_line(data: bytes) -> bytes:
    # JSON strings cannot hold a raw line break, so every one is whitespace between tokens
    return data.replace(b"\n", b" ").replace(b"\r", b" ")


def load(git: Git, runs: dict[RunRef, str]) -> Iterator[Loaded]:
    """The records of `runs` (ref -> commit) one by one, overlaying live folders of running runs.

    A generator over one pipelined `cat-file --batch`: the caller keeps only what it needs."""
    revs = (f"{commit}:{record.RECORD_DIR}/{name}" for commit in runs.values() for name in _FILES)
    blobs = read_blobs(git, revs)
    for ref, commit in runs.items():
        raw_info, raw_metrics, series = next(blobs), next(blobs), next(blobs) or b""
        (info, info_strict), (metrics, metrics_strict) = _json(raw_info), _json(raw_metrics)
        checked = store.well_formed(info, ref)
        run = store.Run(ref, commit, checked, metrics if isinstance(metrics, dict) else {})
        live = ""
        if run.status in ("running", "queued"):
            live = live_signature(git, ref)
            store.overlay_live(git, run)
            if run.live:
                series = _read(record.RunFiles.for_run(git.gitexp_dir, ref).series)
        exact = not run.live and raw_info is not None and info_strict and checked is info
        yield Loaded(run, series, live, _one_line(raw_info) if exact else None,
                     _one_line(raw_metrics) if not run.live and metrics_strict and isinstance(metrics, dict)
                     and raw_metrics is not None else None)


def _read(path: os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""
