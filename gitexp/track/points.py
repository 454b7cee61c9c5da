"""The one way a point reaches a run's series (`metrics.jsonl`), whoever logged it.

The logging API, TensorBoard ingestion and stdout regexes all write through here, so their
lines have one format and are appended whole: concurrent writers never tear each other's lines.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from gitexp.record import model as record


def append_lines(path: Path, lines: list[str]) -> None:
    """One O_APPEND write: concurrent writers of the same series never tear each other's lines."""
    if not lines:
        return
    data = ("\n".join(lines) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


_key_json: dict[str, str] = {}


def point_line(step: Any, key: str, value: Any, when: float) -> str:
    """One series line; hand-formatted for the common types because json.dumps costs µs per point."""
    quoted = _key_json.get(key)
    if quoted is None:
        quoted = _key_json[key] = record.dumps(key)
    kind = type(value)
    if kind is float and math.isfinite(value) or kind is int:
        text = repr(value)
    else:
        text = record.dumps(record.clean_number(value))
    at = str(step) if type(step) is int else record.dumps(step)
    return f'{{"step": {at}, "key": {quoted}, "value": {text}, "time": {when:.3f}}}'
