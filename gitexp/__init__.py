"""gitexp: version ML experiments inside your own git repository.

In a training script: `import gitexp; gitexp.log({"acc": 0.9}, step=epoch)`.
Everything else is the `gitexp` command (see `gitexp --help`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["log", "flush", "__version__"]


def log(metrics: dict[str, Any], step: int | None = None) -> None:
    from gitexp import track

    track.log(metrics, step=step)


def flush() -> None:
    from gitexp import track

    track.flush()
