"""Keep `<git-common-dir>/gitexp/index.duckdb` in step with the run refs, for many processes.

Concurrency design (the CLI, a scheduler and the language server all sync and read at once):

* The index file is an immutable snapshot. Nobody opens it for writing, so DuckDB's
  single-writer file lock is never contended: readers attach it read-only (shared lock).
* A sync that finds changes takes `index.lock` (flock), writes the next snapshot to a
  private temporary file (a copy of the current one plus the delta, or a fresh build) and
  renames it over `index.duckdb`. Readers that opened the old snapshot keep reading its
  inode; the next reader sees the new one. Writers queue on the flock, and one that
  waited re-lists the refs and usually finds nothing left to do.
* A snapshot is a base file and, optionally, a delta beside it (`index.delta.duckdb`): the
  runs changed since the base was written, and the base rows they hide. A small change to
  a big index writes a new delta (a copy of the old one plus the change), so adding one run
  to 100k copies and checkpoints a few megabytes, not the whole index; the delta holds the
  views that lay it over the base. Below `DELTA_FROM` bytes the base is simply copied. Past
  `DELTA_RUNS` runs, or when the change needs columns the base lacks (a new key, a wider
  type), the delta is folded into a new base. A delta names the base it was written for and
  is ignored next to any other.
* Every reader attaches the files into its own in-memory DuckDB instance. `duckdb.connect`
  of a path would share one cached instance per process, which would keep serving an old
  snapshot in a long-lived process (the language server) after a rename. A sync plans and
  writes through the instance it then hands to the caller, locked down (`_lock_down`).

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
from typing import Any, Iterator

from gitexp.errors import IndexPathError
from gitexp.index import schema
from gitexp.index.load import Loaded, Reconcile, live_signature, load
from gitexp.record import store
from gitexp.record.git import Git
from gitexp.record.refs import EXPERIMENTS, RunRef

INDEX = "index.duckdb"
LOCK = "index.lock"
SIDECAR = "index.refs.json"  # the ref places' stat data the current snapshot matches (see `ref_dirs`)
PACKED = "/packed-refs"  # its key there: no sweep name holds a '/'
RACY = "racy"
CATALOG = "gitexp"
DELTA = "index.delta.duckdb"
DELTA_CATALOG = "gitexp_delta"
DELTA_RUNS = 2000  # runs a delta may touch before the next change folds it into a new base
DELTA_FROM = 32 << 20  # a smaller base is copied whole for each change: cheaper than a delta's files and views


def index_path(git: Git) -> Path:
    return git.gitexp_dir / INDEX


def delta_path(git: Git) -> Path:
    return git.gitexp_dir / DELTA


SPILL = "duckdb.tmp"  # where DuckDB spills past its memory limit: not `.tmp` in the user's work tree
_zone: list[str] = []  # the machine's time zone, as DuckDB found it: records' times without an offset are read in it


def _instance(git: Git) -> Any:
    """A private in-memory DuckDB that the snapshot's files get attached to (see `_attach_current`)."""
    import duckdb

    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                             "autoinstall_known_extensions": False,
                                             "temp_directory": str(git.gitexp_dir / SPILL)})
    if not _zone:
        _zone.append(con.execute("SELECT current_setting('TimeZone')").fetchall()[0][0])
    con.execute("SET TimeZone = 'UTC'")  # times come back as UTC whatever the machine's zone
    con.execute("SET enable_progress_bar = false")  # DuckDB's bar would land over a table
    return con


