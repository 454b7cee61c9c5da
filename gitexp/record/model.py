"""The run record: what a run commit holds, and where a live run keeps its files.

The record format is a public contract (README "Run record"). A run commit's tree is the
code snapshot plus:

    .gitexp/run.json       identity, status, command, params, timings, placement, environment
    .gitexp/metrics.json   {"<metric>": <summary value>}          (last value, or gitexp.summary)
    .gitexp/metrics.jsonl  {"step", "key", "value", "time"} per logged point
    .gitexp/output.log     stdout+stderr, capped (the cap is in run.json["output"])

While a run is live, the same files sit in its run folder, `<git-common-dir>/gitexp/runs/
<sweep>/<run>/.gitexp/`, written by the script (metrics) and the scheduler (output, run.json);
the folder itself is the run's LOGDIR. Readers overlay those live files on the committed record.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Iterable

from gitexp.record.refs import RunRef

SCHEMA = 1
RECORD_DIR = ".gitexp"
RUN_JSON = "run.json"
METRICS_JSON = "metrics.json"
SERIES_JSONL = "metrics.jsonl"
OUTPUT_LOG = "output.log"
SUMMARY_OVERRIDES = "summary.json"  # live-only: values set through gitexp.summary[...]

STATUSES = ("queued", "running", "completed", "failed", "cancelled", "lost", "pruned")
FINAL_STATUSES = ("completed", "failed", "cancelled", "lost", "pruned")  # pruned: a search trial stopped early

ENV_RUN_DIR = "GITEXP_RUN_DIR"
ENV_RUN = "GITEXP_RUN"  # "<sweep>/<run>"
ENV_PARAMS = "GITEXP_PARAMS"  # JSON of the resolved params, read by gitexp.config


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> float | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def hostname() -> str:
    import socket  # writers only: readers (`show`, `diff`) start faster without it

    return socket.gethostname()


def new_info(run: RunRef, snapshot: Any, commands: list[str], params: dict[str, Any], *, cwd: str,
             logdir: Path, environment: dict[str, Any], user: str, scheduler: dict[str, Any],
             resources: dict[str, Any] | None = None, sweep_file: str | None = None,
             sweep_hash: str | None = None, status: str = "queued") -> dict[str, Any]:
    """A new run.json: the one place its fields are laid out (`gitexp run` and standalone runs)."""
    return {
        "schema": SCHEMA, "sweep": run.sweep, "name": run.name, "status": status,
        "command": " && ".join(commands), "commands": commands, "params": params,
        "resources": resources or {}, "created": now_iso(), "started": None, "ended": None,
        "duration": None, "exit_code": None, "host": hostname(), "user": user, "gpus": [],
        "base_commit": snapshot.base, "branch": snapshot.branch, "snapshot": snapshot.commit,
        "cwd": cwd, "logdir": str(logdir), "sweep_file": sweep_file, "sweep_hash": sweep_hash,
        "excluded_files": list(snapshot.excluded), "environment": environment, "scheduler": scheduler,
        "attempt_id": None, "attempts": [],
    }


def runs_root(gitexp_dir: Path) -> Path:
    """The folder holding every run folder, as `<sweep>/<run>/`."""
    return gitexp_dir / "runs"


@dataclass(frozen=True)
class RunFiles:
    """Where one run's live files live on this machine (each path made once: a sweep of short
    jobs asks for them several times a job)."""

    dir: Path  # LOGDIR / GITEXP_RUN_DIR

    @classmethod
    def for_run(cls, gitexp_dir: Path, run: RunRef) -> "RunFiles":
        return _run_files(cls, gitexp_dir, run)

    @cached_property
    def meta(self) -> Path:
        return self.dir / RECORD_DIR

    @cached_property
    def run_json(self) -> Path:
        return self.meta / RUN_JSON

    @cached_property
    def series(self) -> Path:
        return self.meta / SERIES_JSONL

    @cached_property
    def summary_overrides(self) -> Path:
        return self.meta / SUMMARY_OVERRIDES

    @cached_property
    def output(self) -> Path:
        return self.meta / OUTPUT_LOG

    def create(self) -> None:
        self.meta.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=4096)
def _run_files(cls: type[RunFiles], gitexp_dir: Path, run: RunRef) -> RunFiles:
    return cls(runs_root(gitexp_dir) / run.sweep / run.name)


def clean_number(value: Any) -> Any:
    """JSON has no NaN/inf: store them as strings so the record stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# A \\uXXXX escape of half a surrogate pair: JSON text can hold one (json.dumps writes
# os.fsdecode(b"\\xff") as "\\udcff"), but it decodes to a string no UTF-8 encoder, DuckDB
# or terminal accepts. Escaped backslashes are matched first so "\\\\udcff" (text) is left alone.
_ESCAPES = re.compile(rb"\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
                      rb"|\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\.")


