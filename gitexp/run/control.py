"""Live runs across every scheduler of a repository: ps, logs, kill.

Schedulers coordinate through files under `<git common dir>/gitexp/` only, so any number of
`gitexp run` processes (and the commands that watch them) need no daemon:

    stop/<sweep>/<run>         a request to stop a run; its scheduler ends it as `cancelled`
    gpus.json                  GPU reservations (gitexp/ledger.py)
    schedulers/<stamp>.log     the output of a detached scheduler (gitexp/detach.py)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from gitexp.errors import GitexpError, RunNotFoundError
from gitexp.record import model as record, recorder, store, view
from gitexp.record.git import Git
from gitexp.record.refs import RunRef

LIVE = ("queued", "running")
STOP_POLL_SECONDS = 0.5


class StopRequests:
    """`gitexp kill` leaves a file per run; the run's scheduler polls for them."""

    def __init__(self, git: Git):
        self.root = git.gitexp_dir / "stop"
        self._checked = 0.0
        self._pending: set[RunRef] = set()

    def request(self, run: RunRef) -> None:
        path = self.root / run.sweep / run.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def clear(self, run: RunRef) -> None:
        (self.root / run.sweep / run.name).unlink(missing_ok=True)

    def pending(self, sweep: str) -> set[RunRef]:
        """Runs of `sweep` someone asked to stop (read at most every STOP_POLL_SECONDS)."""
        now = time.monotonic()
        if now - self._checked >= STOP_POLL_SECONDS:
            self._checked = now
            folder = self.root / sweep
            self._pending = {RunRef(sweep, p.name) for p in folder.iterdir()} if folder.is_dir() else set()
        return self._pending


# -- ps ------------------------------------------------------------------------------------


def ps(git: Git, runs: Iterable[store.Run] | None = None) -> list[dict[str, Any]]:
    """Runs that are queued or running in any sweep (records of dead schedulers become `lost`).

    `runs`: the live runs as the index holds them (`index.live_runs`); without them every
    record is read."""
    rows = []
    now = time.time()
    for run in view.load_all(git) if runs is None else runs:
        if run.status not in LIVE:
            continue
        started = record.parse_iso(run.info.get("started"))
        scheduler = run.info.get("scheduler") or {}
        rows.append({
            "run": run.id, "sweep": run.ref.sweep, "name": run.ref.name, "status": run.status,
            "gpus": run.info.get("gpus") or [], "placement": (run.info.get("placement") or {}).get("slot"),
            "pid": run.info.get("pid") if run.status == "running" else None,
            "scheduler_pid": scheduler.get("pid"), "host": scheduler.get("host"),
            "elapsed": round(now - started, 1) if started and run.status == "running" else None,
            "metrics": run.metrics,
        })
    rows.sort(key=lambda r: (r["status"] != "running", r["run"]))
    return rows


# -- kill ----------------------------------------------------------------------------------


@dataclass
class KillResult:
    stopped: dict[str, str]  # run -> status it ended with
    still_live: list[str]  # runs whose scheduler did not answer in time


def kill(git: Git, targets: list[str], wait: float = 30.0) -> KillResult:
    """Ask the schedulers of the named runs (or whole sweeps) to stop them; wait until recorded."""
    runs = live_targets(git, targets)
    if not runs:
        raise RunNotFoundError(f"nothing to stop: no queued or running run matches {' '.join(targets)}",
                               hint="see `gitexp ps`")
    return stop(git, runs, wait)


def stop(git: Git, runs: list[RunRef], wait: float = 30.0) -> KillResult:
    """Request every stop first, then wait once: stopped one after another, a scheduler would
    start the next queued run of the same sweep in the gap before its own stop request."""
    stops = StopRequests(git)
    for run in runs:
        stops.request(run)
    deadline = time.monotonic() + wait
    stopped: dict[str, str] = {}
    while True:
        for run, loaded in _load(git, runs).items():
            if loaded.status not in LIVE:
                stopped[run.id] = loaded.status
                stops.clear(run)
        left = [run.id for run in runs if run.id not in stopped]
        if not left or time.monotonic() > deadline:
            return KillResult(stopped, left)
        time.sleep(0.2)


def live_targets(git: Git, targets: list[str]) -> list[RunRef]:
    """The queued or running runs `targets` name (a sweep: all of its live runs); a name that is
    not live, or runs on another host, is an error."""
    chosen: list[RunRef] = []
    for text in targets:
        in_sweep = view.load_all(git, text) if "/" not in text else []  # a sweep: read from its refs alone
        if any(run.status in LIVE for run in in_sweep):
            chosen += [run.ref for run in in_sweep if run.status in LIVE]
            continue
        try:
            run = view.load_one(git, text)
        except RunNotFoundError:
            if in_sweep:
                raise RunNotFoundError(f"sweep {text} has no queued or running run (nothing to stop)",
                                       hint="see `gitexp ps`") from None
            raise
        if run.status not in LIVE:
            raise GitexpError(f"{run.ref} is not running (nothing to stop)", hint="see `gitexp ps`")
        if run.info.get("scheduler", {}).get("host") not in (None, record.hostname()):
            raise GitexpError(f"{run.ref} runs on {run.info['scheduler']['host']}: stop it there")
        chosen.append(run.ref)
    return list(dict.fromkeys(chosen))


def _load(git: Git, runs: list[RunRef]) -> dict[RunRef, store.Run]:
    """The named runs as they stand now (reconciled), through one `cat-file` process: a kill
    reads the refs it waits on, never every run of the repository."""
    with git.cat_file() as cat:
        found = [(run, cat.object_id(run.ref)) for run in runs]
        loaded = [store.load_run(git, cat, run, commit) for run, commit in found if commit]
    return {run.ref: run for run in recorder.reconcile(git, loaded)}


# -- logs ----------------------------------------------------------------------------------


def logs(git: Git, text: str, follow: bool = False, poll: float = 0.2) -> Iterator[bytes]:
    """A run's output: the committed log, or with `follow` the live file until the run ends."""
    run = view.load_one(git, text)
    while follow and run.status == "queued":  # nothing to show until it starts
        time.sleep(poll)
        run = view.load_one(git, text)
    files = record.RunFiles.for_run(git.gitexp_dir, run.ref)
    if not (run.live and files.output.exists()):
        with git.cat_file() as cat:
            yield cat.blob(f"{run.commit}:{record.RECORD_DIR}/{record.OUTPUT_LOG}") or b""
        return
    attempt = run.info.get("attempt_id")
    with open(files.output, "rb") as handle:
        while True:
            chunk = handle.read(65536)
            if chunk:
                yield chunk
                continue
            if not follow or not _still_live(git, run.ref, attempt):
                yield handle.read()
                return
            time.sleep(poll)


def _still_live(git: Git, run: RunRef, attempt: str | None) -> bool:
    info = record.read_json(record.RunFiles.for_run(git.gitexp_dir, run).run_json, {})
    if info.get("attempt_id") != attempt or info.get("status") not in LIVE:
        return False
    from gitexp.record import liveness

    return liveness.owner_alive(info) is not False


# -- detach --------------------------------------------------------------------------------
