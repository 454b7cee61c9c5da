"""GPU reservations shared by every scheduler of a repository: an flock-protected JSON list.

    gpus.json + gpus.lock      under `<git common dir>/gitexp/`

Two sweeps launched at once read and change it under one lock, so they never pack onto
memory the other has already promised to a job.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from typing import Any, Iterator

from gitexp.record import model as record
from gitexp.record.git import Git


class FileLedger:
    """The GPU reservations of every scheduler of this repository, one lock around each change."""

    def __init__(self, git: Git):
        self.path = git.gitexp_dir / "gpus.json"
        self.lock_path = git.gitexp_dir / "gpus.lock"

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[dict[str, Any]]]:
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries = record.read_json(self.path, [])
                before = json.dumps(entries, sort_keys=True)
                yield entries
                if json.dumps(entries, sort_keys=True) != before:
                    record.write_json_atomic(self.path, entries)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> list[dict[str, Any]]:
        with self.locked() as entries:
            return list(entries)
