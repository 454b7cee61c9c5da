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
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitexp.errors import GitCommandError, RefConflictError, RefLockError, RunNotFoundError
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


def record_files(info: dict[str, Any], metrics: dict[str, Any], series: bytes, output: bytes,
                 run_json: bytes | None = None) -> dict[str, bytes]:
    """The four files of a record, encoded as committed (`run_json`: `info` already encoded)."""
    return {
        record.RUN_JSON: run_json if run_json is not None else record.json_file(info),
        record.METRICS_JSON: record.json_file({k: record.clean_number(v) for k, v in metrics.items()}),
        record.SERIES_JSONL: series,
        record.OUTPUT_LOG: output,
    }


# fast-import sets up and frees a zlib stream (~256 KB) for every object it stores; with glibc's
# default trim threshold each free gives the heap's top back to the kernel and the next object
# faults it in again: 10k queued records took 2.5-3.3 s, 1.1 s with a high threshold (glibc
# reads this variable at start; other C libraries ignore it).
FAST_IMPORT_ENV = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


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
    import tempfile  # writers only: readers start faster without it (and its random, shutil)

    with tempfile.TemporaryDirectory(prefix="gitexp-marks-") as tmp:
        marks = Path(tmp) / "marks"
        proc = git.call("fast-import", "--quiet", f"--export-marks={marks}", input=b"".join(chunks), env=FAST_IMPORT_ENV)
        if proc.returncode != 0:
            raise GitCommandError(f"git fast-import failed: {proc.stderr.decode(errors='replace').strip()}")
        commits = dict(line.split() for line in marks.read_text().splitlines())
    new = {write.run: commits[f":{i}"] for i, write in enumerate(writes, start=1)}
    lines = "".join(f"update {w.run.ref} {new[w.run]} {w.old or ZERO_SHA}\n" for w in writes)
    lines += f"delete {scratch}\n"  # same transaction: no scratch ref outlives a write
    proc = git.call("update-ref", "--stdin", input=lines.encode())
    if proc.returncode != 0:
        git.run("update-ref", "-d", scratch, check=False)
        why = _fatal_line(proc.stderr)
        if _MOVED.search(why):
            raise RefConflictError(f"run ref changed behind gitexp's back, nothing was overwritten: {why}")
        # no lock file (a full disk, another git holding it): nothing moved, and trying again will do
        raise RefLockError(f"git update-ref failed: {why}")
    return new


# What git says when a ref's old value is not the one given: a real conflict, never retried.
# Any other refusal (it could not write the lock file) leaves the ref as it was.
_MOVED = re.compile(r"but expected|reference already exists|reference is missing|unable to resolve reference")


def _fatal_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return next((line for line in lines if line.startswith(("fatal:", "error:"))), last_line(stderr))


PACK_LOOSE = 100  # loose run refs that make `pack_refs` pack them (a launch calls it when it ends)


