"""The in-script logging API: `gitexp.log({"acc": 0.9}, step=3)`.

Inside a run started by `gitexp run`, points are appended to the run folder's
`.gitexp/metrics.jsonl` (found through $GITEXP_RUN_DIR), buffered and flushed at exit.
Outside a run, `log` warns once and does nothing else.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from gitexp import record

_lock = threading.Lock()
_buffer: list[str] = []
_steps: dict[str, int] = {}
_warned = False
FLUSH_EVERY = 1.0  # seconds
_last_flush = time.monotonic()


def _series_path() -> Path | None:
    run_dir = os.environ.get(record.ENV_RUN_DIR)
    return Path(run_dir) / record.RECORD_DIR / record.SERIES_JSONL if run_dir else None


def log(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Append one point per key; the last value of each key becomes the run's summary."""
    global _warned, _last_flush
    if _series_path() is None:
        if not _warned:
            warnings.warn("gitexp.log: not inside a `gitexp run`; metrics are not recorded", stacklevel=2)
            _warned = True
        return
    now = time.time()
    with _lock:
        for key, value in metrics.items():
            key = str(key)
            at = step if step is not None else _steps.get(key, -1) + 1
            _steps[key] = at
            if hasattr(value, "item"):
                value = value.item()  # numpy / torch scalars
            _buffer.append(json.dumps({"step": at, "key": key, "value": record.clean_number(value),
                                       "time": round(now, 3)}))
        due = time.monotonic() - _last_flush >= FLUSH_EVERY
    if due:
        flush()


def flush() -> None:
    global _last_flush
    path = _series_path()
    with _lock:
        lines, _buffer[:] = list(_buffer), []
        _last_flush = time.monotonic()
    if path and lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            handle.write("\n".join(lines) + "\n")


atexit.register(flush)
