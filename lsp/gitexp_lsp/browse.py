"""The `gitexp/...` requests the sidebar reads through: runs, one run, diffs, files, SQL, curves, images.

Each is a thin call into the library; the shapes are the contract in `lsp/PROTOCOL.md`.
Every request may name a workspace `folder` (URI); without one, the first folder's repo answers.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from gitexp.errors import GitexpError
from gitexp_lsp.base import GitexpServer


def text(params: dict[str, Any], key: str, method: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise GitexpError(f"{method}: param {key!r} must be a non-empty string")
    return value


def integer(params: dict[str, Any], key: str, method: str, default: int | None) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GitexpError(f"{method}: param {key!r} must be a non-negative integer")
    return value


def strings(params: dict[str, Any], key: str, method: str) -> list[str]:
    value = params.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GitexpError(f"{method}: param {key!r} must be a list of strings")
    return value


CACHE_SECONDS = 5.0  # also bounds how long a run whose scheduler died shows as running


class Answers:
    """Recent `gitexp/runs` answers. Every index read first syncs with the refs (hundreds of
    ms at 10k runs), while the watcher already knows when runs change: an answer is reused
    until the folder's generation moves or it is CACHE_SECONDS old."""

    def __init__(self, server: GitexpServer):
        self.server = server
        self._items: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, folder: str, params: dict[str, Any], compute) -> Any:
        key = (folder, self.server.generations.get(folder, 0), json.dumps(params, sort_keys=True, default=str))
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        answer = compute()
        now = time.monotonic()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if now - v[0] < CACHE_SECONDS and k[:2] == key[:2]}
            self._items[key] = (now, answer)
        return answer


def quick_sweeps(git) -> dict[str, Any]:
    """Sweeps and their run counts from the ref listing alone (milliseconds at 10k runs), for
    the sidebar while the index is first built (seconds); `running` is unknown (0) until then,
    and the session announces `runsChanged` once the index is ready."""
    from gitexp.record import store

    counts: dict[str, int] = {}
    for ref in store.list_runs(git):
        counts[ref.sweep] = counts.get(ref.sweep, 0) + 1
    return {"total": sum(counts.values()), "offset": 0, "runs": [],
            "sweeps": [{"sweep": sweep, "runs": n, "running": 0} for sweep, n in sorted(counts.items())]}


class Browse:
    def __init__(self, server: GitexpServer):
        self.server = server
        self.answers = Answers(server)
        self._curves = None  # inspect.CurveCache, made on the first plot (inspect loads lazily)
        self._curves_lock = threading.Lock()

    def _repo(self, params: dict[str, Any]):
        folder = params.get("folder")
        return self.server.repos.get(folder if isinstance(folder, str) else None)[1]

    def runs(self, params: dict[str, Any]) -> dict[str, Any]:
        folder = params.get("folder")
        uri, git = self.server.repos.get(folder if isinstance(folder, str) else None)
        from gitexp import index

        if params.get("limit") == 0 and not params.get("filter") and uri not in self.server.warm:
            return quick_sweeps(git)

        page = self.answers.get(uri, params, lambda: self._runs(git, params))
        filter = params.get("filter") or None
        sweeps = self.answers.get(uri, {"": "sweeps", "filter": filter},
                                  lambda: index.list_sweeps(git, filter=filter if isinstance(filter, str) else None))
        return {**page, "sweeps": sweeps}

    def _runs(self, git, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import index

        method = "gitexp/runs"
        offset = integer(params, "offset", method, 0) or 0
        total, rows = index.list_runs(
            git, sweep=params.get("sweep") or None, sort=params.get("sort") or None,
            descending=bool(params.get("descending", True)), filter=params.get("filter") or None,
            offset=offset, limit=integer(params, "limit", method, None))
        return {"total": total, "offset": offset, "runs": rows}

    def table(self, params: dict[str, Any]) -> dict[str, Any]:
        """The experiments table: a page of rows (or the rows of named runs) and the columns."""
        from gitexp import index

        method = "gitexp/table"
        where = params.get("where")
        if where is not None and not isinstance(where, str):
            raise GitexpError(f"{method}: param 'where' must be a string")
        runs = strings(params, "runs", method) if "runs" in params else None
        folder = params.get("folder")
        uri, git = self.server.repos.get(folder if isinstance(folder, str) else None)
        def compute() -> dict[str, Any]:
            return index.experiments_table(git, where=where, runs=runs, offset=integer(params, "offset", method, 0) or 0,
                                           limit=integer(params, "limit", method, None))

        # Rows of named runs are asked for right after they change (a tag, a live update): never reused.
        return compute() if runs is not None else self.answers.get(uri, {"": "table", **params}, compute)

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import inspect

        return inspect.show(self._repo(params), text(params, "run", "gitexp/run"))

    def diff(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import inspect

        method = "gitexp/diff"
        return inspect.diff(self._repo(params), text(params, "a", method), text(params, "b", method))

    def file(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import inspect

        method = "gitexp/file"
        return inspect.file_at(self._repo(params), text(params, "run", method), text(params, "path", method))

    def query(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import index

        method = "gitexp/query"
        result = index.run_query(self._repo(params), text(params, "sql", method),
                                 limit=integer(params, "limit", method, None))
        return {"columns": list(result.columns), "rows": [list(row) for row in result.rows],
                "truncated": result.truncated, "types": list(result.types)}

    def series(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import inspect

        method = "gitexp/series"
        runs = strings(params, "runs", method)
        if not runs:
            raise GitexpError(f"{method}: param 'runs' must name at least one run")
        keys, time = strings(params, "keys", method) or None, params.get("time") is True
        if params.get("packed") is True:
            with self._curves_lock:
                if self._curves is None:
                    self._curves = inspect.CurveCache()
            return inspect.curves(self._repo(params), runs, keys, time=time,
                                  most=integer(params, "most", method, None), cache=self._curves)
        return inspect.series(self._repo(params), runs, keys, time=time)

    def images(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import inspect

        method = "gitexp/images"
        runs = strings(params, "runs", method)
        if not runs:
            raise GitexpError(f"{method}: param 'runs' must name at least one run")
        most = integer(params, "maxSteps", method, inspect.IMAGE_STEPS) or inspect.IMAGE_STEPS
        return inspect.images(self._repo(params), runs, max_steps=most)


def setup(server: GitexpServer) -> None:
    feature = Browse(server)
    for name in ("runs", "table", "run", "diff", "file", "query", "series", "images"):
        server.custom_request(f"gitexp/{name}", getattr(feature, name))
