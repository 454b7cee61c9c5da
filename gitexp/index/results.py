"""One statement's rows, read the way its reader needs them: a screenful, a stream, or whole.

A terminal needs the first and last rows, how many there are, and which params vary; a pipe
needs every row as fast as DuckDB hands them over; `--format json` and the language server
need the rows in memory. Reading 10,000 rows into Python to show 40 of them (or building a
rich cell per value) is what made `select *` take seconds, so a screenful is answered inside
DuckDB: the result goes into a temporary table once, and only the rows shown leave it.
"""

from __future__ import annotations

from typing import Any, Iterator

from gitexp.errors import QueryError
from gitexp.index import schema
from gitexp.index.load import Reconcile
from gitexp.index.query import (DEFAULT_TIMEOUT, QueryResult, _bounded, _friendly, _one_statement, _reads_runs,
                                add_from_runs, check_limit)
from gitexp.index.sync import sync
from gitexp.record.git import Git

SCREEN_ROWS = 40  # like DuckDB's shell: the first 20 and the last 20 rows
_TABLE = "_gitexp_screen"


class Results:
    """Rows of `statement` on an open read-only index connection (closed with this object)."""

    def __init__(self, con: Any, statement: str, limit: int | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT):
        import duckdb

        self.con, self.statement, self.limit, self.timeout = con, statement, limit, timeout
        self.total: int | None = None  # rows in the result, when the maker counted them
        self.note: str | None = None  # why there are no rows, for the reader
        try:
            kind = con.extract_statements(statement)[0].type
        except duckdb.Error as error:
            raise _friendly(error) from None
        self.is_select = kind == duckdb.StatementType.SELECT

    def __enter__(self) -> Results:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _run(self, sql: str, args: list[Any] | None = None) -> Any:
        import duckdb

        try:
            return self.con.execute(sql, args or [])
        except duckdb.Error as error:
            raise _friendly(error) from None

    def _query(self, sql: str) -> Any:
        """The statement itself: stopped after `timeout` seconds or on Ctrl-C (see `query._bounded`)."""
        return _bounded(self.con, lambda: self._run(sql), self.timeout)

    def fetch(self) -> QueryResult:
        """Every row (at most `limit`), in memory."""
        cursor = self._query(self.statement)
        if cursor.description is None:
            return QueryResult([], [], False, [])
        rows = cursor.fetchall() if self.limit is None else cursor.fetchmany(self.limit + 1)
        truncated = self.limit is not None and len(rows) > self.limit
        return QueryResult([d[0] for d in cursor.description], rows[: self.limit] if truncated else rows,
                           truncated, [str(d[1]) for d in cursor.description], kinds=self._kinds())

    def stream(self, batch: int = 10_000) -> tuple[list[str], list[str], Iterator[list[tuple[Any, ...]]]]:
        """(columns, types, batches of rows): every row (at most `limit`), a batch at a time."""
        cursor = self._query(self.statement)
        if cursor.description is None:
            return [], [], iter(())
        left = self.limit

        def batches() -> Iterator[list[tuple[Any, ...]]]:
            nonlocal left
            while left is None or left > 0:
                rows = cursor.fetchmany(batch if left is None else min(batch, left))
                if not rows:
                    return
                if left is not None:
                    left -= len(rows)
                yield rows

        return [d[0] for d in cursor.description], [str(d[1]) for d in cursor.description], batches()

    def screen(self, rows: int = SCREEN_ROWS) -> QueryResult:
        """The first and last `rows // 2` rows (all when they fit), the total, column kinds and
        which param columns vary across the whole result."""
        if not self.is_select:  # PRAGMA and friends: small, read them whole
            whole = self.fetch()
            return _excerpt(whole, whole.rows, len(whole.rows), rows)
        self._query(f"CREATE OR REPLACE TEMP TABLE {_TABLE} AS {self.statement}")
        try:
            total = self._run(f"SELECT count(*) FROM {_TABLE}").fetchall()[0][0]
            truncated = self.limit is not None and total > self.limit
            total = min(total, self.limit) if self.limit is not None else total
            head = rows // 2 if total > rows else total
            cursor = self._run(f"SELECT * FROM {_TABLE} LIMIT {head}")
            picked = cursor.fetchall()
            if head < total:
                picked += self._run(f"SELECT * FROM {_TABLE} LIMIT {rows - head} OFFSET {total - (rows - head)}"
                                    ).fetchall()
            columns, types = [d[0] for d in cursor.description], [str(d[1]) for d in cursor.description]
            kinds = self._kinds()
            varying = self._varying([c for c in columns if kinds.get(c) == "param"])
            return QueryResult(columns, picked, truncated, types, total=total, head=head, kinds=kinds,
                               varying=varying)
        finally:
            self._run(f"DROP TABLE IF EXISTS {_TABLE}")

    def _kinds(self) -> dict[str, str]:
        """Which result columns are params or metrics (by the `runs` column they are named after)."""
        import duckdb

        try:
            found = self.con.execute("SELECT col, kind FROM _columns").fetchall()
        except duckdb.Error:
            return {}
        return {col: kind for col, kind in found}

    def _varying(self, params: list[str]) -> frozenset[str]:
        """Params whose value differs between rows, or that some rows lack."""
        if not params:
            return frozenset()
        tests = ", ".join(f"min({schema.ident(c)}) IS DISTINCT FROM max({schema.ident(c)}) OR count({schema.ident(c)}) "
                          f"NOT IN (0, count(*))" for c in params)  # min/max: cheaper than count(DISTINCT)
        flags = self._run(f"SELECT {tests} FROM {_TABLE}").fetchall()[0]
        return frozenset(c for c, flag in zip(params, flags) if flag)


def _excerpt(whole: QueryResult, rows: list[tuple[Any, ...]], total: int, screen: int) -> QueryResult:
    head = screen // 2 if total > screen else total
    picked = rows[:head] + (rows[total - (screen - head):] if head < total else [])
    return QueryResult(whole.columns, picked, whole.truncated, whole.types, total=total, head=head,
                       kinds=whole.kinds, varying=whole.varying)


def results(git: Git, sql: str, limit: int | None = None, reconcile: Reconcile | None = None,
            timeout: float | None = DEFAULT_TIMEOUT) -> Results:
    """One statement (no FROM reads `runs`) over a fresh index, to read as a screenful, a stream
    or whole, stopped after `timeout` seconds. Close it (or use `with`): it holds the connection."""
    import math

    check_limit(limit)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise QueryError(f"--timeout {timeout}: expected a positive number of seconds")
    con = sync(git, reconcile)
    try:
        statement = _one_statement(sql, con)
        if _reads_runs(con, statement):
            statement = add_from_runs(statement)
        return Results(con, statement, limit, timeout)
    except BaseException:
        con.close()
        raise
