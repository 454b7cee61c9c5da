"""What a backend is handed (a `Job`: one attempt of one run) and what it must provide.

Kept apart from the backend registry in `__init__`, so Ray and farm backends import the
contract without importing the registry that imports them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from gitexp.record.output import CappedOutput
from gitexp.record.refs import RunRef
from gitexp.run.scheduler import Slots

# Remote jobs have no local pid, but the scheduler keys running jobs by `pid`: hand out ids
# above Linux's largest possible pid (2**22), so one can never be mistaken for a real process.
_ids = itertools.count(1 << 22)


def job_id() -> int:
    return next(_ids)


@dataclass
class Job:
    """Everything a backend needs to run one attempt of one run away from the driver."""

    run: RunRef
    commands: tuple[str, ...]  # as recorded: LOGDIR already rendered as `run_dir`
    cwd: str  # the invocation folder, relative to the snapshot's root
    env: dict[str, str]  # the driver's full environment for the job
    output: CappedOutput  # the driver-side output.log: the backend writes every output line here
    on_line: Callable[[bytes], None] | None  # stdout metrics + terminal echo, per output line
    snapshot: str  # S: the code, by commit
    run_dir: Path  # the driver's run folder (LOGDIR); files mirrored back land here
    resources: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # the sweep's settings (farm, submit_cmd ...)

    def job_env(self, base: dict[str, str]) -> dict[str, str]:
        """Only what the driver added for this job: the remote side keeps its own PATH, HOME,
        and the GPU assignment its scheduler made (so CUDA_* never travels)."""
        return {k: v for k, v in self.env.items() if base.get(k) != v and not k.startswith("CUDA_")}

    def feed(self, partial: bytes, data: bytes) -> bytes:
        """Whole lines of remote output to output.log and the line hooks (stdout metrics, echo),
        as for a local run; returns the unfinished last line to pass in next time."""
        *lines, partial = (partial + data).split(b"\n")
        for line in lines:
            self.output.write(line + b"\n")
            if self.on_line:
                self.on_line(line + b"\n")
        return partial


class Backend(Protocol):
    name: str

    def slots(self) -> Slots: ...

    def process(self, job: Job) -> Any:
        """An unstarted process-like object for `job` (see the module docstring)."""

    def close(self) -> None: ...