def _escape_lone(match: re.Match[bytes]) -> bytes:
    text = match.group()
    if text[1:2] != b"u" or match.group(2):
        return text  # another escape, or a whole pair (a character beyond the BMP)
    return b"\\" + text  # the escape becomes its own six characters of text


def escape_surrogates(data: bytes) -> bytes:
    """JSON text in which every lone surrogate escape reads as its literal text ("\\udcff"),
    so a bad value is shown escaped instead of breaking every reader. Costs one scan when clean."""
    if b"\\ud" not in data and b"\\uD" not in data:
        return data
    return _ESCAPES.sub(_escape_lone, data)


def loads(data: bytes | str) -> Any:
    """json.loads for record files: any bytes, lone surrogates shown escaped; ValueError if not JSON."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return json.loads(escape_surrogates(data).decode("utf-8", "replace"))


def dumps(data: Any, **options: Any) -> str:
    """json.dumps whose output every reader takes (lone surrogates written as escaped text)."""
    text = json.dumps(data, default=str, **options)
    if "\\ud" in text or "\\uD" in text:
        text = escape_surrogates(text.encode()).decode()
    return text


def parse_series(data: bytes) -> list[dict[str, Any]]:
    """Points of metrics.jsonl content, whatever the bytes.

    A torn line (a writer that crashed or hit a full disk mid-write) has no newline, so the next
    writer's whole line follows it on the same line: that point is found as the line's valid
    tail instead of being lost with it. A point needs a string key.

    Well-formed content is parsed in one `json.loads` (a plot of 100 runs x 1,000 points spent
    most of its time in one call per line); anything else line by line, with the same result."""
    data = escape_surrogates(data)
    points = _in_one_go(data)
    if points is None:  # a torn line is most often the last one, still being written
        head, cut, tail = data.rpartition(b"\n")
        points = _in_one_go(head) if cut and tail else None
        points = _line_by_line(data) if points is None else points + _line_by_line(tail)
    return points


def _in_one_go(data: bytes) -> list[dict[str, Any]] | None:
    """The points of `data` read as one JSON array of its lines, or None: read it line by line.

    Taken only when that is provably what reading each line alone gives: every line starts
    with `{` and there is no other `{`, and the array holds one object per line. Then each
    object begins at its own line's start, none can reach into the next line (whose `{` opens
    another), and only whitespace follows it on its line. A torn line, a blank line, a `\r`,
    bytes that are not UTF-8 or a `{` inside a value fail these checks: the careful reader
    takes them."""
    body = data[:-1] if data.endswith(b"\n") else data
    if not body:
        return []
    lines = body.count(b"\n") + 1
    if (not body.startswith(b"{") or b"\r" in body or body.count(b"{") != lines
            or body.count(b"\n{") != lines - 1):
        return None
    try:
        items = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
    except ValueError:
        return None
    if len(items) != lines:
        return None
    try:
        return [item for item in items if type(item.get("key")) is str]
    except AttributeError:  # a line that is not an object (only dicts have .get)
        return None


def _line_by_line(data: bytes) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for line in data.splitlines():
        point = _point(line)
        if point is None:
            point = _tail_point(line)
        if point is not None:
            points.append(point)
    return points


def _point(line: bytes) -> dict[str, Any] | None:
    try:
        point = json.loads(line)
    except ValueError:
        try:  # not UTF-8: keep what can be read
            point = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            return None
    if isinstance(point, dict) and isinstance(point.get("key"), str):
        return point
    return None


def _tail_point(line: bytes, tries: int = 16) -> dict[str, Any] | None:
    start = line.find(b'{"', 1)
    while start > 0 and tries > 0:
        point = _point(line[start:])
        if point is not None:
            return point
        start, tries = line.find(b'{"', start + 1), tries - 1
    return None


def read_series(path: Path) -> list[dict[str, Any]]:
    try:
        return parse_series(path.read_bytes())
    except FileNotFoundError:
        return []


def summarize(points: Iterable[dict[str, Any]], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summary = last value per key, with explicit gitexp.summary values winning."""
    summary: dict[str, Any] = {}
    for point in points:
        summary[str(point["key"])] = point.get("value")
    if overrides:
        summary.update(overrides)
    return summary


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return loads(path.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, a folder: the default
        return default


def json_file(data: Any) -> bytes:
    """A record's JSON file as gitexp writes it, in git and in run folders alike (one key a line)."""
    return (dumps(data, indent=1) + "\n").encode()


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, json_file(data))


def write_bytes_atomic(path: Path, text: bytes) -> None:
    """Write-then-rename so a reader never sees half a file.

    On a full disk the new copy cannot be made beside the old one; the file is then rewritten
    in place, which reuses the old file's blocks (a reader may see it torn for an instant and
    falls back to its default), because a truthful final state matters more than atomicity."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        tmp.write_bytes(text)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.exists():
            raise
        with open(path, "r+b") as handle:
            handle.write(text)
            handle.truncate()
