"""gitexp: version ML experiments inside your own git repository.

In a training script:

    import gitexp
    gitexp.log({"loss": loss, "acc": acc}, step=epoch)   # a point per key, every step if you like
    gitexp.summary["best_acc"] = best                     # overrides the last-value summary
    lr = gitexp.config.lr                                 # the run's params, read-only
    gitexp.save_checkpoint(state, metric=acc)             # last + best, pointers in the record

Under `gitexp run` the points go to the run's record; a script started directly becomes a
run of sweep `adhoc` on its first `init()`/`log()`. runx users: `from gitexp.logx import logx`.

In a notebook (any folder of the repository):

    gitexp.query("select run, lr, acc order by acc desc").df()   # a DuckDB relation
    gitexp.runs(sweep="lr")                                       # pandas, a column per param/metric
    gitexp.run("lr/lr-0.1").series("loss")                        # one run: params, metrics, curves

Everything else is the `gitexp` command (see `gitexp --help`). Nothing heavy is imported
here: the API modules load on first use and torch stays optional.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any, Mapping

__version__ = "0.1.0"
__all__ = ["log", "summary", "config", "init", "save_checkpoint", "flush", "query", "runs", "run", "__version__"]

_track: Any = None


def _load_track() -> Any:
    global _track
    from gitexp.track import api as track

    _track = track
    return track


def log(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Record one point per key (buffered; a few microseconds per call)."""
    (_track or _load_track()).log(metrics, step)


def flush() -> None:
    """Write buffered points now (also done every second, at exit and on SIGTERM)."""
    (_track or _load_track()).flush()


def init() -> Path:
    """Attach to the current run, or record this script as a standalone `adhoc` run; returns LOGDIR."""
    return (_track or _load_track()).init()


def save_checkpoint(state: Any, metric: float | None = None, higher_better: bool = True,
                    name: str = "checkpoint") -> bool:
    """Save `state` as the last checkpoint, and as the best one when `metric` improves."""
    return (_track or _load_track()).save_checkpoint(state, metric=metric, higher_better=higher_better, name=name)


def query(sql: str, repo: str | os.PathLike[str] = ".") -> Any:
    """One SQL statement over every run, as a DuckDB relation (`.df()`, `.pl()`, `.arrow()`)."""
    from gitexp import analysis

    return analysis.query(sql, repo)


def runs(sweep: str | None = None, where: str | None = None, repo: str | os.PathLike[str] = ".") -> Any:
    """Runs as a pandas DataFrame with one column per param and metric, newest first."""
    from gitexp import analysis

    return analysis.runs(sweep, where, repo)


def run(name: str, repo: str | os.PathLike[str] = ".") -> Any:
    """One run: `.params`, `.metrics`, `.series(key)`, `.files`, `.checkpoint`.

    Importing the wing `gitexp.run.*` rebinds `gitexp.run` to that package; `_Package` makes
    the package callable the same way, so `gitexp.run(name)` works either way.
    """
    from gitexp import analysis

    return analysis.run(name, repo)


class _CallableWing(types.ModuleType):
    """The `gitexp.run` package, callable like the function it replaced as `gitexp.run`."""

    def __call__(self, name: str, repo: str | os.PathLike[str] = ".") -> Any:
        from gitexp import analysis

        return analysis.run(name, repo)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name == "run" and isinstance(value, types.ModuleType) and not isinstance(value, _CallableWing):
            value.__class__ = _CallableWing  # the import system binding the wing over the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    """`gitexp.summary` and `gitexp.config`, created on first access."""
    if name == "summary":
        return (_track or _load_track()).summary
    if name == "config":
        return (_track or _load_track()).config()
    raise AttributeError(f"module 'gitexp' has no attribute {name!r}")
