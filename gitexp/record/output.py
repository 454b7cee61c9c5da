"""A run's captured output: every byte to the live file, head and tail kept for the record.

The record's `output.log` is capped (the cap and the byte count go into run.json), so one
chatty script cannot bloat the repository; `gitexp logs -f` follows the uncapped live file.
"""

from __future__ import annotations

import threading
from pathlib import Path

DEFAULT_OUTPUT_CAP = 2 * 1024 * 1024  # bytes kept in the record's output.log (head + tail)


class CappedOutput:
    """A job's output: the live file gets every byte (so `gitexp logs -f` follows it), while
    memory keeps the first and last `cap / 2` bytes, which become the record's output.log."""

    def __init__(self, path: Path, cap: int = DEFAULT_OUTPUT_CAP):
        self.path = path
        self.cap = cap
        self.total = 0
        self._head = bytearray()
        self._tail = bytearray()
        self.write_error: OSError | None = None  # the live file stopped (disk full): memory goes on
        self._lock = threading.Lock()
        try:
            self._file = open(path, "wb")
        except OSError as error:
            self._file, self.write_error = None, error

    def write(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            self._write_live(data)
            room = self.cap // 2 - len(self._head)
            if room > 0:
                self._head += data[:room]
                data = data[room:]
            if data:
                self._tail += data
                excess = len(self._tail) - (self.cap - self.cap // 2)
                if excess > 0:
                    del self._tail[:excess]

    def _write_live(self, data: bytes) -> None:
        """Every byte to the live file while the disk takes it; after a failure only memory
        keeps the output (it becomes the record's output.log all the same)."""
        if self._file is None:
            return
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as error:
            self.write_error = error
            self._close_file()

    def _close_file(self) -> None:
        file, self._file = self._file, None
        try:
            if file is not None:
                file.close()
        except OSError as error:  # buffered bytes the disk refused
            self.write_error = self.write_error or error

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def content(self) -> bytes:
        """What output.log holds in the record: head, an omission marker if any, tail."""
        with self._lock:
            if self.truncated:
                omitted = self.total - len(self._head) - len(self._tail)
                marker = f"\n[gitexp: {omitted} bytes of output omitted]\n".encode()
                return bytes(self._head) + marker + bytes(self._tail)
            return bytes(self._head) + bytes(self._tail)

    def close(self) -> bytes:
        with self._lock:
            self._close_file()
        return self.content()
