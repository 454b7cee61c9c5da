"""`gitexp query SQL`: one read-only statement over the index; no FROM means FROM runs.

Safety comes from the connection (see `sync._lock_down`): the snapshot is attached read-only,
file access is off and the configuration is locked, so `COPY ... TO`, `ATTACH`,
`read_csv('/etc/passwd')`, `INSTALL` and `SET` are refused by DuckDB itself.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from gitexp.errors import QueryError, QueryInterrupted
from gitexp.index.load import Reconcile
from gitexp.index.sync import sync
from gitexp.record.git import Git

DEFAULT_TIMEOUT = 60.0  # seconds a query may run (`--timeout`)
# Clauses that may follow a select list; a missing FROM goes right before the first of them.
_AFTER_SELECT_LIST = {"where", "group", "having", "window", "qualify", "order", "limit", "offset", "using"}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows existed than `limit`
    types: list[str]  # DuckDB type of each column (renderers align numbers by it)
    # A screenful (`Results.screen`): `rows` are the first `head` rows then the last ones of `total`.
    total: int | None = None
    head: int | None = None
    kinds: dict[str, str] = field(default_factory=dict)  # column -> "param" | "metric"
    varying: frozenset[str] = frozenset()  # param columns whose value differs between rows


def _reads_runs(con: Any, statement: str) -> bool:
    """True when the statement is a plain SELECT with no FROM at its top level."""
    import json

    tree = json.loads(con.execute("SELECT json_serialize_sql($1)", [statement]).fetchall()[0][0])
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        return False
    node = tree["statements"][0]["node"]
    return node.get("type") == "SELECT_NODE" and node.get("from_table", {}).get("type") == "EMPTY"


def add_from_runs(statement: str) -> str:
    """Insert `FROM runs` after the top-level select list, found with DuckDB's tokenizer."""
    import duckdb

    tokens = duckdb.tokenize(statement)
    ends = [start for start, _ in tokens[1:]] + [len(statement)]
    depth, after_select, insert_at = 0, False, len(statement)
    for (start, kind), end in zip(tokens, ends):
        text = statement[start:end]
        if kind == duckdb.token_type.comment:
            insert_at = min(insert_at, start)
            continue
        insert_at = len(statement)  # a trailing comment only counts if nothing follows it
        if kind == duckdb.token_type.operator:
            depth += text.count("(") - text.count(")")
        elif kind == duckdb.token_type.keyword and depth == 0:
            word = text.strip().split()[0].lower() if text.strip() else ""
            if word == "select":
                after_select = True
            elif after_select and word in _AFTER_SELECT_LIST:
                return f"{statement[:start].rstrip()} FROM runs {statement[start:]}"
    return f"{statement[:insert_at].rstrip()} FROM runs {statement[insert_at:]}".rstrip()


def _one_statement(sql: str, con: Any = None) -> str:
    """The one statement in `sql`, parsed by `con` when given (the module-level parser first
    builds DuckDB's default in-memory database, a tenth of a second)."""
    import duckdb

    try:
        statements = (duckdb if con is None else con).extract_statements(sql)
    except duckdb.Error as error:
        raise QueryError(str(error)) from None
    if len(statements) != 1:
        raise QueryError("empty query" if not statements else
                         f"{len(statements)} statements given: run one at a time")
    return statements[0].query.strip().rstrip(";").rstrip()


def _friendly(error: Exception) -> QueryError:
    import duckdb

    message = str(error)
    if isinstance(error, duckdb.PermissionException) or "read-only mode" in message:
        message = f"refused: gitexp queries are read-only and cannot touch files. {message}"
    return QueryError(message)


def relation(git: Git, sql: str, reconcile: Reconcile | None = None) -> Any:
    """One statement as a DuckDB relation over a fresh index (lazy: nothing runs until it is read).

    The relation keeps its read-only connection open; it reads the snapshot it was made on
    even after a later sync publishes a newer one.
    """
    import duckdb

    con = sync(git, reconcile)
    try:
        statement = _one_statement(sql, con)
        if _reads_runs(con, statement):
            statement = add_from_runs(statement)
        found = con.sql(statement)
    except duckdb.Error as error:
        con.close()
        raise _friendly(error) from None
    except BaseException:
        con.close()
        raise
    if found is None:  # not a query (e.g. a PRAGMA that returns nothing)
        con.close()
        raise QueryError("the statement returns no rows: gitexp.query() takes a SELECT")
    return found


def run_query(git: Git, sql: str, limit: int | None = None, reconcile: Reconcile | None = None,
              timeout: float | None = DEFAULT_TIMEOUT) -> QueryResult:
    """Run one statement against a fresh index; at most `limit` rows come back.

    DuckDB works in a thread while this one waits, so a query that runs past `timeout`
    seconds, or a Ctrl-C, interrupts it (`interrupt()`) within a fraction of a second."""
    import duckdb

    check_limit(limit)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise QueryError(f"--timeout {timeout}: expected a positive number of seconds")
    statement = _one_statement(sql)
    con = sync(git, reconcile)
    try:
        if _reads_runs(con, statement):
            statement = add_from_runs(statement)
        return _bounded(con, lambda: _execute(con, statement, limit), timeout)
    except duckdb.Error as error:
        raise _friendly(error) from None
    finally:
        with contextlib.suppress(duckdb.Error):  # still busy after an interrupt: the process ends anyway
            con.close()


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise QueryError(f"--limit {limit}: expected 0 or more rows")


def _execute(con: Any, statement: str, limit: int | None) -> QueryResult:
    cursor = con.execute(statement)
    if cursor.description is None:
        return QueryResult([], [], False, [])
    rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
    truncated = limit is not None and len(rows) > limit
    return QueryResult([d[0] for d in cursor.description], rows[:limit] if truncated else rows,
                       truncated, [str(d[1]) for d in cursor.description])


def _bounded(con: Any, work: Callable[[], QueryResult], timeout: float | None) -> QueryResult:
    """`work()` in a thread; interrupt DuckDB on timeout or Ctrl-C and say so in one line.

    The wait is on an Event, not `Thread.join`: a join cut short by KeyboardInterrupt leaves the
    thread looking dead while it still runs inside DuckDB (CPython gh-90882)."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error
        finally:
            done.set()

    deadline = None if timeout is None else time.monotonic() + timeout
    threading.Thread(target=target, name="gitexp-query", daemon=True).start()
    try:
        while not done.wait(0.05):
            if deadline is not None and time.monotonic() > deadline:
                _stop(con, done)
                raise QueryError(f"the query ran longer than {timeout:g} s and was stopped",
                                 hint="raise --timeout")
    except KeyboardInterrupt:
        _stop(con, done)
        raise QueryInterrupted("query interrupted (Ctrl-C)") from None
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _stop(con: Any, done: threading.Event) -> None:
    """Interrupt until the worker is out of DuckDB: an interrupt sent just before its statement
    began is lost, and a thread still inside DuckDB at exit aborts the interpreter."""
    for _ in range(200):
        con.interrupt()
        if done.wait(0.05):
            return
