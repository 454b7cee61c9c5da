"""The DuckDB index: a cache of every run record that answers SQL, rebuilt from the refs at will.

Public API (every call first brings the index up to date with the refs):

    run_query(git, sql, limit=None) -> QueryResult(columns, rows, truncated, types)
    results(git, sql, limit=None) -> Results: .screen() (first/last rows, the count), .stream(), .fetch()
    ls(git, sweep=None, sort=None, descending=True, filter=None, limit=None) -> Results (`gitexp ls`)
    render(result, fmt="table"|"csv"|"json"|"markdown", width=100) -> str;  table(result, width)
    write_delimited(columns, types, batches, out, delimiter);  aligned(columns, rows)
    list_runs(git, sweep=None, sort=None, descending=True, filter=None, offset=0, limit=None)
    list_sweeps(git, filter=None);  sweep_table(git, sweep, sort=None, descending=True)
    experiments_table(git, where=None, runs=None, offset=0, limit=None) -> the VS Code table's rows
    sync(git) -> read-only connection (the tables are described in `schema`; the
    concurrency design in `sync`)

Every function takes an optional `reconcile` hook (see `load.Reconcile`). Submodules import
DuckDB and rich only inside the functions that need them, so importing this is cheap.
"""

from gitexp.index.query import QueryResult, check_limit, run_query
from gitexp.index.render import FORMATS, aligned, render, table, write_delimited
from gitexp.index.results import results
from gitexp.index.runs import experiments_table, list_runs, list_sweeps, ls, sweep_table
from gitexp.index.sync import index_path, sync

__all__ = ["FORMATS", "QueryResult", "aligned", "check_limit", "experiments_table", "index_path", "list_runs",
           "list_sweeps", "ls", "render", "results", "run_query", "sweep_table", "sync", "table", "write_delimited"]
