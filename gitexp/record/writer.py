"""One long-lived record writer per launch: git writes run beside the scheduler loop, not in it.

The scheduler's hooks hand each run's new state to `submit` and carry on; a thread commits
everything pending as one batch (`recorder.commit_runs`: the live run.json files first, then
one fast-import and one ref transaction). States that arrive while a batch is being written
wait for the next one; several states of one run merge into its latest. The writer keeps
the commit it last wrote for each run and uses it as that ref's expected old value, so every
move stays a fast-forward from a value gitexp itself wrote, and a ref someone else moved is
refused (`refused`) and never written again.

A failed write (disk full) is kept and raised in the caller's thread by `check` or `flush`:
the scheduler stops the way it did when the write ran in its own loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gitexp.errors import RefConflictError
from gitexp.record import model as record, recorder
from gitexp.record.git import Git
from gitexp.record.refs import RunRef

log = logging.getLogger(__name__)


class RecordWriter:
    def __init__(self, git: Git):
        self.git = git
        self._commits: dict[RunRef, str | None] = {}
        self._pending: dict[RunRef, tuple[dict[str, Any], str, bytes | None]] = {}
        self._refused: dict[RunRef, RefConflictError] = {}
        self._error: BaseException | None = None
        self._busy = False
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
        """Wait until every state submitted so far is in git (or refused); raise a failed write."""
        with self._cond:
            while (self._pending or self._busy) and self._error is None and self._thread.is_alive():
                self._cond.wait()
        self.check()

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
                while not self._closed and (not self._pending or self._error is not None):
                    self._cond.wait()
                if not self._pending or self._error is not None:
                    return  # closed: nothing left, or the last write failed
                batch, self._pending = self._pending, {}
                self._busy = True
                updates = [recorder.Update(run, info, self._commits.get(run), message, output)
                           for run, (info, message, output) in batch.items()]
            done: dict[RunRef, str] = {}
            refused: dict[RunRef, RefConflictError] = {}
            error = None
            try:
                done, refused = recorder.commit_runs(self.git, updates)
            except Exception as failed:  # noqa: BLE001 - handed to the caller's thread
                error = failed
            with self._cond:
                self._commits.update(done)
                self._refused.update(refused)
                self._error = self._error or error
                self._busy = False
                self.batches += 1
                self._cond.notify_all()
            for run, conflict in refused.items():
                log.warning("%s: %s; stopping it (its files stay in %s)", run, conflict,
                            record.RunFiles.for_run(self.git.gitexp_dir, run).dir)
