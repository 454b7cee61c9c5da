"""`gitexp run -d`: start the scheduler in the background and return once its runs are queued.

The parent names a file in $GITEXP_DETACHED; the background scheduler writes the queued runs
there (`announce_queued`), so the parent waits for a fact, not for a wording in a log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gitexp.errors import GitexpError
from gitexp.record import model as record
from gitexp.record.git import Git
from gitexp.record.refs import RunRef

ENV_DETACHED = "GITEXP_DETACHED"  # set for the background scheduler: where to say "queued"


@dataclass
class Detached:
    pid: int
    log: Path
    announcement: str  # the scheduler's "N run(s) queued in sweep X" line


def announce_queued(runs: list[RunRef]) -> None:
    """In a detached scheduler: tell the waiting parent (through a file it named) that runs are queued."""
    path = os.environ.get(ENV_DETACHED)
    if path and runs:
        record.write_json_atomic(Path(path), {"sweep": runs[0].sweep, "runs": [run.id for run in runs]})


def detach(git: Git, argv: list[str], wait: float = 120.0) -> Detached:
    """Start `gitexp <argv>` as a background scheduler; return once its runs are queued.

    The child runs in its own session (no terminal, so closing it does not stop the sweep) and
    writes its output to schedulers/<stamp>.log; it fails loudly here if it fails before queueing.
    """
    folder = git.gitexp_dir / "schedulers"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    log, ready = folder / f"{stamp}.log", folder / f"{stamp}.queued.json"
    with open(log, "wb") as out:
        child = subprocess.Popen([sys.executable, "-m", "gitexp", *argv], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                 env={**os.environ, ENV_DETACHED: str(ready)})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        queued = record.read_json(ready)
        if isinstance(queued, dict):
            ready.unlink(missing_ok=True)
            return Detached(child.pid, log, f"{len(queued['runs'])} run(s) queued in sweep {queued['sweep']}")
        code = child.poll()
        if code is not None:
            text = log.read_text(errors="replace").strip()
            last = text.splitlines()[-1] if text else f"exit code {code}"
            if code == 0:  # done already (e.g. --resume found nothing left to run)
                return Detached(child.pid, log, last)
            raise GitexpError(f"the background scheduler stopped before queueing: {last}")
        time.sleep(0.1)
    return Detached(child.pid, log, "still starting (see the log)")
