"""Keep `<git-common-dir>/gitexp/index.duckdb` in step with the run refs, for many processes.

Concurrency design (the CLI, a scheduler and the language server all sync and read at once):

* The index file is an immutable snapshot. Nobody opens it for writing, so DuckDB's
  single-writer file lock is never contended: readers attach it read-only (shared lock).
* A sync that finds changes takes `index.lock` (flock), writes the next snapshot to a
  private temporary file (a copy of the current one plus the delta, or a fresh build) and
  renames it over `index.duckdb`. Readers that opened the old snapshot keep reading its
  inode; the next reader sees the new one. Writers queue on the flock, and one that
  waited re-lists the refs and usually finds nothing left to do.
* Every reader attaches the file into its own in-memory DuckDB instance. `duckdb.connect`
  of a path would share one cached instance per process, which would keep serving an old
  snapshot in a long-lived process (the language server) after a rename.

Freshness: a read first compares the stat data (mtime, size) of the ref folders under
`refs/experiments/` and of `packed-refs` with what the snapshot recorded: every ref
update renames a file in its folder, so equal stat data means equal refs. Stat data
younger than a second is not trusted (timestamps are coarse). Otherwise the read lists the
refs (one `for-each-ref`) and compares a digest of the listing with the one stored in the
snapshot; only when it differs are the indexed commits compared ref by ref. Running runs are also re-checked every read: when their live
folder changed (size/mtime), their record is re-read so queries see live metrics.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import shutil
import stat as stat_module
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from gitexp.errors import IndexPathError
from gitexp.index import schema
from gitexp.index.load import Reconcile, live_signature, load
from gitexp.record import store
from gitexp.record.git import Git
from gitexp.record.refs import EXPERIMENTS, RunRef

INDEX = "index.duckdb"
LOCK = "index.lock"
SIDECAR = "index.refs.json"  # the ref places' stat data the current snapshot matches (see `ref_dirs`)
PACKED = "/packed-refs"  # its key there: no sweep name holds a '/'
RACY = "racy"
CATALOG = "gitexp"


def index_path(git: Git) -> Path:
    return git.gitexp_dir / INDEX


def connect(path: Path) -> Any:
    """A read-only connection to one snapshot with file access and settings locked down."""
    import duckdb

    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                             "autoinstall_known_extensions": False})
    try:
        con.execute(f"ATTACH {schema.literal(str(path))} AS {CATALOG} (READ_ONLY)")
        con.execute(f"USE {CATALOG}")
        con.execute("SET TimeZone = 'UTC'")  # times come back as UTC whatever the machine's zone
        con.execute("SET enable_external_access = false")
        con.execute("SET enable_progress_bar = false")  # DuckDB's bar would land over a table
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _open_current(path: Path) -> Any | None:
    """The current snapshot, or None when it is missing, unreadable or of another version."""
    import duckdb

    if not path.exists():
        return None
    if not stat_module.S_ISREG(path.stat().st_mode):  # a FIFO would hang DuckDB, a folder break the swap
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise IndexPathError(f"{path} is {kind}; the index is a cache: remove it and it is rebuilt")
    try:
        con = connect(path)
    except duckdb.Error:
        return None
    try:
        version = con.execute("SELECT value FROM _meta WHERE key = 'version'").fetchall()
    except duckdb.Error:
        version = []
    if version != [(schema.VERSION,)]:
        con.close()
        return None
    return con


def list_refs(git: Git, sweeps: Iterable[str] | None = None) -> dict[RunRef, str]:
    """Run refs -> commits: every one, or those of `sweeps` (one `for-each-ref` either way)."""
    patterns = [EXPERIMENTS] if sweeps is None else [f"{EXPERIMENTS}{sweep}/" for sweep in sorted(sweeps)]
    if not patterns:
        return {}
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", *patterns)
    refs = {}
    for line in out.splitlines():
        ref, _, commit = line.partition(" ")
        run = RunRef.from_ref(ref)
        if run is not None:
            refs[run] = commit
    return refs


def ref_dirs(git: Git) -> dict[str, str] | None:
    """Stat data of every place run refs live: `packed-refs`, and each sweep's folder of loose
    refs (sweep -> "mtime size inode"). A ref update renames a file in its sweep's folder (or
    rewrites packed-refs), so an unchanged entry means that sweep's refs are unchanged. An
    entry younger than a second is RACY (timestamps are coarse): never trusted as unchanged.
    None where refs live elsewhere (reftable)."""
    if (git.common_dir / "reftable").exists():
        return None
    now, found = time.time_ns(), {}

    def add(name: str, path: str | os.PathLike[str]) -> None:
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        fresh = now - info.st_mtime_ns < 1_000_000_000
        found[name] = RACY if fresh else f"{info.st_mtime_ns} {info.st_size} {info.st_ino}"

    add(PACKED, git.common_dir / "packed-refs")
    try:
        with os.scandir(git.common_dir / EXPERIMENTS.rstrip("/")) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    add(entry.name, entry.path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return found


def _snapshot_id(con: Any) -> str:
    found = con.execute("SELECT value FROM _meta WHERE key = 'snapshot'").fetchall()
    return found[0][0] if found else ""


def _known_dirs(git: Git, snapshot: str) -> dict[str, str] | None:
    """The ref places' stat data that the snapshot `snapshot` is known to match (the sidecar)."""
    try:
        data = json.loads((git.gitexp_dir / SIDECAR).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not snapshot or data.get("snapshot") != snapshot:
        return None
    dirs = data.get("dirs")
    return dirs if isinstance(dirs, dict) else None


def _remember_dirs(git: Git, snapshot: str, dirs: dict[str, str] | None) -> None:
    """Record that `snapshot` matches the refs as `dirs` describes them. A small file beside the
    index rather than a row inside it: confirming an unchanged index never rewrites the index."""
    if dirs is None or not snapshot:
        return
    path = git.gitexp_dir / SIDECAR
    tmp = path.with_name(f"{SIDECAR}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps({"snapshot": snapshot, "dirs": dirs}))
    os.replace(tmp, path)


def _digest(refs: dict[RunRef, str]) -> str:
    return hashlib.sha1("".join(f"{r.id} {c}\n" for r, c in refs.items()).encode()).hexdigest()


@dataclass
class _Plan:
    refs: dict[RunRef, str]  # the refs listed: all of them, or those of `sweeps`
    sweeps: set[str] | None = None  # the sweeps listed; None: every sweep
    read: dict[RunRef, str] = field(default_factory=dict)  # (re-)read these records
    drop: set[str] = field(default_factory=set)  # run ids leaving the index
    listed: bool = False  # refs were listed and compared with the snapshot
    known: dict[str, str] | None = None  # the ref places' stat data the snapshot was known to match

    @property
    def empty(self) -> bool:
        return not self.read and not self.drop

    def covers(self, run: RunRef) -> bool:
        return self.listed and (self.sweeps is None or run.sweep in self.sweeps)


def _changed_sweeps(dirs: dict[str, str] | None, known: dict[str, str] | None) -> set[str] | None:
    """Sweeps whose refs may have changed since `known`; None: any may have (list them all)."""
    if dirs is None or known is None or dirs.get(PACKED) == RACY or dirs.get(PACKED) != known.get(PACKED):
        return None
    return {name for name in dirs.keys() | known.keys()
            if name != PACKED and (dirs.get(name) != known.get(name) or dirs.get(name) == RACY)}


def _plan(git: Git, con: Any | None, dirs: dict[str, str] | None, reconcile: Reconcile | None) -> _Plan:
    """What must change for the snapshot behind `con` (None: no usable one) to match the refs.

    Only the sweeps whose ref folders changed since the snapshot are listed (all of them when
    packed-refs changed or nothing is known), so adding k runs costs O(k), not O(runs)."""
    if con is None:
        refs = list_refs(git)
        return _Plan(refs, None, read=dict(refs), listed=True)
    known = _known_dirs(git, _snapshot_id(con)) if dirs is not None else None
    sweeps = _changed_sweeps(dirs, known)
    plan = _Plan({}, sweeps, known=known)
    if sweeps is None or sweeps:
        plan.refs, plan.listed = list_refs(git, sweeps), True
        if sweeps is not None:
            indexed = dict(con.execute("SELECT run, commit FROM _core WHERE sweep IN (SELECT unnest($1::VARCHAR[]))",
                                       [sorted(sweeps)]).fetchall())
        elif con.execute("SELECT value FROM _meta WHERE key = 'refs'").fetchall() != [(_digest(plan.refs),)]:
            indexed = dict(con.execute("SELECT run, commit FROM _core").fetchall())
        else:
            indexed = None  # the listing's digest is the snapshot's: nothing to compare
        if indexed is not None:
            plan.read = {r: c for r, c in plan.refs.items() if indexed.pop(r.id, None) != c}
            plan.drop = set(indexed)
    active = con.execute("""SELECT run, commit, live, info::VARCHAR FROM _core
                            WHERE status IN ('running', 'queued')""").fetchall()
    settled = []
    for run_id, commit, live, info in active:
        run = RunRef(*run_id.split("/", 1))
        if plan.covers(run) and plan.refs.get(run) != commit:
            continue  # gone or moved: already planned
        if live_signature(git, run) != live:
            plan.read[run] = commit  # re-read with its live folder; `_write` reconciles it
            continue
        settled.append(store.Run(run, commit, json.loads(info), {}))
    if reconcile and settled:
        indexed_commit = {run.ref: run.commit for run in settled}
        for run in reconcile(git, settled):
            if run.commit != indexed_commit[run.ref] or run.status not in ("running", "queued"):
                plan.refs[run.ref] = plan.read[run.ref] = run.commit
    return plan


@contextmanager
def _locked(git: Git) -> Iterator[None]:
    """Hold the writers' lock (waiting for the writer that holds it, if any)."""
    with open(git.gitexp_dir / LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


BATCH = 2000  # runs per bulk insert: bounds memory (their records and series) at any number of runs
WRITER_MEMORY = "256MB"  # DuckDB's own cap while writing a snapshot (it spills to disk beyond it)


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _staged(git: Git, plan: _Plan, reconcile: Reconcile | None, folder: Path) -> Iterator[dict[str, Path]]:
    """The records of `plan.read` as batches of NDJSON files, written by a thread ahead of the caller.

    Reading git and encoding rows (Python, one core) overlaps DuckDB loading the previous
    batch (which releases the GIL): a cold build costs about the larger of the two, not their
    sum. At most one batch waits, so memory and disk stay bounded by `BATCH` runs."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            records = load(git, plan.read)
            try:
                for number, batch in enumerate(_batches(records, BATCH)):
                    if stop.is_set():
                        return
                    _settle(git, batch, plan, reconcile)
                    part = folder / str(number)
                    part.mkdir()
                    ready.put(schema.write_rows(batch, part))
            finally:
                records.close()  # ends the cat-file process when stopped early
            ready.put(None)
        except BaseException as error:  # handed to the caller, raised there
            ready.put(error)

    worker = threading.Thread(target=produce, name="gitexp-index-reader", daemon=True)
    worker.start()
    try:
        while (paths := ready.get()) is not None:
            if isinstance(paths, BaseException):
                raise paths
            yield paths
            for path in paths.values():
                path.unlink(missing_ok=True)
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to hand over a batch
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def _write(git: Git, base: Any | None, plan: _Plan, reconcile: Reconcile | None,
           dirs: dict[str, str] | None) -> None:
    """Write the next snapshot (the current one plus `plan`, or a fresh build) and publish it.

    Records stream from one `cat-file --batch` into DuckDB a batch at a time: memory stays
    bounded by `BATCH` runs however many there are."""
    import duckdb

    path = index_path(git)
    for stale in git.gitexp_dir.glob(f"{INDEX}.*.tmp"):  # left by a writer that died
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f"{INDEX}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    if base is not None:
        shutil.copyfile(path, tmp)
    full = base is None or plan.sweeps is None
    snapshot = uuid.uuid4().hex
    try:
        con = duckdb.connect(str(tmp), config={"memory_limit": WRITER_MEMORY})
        try:
            con.execute("SET enable_progress_bar = false")  # no DuckDB bar on the user's terminal
            con.execute("BEGIN TRANSACTION")
            gone = sorted(plan.drop | {r.id for r in plan.read})
            if base is None:
                con.execute(schema.DDL)
            else:
                schema.forget(con, gone)
            with tempfile.TemporaryDirectory(prefix="gitexp-index-") as folder:
                for paths in _staged(git, plan, reconcile, Path(folder)):
                    schema.insert(con, paths)
            from gitexp.record import remote  # which runs were pulled, and from where

            pulled = remote.origins(git, plan.refs if full else dict(plan.read))
            con.execute("DELETE FROM _origin" if full else
                        "DELETE FROM _origin WHERE run IN (SELECT unnest($1::VARCHAR[]))", [] if full else [gone])
            if pulled:
                con.execute("INSERT INTO _origin SELECT unnest($1), unnest($2)",
                            [[run.id for run in pulled], list(pulled.values())])
            schema.rebuild_runs(con, None if base is None else gone)
            con.execute("INSERT OR REPLACE INTO _meta VALUES ('version', $1), ('refs', $2), ('snapshot', $3)",
                        [schema.VERSION, _digest(plan.refs) if full else "", snapshot])
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _remember_dirs(git, snapshot, dirs)


def _settle(git: Git, batch: list[Any], plan: _Plan, reconcile: Reconcile | None) -> None:
    """Reconcile the batch's live runs: a live folder may hold a final state its (dead)
    scheduler failed to commit, and a run whose scheduler died becomes `lost`."""
    active = {item.run.ref: item for item in batch if item.run.live or item.run.status in ("running", "queued")}
    if reconcile and active:
        for run in reconcile(git, [item.run for item in active.values()]):
            item = active[run.ref]
            if run is not item.run:
                item.run, item.info_json, item.metrics_json = run, None, None
            plan.refs[run.ref] = run.commit


def sync(git: Git, reconcile: Reconcile | None = None) -> Any:
    """Bring the index up to date with the refs; returns a read-only connection to it.

    `reconcile` settles records before they are indexed; it sees every running or queued run
    at each sync. By default it is `recorder.reconcile` (runs whose scheduler died become
    `lost`), so no reader — CLI or language server — can forget it.
    """
    if reconcile is None:
        from gitexp.record.recorder import reconcile
    path = index_path(git)
    dirs = ref_dirs(git)  # taken before listing: a change after it makes the next read look again
    con = _open_current(path)
    planned: tuple[str, _Plan] | None = None
    if con is not None:
        plan = _plan(git, con, dirs, reconcile)
        if plan.empty:
            if plan.listed and plan.known != dirs:  # confirmed unchanged: later reads need not list
                _remember_dirs(git, _snapshot_id(con), dirs)
            return con
        planned = (_snapshot_id(con), plan)
        con.close()
    with _locked(git):
        base = _open_current(path)  # another writer may have moved it on while we waited
        try:
            if planned and base is not None and _snapshot_id(base) == planned[0]:
                plan = planned[1]  # nobody wrote meanwhile: what we listed is still the news
            else:
                plan = _plan(git, base, dirs, reconcile)
            if not plan.empty or base is None:
                _write(git, base, plan, reconcile, dirs)
            elif plan.listed and plan.known != dirs:
                _remember_dirs(git, _snapshot_id(base), dirs)
        finally:
            if base is not None:
                base.close()
    return connect(path)
