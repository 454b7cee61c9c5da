"""Runs from Python (a notebook, a script): `gitexp.query`, `gitexp.runs`, `gitexp.run`.

    import gitexp
    gitexp.query("select run, lr, acc order by acc desc").df()   # a DuckDB relation
    df = gitexp.runs(sweep="lr", where="status = 'completed'")    # pandas, a column per param/metric
    best = gitexp.run(df.run[0]);  best.series("loss").plot(x="step", y="value")

The same index and record readers as the CLI, so the same speed: `query` and `runs` read the
DuckDB index (brought up to date first), `run` reads one run's ref. The repository is the one
holding the current folder (any folder inside it), or `repo=`. DuckDB and pandas load on the
first call, never on `import gitexp`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitexp.errors import GitexpError

PANDAS_HINT = "pip install 'gitexp[pandas]'"


def _git(repo: str | os.PathLike[str]) -> Any:
    from gitexp.record.git import open_repo

    return open_repo(repo)


def _pandas_frame(relation: Any) -> Any:
    try:
        import pandas  # noqa: F401  (DuckDB's .df() needs it; say how to get it)
    except ImportError:
        raise GitexpError("gitexp.runs() and Run.series() return pandas DataFrames, and pandas is not installed",
                          hint=PANDAS_HINT) from None
    return relation.df()


def query(sql: str, repo: str | os.PathLike[str] = ".") -> Any:
    """One SQL statement over every run, as a DuckDB relation (`.df()`, `.pl()`, `.arrow()`,
    `.fetchall()`); a statement with no FROM reads `runs`. Read-only, like `gitexp query`."""
    from gitexp.index.query import relation

    return relation(_git(repo), sql)


def runs(sweep: str | None = None, where: str | None = None, repo: str | os.PathLike[str] = ".") -> Any:
    """Runs as a pandas DataFrame, newest first: run, sweep, name, status, commit, times,
    then one typed column per param and per metric (like `mlflow.search_runs`).

    `where` is an SQL condition over those columns: `"lr > 0.01 and status = 'completed'"`.
    """
    from gitexp.index.runs import frame

    return _pandas_frame(frame(_git(repo), sweep, where))


@dataclass
class Run:
    """One run's record: params, summary metrics, curves, code files and checkpoints."""

    id: str
    status: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    info: dict[str, Any]  # the whole run.json
    commit: str
    snapshot: str  # the code snapshot commit
    _git: Any
    _record: Any  # the record as read (store.Run): series and files come from the same commit

    @property
    def sweep(self) -> str:
        return self.id.partition("/")[0]

    @property
    def name(self) -> str:
        return self.id.partition("/")[2]

    def series(self, key: str | None = None) -> Any:
        """The logged points as a DataFrame (step, value, time), of one key or all (with a key column)."""
        import pandas

        from gitexp.record import store

        git = self._git
        with git.cat_file() as cat:
            points = store.series_of(git, cat, self._record)
        rows = [p for p in points if key is None or p.get("key") == key]
        columns = ["step", "value", "time"] if key is not None else ["key", "step", "value", "time"]
        if key is not None and not rows and points:
            keys = sorted({str(p.get("key")) for p in points})
            raise GitexpError(f"{self.id}: no series {key!r}", hint="it has: " + ", ".join(keys))
        return pandas.DataFrame([[p.get(c) for c in columns] for p in rows], columns=columns)

    @property
    def files(self) -> list[str]:
        """Paths of the run's code snapshot (the workspace as it was at launch)."""
        out = self._git.run("ls-tree", "-r", "-z", "--name-only", self.snapshot)
        return [path for path in out.split("\0") if path]

    def read(self, path: str) -> str:
        """One file of the run's code snapshot, as text."""
        data = self._git.show_file(self.snapshot, path)
        if data is None:
            raise GitexpError(f"{self.id}: no file {path!r} in its code snapshot")
        return data.decode(errors="replace")

    @property
    def checkpoints(self) -> list[dict[str, Any]]:
        """The record's checkpoint pointers: path, size, sha256, role (last/best), metric."""
        return [a for a in self.info.get("artifacts") or [] if isinstance(a, dict) and a.get("kind") == "checkpoint"]

    @property
    def checkpoint(self) -> Path | None:
        """The best checkpoint's path (the last one when no metric picked a best); None without one."""
        found = {a.get("role"): a for a in self.checkpoints}
        chosen = found.get("best") or found.get("last") or (self.checkpoints[-1] if self.checkpoints else None)
        return Path(chosen["path"]) if chosen and chosen.get("path") else None

    def __repr__(self) -> str:
        return f"<gitexp.Run {self.id} {self.status} params={self.params} metrics={self.metrics}>"


def run(name: str, repo: str | os.PathLike[str] = ".") -> Run:
    """One run by `sweep/run`, a bare run name or a commit prefix (reads that ref only)."""
    from gitexp.record.view import load_one

    git = _git(repo)
    found = load_one(git, name)
    return Run(found.id, found.status, dict(found.params), dict(found.metrics), dict(found.info), found.commit,
               found.snapshot, git, found)