def loose_run_refs(git: Git) -> int:
    """How many run refs are loose files (each costs a file read in every listing)."""
    root = git.common_dir / EXPERIMENTS.rstrip("/")
    count = 0
    try:
        sweeps = [entry.path for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for sweep in sweeps:
        with os.scandir(sweep) as entries:
            count += sum(1 for entry in entries if entry.is_file(follow_symlinks=False))
    return count


def pack_refs(git: Git, threshold: int = PACK_LOOSE) -> bool:
    """Move loose run refs into `packed-refs`, git's own one-file store, once `threshold` of
    them are loose: `for-each-ref refs/experiments` then reads one sorted file instead of 100k
    files. The refs' values never change. Git >= 2.42 packs only `refs/experiments/`; an older
    git packs every loose ref, as `git gc` does (values unchanged, other refs untouched otherwise).
    Returns True when it packed."""
    if (git.common_dir / "reftable").exists() or loose_run_refs(git) < threshold:
        return False
    proc = git.call("pack-refs", "--include", f"{EXPERIMENTS}*")
    if proc.returncode == 129:  # git before 2.42: no --include
        proc = git.call("pack-refs", "--all")
    return proc.returncode == 0


def delete_ref(git: Git, run: RunRef, old: str) -> None:
    proc = git.call("update-ref", "-d", run.ref, old)
    if proc.returncode != 0:
        why = _fatal_line(proc.stderr)
        if _MOVED.search(why):
            raise RefConflictError(f"{run}: ref changed while deleting it; left as it is")
        raise RefLockError(f"{run}: git could not delete its ref ({why}); left as it is")


# -- reading -------------------------------------------------------------------


def list_runs(git: Git, sweep: str | None = None) -> dict[RunRef, str]:
    """Every run ref (optionally of one sweep) -> its commit."""
    if sweep and not _valid(sweep):
        return {}  # no sweep has that name; and as a pattern it could match others
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
        return record.loads(data)
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
    if not (isinstance(live_info, dict) and _same_or_later_attempt(live_info, run.info)):
        return  # the folder belongs to an earlier attempt (or was cleaned up)
    run.info = live_info
    run.metrics = record.summarize(record.read_series(files.series), record.read_json(files.summary_overrides, {}))
    run.live = True


def _same_or_later_attempt(live: dict[str, Any], committed: dict[str, Any]) -> bool:
    """Does the live folder hold the committed attempt, or one started after it (a retry whose
    `started` commit never landed lists the committed attempt among its `attempts`)?"""
    attempt = committed.get("attempt_id")
    if live.get("attempt_id") == attempt:
        return True
    earlier = live.get("attempts")
    return bool(attempt) and isinstance(earlier, list) and any(
        isinstance(a, dict) and a.get("attempt_id") == attempt for a in earlier)


def series_of(git: Git, cat: CatFile, run: Run) -> list[dict[str, Any]]:
    if run.live:
        return record.read_series(record.RunFiles.for_run(git.gitexp_dir, run.ref).series)
    return record.parse_series(cat.blob(f"{run.commit}:{record.RECORD_DIR}/{record.SERIES_JSONL}") or b"")


def resolve(git: Git, text: str, runs: dict[RunRef, str] | None = None,
            cat: CatFile | None = None) -> tuple[RunRef, str]:
    """A RUN argument -> (ref, commit): `sweep/name`, a bare name if unique, or a commit prefix.

    Without `runs` it asks git about this one name (see `_lookup`), never listing every run:
    at 100k runs a full listing costs a second, a lookup a few milliseconds. An open `cat`
    answers a `sweep/name` without starting a process."""
    if runs is None:
        return _lookup(git, text, cat)
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
        raise _ambiguous_name(text, [r for r, _ in by_name])
    if _hex_prefix(text):
        by_sha = [(r, c) for r, c in runs.items() if c.startswith(text.lower())]
        if len(by_sha) == 1:
            return by_sha[0]
        if len(by_sha) > 1:
            raise RunNotFoundError(f"commit prefix {text!r} is ambiguous")
    raise RunNotFoundError(f"no run {text!r}", hint="see `gitexp ls`")


def _hex_prefix(text: str) -> bool:
    return len(text) >= 4 and all(ch in "0123456789abcdef" for ch in text.lower())


def _ambiguous_name(text: str, refs: list[RunRef]) -> RunNotFoundError:
    return RunNotFoundError(f"run name {text!r} is ambiguous: {', '.join(sorted(r.id for r in refs))}")


def runs_named(git: Git, name: str) -> list[tuple[RunRef, str]]:
    """The runs of any sweep with this bare name (git filters the refs by pattern)."""
    return _matching(git, f"{EXPERIMENTS}*/{name}") if _valid(name) else []


def _matching(git: Git, *args: str) -> list[tuple[RunRef, str]]:
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", *args)
    found = []
    for line in out.splitlines():
        ref, _, sha = line.partition(" ")
        run = RunRef.from_ref(ref)
        if run:
            found.append((run, sha))
    return found


def _lookup(git: Git, text: str, cat: CatFile | None = None) -> tuple[RunRef, str]:
    """`sweep/name`: read that one ref. A bare name: the refs matching `*/<name>` (git filters
    them; packed refs make that a scan of one file, see `pack`). A commit prefix: the objects
    git knows by that prefix, then the run refs pointing at one of them."""
    if "/" in text:
        sweep, _, name = text.partition("/")
        if _valid(sweep) and _valid(name):  # any object: a ref at a blob is a broken record, not no run
            if cat is not None:
                found = cat.object_id(RunRef(sweep, name).ref)
            else:
                proc = git.call("rev-parse", "--verify", "-q", RunRef(sweep, name).ref)
                found = proc.stdout.decode().strip() if proc.returncode == 0 else None
            if found:
                return RunRef(sweep, name), found
        raise RunNotFoundError(f"no run {text!r}", hint="see `gitexp ls`")
    if _valid(text):
        by_name = runs_named(git, text)
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise _ambiguous_name(text, [r for r, _ in by_name])
    if _hex_prefix(text):
        proc = git.call("rev-parse", f"--disambiguate={text.lower()}")
        by_sha = _runs_at(git, proc.stdout.decode().split() if proc.returncode == 0 else [])
        if len(by_sha) == 1:
            return by_sha[0]
        if len(by_sha) > 1:
            raise RunNotFoundError(f"commit prefix {text!r} is ambiguous")
    raise RunNotFoundError(f"no run {text!r}", hint="see `gitexp ls`")


def _runs_at(git: Git, objects: list[str]) -> list[tuple[RunRef, str]]:
    """The run refs pointing at one of `objects`. A record commit names its run in its message
    (`gitexp: <sweep>/<run> ...`), which one ref read confirms; only a commit written some
    other way (or a ref that moved on) costs a listing of the run refs."""
    if not objects:
        return []
    out = git.call("cat-file", "--batch", input="".join(f"{sha}\n" for sha in objects).encode()).stdout
    found, unsure, at = [], [], 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3:
            continue  # missing
        sha, kind, size = header[0].decode(), header[1], int(header[2])
        body, at = out[at:at + size], at + size + 1
        if kind != b"commit":
            continue
        words = body.partition(b"\n\n")[2].split(maxsplit=2)
        run = RunRef.from_ref(EXPERIMENTS + words[1].decode(errors="replace")) \
            if len(words) > 1 and words[0] == b"gitexp:" else None
        if run and _valid(run.sweep) and _valid(run.name) and git.rev_parse(run.ref) == sha:
            found.append((run, sha))
        else:
            unsure.append(sha)
    if unsure:
        wanted = set(unsure)
        found += [(run, sha) for run, sha in _matching(git, EXPERIMENTS) if sha in wanted]
    return found


def _valid(name: str) -> bool:
    """A sweep or run name as refs.py allows them: safe to put into a ref name or a pattern."""
    return bool(_NAME.match(name)) and ".." not in name and not name.endswith(".lock")


_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
