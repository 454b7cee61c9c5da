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
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from gitexp.index import schema
from gitexp.index.load import Reconcile, live_signature, load
from gitexp.record import store
from gitexp.record.git import Git
from gitexp.record.refs import EXPERIMENTS, RunRef

INDEX = "index.duckdb"
LOCK = "index.lock"
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


def list_refs(git: Git) -> dict[RunRef, str]:
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", EXPERIMENTS)
    refs = {}
    for line in out.splitlines():
        ref, _, commit = line.partition(" ")
        run = RunRef.from_ref(ref)
        if run is not None:
            refs[run] = commit
    return refs


def refs_stat(git: Git) -> str | None:
    """A fingerprint of where refs live, or None when it cannot be trusted (too fresh, reftable)."""
    if (git.common_dir / "reftable").exists():
        return None
    entries, now = [], time.time_ns()
    candidates = [git.common_dir / "packed-refs"]
    root = git.common_dir / EXPERIMENTS.rstrip("/")
    try:
        candidates += [root, *(Path(e.path) for e in os.scandir(root) if e.is_dir(follow_symlinks=False))]
    except FileNotFoundError:
        candidates.append(root)
    for path in candidates:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            entries.append(f"{path} -")
            continue
        if now - info.st_mtime_ns < 1_000_000_000:
            return None
        entries.append(f"{path} {info.st_mtime_ns} {info.st_size} {info.st_ino}")
    return hashlib.sha1("\n".join(entries).encode()).hexdigest()


def _digest(refs: dict[RunRef, str]) -> str:
    return hashlib.sha1("".join(f"{r.id} {c}\n" for r, c in refs.items()).encode()).hexdigest()


@dataclass
class _Plan:
    refs: dict[RunRef, str]
    read: dict[RunRef, str] = field(default_factory=dict)  # (re-)read these records
    drop: set[str] = field(default_factory=set)  # run ids leaving the index

    @property
    def empty(self) -> bool:
        return not self.read and not self.drop


def _plan(git: Git, con: Any | None, refs: dict[RunRef, str] | None, reconcile: Reconcile | None) -> _Plan:
    """What must change for the snapshot behind `con` (None: no usable one) to match `refs`.

    `refs` None: the stat fingerprint says the refs are the indexed ones; only live runs are checked.
    """
    trusted = refs is None
    plan = _Plan({} if trusted else dict(refs))
    if con is None:
        plan.read = dict(plan.refs)
        return plan
    stored = [] if trusted else con.execute("SELECT value FROM _meta WHERE key = 'refs'").fetchall()
    if not trusted and stored != [(_digest(refs),)]:
        indexed = dict(con.execute("SELECT run, commit FROM _core").fetchall())
        plan.read = {r: c for r, c in refs.items() if indexed.pop(r.id, None) != c}
        plan.drop = set(indexed)
    active = con.execute("""SELECT run, commit, live, info::VARCHAR FROM _core
                            WHERE status IN ('running', 'queued')""").fetchall()
    settled = []
    for run_id, commit, live, info in active:
        run = RunRef(*run_id.split("/", 1))
        if not trusted and refs.get(run) != commit:
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


def _write(git: Git, base: Any | None, plan: _Plan, reconcile: Reconcile | None, stat: str | None) -> None:
    """Write the next snapshot (the current one plus `plan`, or a fresh build) and publish it."""
    import duckdb

    path = index_path(git)
    loaded = load(git, plan.read)
    # live runs too: a live folder may hold a final state its (dead) scheduler failed to commit
    active = {item.run.ref: item for item in loaded if item.run.live or item.run.status in ("running", "queued")}
    if reconcile and active:
        for run in reconcile(git, [item.run for item in active.values()]):
            active[run.ref].run = run
            plan.refs[run.ref] = run.commit
    for stale in git.gitexp_dir.glob(f"{INDEX}.*.tmp"):  # left by a writer that died
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f"{INDEX}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    if base is not None:
        shutil.copyfile(path, tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            if base is None:
                con.execute(schema.DDL)
            else:
                gone = sorted(plan.drop | {r.id for r in plan.read})
                for table in ("_core", "_kv", "series"):
                    con.execute(f"DELETE FROM {table} WHERE run IN (SELECT unnest($1::VARCHAR[]))", [gone])
            with tempfile.TemporaryDirectory(prefix="gitexp-index-") as folder:
                schema.insert(con, schema.write_rows(loaded, Path(folder)))
            from gitexp.record import remote  # which runs were pulled, and from where

            pulled = remote.origins(git, plan.refs)
            con.execute("DELETE FROM _origin")
            if pulled:
                con.execute("INSERT INTO _origin SELECT unnest($1), unnest($2)",
                            [[run.id for run in pulled], list(pulled.values())])
            schema.rebuild_runs(con)
            con.execute("INSERT OR REPLACE INTO _meta VALUES ('version', $1), ('refs', $2), ('refs_stat', $3)",
                        [schema.VERSION, _digest(plan.refs), stat or ""])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sync(git: Git, reconcile: Reconcile | None = None) -> Any:
    """Bring the index up to date with the refs; returns a read-only connection to it.

    `reconcile` settles records before they are indexed; it sees every running or queued run
    at each sync. By default it is `recorder.reconcile` (runs whose scheduler died become
    `lost`), so no reader — CLI or language server — can forget it.
    """
    if reconcile is None:
        from gitexp.record.recorder import reconcile
    path = index_path(git)
    stat = refs_stat(git)  # taken before listing: a change after it makes the next read re-list
    con = _open_current(path)
    if con is not None:
        stored = con.execute("SELECT value FROM _meta WHERE key = 'refs_stat'").fetchall()
        trusted = stat is not None and stored == [(stat,)]
        refs = None if trusted else list_refs(git)
        # An unchanged index whose stat data is stale is rewritten once, so later reads are cheap.
        if _plan(git, con, refs, reconcile).empty and (trusted or stat is None):
            return con
        con.close()
    with _locked(git):
        base = _open_current(path)  # another writer may have moved it on while we waited
        try:
            plan = _plan(git, base, list_refs(git), reconcile)
            stored = base.execute("SELECT value FROM _meta WHERE key = 'refs_stat'").fetchall() if base else []
            if not plan.empty or (stat and stored != [(stat,)]):
                _write(git, base, plan, reconcile, stat)
        finally:
            if base is not None:
                base.close()
    return connect(path)
