"""Start, watch and stop one job's process group; keep its output (capped).

Each job runs in its own session/process group so a signal reaches everything it started
(data-loader workers, `torchrun` children). A reaper process, one per scheduler, holds a pipe
to the scheduler: when the scheduler dies for any reason, even `kill -9`, the pipe closes and
the reaper kills every registered group, so no job outlives its scheduler.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gitexp.record.output import CappedOutput

MAX_LINE = 64 * 1024  # a "line" with no newline this long is passed on anyway
_LINE = re.compile(rb"[^\r\n]*[\r\n]")

_REAPER = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line.startswith("+"):
        groups.add(int(line[1:]))
    elif line.startswith("-"):
        groups.discard(int(line[1:]))
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pgid in list(groups):
        try:
            os.killpg(pgid, sig)
        except OSError:
            groups.discard(pgid)
    if not groups:
        break
    time.sleep(3)
"""


class Reaper:
    """Kills registered process groups when the owning process disappears."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _REAPER], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, text=True,
        )
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        with self._lock:
            try:
                assert self._proc.stdin
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}")

    def close(self) -> None:
        """Normal shutdown: nothing left to kill. The reaper exits on its own once it reads EOF;
        waiting for it would only add its start-up time to every `gitexp run`."""
        with self._lock:
            if self._proc.stdin and not self._proc.stdin.closed:
                self._proc.stdin.close()


@dataclass
class Process:
    """One running job: a shell command line (steps joined with &&) in its own process group."""

    commands: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    output: CappedOutput
    on_line: Callable[[bytes], None] | None = None
    reaper: Reaper | None = None
    popen: subprocess.Popen | None = None
    started: float = 0.0
    timed_out: bool = False
    signalled: bool = False  # we sent it a signal while it ran (it did not end on its own)
    start_error: str | None = None
    _reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def script(self) -> str:
        if len(self.commands) == 1:
            return self.commands[0]
        return " && ".join(f"( {c} )" for c in self.commands)

    def start(self) -> None:
        self.started = time.time()
        try:
            self.popen = subprocess.Popen(
                ["/bin/sh", "-c", self.script], cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as error:  # no such folder, fork failed: this run fails, the sweep goes on
            self.start_error = f"could not start the job: {error}"
            self.output.write(f"gitexp: {self.start_error}\n".encode())
            return
        if self.reaper:
            self.reaper.watch(self.popen.pid)
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        """Copy output as it comes (no waiting for a newline: progress bars use \\r) and hand
        complete lines, split at \\n or \\r, to `on_line`."""
        assert self.popen and self.popen.stdout
        fd = self.popen.stdout.fileno()
        pending = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.output.write(chunk)
            if self.on_line:
                pending = self._lines(pending + chunk)
        if self.on_line and pending:
            self.on_line(pending)

    def _lines(self, data: bytes) -> bytes:
        """Emit the complete lines of `data`; return the unfinished rest (bounded)."""
        assert self.on_line
        end = 0
        for match in _LINE.finditer(data):
            self.on_line(match.group())
            end = match.end()
        rest = data[end:]
        if len(rest) > MAX_LINE:
            self.on_line(rest)
            return b""
        return rest

    @property
    def pid(self) -> int:
        """The process group's id; a unique negative stand-in when the job could not start."""
        return self.popen.pid if self.popen else -id(self)

    def poll(self) -> int | None:
        """Exit code once the process has ended and its output is fully read."""
        if self.popen is None:
            return 127  # never started (see start_error)
        code = self.popen.poll()
        if code is None:
            return None
        self.kill_group()  # nothing the job started may outlive it
        if self._reader:
            self._reader.join(timeout=5)
        if self.reaper:
            self.reaper.forget(self.popen.pid)
        return code

    def signal(self, sig: int) -> None:
        if self.popen and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                self.signalled = True
            except OSError:
                pass

    def kill_group(self) -> None:
        """Kill what is left of the group (also stragglers after the leader exited)."""
        if self.popen:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except OSError:
                pass
