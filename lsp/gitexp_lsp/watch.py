"""Notice run changes cheaply: stat a handful of paths on a timer, never walk the repository.

Why directory mtimes are enough for refs: git updates a loose ref by creating `<ref>.lock`
and renaming it over the ref, and deletes by unlinking, so every change to a run ref touches
the mtime of its sweep folder under `refs/experiments/`; `packed-refs` (and a reftable stack)
change as files. So each tick stats `refs/experiments/`, one folder per sweep, `packed-refs`
and `reftable/`, and lists a sweep folder only when its mtime moved. Live metrics are appended
to files in a running run's folder, which moves no folder mtime, so those few files (only
of runs whose live `run.json` says queued or running) are statted too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from gitexp.record import model as record
from gitexp.record.refs import EXPERIMENTS

log = logging.getLogger(__name__)

_LIVE_FILES = (record.RUN_JSON, record.SERIES_JSONL, record.SUMMARY_OVERRIDES)
_LIVE_STATUSES = ("queued", "running")


_RACY_NS = 2_000_000_000  # a folder changed this recently may change again within its mtime's granularity


def _mtime(path: Path) -> int | None:
    """A folder's mtime, or None when it is missing or so recent that a second change could
    leave the same mtime (as git's racy-index rule: such a folder is looked at again next tick)."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return None if time.time_ns() - mtime < _RACY_NS else mtime


def _file_id(path: Path) -> tuple | None:
    """A ref file's identity: git replaces refs by rename, so the inode changes with every move."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _signature(paths: list[Path]) -> tuple:
    out = []
    for path in paths:
        try:
            stat = os.stat(path)
            out.append((stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def _children(path: Path) -> list[Path]:
    try:
        return [entry for entry in path.iterdir() if not entry.name.endswith(".lock")]
    except OSError:
        return []


class RepoWatcher:
    """Change detection for one repository; `poll()` says which runs changed since last time."""

    def __init__(self, common_dir: Path):
        self.refs = common_dir / EXPERIMENTS.rstrip("/")
        self.whole = [common_dir / "packed-refs", common_dir / "reftable"]
        self.live_root = record.runs_root(common_dir / "gitexp")
        self._whole_sig = _signature(self.whole)
        self._dirs: dict[Path, int | None] = {}  # refs/experiments and its sweep folders
        self._refs: dict[str, tuple | None] = {}  # run id -> identity of its loose ref file
        self._live_dirs: dict[Path, int | None] = {}  # gitexp/runs and its sweep folders
        self._live: dict[str, tuple] = {}  # live run id -> signature of its live files
        self._scan_refs(initial=True)
        self._scan_live(set(), initial=True)

    def poll(self) -> set[str] | None:
        """Run ids that changed, an empty set for none, or None for 'possibly every run'."""
        changed: set[str] = set()
        whole = _signature(self.whole)
        everything = whole != self._whole_sig
        self._whole_sig = whole
        changed |= self._scan_refs()
        changed |= self._scan_live(changed)
        return None if everything else changed

    # -- refs ---------------------------------------------------------------------
    def _scan_refs(self, initial: bool = False) -> set[str]:
        changed: set[str] = set()
        top = _mtime(self.refs)
        if initial or top is None or top != self._dirs.get(self.refs):
            self._dirs[self.refs] = top
            sweeps = {p for p in _children(self.refs) if p.is_dir()}
            for gone in [d for d in self._dirs if d != self.refs and d not in sweeps]:
                del self._dirs[gone]
                changed |= self._forget_refs(gone.name)
            for sweep in sweeps - set(self._dirs):
                self._dirs[sweep] = None  # new folder: listed below
        for sweep, seen in list(self._dirs.items()):
            if sweep == self.refs:
                continue
            now = _mtime(sweep)
            if initial or now is None or now != seen:
                self._dirs[sweep] = now
                changed |= self._list_sweep(sweep)
        return set() if initial else changed

    def _list_sweep(self, sweep: Path) -> set[str]:
        changed: set[str] = set()
        current = {f"{sweep.name}/{p.name}": _file_id(p) for p in _children(sweep)}
        old = {run: m for run, m in self._refs.items() if run.startswith(sweep.name + "/")}
        for run in set(current) | set(old):
            if current.get(run) != old.get(run):
                changed.add(run)
        for run in old.keys() - current.keys():
            del self._refs[run]
        self._refs.update(current)
        return changed

    def _forget_refs(self, sweep: str) -> set[str]:
        gone = {run for run in self._refs if run.startswith(sweep + "/")}
        for run in gone:
            del self._refs[run]
        return gone

    # -- live run folders ---------------------------------------------------------------
    def _scan_live(self, refs_changed: set[str], initial: bool = False) -> set[str]:
        """Pick up new or restarted live runs, then stat the live files of each."""
        candidates = set(refs_changed)
        top = _mtime(self.live_root)
        if initial or top is None or top != self._live_dirs.get(self.live_root):
            self._live_dirs[self.live_root] = top
            for sweep in _children(self.live_root):
                self._live_dirs.setdefault(sweep, None)
        for folder, seen in list(self._live_dirs.items()):
            if folder == self.live_root:
                continue
            now = _mtime(folder)
            if now is None or now != seen:
                self._live_dirs[folder] = now
                candidates |= {f"{folder.name}/{run.name}" for run in _children(folder)}
        for run in candidates - set(self._live):
            if self._is_live(run):
                self._live[run] = ()  # its first signature below counts as a change
        changed: set[str] = set()
        for run, seen in list(self._live.items()):
            now = _signature([self.live_root / run / record.RECORD_DIR / name for name in _LIVE_FILES])
            if now == seen:
                continue
            changed.add(run)
            self._live[run] = now
            if not self._is_live(run):
                del self._live[run]  # finished: its ref moves too, which the refs scan reports
        return set() if initial else changed

    def _is_live(self, run: str) -> bool:
        try:
            info = json.loads((self.live_root / run / record.RECORD_DIR / record.RUN_JSON).read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(info, dict) and info.get("status") in _LIVE_STATUSES


class Watcher:
    """A background thread that polls every repository and reports debounced changes.

    `on_change(folder_uri, runs)` is called from the thread with the sorted run ids, or []
    for 'refresh everything'; a failing poll or callback is logged and the loop goes on.
    """

    def __init__(self, repos: Callable[[], list[tuple[str, Path]]], on_change: Callable[[str, list[str]], None],
                 interval: float, debounce: float, max_delay: float):
        self._repos = repos
        self._on_change = on_change
        self._interval, self._debounce, self._max_delay = interval, debounce, max_delay
        self._watchers: dict[str, RepoWatcher] = {}
        self._pending: dict[str, tuple[set[str] | None, float, float]] = {}  # uri -> (runs, first, last)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gitexp-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick(time.monotonic())
            except Exception:  # noqa: BLE001 - a watcher bug must not end the server
                log.exception("watching for run changes failed")

    def tick(self, now: float) -> None:
        repos = dict(self._repos())
        for uri in list(self._watchers):
            if uri not in repos:
                del self._watchers[uri]
                self._pending.pop(uri, None)
        for uri, common_dir in repos.items():
            watcher = self._watchers.get(uri)
            if watcher is None:
                self._watchers[uri] = RepoWatcher(common_dir)
                continue
            runs = watcher.poll()
            if runs is not None and not runs:
                continue
            old = self._pending.get(uri)
            if old is None:
                self._pending[uri] = (runs, now, now)
            else:
                merged = None if old[0] is None or runs is None else old[0] | runs
                self._pending[uri] = (merged, old[1], now)
        for uri, (runs, first, last) in list(self._pending.items()):
            if now - last >= self._debounce or now - first >= self._max_delay:
                del self._pending[uri]
                try:
                    self._on_change(uri, sorted(runs or ()))
                except Exception:  # noqa: BLE001
                    log.exception("reporting run changes failed")
