"""The DuckDB index: a cache of every run record that answers SQL, rebuilt from the refs at will.

Public API (every call first brings the index up to date with the refs):

    run_query(git, sql, limit=None) -> QueryResult(columns, rows, truncated, types)
    render(result, fmt="table"|"csv"|"json"|"markdown", width=100) -> str;  table(result, width)
    list_runs(git, sweep=None, sort=None, descending=True, filter=None, offset=0, limit=None)
    list_sweeps(git);  sweep_table(git, sweep, sort=None, descending=True)
    sync(git) -> read-only connection (the tables are described in `schema`; the
    concurrency design in `sync`)

Every function takes an optional `reconcile` hook (see `load.Reconcile`). Submodules import
DuckDB and rich only inside the functions that need them, so importing this is cheap.
"""

from gitexp.index.query import QueryResult, check_limit, run_query
from gitexp.index.render import FORMATS, render, table
from gitexp.index.runs import list_runs, list_sweeps, sweep_table
from gitexp.index.sync import index_path, sync

__all__ = ["FORMATS", "QueryResult", "check_limit", "index_path", "list_runs", "list_sweeps", "render", "run_query",
           "sweep_table", "sync", "table"]
