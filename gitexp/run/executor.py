"""Start, watch and stop one job's process group; keep its output (capped).

Each job runs in its own session/process group so a signal reaches everything it started
(data-loader workers, `torchrun` children). A reaper process, one per scheduler, holds a pipe
to the scheduler: when the scheduler dies for any reason, even `kill -9`, the pipe closes and
the reaper kills every registered group, so no job outlives its scheduler.

A descendant that calls `setsid` leaves the group, so every job also carries a mark in its
environment ($GITEXP_JOB, inherited by everything it starts): when the job ends, and when the
reaper cleans up, processes bearing the mark are found in /proc and killed too.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from gitexp.record.output import CappedOutput

log = logging.getLogger(__name__)
MAX_LINE = 64 * 1024  # a "line" with no newline this long is passed on in pieces of this size
READ_BYTES = 65536
_END = re.compile(rb"[\r\n]")
ENV_JOB = "GITEXP_JOB"  # "<scheduler token>:<job token>", inherited by a job's descendants
READER_GRACE = 1.0  # seconds to wait for the last output once a job and its marked processes are gone

_REAPER = r"""
import os, signal, sys, time
mark = ("GITEXP_JOB=" + sys.argv[1] + ":").encode()
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line.startswith("+"):
        groups.add(int(line[1:]))
    elif line.startswith("-"):
        groups.discard(int(line[1:]))

def marked():
    pids = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            if name.isdigit() and any(v.startswith(mark) for v in open(f"/proc/{name}/environ", "rb").read().split(b"\0")):
                pids.append(int(name))
        except OSError:
            pass
    return pids

for sig in (signal.SIGTERM, signal.SIGKILL):
    for pgid in list(groups):
        try:
            os.killpg(pgid, sig)
        except OSError:
            groups.discard(pgid)
    strays = marked()
    for pid in strays:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    if not groups and not strays:
        break
    time.sleep(3)
"""


RECENT_SECONDS = 1.0  # a job shorter than this can only have descendants with pids allocated after its own
FEW_PIDS = 64  # at most this many pids allocated since a short job started: try each, without listing /proc


def marked_processes(mark: str, after: int | None = None) -> list[int]:
    """Pids whose environment holds `GITEXP_JOB=<mark>` exactly (Linux /proc; none elsewhere).

    `after`: the pid of a job that started less than RECENT_SECONDS ago. Everything it started
    got a pid allocated after its own, so only pids from there up to the kernel's last one
    (`ns_last_pid`, wrapping at pid_max) are read: ending a short job reads a few /proc entries
    instead of every process's environment (the whole scan was the largest cost of a short job)."""
    wanted = f"{ENV_JOB}={mark}".encode()
    pids: list[int] = []
    last = _last_pid() if after is not None else None
    if after is not None and last is not None and 0 <= last - after <= FEW_PIDS:
        candidates: Iterable[int] = range(after + 1, last + 1)  # no /proc listing for a few new pids
    else:
        try:
            names = os.listdir("/proc")
        except OSError:
            return pids
        candidates = (int(name) for name in names if name.isdigit())
        if last is not None:
            candidates = (pid for pid in candidates if _allocated_between(pid, after, last))
    for pid in candidates:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if wanted in handle.read().split(b"\0"):
                    pids.append(pid)
        except OSError:  # gone, or not ours
            continue
    return pids


def _last_pid() -> int | None:
    try:
        with open("/proc/sys/kernel/ns_last_pid", "rb") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return None


def _allocated_between(pid: int, after: int, last: int) -> bool:
    """Whether `pid` comes after `after` and up to `last` in the kernel's pid order (it wraps)."""
    return after < pid <= last if after <= last else (pid > after or pid <= last)


class Reaper:
    """Kills registered process groups when the owning process disappears."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex  # the first half of every job's $GITEXP_JOB
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _REAPER, self.token], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
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


class _Readers:
    """One thread reads the output of every job this process started: a selector over their
    pipes. Starting a job then starts no thread (and waits for none to come up: `Thread.start`
    waits for the new thread to run, a wait for the GIL in a busy scheduler)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[tuple[int, "Process | None"]] = []  # (fd, sink) to add, (fd, None) to drop
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None

    def add(self, fd: int, sink: "Process") -> None:
        self._change(fd, sink)

    def drop(self, fd: int) -> None:
        """Stop reading `fd` (its sink gets no `end`)."""
        self._change(fd, None)

    def _change(self, fd: int, sink: "Process | None") -> None:
        with self._lock:
            self._changes.append((fd, sink))
            if self._thread is None or not self._thread.is_alive() or self._wake is None:
                read, write = os.pipe()
                os.set_blocking(write, False)
                self._wake = (read, write)
                self._thread = threading.Thread(target=self._loop, args=(read,), name="gitexp-job-output",
                                                daemon=True)
                self._thread.start()
                return
            wake = self._wake[1]
        try:
            os.write(wake, b"x")
        except BlockingIOError:  # the pipe is full of wake-ups already
            pass

    def _loop(self, wake: int) -> None:
        selector = selectors.DefaultSelector()
        selector.register(wake, selectors.EVENT_READ, None)
        self._apply(selector)
        while True:
            for key, _ in selector.select():
                if key.data is None:
                    os.read(wake, 4096)
                    self._apply(selector)
                    continue
                try:
                    chunk = os.read(key.fd, READ_BYTES)
                    if chunk:
                        key.data.feed(chunk)
                        continue
                except Exception as error:  # noqa: BLE001 - one job's output, not everyone's
                    log.warning("reading a job's output: %s", error)
                selector.unregister(key.fd)
                key.data.end()

    def _apply(self, selector: selectors.BaseSelector) -> None:
        with self._lock:
            changes, self._changes = self._changes, []
        for fd, sink in changes:
            if sink is not None:
                selector.register(fd, selectors.EVENT_READ, sink)
            else:
                try:
                    selector.unregister(fd)
                except (KeyError, ValueError):
                    pass  # already at its end


