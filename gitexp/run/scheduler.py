"""The local scheduler: keep every slot busy until the queue is empty; stop cleanly on Ctrl-C.

It knows nothing about git or records: the caller passes a `JobHooks` object that starts a
job on a placement and records what happened. Where jobs may go is decided by a `Slots`
policy (CPU slots here; GPU packing in `gpus.py`), so the same loop serves both.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitexp.run.executor import Process

POLL_SECONDS = 0.02  # loop period; a job's exit (SIGCHLD) ends the wait at once in the main thread
GRACE_SECONDS = 10.0  # after the first Ctrl-C: SIGINT, then SIGTERM, then SIGKILL


@dataclass(frozen=True)
class Placement:
    slot: str  # a label for humans: "cpu0", "gpu1", "gpu0,1"
    gpus: tuple[int, ...] = ()
    reason: str = ""
    estimate_mib: float | None = None
    cuda: bool = False  # set CUDA_VISIBLE_DEVICES to `gpus` (empty hides every GPU)

    def env(self) -> dict[str, str]:
        """What the job's environment needs so CUDA sees exactly its GPUs, numbered as NVML does."""
        if not self.cuda:
            return {}
        return {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ",".join(map(str, self.gpus))}


@dataclass
class Task:
    """One run waiting for, or holding, a slot."""

    key: Any  # the caller's handle (a RunRef)
    resources: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0


class Slots(Protocol):
    def check(self, resources: dict[str, Any]) -> None:
        """Raise a GitexpError for a request these slots could never satisfy."""

    def acquire(self, task: Task) -> Placement | None: ...

    def release(self, task: Task, placement: Placement, exit_code: int | None) -> None: ...

    def observe(self, running: dict[int, tuple[Task, Placement]]) -> None: ...


class CpuSlots:
    """N interchangeable slots (`--jobs N`)."""

    def __init__(self, jobs: int = 1):
        self.free = [f"cpu{i}" for i in range(max(1, jobs))]

    def check(self, resources: dict[str, Any]) -> None:
        pass  # any job can run in a CPU slot (one asking for GPUs fails on its own)

    def acquire(self, task: Task) -> Placement | None:
        return Placement(self.free.pop(0), reason="cpu slot") if self.free else None

    def release(self, task: Task, placement: Placement, exit_code: int | None) -> None:
        self.free.append(placement.slot)
        self.free.sort(key=lambda label: int(label[3:]))

    def observe(self, running: dict[int, tuple[Task, Placement]]) -> None:
        pass


class JobHooks(Protocol):
    def start(self, task: Task, placement: Placement) -> Process: ...

    def finish(self, task: Task, placement: Placement, process: Process, exit_code: int | None,
               cancelled: bool) -> Task | None:
        """Record the outcome; return a task to queue again (a retry) or None."""

    def cancel_queued(self, task: Task) -> None: ...

    def tick(self, running: list[tuple[Task, Placement, Process]]) -> None:
        """Called every loop turn: live progress, heartbeats."""

    def stop_requests(self) -> set[Any]:
        """Keys of runs someone asked to stop (`gitexp kill`); they end as cancelled."""


class TaskSource(Protocol):
    """Tasks made only when a slot is free (an adaptive search asks its sampler then, not before)."""

    def more(self) -> bool:
        """Whether more tasks will come (False ends the run once the queue is empty)."""

    def peek(self) -> Task:
        """The next task's key and resources, so the slots can place it; nothing decided yet."""

    def take(self, task: Task, placement: Placement) -> Task | None:
        """Make the peeked task real now that it has a slot; None: nothing to run after all."""


