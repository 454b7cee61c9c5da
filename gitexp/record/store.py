"""Run records in git: the only code that writes run commits and refs.

A record write is one `git fast-import` (any number of run commits, each = snapshot tree +
`.gitexp/`) onto a scratch ref, then one `git update-ref --stdin` transaction that moves every
run ref from its expected old value (zeros = create). If any ref changed behind our back the
whole transaction is refused and nothing is overwritten. A run commit's first parent is its
snapshot S; when it replaces an earlier record, that record is the second parent, so every
move of a run ref is a fast-forward that keeps the history of the run (attempts, live progress).
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitexp.errors import GitCommandError, RefConflictError, RunNotFoundError
from gitexp.record import model as record
from gitexp.record.git import ZERO_SHA, CatFile, Git, last_line
from gitexp.record.refs import EXPERIMENTS, TMP_PREFIX, RunRef

_counter = itertools.count()


@dataclass(frozen=True)
class RecordWrite:
    run: RunRef
    snapshot: str  # S: first parent, and the code tree of the record
    old: str | None  # the ref's expected current value (None = must not exist yet)
    files: dict[str, bytes]  # file name under .gitexp/ -> content
    message: str


def record_files(info: dict[str, Any], metrics: dict[str, Any], series: bytes, output: bytes) -> dict[str, bytes]:
    """The four files of a record, encoded as committed."""
    def dump(obj: Any) -> bytes:
        return (json.dumps(obj, indent=1, default=str) + "\n").encode()

    return {
        record.RUN_JSON: dump(info),
        record.METRICS_JSON: dump({k: record.clean_number(v) for k, v in metrics.items()}),
        record.SERIES_JSONL: series,
        record.OUTPUT_LOG: output,
    }


def write_records(git: Git, writes: list[RecordWrite]) -> dict[RunRef, str]:
    """Create the run commits and move their refs atomically; returns the new commit per run."""
    if not writes:
        return {}
    scratch = f"{TMP_PREFIX}{os.getpid()}-{next(_counter)}-{time.monotonic_ns()}"
    stamp = f"{int(time.time())} +0000"
    chunks: list[bytes] = [b"feature done\n"]
    for mark, write in enumerate(writes, start=1):
        message = write.message.encode()
        chunks.append(
            f"commit {scratch}\nmark :{mark}\ncommitter gitexp <gitexp@localhost> {stamp}\n"
            f"data {len(message)}\n".encode() + message + f"\nfrom {write.snapshot}\n".encode()
        )
        if write.old:
            chunks.append(f"merge {write.old}\n".encode())
        chunks.append(f"D {record.RECORD_DIR}\n".encode())
        for name, content in write.files.items():
            chunks.append(f"M 100644 inline {record.RECORD_DIR}/{name}\ndata {len(content)}\n".encode())
            chunks.append(content + b"\n")
    chunks.append(b"done\n")
    with tempfile.TemporaryDirectory(prefix="gitexp-marks-") as tmp:
        marks = Path(tmp) / "marks"
        proc = git.call("fast-import", "--quiet", f"--export-marks={marks}", input=b"".join(chunks))
        if proc.returncode != 0:
            raise GitCommandError(f"git fast-import failed: {proc.stderr.decode(errors='replace').strip()}")
        commits = dict(line.split() for line in marks.read_text().splitlines())
    new = {write.run: commits[f":{i}"] for i, write in enumerate(writes, start=1)}
    lines = "".join(f"update {w.run.ref} {new[w.run]} {w.old or ZERO_SHA}\n" for w in writes)
    lines += f"delete {scratch}\n"  # same transaction: no scratch ref outlives a write
    proc = git.call("update-ref", "--stdin", input=lines.encode())
    if proc.returncode != 0:
        git.run("update-ref", "-d", scratch, check=False)
        raise RefConflictError(f"run ref changed behind gitexp's back, nothing was overwritten: "
                               f"{last_line(proc.stderr)}")
    return new


def delete_ref(git: Git, run: RunRef, old: str) -> None:
    if git.call("update-ref", "-d", run.ref, old).returncode != 0:
        raise RefConflictError(f"{run}: ref changed while deleting it; left as it is")


# -- reading -------------------------------------------------------------------


def list_runs(git: Git, sweep: str | None = None) -> dict[RunRef, str]:
    """Every run ref (optionally of one sweep) -> its commit."""
    prefix = f"{EXPERIMENTS}{sweep}/" if sweep else EXPERIMENTS
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", prefix)
    runs: dict[RunRef, str] = {}
    for line in out.splitlines():
        ref, _, sha = line.partition(" ")
        run = RunRef.from_ref(ref)
        if run:
            runs[run] = sha
    return runs


@dataclass
class Run:
    """One run as a reader sees it: the committed record, overlaid with live files if running."""

    ref: RunRef
    commit: str
    info: dict[str, Any]
    metrics: dict[str, Any]
    live: bool = False

    @property
    def id(self) -> str:
        return self.ref.id

    @property
    def status(self) -> str:
        return str(self.info.get("status", "unknown"))

    @property
    def snapshot(self) -> str:
        return str(self.info.get("snapshot") or f"{self.commit}^1")

    @property
    def params(self) -> dict[str, Any]:
        return self.info.get("params") or {}


def _json_blob(cat: CatFile, rev: str) -> Any:
    data = cat.blob(rev)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


_TEXT_FIELDS = ("status", "command", "created", "started", "ended", "host", "user", "base_commit", "branch",
                "snapshot", "sweep", "name", "attempt_id")
_TYPED_FIELDS = {"params": dict, "gpus": list, "attempts": list, "excluded_files": list, "artifacts": list,
                 "commands": list, "duration": (int, float), "exit_code": int}


def well_formed(info: Any, run: RunRef) -> dict[str, Any]:
    """A record as readers may assume it: a hand-edited or corrupt run.json shows as a broken
    run (status `unknown`, `error` saying why) instead of crashing whatever reads it."""
    if not isinstance(info, dict):
        return {"schema": record.SCHEMA, "sweep": run.sweep, "name": run.name, "status": "unknown",
                "error": "run.json missing or not valid JSON"}
    bad = [k for k in _TEXT_FIELDS if info.get(k) is not None and not isinstance(info[k], str)]
    bad += [k for k, kind in _TYPED_FIELDS.items()
            if info.get(k) is not None and (not isinstance(info[k], kind) or isinstance(info[k], bool))]
    if not bad:
        return info
    fixed = {k: v for k, v in info.items() if k not in bad}
    fixed.setdefault("status", "unknown")
    fixed["error"] = f"run.json has fields of the wrong type: {', '.join(bad)}"
    return fixed


def load_run(git: Git, cat: CatFile, run: RunRef, commit: str) -> Run:
    info = well_formed(_json_blob(cat, f"{commit}:{record.RECORD_DIR}/{record.RUN_JSON}"), run)
    metrics = _json_blob(cat, f"{commit}:{record.RECORD_DIR}/{record.METRICS_JSON}")
    result = Run(run, commit, info, metrics if isinstance(metrics, dict) else {})
    if result.status in ("running", "queued"):
        overlay_live(git, result)
    return result


def overlay_live(git: Git, run: Run) -> None:
    """Newer-than-the-commit values from the live run folder (metrics every few seconds)."""
    files = record.RunFiles.for_run(git.gitexp_dir, run.ref)
    live_info = record.read_json(files.run_json)
    if not isinstance(live_info, dict) or live_info.get("attempt_id") != run.info.get("attempt_id"):
        return  # the folder belongs to another attempt (or was cleaned up)
    run.info = live_info
    run.metrics = record.summarize(record.read_series(files.series), record.read_json(files.summary_overrides, {}))
    run.live = True


def series_of(git: Git, cat: CatFile, run: Run) -> list[dict[str, Any]]:
    if run.live:
        return record.read_series(record.RunFiles.for_run(git.gitexp_dir, run.ref).series)
    return record.parse_series(cat.blob(f"{run.commit}:{record.RECORD_DIR}/{record.SERIES_JSONL}") or b"")


def resolve(git: Git, text: str, runs: dict[RunRef, str] | None = None) -> tuple[RunRef, str]:
    """A RUN argument -> (ref, commit): `sweep/name`, a bare name if unique, or a commit prefix."""
    runs = list_runs(git) if runs is None else runs
    if "/" in text:
        sweep, _, name = text.partition("/")
        hit = runs.get(RunRef(sweep, name))
        if hit:
            return RunRef(sweep, name), hit
        raise RunNotFoundError(f"no run {text!r}", hint="see `gitexp ls`")
    by_name = [(r, c) for r, c in runs.items() if r.name == text]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        choices = ", ".join(sorted(r.id for r, _ in by_name))
        raise RunNotFoundError(f"run name {text!r} is ambiguous: {choices}")
    lowered = text.lower()
    if len(lowered) >= 4 and all(ch in "0123456789abcdef" for ch in lowered):
        by_sha = [(r, c) for r, c in runs.items() if c.startswith(lowered)]
        if len(by_sha) == 1:
            return by_sha[0]
        if len(by_sha) > 1:
            raise RunNotFoundError(f"commit prefix {text!r} is ambiguous")
    raise RunNotFoundError(f"no run {text!r}", hint="see `gitexp ls`")
