"""Typed initialization options: a bad value falls back to its default with a notice.

A typo in the editor's settings must never stop the server from starting, so every option is
checked on its own and each problem becomes one line the server shows the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Options:
    watch_interval: float = 0.5  # seconds between two looks at the refs and live run folders
    debounce: float = 0.3  # quiet time before `gitexp/runsChanged` is sent
    max_delay: float = 2.0  # ... but never later than this after the first change (live metrics)
    diagnostics_delay: float = 0.15  # typing pause before a sweep file is checked again
    sweep_files: tuple[str, ...] = ()  # extra glob patterns of sweep files (relative to the folder)
    metric_goals: dict[str, str] = field(default_factory=dict)  # metric -> "min" | "max"


# JSON name -> (field, checker returning the typed value or raising ValueError with the reason)
def _positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError("expected a positive number of seconds")
    return float(value)


def _globs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of glob patterns")
    return tuple(value)


def _goals(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(v in ("min", "max") for v in value.values()):
        raise ValueError('expected an object mapping metric names to "min" or "max"')
    return {str(k): v for k, v in value.items()}


_FIELDS = {
    "watchInterval": ("watch_interval", _positive),
    "debounce": ("debounce", _positive),
    "maxDelay": ("max_delay", _positive),
    "diagnosticsDelay": ("diagnostics_delay", _positive),
    "sweepFiles": ("sweep_files", _globs),
    "metricGoals": ("metric_goals", _goals),
}
assert {name for name, _ in _FIELDS.values()} == {f.name for f in fields(Options)}


def parse_options(raw: Any) -> tuple[Options, list[str]]:
    """The options the client sent (None or an object), and one notice per value ignored."""
    options, notices = Options(), []
    if raw is None:
        return options, notices
    if not isinstance(raw, dict):
        return options, [f"initializationOptions: expected an object, got {type(raw).__name__}; using defaults"]
    for key, value in raw.items():
        if key not in _FIELDS:
            notices.append(f"initializationOptions.{key}: unknown option, ignored "
                           f"(known: {', '.join(sorted(_FIELDS))})")
            continue
        name, check = _FIELDS[key]
        try:
            options = replace(options, **{name: check(value)})
        except ValueError as error:
            notices.append(f"initializationOptions.{key}={value!r}: {error}; using {getattr(Options(), name)!r}")
    return options, notices