class Scheduler:
    def __init__(self, slots: Slots, hooks: JobHooks, timeout: float | None = None):
        self.slots = slots
        self.hooks = hooks
        self.timeout = timeout
        self.interrupts = 0
        self._cancel_started: float | None = None
        self._escalated = 0
        self._stopping: dict[int, float] = {}  # pid -> when SIGTERM was sent (timeout or kill)
        self._killed: set[Any] = set()  # keys stopped by request: recorded as cancelled
        self.source: TaskSource | None = None

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.interrupts += 1

    def run(self, tasks: list[Task], source: TaskSource | None = None) -> bool:
        """Run every task (then what `source` makes, one per freed slot); False when the user interrupted."""
        queue = list(tasks)
        self.source = source
        running: dict[int, tuple[Task, Placement, Process]] = {}
        with _Wakeup() as wakeup:
            previous = {}
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    previous[sig] = signal.signal(sig, self._on_signal)
            try:
                while queue or running or self._more():
                    # reap first: a slot freed by a job that just ended is refilled in the same turn
                    self._reap(queue, running)
                    if self.interrupts:
                        for task in queue:
                            self.hooks.cancel_queued(task)
                        queue.clear()
                        self._escalate(running)
                    else:
                        self._stop_requested(queue, running)
                        self._fill(queue, running)
                    self.slots.observe({pid: (t, p) for pid, (t, p, _) in running.items()})
                    self.hooks.tick(list(running.values()))
                    if queue or running or self._more():
                        wakeup.wait(POLL_SECONDS)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return self.interrupts == 0

    def _fill(self, queue: list[Task], running: dict) -> None:
        index = 0
        while index < len(queue):
            task = queue[index]
            placement = self.slots.acquire(task)
            if placement is None:
                if task.resources.get("slot") is not None:
                    index += 1  # pinned elsewhere: let later tasks try their slots
                    continue
                break  # keep the order: wait for room
            queue.pop(index)
            process = self.hooks.start(task, placement)
            running[process.pid] = (task, placement, process)
        while not queue and self._more():
            task = self.source.peek()
            placement = self.slots.acquire(task)
            if placement is None:
                break
            made = self.source.take(task, placement)
            if made is None:
                self.slots.release(task, placement, None)
                break
            process = self.hooks.start(made, placement)
            running[process.pid] = (made, placement, process)

    def _more(self) -> bool:
        return self.source is not None and not self.interrupts and self.source.more()

    def _reap(self, queue: list[Task], running: dict) -> None:
        for pid in list(running):
            task, placement, process = running[pid]
            code = process.poll()
            if code is None:
                if self.timeout and not process.timed_out and time.time() - process.started > self.timeout:
                    process.timed_out = True
                    self._terminate(pid, process)
                elif pid in self._stopping and time.monotonic() - self._stopping[pid] > GRACE_SECONDS:
                    process.signal(signal.SIGKILL)
                continue
            del running[pid]
            self._stopping.pop(pid, None)
            self.slots.release(task, placement, code)
            # a job that ended on its own before Ctrl-C reached it keeps its real outcome
            cancelled = (bool(self.interrupts) and process.signalled) or task.key in self._killed
            retry = self.hooks.finish(task, placement, process, code, cancelled=cancelled)
            if retry is not None and not cancelled:
                queue.insert(0, retry)

    def _terminate(self, pid: int, process: Process) -> None:
        """SIGTERM now; `_reap` sends SIGKILL if the group is still there after the grace period."""
        if pid not in self._stopping:
            self._stopping[pid] = time.monotonic()
            process.signal(signal.SIGTERM)

    def _stop_requested(self, queue: list[Task], running: dict) -> None:
        wanted = self.hooks.stop_requests()
        if not wanted:
            return
        for task in [t for t in queue if t.key in wanted]:
            queue.remove(task)
            self.hooks.cancel_queued(task)
        for pid, (task, _, process) in list(running.items()):
            if task.key in wanted:
                self._killed.add(task.key)
                self._terminate(pid, process)

    def _escalate(self, running: dict) -> None:
        """First Ctrl-C: SIGINT to every job, SIGTERM after a grace period, then SIGKILL.
        A second Ctrl-C: SIGKILL at once."""
        now = time.monotonic()
        if self._cancel_started is None:
            self._cancel_started = now
            self._send(running, signal.SIGINT)
        elapsed = now - self._cancel_started
        if self.interrupts >= 2 or elapsed > GRACE_SECONDS * 1.5:
            if self._escalated < 2:
                self._escalated = 2
                self._send(running, signal.SIGKILL)
        elif elapsed > GRACE_SECONDS and self._escalated < 1:
            self._escalated = 1
            self._send(running, signal.SIGTERM)

    @staticmethod
    def _send(running: dict, sig: int) -> None:
        for _, _, process in running.values():
            process.signal(sig)


class _Wakeup:
    """Sleep between loop turns, but wake as soon as a child process exits.

    In the main thread SIGCHLD is routed to a pipe (`signal.set_wakeup_fd`) that the wait
    selects on, so a finished job is reaped and its slot refilled within a millisecond, not at
    the next poll. Elsewhere (signals only reach the main thread) it is a plain sleep.
    """

    def __init__(self) -> None:
        self._fds: tuple[int, int] | None = None
        self._previous: Any = None
        self._previous_fd = -1

    def __enter__(self) -> "_Wakeup":
        if threading.current_thread() is not threading.main_thread():
            return self
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        try:
            self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # e.g. inside an embedding that owns signals
            os.close(read)
            os.close(write)
            return self
        self._fds = (read, write)
        self._previous = signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler makes it reach the fd
        return self

    def wait(self, seconds: float) -> None:
        if self._fds is None:
            time.sleep(seconds)
            return
        ready, _, _ = select.select([self._fds[0]], [], [], seconds)
        if ready:
            try:
                while os.read(self._fds[0], 4096):
                    pass
            except BlockingIOError:
                pass

    def __exit__(self, *exc: object) -> None:
        if self._fds is None:
            return
        signal.signal(signal.SIGCHLD, self._previous)
        signal.set_wakeup_fd(self._previous_fd)
        for fd in self._fds:
            os.close(fd)
