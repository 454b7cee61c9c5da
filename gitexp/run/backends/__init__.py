"""Where a run's command executes: this machine (the default), a Ray cluster, or a batch farm.

The local scheduler loop and the launch hooks stay the one path for every backend: a backend
only supplies the `Slots` policy (how many runs may be out at once, and where) and, per run, an
object with `executor.Process`'s interface (`start`, `poll`, `signal`, `kill_group`, `pid`,
`started`, `timed_out`) that runs the job elsewhere and feeds its output and run-folder files
back into the driver's run folder. So records are written by the driver alone, the same way,
with `backend` and `where` added to run.json; a backend whose job vanished sets `lost` (a
reason) on its process and the run is recorded `lost`, which `--resume` reruns.
"""

from __future__ import annotations

from gitexp.errors import GitexpError
from gitexp.run.backends.job import Backend

NAMES = ("local", "ray", "farm")


def open_backend(name: str, git, address: str | None = None) -> Backend | None:
    """The backend `--backend NAME` asks for; None means local processes (launch's default)."""
    if name == "local":
        if address:
            raise GitexpError("--address only applies to --backend ray")
        return None
    if name == "ray":
        from gitexp.run.backends.ray import RayBackend

        return RayBackend(git, address)
    if name == "farm":
        if address:
            raise GitexpError("--address only applies to --backend ray")
        from gitexp.run.backends.farm import FarmBackend

        return FarmBackend(git)
    raise GitexpError(f"unknown backend {name!r}: choose one of {', '.join(NAMES)}")
