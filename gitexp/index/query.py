"""`gitexp query SQL`: one read-only statement over the index; no FROM means FROM runs.

Safety comes from the connection (see `sync.connect`): the snapshot is attached read-only,
file access is off and the configuration is locked, so `COPY ... TO`, `ATTACH`,
`read_csv('/etc/passwd')`, `INSTALL` and `SET` are refused by DuckDB itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitexp.errors import QueryError
from gitexp.index.load import Reconcile
from gitexp.index.sync import sync
from gitexp.record.git import Git

# Clauses that may follow a select list; a missing FROM goes right before the first of them.
_AFTER_SELECT_LIST = {"where", "group", "having", "window", "qualify", "order", "limit", "offset", "using"}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows existed than `limit`
    types: list[str]  # DuckDB type of each column (renderers align numbers by it)


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


def _one_statement(sql: str) -> str:
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise QueryError(str(error)) from None
    if len(statements) != 1:
        raise QueryError("empty query" if not statements else
                         f"{len(statements)} statements given: run one at a time")
    return statements[0].query.strip().rstrip(";").rstrip()


def run_query(git: Git, sql: str, limit: int | None = None, reconcile: Reconcile | None = None) -> QueryResult:
    """Run one statement against a fresh index; at most `limit` rows come back."""
    import duckdb

    statement = _one_statement(sql)
    con = sync(git, reconcile)
    try:
        if _reads_runs(con, statement):
            statement = add_from_runs(statement)
        cursor = con.execute(statement)
        if cursor.description is None:
            return QueryResult([], [], False, [])
        rows = cursor.fetchall() if limit is None else cursor.fetchmany(limit + 1)
        truncated = limit is not None and len(rows) > limit
        return QueryResult([d[0] for d in cursor.description], rows[:limit] if truncated else rows,
                           truncated, [str(d[1]) for d in cursor.description])
    except duckdb.Error as error:
        message = str(error)
        if isinstance(error, duckdb.PermissionException) or "read-only mode" in message:
            message = f"refused: gitexp queries are read-only and cannot touch files. {message}"
        raise QueryError(message) from None
    finally:
        con.close()
