"""Is the scheduler that owns a `running` record still alive? If not, the run is `lost`.

A record names its scheduler by host, pid and the pid's start time (so a recycled pid does
not look alive). Any gitexp command that reads runs calls `reconcile`, which turns records
whose scheduler vanished into `lost` ones: a record is never left claiming to run.
"""

from __future__ import annotations

import os
from typing import Any

from gitexp.record import model as record


def process_start_time(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (Linux), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""
        return ""  # alive, start time unknown (not Linux)


def pid_alive(pid: int | str) -> bool:
    try:
        return process_start_time(int(pid)) is not None
    except ValueError:
        return False


def owner() -> dict[str, Any]:
    """How this process identifies itself in the records it owns."""
    pid = os.getpid()
    return {"host": record.hostname(), "pid": pid, "start": process_start_time(pid)}


def owner_alive(info: dict[str, Any]) -> bool | None:
    """True/False for a scheduler on this host; None when it runs elsewhere (cannot tell)."""
    who = info.get("scheduler")
    if not isinstance(who, dict) or who.get("host") != record.hostname():
        return None
    try:
        pid = int(who.get("pid"))
    except (TypeError, ValueError):
        return False
    start = process_start_time(pid)
    if start is None:
        return False
    return not (start and who.get("start") and start != who.get("start"))