def _lock_down(con: Any) -> Any:
    """Make `con` what a query may be given: no file access, no settings changed back.
    Until now it attached files and (in a sync) wrote the next snapshot itself."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _detach(con: Any) -> None:
    con.execute("USE memory")
    for name in (DELTA_CATALOG, CATALOG):
        con.execute(f"DETACH DATABASE IF EXISTS {name}")


def _attach_delta(con: Any, delta: Path) -> bool:
    """Lay the delta over the attached base (its own views, see `schema.layered_views`), when
    it is of this version and was written for this base; otherwise leave the base alone."""
    import duckdb

    try:
        con.execute(f"ATTACH {schema.literal(str(delta))} AS {DELTA_CATALOG} (READ_ONLY)")
    except duckdb.Error:  # none (folded into a new base), or unreadable: the base holds everything
        return False
    try:  # two plain reads: a join of the two tiny tables costs ten times as much
        mine = dict(con.execute(f"SELECT key, value FROM {DELTA_CATALOG}.main._meta").fetchall())
        base = dict(con.execute(f"SELECT key, value FROM {CATALOG}.main._meta").fetchall())
    except duckdb.Error:
        mine, base = {}, {}
    if not mine or mine.get("base") != base.get("snapshot") or mine.get("version") != base.get("version"):
        con.execute(f"DETACH {DELTA_CATALOG}")  # left over from an older base: that base's news are in this one
        return False
    con.execute(f"USE {DELTA_CATALOG}.{schema.LAYERED}")
    return True


def _layered(con: Any) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = $1",
                            [DELTA_CATALOG]).fetchall()[0][0])


UNLAID = -1  # in what `_attach_current` returns: a delta file was there but is not laid (stale, unreadable)


def _files(git: Git) -> tuple[int, int] | None:
    """Which base and delta files are current (their inodes; 0: no delta). A writer replaces a
    file by renaming a new one over it, and an attached file is held open, so its inode is
    not reused: the same pair means the same snapshot. (A delta that was not attached is not
    held open: its inode may come back on the next delta, so it is never taken as unchanged.)"""
    try:
        base = index_path(git).stat().st_ino
    except OSError:
        return None
    try:
        return base, delta_path(git).stat().st_ino
    except OSError:
        return base, 0


def _attach_current(git: Git, con: Any, attached: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """(Re)attach the current snapshot to `con` read-only: the base, and the delta laid over it
    when it was written for that base; returns which files those are (see `_files`). When they
    are still `attached` (what an earlier call returned), `con` is left as it is. None (nothing
    attached) when there is no usable snapshot: missing, unreadable or of another version."""
    import duckdb

    if attached is not None and _files(git) == attached:
        return attached
    _detach(con)
    path = index_path(git)
    if not path.exists():
        return None
    if not stat_module.S_ISREG(path.stat().st_mode):  # a FIFO would hang DuckDB, a folder break the swap
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise IndexPathError(f"{path} is {kind}; the index is a cache: remove it and it is rebuilt")
    for _ in range(5):
        try:
            opened = _files(git)
            con.execute(f"ATTACH {schema.literal(str(path))} AS {CATALOG} (READ_ONLY)")
            laid = _attach_delta(con, delta_path(git))
            if not laid:
                con.execute(f"USE {CATALOG}")
            version = con.execute("SELECT value FROM _meta WHERE key = 'version'").fetchall()
        except (OSError, duckdb.Error):
            _detach(con)
            return None
        if version != [(schema.VERSION,)]:
            _detach(con)
            return None
        if opened is not None and _files(git) == opened:
            return opened if laid or not opened[1] else (opened[0], UNLAID)
        _detach(con)  # a writer replaced a file while they were attached: the pair may not match
    return None


def list_refs(git: Git) -> dict[RunRef, str]:
    """Every run ref -> its commit (one `for-each-ref`)."""
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", EXPERIMENTS)
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
    refs: dict[RunRef, str]  # every ref when all were listed (a new base's digest); else the few reconciled
    sweeps: set[str] | None = None  # the sweeps listed; None: every sweep
    read: dict[RunRef, str] = field(default_factory=dict)  # (re-)read these records
    drop: set[str] = field(default_factory=set)  # run ids leaving the index
    fresh: set[str] = field(default_factory=set)  # ids in `read` the snapshot does not hold: nothing to forget
    listed: bool = False  # refs were listed and compared with the snapshot
    known: dict[str, str] | None = None  # the ref places' stat data the snapshot was known to match

    @property
    def empty(self) -> bool:
        return not self.read and not self.drop


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
    if sweeps:
        _compare_sweeps(git, con, plan, sweeps)
    elif sweeps is None:
        plan.refs, plan.listed = list_refs(git), True
        if con.execute("SELECT value FROM _meta WHERE key = 'refs'").fetchall() != [(_digest(plan.refs),)]:
            indexed = dict(con.execute("SELECT run, commit FROM _core").fetchall())
            plan.read = {r: c for r, c in plan.refs.items() if indexed.pop(r.id, None) != c}
            plan.drop = set(indexed)
    active = con.execute("""SELECT run, commit, live, info::VARCHAR FROM _core
                            WHERE status IN ('running', 'queued')""").fetchall()
    settled = []
    for run_id, commit, live, info in active:
        run = RunRef(*run_id.split("/", 1))
        if run in plan.read or run_id in plan.drop:
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


def _compare_sweeps(git: Git, con: Any, plan: _Plan, sweeps: set[str]) -> None:
    """Plan the changes of `sweeps` (listed in one `for-each-ref`) against the snapshot behind `con`.

    The listing and the indexed runs are compared as lines ("sweep/run commit"), as sets:
    only the lines that differ are parsed, so adding a run to a sweep of 10k costs that
    sweep's listing by git, not 10k names decoded in Python."""
    patterns = [f"{EXPERIMENTS}{sweep}/" for sweep in sorted(sweeps)]
    listed = set(git.run("for-each-ref", "--format=%(refname:strip=2) %(objectname)", *patterns).splitlines())
    indexed = {line for (line,) in con.execute("SELECT run || ' ' || commit FROM _core WHERE sweep IN "
                                               "(SELECT unnest($1::VARCHAR[]))", [sorted(sweeps)]).fetchall()}
    for line in listed - indexed:
        run_id, _, commit = line.partition(" ")
        run = RunRef.from_ref(EXPERIMENTS + run_id)
        if run is not None:
            plan.read[run] = commit
    moved, read = {line.partition(" ")[0] for line in indexed - listed}, {run.id for run in plan.read}
    plan.drop, plan.fresh = moved - read, read - moved
    plan.listed = True


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
BATCH_SERIES = 24 << 20  # ...or fewer, once their series hold this many bytes (long curves)
WRITER_MEMORY = "192MB"  # DuckDB's own cap while writing a base or a delta (it spills to SPILL beyond it)


