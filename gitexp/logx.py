"""runx users' import path: `from gitexp.logx import logx` (or `from gitexp import logx`).

The implementation lives in `gitexp/track/logx.py`; this module keeps the public path stable.
"""

from __future__ import annotations

from typing import Any

from gitexp.track.logx import LogX, logx

__all__ = ["LogX", "logx"]


def __getattr__(name: str) -> Any:
    """`from gitexp import logx; logx.initialize(...)` works on the module as on the object."""
    try:
        return getattr(logx, name)
    except AttributeError:
        raise AttributeError(f"module 'gitexp.logx' has no attribute {name!r}") from None
