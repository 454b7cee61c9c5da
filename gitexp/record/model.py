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

import json
import math
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
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
    """Where one run's live files live on this machine."""

    dir: Path  # LOGDIR / GITEXP_RUN_DIR

    @classmethod
    def for_run(cls, gitexp_dir: Path, run: RunRef) -> "RunFiles":
        return cls(runs_root(gitexp_dir) / run.sweep / run.name)

    @property
    def meta(self) -> Path:
        return self.dir / RECORD_DIR

    @property
    def run_json(self) -> Path:
        return self.meta / RUN_JSON

    @property
    def series(self) -> Path:
        return self.meta / SERIES_JSONL

    @property
    def summary_overrides(self) -> Path:
        return self.meta / SUMMARY_OVERRIDES

    @property
    def output(self) -> Path:
        return self.meta / OUTPUT_LOG

    def create(self) -> None:
        self.meta.mkdir(parents=True, exist_ok=True)


def clean_number(value: Any) -> Any:
    """JSON has no NaN/inf: store them as strings so the record stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def parse_series(data: bytes) -> list[dict[str, Any]]:
    """Points of metrics.jsonl content; a torn last line (crash mid-write) is skipped."""
    points: list[dict[str, Any]] = []
    for line in data.splitlines():
        try:
            point = json.loads(line)
        except ValueError:
            continue
        if isinstance(point, dict) and "key" in point:
            points.append(point)
    return points


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
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return default


def write_json_atomic(path: Path, data: Any) -> None:
    """Write-then-rename so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)