def _batches(items: Iterator[Loaded], size: int) -> Iterator[list[Loaded]]:
    batch: list[Loaded] = []
    held = 0
    for item in items:
        batch.append(item)
        held += len(item.series)
        if len(batch) == size or held >= BATCH_SERIES:
            yield batch
            batch, held = [], 0
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
    """Write the next snapshot and publish it: a new delta when the change is small and fits
    the base's columns (O(changed runs): the base is neither copied nor rewritten), else a new base.
    `base` (the current snapshot attached, or None) is left with nothing attached."""
    if base is not None and plan.sweeps is not None:
        layered = _layered(base)
        touched = base.execute(f"""SELECT count(*) FROM (SELECT run FROM {DELTA_CATALOG}.main._gone
                                   UNION SELECT run FROM {DELTA_CATALOG}.main._core)""").fetchall()[0][0] if layered else 0
        big = layered or index_path(git).stat().st_size >= DELTA_FROM
        if big and touched + len(plan.read) + len(plan.drop) <= DELTA_RUNS:
            if _write_delta(git, base, plan, reconcile, dirs):
                return
            if not _attach_current(git, base):  # as it was: the new base folds the current delta in
                raise IndexPathError(f"{index_path(git)}: the index could not be opened again; remove it and it is rebuilt")
    _write_base(git, base, plan, reconcile, dirs)
    if base is not None:
        _detach(base)


def _fold_delta(base: Any, plan: _Plan) -> None:
    """Put the delta's changes into `plan`, for a new base: its runs (changed or new) are read
    again, and the base rows it hid of runs since dropped leave."""
    commits = dict(base.execute(f"SELECT run, commit FROM {DELTA_CATALOG}.main._core").fetchall())
    for run_id, commit in commits.items():
        run = RunRef(*run_id.split("/", 1))
        if run not in plan.read and run_id not in plan.drop:
            plan.read[run] = commit
    for (run_id,) in base.execute(f"SELECT run FROM {DELTA_CATALOG}.main._gone").fetchall():
        if run_id not in commits:  # dropped since: its base rows go (read again if it came back)
            plan.drop.add(run_id)


def _temporary(path: Path) -> Path:
    for stale in path.parent.glob(f"{path.name}.*.tmp"):  # left by a writer that died
        stale.unlink(missing_ok=True)
    return path.with_name(f"{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")