READERS = _Readers()


_SHELL_ONLY = set(";&|<>()*?[]{}~!#\n$`")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def program(commands: tuple[str, ...], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The argv to start, and its environment: the program itself when the command is one simple
    command (`VAR=1 python train.py --lr 0.1`), so the exit code and the signals are the
    script's own; `/bin/sh -c` only where the command needs a shell (steps, pipes, `$VAR`, globs)."""
    if len(commands) == 1 and not _needs_shell(commands[0]):
        words = shlex.split(commands[0])
        extra = {}
        while words and _ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            extra[name] = value
        env = {**env, **extra}
        # a program that cannot be found is left to the shell: its `not found` and exit 127
        if words and ("/" in words[0] or shutil.which(words[0], path=env.get("PATH", os.defpath))):
            return words, env
    script = commands[0] if len(commands) == 1 else " && ".join(f"( {c} )" for c in commands)
    return ["/bin/sh", "-c", script], dict(env)


def _needs_shell(command: str) -> bool:
    """Whether anything outside single quotes is for the shell to interpret."""
    quote, i = "", 0
    while i < len(command):
        char = command[i]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\":
            i += 1  # an escaped character is literal
        elif quote == '"':
            if char in "$`":
                return True
            quote = "" if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char in _SHELL_ONLY:
            return True
        i += 1
    return bool(quote) or not command.strip()


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
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)  # $GITEXP_JOB of this job's processes
    _read_all: threading.Event = field(default_factory=threading.Event, repr=False)  # its output's EOF
    _partial: bytearray = field(default_factory=bytearray, repr=False)  # an unfinished line

    @property
    def script(self) -> str:
        if len(self.commands) == 1:
            return self.commands[0]
        return " && ".join(f"( {c} )" for c in self.commands)

    def start(self) -> None:
        self.started = time.time()
        if self.reaper:
            self.mark = f"{self.reaper.token}:{self.mark}"
        self.env = {**self.env, ENV_JOB: self.mark}
        argv, env = program(self.commands, self.env)
        try:
            self.popen = subprocess.Popen(
                argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as error:  # no such folder, fork failed: this run fails, the sweep goes on
            self.start_error = f"could not start the job: {error}"
            self.output.write(f"gitexp: {self.start_error}\n".encode())
            return
        if self.reaper:
            self.reaper.watch(self.popen.pid)
        assert self.popen.stdout
        READERS.add(self.popen.stdout.fileno(), self)

    def feed(self, chunk: bytes) -> None:
        """Output as it comes (no waiting for a newline: progress bars use \\r), called by the
        reader thread; complete lines, split at \\n or \\r, go to `on_line`.

        Linear in the output whatever its line lengths: each chunk is scanned once for line
        ends, and an unfinished line is kept only up to MAX_LINE bytes before it is passed on."""
        self.output.write(chunk)
        if self.on_line:
            self._guarded(self._lines, self._partial, chunk)

    def end(self) -> None:
        """The output's end (EOF, or a read error): the last unfinished line goes on."""
        if self.on_line and self._partial:
            self._guarded(self.on_line, bytes(self._partial))
        self._partial.clear()
        self._read_all.set()

    def _guarded(self, call: Callable[..., None], *args: object) -> None:
        """A line hook that fails stops its lines, never the reading of anyone's output."""
        try:
            call(*args)
        except Exception as error:  # noqa: BLE001 - logged; the output is still kept in full
            log.warning("reading the output of %s: %s", self.script, error)
            self.on_line = None

    def _lines(self, pending: bytearray, chunk: bytes) -> None:
        """Emit the lines `chunk` completes; keep its unfinished end in `pending` (bounded)."""
        assert self.on_line
        start = 0
        for match in _END.finditer(chunk):
            end = match.end()
            if pending:
                pending += chunk[start:end]
                for at in range(0, len(pending), MAX_LINE):
                    self.on_line(bytes(pending[at:at + MAX_LINE]))
                pending.clear()
            else:
                self.on_line(chunk[start:end])
            start = end
        pending += chunk[start:]
        while len(pending) >= MAX_LINE:  # a huge unterminated line goes on in bounded pieces
            self.on_line(bytes(pending[:MAX_LINE]))
            del pending[:MAX_LINE]

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
        self.kill_group()  # nothing the job started may outlive it, in its group or not
        if self.popen.stdout and not self._read_all.wait(READER_GRACE):
            READERS.drop(self.popen.stdout.fileno())  # a process we cannot see holds the pipe: stop reading
            self._read_all.set()
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
        """Kill what is left of the group (also stragglers after the leader exited), and every
        process bearing this job's mark that left the group with `setsid`."""
        if self.popen:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except OSError:
                pass
            recent = time.time() - self.started < RECENT_SECONDS
            for pid in marked_processes(self.mark, after=self.popen.pid if recent else None):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
