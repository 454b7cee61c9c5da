"""One long-lived record writer per launch: git writes run beside the scheduler loop, not in it.

The scheduler's hooks hand each run's new state to `submit` and carry on; a thread commits
everything pending as one batch (`recorder.commit_runs`: the live run.json files first, then
one fast-import and one ref transaction). States that arrive while a batch is being written
wait for the next one, which starts no sooner than BATCH_SECONDS after it (at once on `flush`
or `close`); several states of one run merge into its latest. `settled` says when a run's
states are all in git, so its end is reported only once its record stands. The writer keeps
the commit it last wrote for each run and uses it as that ref's expected old value, so every
move stays a fast-forward from a value gitexp itself wrote, and a ref someone else moved is
refused (`refused`) and never written again.

A write that fails for want of room (disk full: a git or OS error) stops nothing: its states
go back to the pending ones (newer states of a run replacing them), the failure is said once,
and the batch is tried again every RETRY_SECONDS until it lands; `flush` does not wait for a
failing batch, and `unwritten` tells the caller what is left. Any other failure is kept and
raised in the caller's thread by `check` or `flush`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from gitexp.errors import GitCommandError, RefConflictError
from gitexp.record import model as record, recorder
from gitexp.record.git import Git
from gitexp.record.refs import RunRef

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # after a write that failed for want of room, the next try waits this long
BATCH_SECONDS = 0.05  # a batch starts at least this long after the one before (unless flushed or closing)


class RecordWriter:
    def __init__(self, git: Git):
        self.git = git
        self._commits: dict[RunRef, str | None] = {}
        self._pending: dict[RunRef, tuple[dict[str, Any], str, bytes | None]] = {}
        self._refused: dict[RunRef, RefConflictError] = {}
        self._error: BaseException | None = None
        self._failure: BaseException | None = None  # the last write failed for want of room
        self._retry_at = 0.0
        self._final_tried = False  # closing: the states pending then had their one more try
        self._busy = False
        self._inflight: set[RunRef] = set()  # runs of the batch being written
        self._urgent = False  # `flush` is waiting: write what is pending now
        self._last_batch = -BATCH_SECONDS
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="gitexp-record-writer", daemon=True)
        self._thread.start()
        self.batches = 0  # how many git writes the thread made (tests and benchmarks read it)

    # -- the caller's side ----------------------------------------------------------------
    def seed(self, commits: dict[RunRef, str]) -> None:
        """Commits written elsewhere (the `queued` records): the old values of the next moves."""
        with self._cond:
            self._commits.update(commits)

    def submit(self, run: RunRef, info: dict[str, Any], message: str, output: bytes | None = None) -> None:
        """Queue `run`'s new state; `output` None keeps the output of a state not yet written."""
        with self._cond:
            if run in self._refused:
                return  # its ref is someone else's now; its folder keeps what we know
            queued = self._pending.get(run)
            if queued and output is None:
                output = queued[2]
            self._pending[run] = (info, message, output)
            self._cond.notify_all()

    def commit_of(self, run: RunRef) -> str | None:
        with self._cond:
            return self._commits.get(run)

    def settled(self, run: RunRef) -> bool:
        """Whether every state of `run` submitted so far is in git (or refused there), or the
        disk refuses writes for now: a caller reports a run's end only once its record stands."""
        with self._cond:
            return (run not in self._pending and run not in self._inflight) or self._failure is not None

    def refused(self) -> set[RunRef]:
        with self._cond:
            return set(self._refused)

    def check(self) -> None:
        """Raise (once) the error of a write that failed."""
        with self._cond:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def flush(self) -> None:
        """Wait until every state submitted so far is in git (or refused), or the disk refuses
        them (see `unwritten`); raise any other failed write."""
        with self._cond:
            self._urgent = True
            self._cond.notify_all()
            while (self._pending or self._busy) and self._error is None and self._thread.is_alive() \
                    and not (self._failure is not None and not self._busy):
                self._cond.wait()
            self._urgent = False
        self.check()

    def unwritten(self) -> tuple[int, BaseException | None]:
        """How many runs' latest states are not in git yet, and why (None: all written)."""
        with self._cond:
            return (len(self._pending), self._failure) if self._failure is not None else (0, None)

    def close(self) -> None:
        """Stop the thread after it wrote what is pending (errors are left to `flush`)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    # -- the thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._pending or self._error is not None or self._waiting()
                                            or self._gathering()):
                    self._cond.wait(self._wait_seconds())
                if not self._pending or self._error is not None:
                    return  # closed: nothing left, or the last write failed
                if self._closed and self._failure is not None and self._final_tried:
                    return  # closing while the disk is full: the last states were tried once
                self._final_tried = self._closed
                batch, self._pending = self._pending, {}
                self._busy = True
                self._inflight = set(batch)
                self._last_batch = time.monotonic()
                updates = [recorder.Update(run, info, self._commits.get(run), message, output)
                           for run, (info, message, output) in batch.items()]
            committed = recorder.Committed()
            error = None
            failure: BaseException | None = None
            unwritten = set(batch)  # back in line when the write fails
            try:
                committed = recorder.commit_runs(self.git, updates)
                unwritten = set(committed.failed)
                failure = next(iter(committed.failed.values()), None)  # one run's lock: the others landed
            except (GitCommandError, OSError) as failed:  # disk full: kept, said once, tried again
                failure = failed
            except Exception as failed:  # noqa: BLE001 - handed to the caller's thread
                error = failed
            refused = {run: c for run, c in committed.refused.items() if not self._landed_anyway(run, batch[run])}
            with self._cond:
                self._commits.update(committed.done)
                self._refused.update(refused)
                self._error = self._error or error
                if failure is not None:
                    for run in unwritten:  # back in line, behind any newer state of the run
                        state = batch[run]
                        newer = self._pending.get(run)
                        if newer is None:
                            self._pending[run] = state
                        elif newer[2] is None:
                            self._pending[run] = (newer[0], newer[1], state[2])
                    if self._failure is None:
                        log.warning("cannot write run records (%s); the runs go on, their state is kept and "
                                    "written as soon as git can", first_line(failure))
                    self._retry_at = time.monotonic() + RETRY_SECONDS
                elif self._failure is not None and error is None:
                    log.warning("run records written again")
                self._failure = failure if error is None else self._failure
                self._busy = False
                self._inflight = set()
                self.batches += 1
                self._cond.notify_all()
            for run, conflict in refused.items():
                log.warning("%s: %s; stopping it (its files stay in %s)", run, conflict,
                            record.RunFiles.for_run(self.git.gitexp_dir, run).dir)

    def _waiting(self) -> bool:
        return self._failure is not None and time.monotonic() < self._retry_at

    def _gathering(self) -> bool:
        """Pending states wait for more to join them until BATCH_SECONDS after the last batch:
        a sweep of 10 ms jobs then costs a git write per 50 ms, not one per job ending."""
        return bool(self._pending) and not self._urgent and time.monotonic() < self._last_batch + BATCH_SECONDS

    def _wait_seconds(self) -> float | None:
        if self._waiting():
            return max(0.01, self._retry_at - time.monotonic())
        if self._gathering():
            return max(0.001, self._last_batch + BATCH_SECONDS - time.monotonic())
        return None

    def _landed_anyway(self, run: RunRef, state: tuple[dict[str, Any], str, bytes | None]) -> bool:
        """A write reported as failed (disk full) may still have moved the ref: when the ref now
        holds a record of this very attempt, it is ours, and the run goes on from there."""
        info = state[0]
        current = self.git.rev_parse(run.ref)
        if not current or not info.get("attempt_id") or current == self._commits.get(run):
            return False
        with self.git.cat_file() as cat:
            try:
                landed = record.loads(cat.blob(f"{current}:{record.RECORD_DIR}/{record.RUN_JSON}") or b"")
            except ValueError:
                return False
        if not isinstance(landed, dict) or landed.get("attempt_id") != info.get("attempt_id"):
            return False
        with self._cond:
            self._commits[run] = current
            self._pending.setdefault(run, state)
            self._cond.notify_all()
        return True


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