def _write_delta(git: Git, con: Any, plan: _Plan, reconcile: Reconcile | None,
                 dirs: dict[str, str] | None) -> bool:
    """Publish the current delta plus `plan` as the new delta; False (nothing written) when the
    changed runs call for other columns than the base has.

    It is written through `con`, the reader that planned it (no second DuckDB to start: that
    costs more than adding a run): the copy is attached in the current delta's place, under
    its name, which the views it keeps refer to. `con` is left with nothing attached."""
    from gitexp.record import remote

    delta = delta_path(git)
    tmp = _temporary(delta)
    layered = _layered(con)
    base_snapshot = con.execute(f"SELECT value FROM {CATALOG}.main._meta WHERE key = 'snapshot'").fetchall()[0][0]
    snapshot = uuid.uuid4().hex
    if layered:
        shutil.copyfile(delta, tmp)
    _detach(con)
    try:
        con.execute(f"SET memory_limit = '{WRITER_MEMORY}'")
        con.execute(f"SET TimeZone = {schema.literal(_zone[0])}")  # as a base is written (`_write_base`)
        con.execute(f"ATTACH {schema.literal(str(index_path(git)))} AS {CATALOG} (READ_ONLY)")
        con.execute(f"ATTACH {schema.literal(str(tmp))} AS {DELTA_CATALOG}")
        con.execute(f"USE {DELTA_CATALOG}")
        if not layered:
            con.execute(schema.DELTA_DDL)
        con.execute("BEGIN TRANSACTION")
        gone = sorted(plan.drop | {r.id for r in plan.read})
        schema.forget_in_delta(con, CATALOG, sorted(set(gone) - plan.fresh))
        with tempfile.TemporaryDirectory(prefix="gitexp-index-") as folder:
            for paths in _staged(git, plan, reconcile, Path(folder)):
                schema.insert(con, paths)
        pulled = remote.origins(git, dict(plan.read))
        if pulled:
            con.execute("INSERT INTO _origin SELECT unnest($1), unnest($2)",
                        [[run.id for run in pulled], list(pulled.values())])
        if not schema.write_delta_runs(con, CATALOG, gone):
            con.execute("ROLLBACK")
            return False
        if not layered:
            for statement in schema.layered_views(CATALOG, DELTA_CATALOG):
                con.execute(statement)
        con.execute("INSERT OR REPLACE INTO _meta VALUES ('version', $1), ('refs', ''), ('snapshot', $2), "
                    "('base', $3)", [schema.VERSION, snapshot, base_snapshot])
        con.execute("COMMIT")
        con.execute(f"CHECKPOINT {DELTA_CATALOG}")
        _detach(con)  # closes the file: all of it is on disk before it is published
        os.replace(tmp, delta)
    except BaseException:
        _rollback(con)
        raise
    finally:
        _detach(con)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("RESET memory_limit")
        tmp.unlink(missing_ok=True)
    _remember_dirs(git, snapshot, dirs)
    return True


def _rollback(con: Any) -> None:
    import duckdb

    try:
        con.execute("ROLLBACK")
    except duckdb.Error:  # no transaction was open
        pass


def _write_base(git: Git, base: Any | None, plan: _Plan, reconcile: Reconcile | None,
                dirs: dict[str, str] | None) -> None:
    """Write a new base (the current one plus its delta and `plan`, or a fresh build) and publish it.

    Records stream from one `cat-file --batch` into DuckDB a batch at a time: memory stays
    bounded by `BATCH` runs however many there are."""
    import duckdb

    path = index_path(git)
    if base is not None and _layered(base):
        _fold_delta(base, plan)
    tmp = _temporary(path)
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
        delta_path(git).unlink(missing_ok=True)  # folded in; a reader still holding it sees it no longer matches
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

    One DuckDB instance does it all: it plans on the current snapshot, writes a delta if one
    will do, attaches what is current, and is then locked down and returned. Starting an
    instance costs more than adding a run does.
    """
    if reconcile is None:
        from gitexp.record.recorder import reconcile
    dirs = ref_dirs(git)  # taken before listing: a change after it makes the next read look again
    con = _instance(git)
    try:
        planned: tuple[str, _Plan] | None = None
        attached = _attach_current(git, con)
        if attached:
            plan = _plan(git, con, dirs, reconcile)
            if plan.empty:
                if plan.listed and plan.known != dirs:  # confirmed unchanged: later reads need not list
                    _remember_dirs(git, _snapshot_id(con), dirs)
                return _lock_down(con)
            planned = (_snapshot_id(con), plan)
        with _locked(git):
            attached = _attach_current(git, con, attached)  # another writer may have moved it on while we waited
            if planned and attached and _snapshot_id(con) == planned[0]:
                plan = planned[1]  # nobody wrote meanwhile: what we listed is still the news
            else:
                plan = _plan(git, con if attached else None, dirs, reconcile)
            if not plan.empty or not attached:
                _write(git, con if attached else None, plan, reconcile, dirs)
                attached = None
            elif plan.listed and plan.known != dirs:
                _remember_dirs(git, _snapshot_id(con), dirs)
            if not _attach_current(git, con, attached):  # only if what was just written was replaced by another version
                raise IndexPathError(f"{index_path(git)}: the index could not be opened after it was written; "
                                     "remove it and it is rebuilt")
        return _lock_down(con)
    except BaseException:
        con.close()
        raise
