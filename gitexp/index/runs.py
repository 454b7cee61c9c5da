"""Run listings served from the index: `gitexp ls`, `gitexp ls SWEEP`, the sidebar's runs."""

from __future__ import annotations

import json
from typing import Any

from gitexp.errors import QueryError, RunNotFoundError
from gitexp.index import schema
from gitexp.index.load import Reconcile
from gitexp.index.query import QueryResult, check_limit
from gitexp.index.render import plain
from gitexp.index.sync import sync
from gitexp.record.git import Git

_TIMES = ("created", "started", "ended")


def _sort_column(con: Any, sort: str) -> str:
    """The `runs` column for a sort key: a fixed column, a metric, a param (metric first).
    A name no key has may end one after a `/`: `acc` sorts by `val/acc` when that is the only
    metric (or param) ending in `/acc`, as runx's sumx shows it; several are named, not guessed."""
    if sort.lower() in schema.FIXED:
        return schema.ident(sort.lower())
    found = con.execute("""SELECT key, col FROM _columns WHERE key = $1 OR col = $1
                           ORDER BY col = $1 DESC, kind = 'metric' DESC LIMIT 1""", [sort]).fetchall()
    if not found:
        found = con.execute("""SELECT DISTINCT key, col, kind = 'metric' AS metric FROM _columns
                               WHERE ends_with(key, '/' || $1) ORDER BY metric DESC, key""", [sort]).fetchall()
        if len({row[0] for row in found}) > 1:
            names = " or ".join(dict.fromkeys(row[0] for row in found))
            raise QueryError(f"cannot sort by {sort!r}: several keys end in '/{sort}': did you mean {names}?")
    if not found:
        raise QueryError(f"cannot sort by {sort!r}: no run field, param or metric has that name")
    return schema.ident(found[0][1])


def list_runs(git: Git, sweep: str | None = None, sort: str | None = None, descending: bool = True,
              filter: str | None = None, offset: int = 0, limit: int | None = None,
              reconcile: Reconcile | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(number of matching runs, one page of them) newest first unless `sort` names a field.

    `filter` is a case-insensitive substring of the run id, status or a `param=value`.
    Params are flattened (`model.depth`); times are ISO-8601 text; sorting is numeric for
    numeric columns, with runs lacking the value last.
    """
    check_limit(limit)
    con = sync(git, reconcile)
    try:
        where, args = ["TRUE"], []
        if sweep:
            args.append(sweep)
            where.append(f"r.sweep = ${len(args)}")
        if filter:
            args.append(filter.lower())
            where.append(f"contains(c.search, ${len(args)})")
        condition = " AND ".join(where)
        source = "runs r JOIN _core c ON c.run = r.run"
        total = con.execute(f"SELECT count(*) FROM {source} WHERE {condition}", args).fetchall()[0][0]
        order = _sort_column(con, sort or "created")
        direction = "DESC" if descending else "ASC"
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = con.execute(f"""SELECT r.run, r.sweep, r.name, r.status, r.created, r.started, r.ended,
                                      r.duration, r.origin, r.params::VARCHAR, r.metrics::VARCHAR, r.tags::VARCHAR
                               FROM {source} WHERE {condition}
                               ORDER BY r.{order} {direction} NULLS LAST, r.run{page} OFFSET {int(offset)}""",
                           args).fetchall()
    finally:
        con.close()
    keys = ("run", "sweep", "name", "status", "created", "started", "ended", "duration", "origin")
    runs = []
    for row in rows:
        item = {key: plain(value) for key, value in zip(keys, row)}
        item["params"], item["metrics"] = json.loads(row[9] or "{}"), json.loads(row[10] or "{}")
        item["tags"] = json.loads(row[11] or "{}")
        runs.append(item)
    return total, runs


def _age(column: str) -> str:
    """SQL for `3d ago` / `5h ago` / `2m ago` / `9s ago` (what `gitexp ls` shows), '-' without a time."""
    seconds = f"greatest(0, epoch(now()) - epoch({column}))"
    steps = "".join(f" WHEN {seconds} >= {size} THEN floor({seconds} / {size})::BIGINT || '{unit} ago'"
                    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)))
    return f"CASE WHEN {column} IS NULL THEN '-'{steps} ELSE floor({seconds})::BIGINT || 's ago' END"


def ls(git: Git, sweep: str | None = None, sort: str | None = None, descending: bool = True,
       filter: str | None = None, limit: int | None = None, reconcile: Reconcile | None = None) -> Any:
    """`gitexp ls` as `results.Results`: sweep, run, status (with the exit code of a failed run),
    age, origin (once runs were pulled), the params that vary across the listed runs, their first
    six metrics; newest first unless `sort` names a field. `.total` is the number of matching runs
    and `.note` says why there are none. An unknown sweep is an error naming the nearest ones."""
    from gitexp.index.results import Results

    con = sync(git, reconcile)
    try:
        where = ["TRUE"]
        if sweep:
            if not con.execute("SELECT 1 FROM _core WHERE sweep = $1 LIMIT 1", [sweep]).fetchall():
                raise RunNotFoundError(f"no sweep {sweep!r}", hint=sweep_hint(con, sweep))
            where.append(f"r.sweep = {schema.literal(sweep)}")
        if filter:
            where.append(f"contains(c.search, {schema.literal(filter.lower())})")
        source = f"runs r JOIN _core c ON c.run = r.run WHERE {' AND '.join(where)}"
        total, pulled, tagged = con.execute(f"SELECT count(*), count(r.origin), count(r.tags) FROM {source}"
                                            ).fetchall()[0]
        chosen = f"WHERE kv.run IN (SELECT r.run FROM {source})" if len(where) > 1 else ""  # else all runs
        used = con.execute(f"""
            SELECT col.kind, col.col, used.varies OR used.runs < $1 FROM _columns col JOIN (
                SELECT kv.kind, kv.key, min(kv.value) IS DISTINCT FROM max(kv.value) AS varies, count(*) AS runs
                FROM _kv kv {chosen} GROUP BY kv.kind, kv.key  -- a key once per run
            ) used ON used.kind = col.kind AND used.key = col.key
            ORDER BY col.kind DESC, col.rowid""", [total]).fetchall()
        params = [col for kind, col, varies in used if kind == "param" and (varies or total <= 1)]
        metrics = [col for kind, col, _ in used if kind == "metric"]
        exit_code = "c.info->>'exit_code'"
        picks = [f"r.sweep", "r.name AS run",
                 f"CASE WHEN r.status = 'failed' THEN r.status || coalesce(' (exit ' || ({exit_code}) || ')', '') "
                 "ELSE r.status END AS status",  # the record's JSON is read for failed runs only
                 f"{_age('r.created')} AS age", *(["r.origin"] if pulled else []),
                 *([_TAGS_TEXT] if tagged else []),
                 *(f"r.{schema.ident(c)}" for c in params[: 4 if total <= 1 else 6]),
                 *(f"r.{schema.ident(c)}" for c in metrics[:6])]
        order = _sort_column(con, sort or "created")
        statement = (f"SELECT {', '.join(picks)} FROM {source} "
                     f"ORDER BY r.{order} {'DESC' if descending else 'ASC'} NULLS LAST, r.run")
        found = Results(con, statement, limit)
        found.total = total if limit is None else min(total, limit)
        if not total:
            found.note = (f"no run matches --filter {filter!r}" + (f" in sweep {sweep!r}" if sweep else "")
                          + f" ({sweep_hint(con, filter)})" if filter else "no runs yet (start one with "
                          "`gitexp run SWEEP.yml`)")
        return found
    except BaseException:
        con.close()
        raise


# `star note=baseline`: a run's tags (gitexp tag) as `ls` shows them.
_TAGS_TEXT = ("array_to_string(list_transform(json_keys(r.tags), lambda k: CASE WHEN json_extract_string(r.tags, k)"
              " = 'true' THEN k ELSE k || '=' || json_extract_string(r.tags, k) END), ' ') AS tags")


def sweep_hint(con: Any, name: str | None = None) -> str:
    """`gitexp ls SWEEP` with the sweep nearest to `name` (or the largest ones), for error hints."""
    sweeps = [row[0] for row in con.execute(
        "SELECT sweep FROM _core GROUP BY sweep ORDER BY count(*) DESC, sweep").fetchall()]
    if not sweeps:
        return "no runs yet: start one with `gitexp run SWEEP.yml`"
    import difflib

    near = difflib.get_close_matches(name, sweeps, n=3, cutoff=0.5) if name else []
    shown = near or sweeps[:5]
    more = "" if near or len(sweeps) <= 5 else f" (and {len(sweeps) - 5} more)"
    return ("did you mean " if near else "sweeps: ") + ", ".join(shown) + more


def frame(git: Git, sweep: str | None = None, where: str | None = None,
          reconcile: Reconcile | None = None) -> Any:
    """Runs as a DuckDB relation for `gitexp.runs()`: newest first, the fixed columns, then one
    column per param and per metric that the chosen runs have (like `mlflow.search_runs`).

    `where` is an SQL condition over the `runs` columns (`"lr > 0.01 and status = 'completed'"`).
    """
    import duckdb

    from gitexp.index.query import _friendly

    con = sync(git, reconcile)
    try:
        if sweep and not con.execute("SELECT 1 FROM _core WHERE sweep = $1 LIMIT 1", [sweep]).fetchall():
            raise RunNotFoundError(f"no sweep {sweep!r}", hint=sweep_hint(con, sweep))
        conditions = ([f"sweep = {schema.literal(sweep)}"] if sweep else []) + ([f"({where})"] if where else [])
        condition = " AND ".join(conditions) or "TRUE"
        used = con.execute(f"""SELECT col.col FROM _columns col WHERE EXISTS (
                                   SELECT 1 FROM _kv kv WHERE kv.kind = col.kind AND kv.key = col.key
                                   AND kv.run IN (SELECT run FROM runs WHERE {condition}))
                               ORDER BY col.kind DESC, col.rowid""").fetchall()
        picked = ", ".join(schema.ident(name) for name in (*schema.FIXED, *(col for col, in used)))
        return con.sql(f"SELECT {picked} FROM runs WHERE {condition} ORDER BY created DESC NULLS LAST, run")
    except duckdb.Error as error:
        con.close()
        raise _friendly(error) from None
    except BaseException:
        con.close()
        raise


def list_sweeps(git: Git, reconcile: Reconcile | None = None, filter: str | None = None) -> list[dict[str, Any]]:
    """Every sweep with its number of runs and of running runs, by name; with a `filter`
    (as in `list_runs`), also how many of its runs match it (`matching`)."""
    con = sync(git, reconcile)
    try:
        matching = ", count(*) FILTER (WHERE contains(search, $1))" if filter else ""
        rows = con.execute(f"""SELECT sweep, count(*), count(*) FILTER (WHERE status = 'running'){matching}
                               FROM _core GROUP BY sweep ORDER BY sweep""",
                           [filter.lower()] if filter else []).fetchall()
    finally:
        con.close()
    sweeps = [{"sweep": row[0], "runs": row[1], "running": row[2]} for row in rows]
    if filter:
        for sweep, row in zip(sweeps, rows):
            sweep["matching"] = row[3]
    return sweeps


_TABLE_FIELDS = ("run", "sweep", "name", "status", "created", "started", "ended", "duration", "origin", "exit_code")


def experiments_table(git: Git, where: str | None = None, runs: list[str] | None = None, offset: int = 0,
          limit: int | None = None, reconcile: Reconcile | None = None) -> dict[str, Any]:
    """The experiments table: one row per run (fields, params, metrics, tags), newest first,
    and its columns (every param and metric key with its SQL type).

    `where` is a SQL condition over the `runs` view (`lr > 0.01 and status = 'completed'`);
    `runs` restricts to those ids (a live update: the cost is that of the runs asked for).
    """
    import duckdb

    con = sync(git, reconcile)
    try:
        conditions, args = ["TRUE"], []
        if runs is not None:
            args.append(list(runs))
            conditions.append("runs.run IN (SELECT unnest($1::VARCHAR[]))")
        if where and where.strip():
            conditions.append(f"({_condition(where)})")
        source = f"""runs JOIN (SELECT run AS _run, TRY_CAST(info->>'exit_code' AS BIGINT) AS _exit FROM _core) c
                     ON c._run = runs.run WHERE {' AND '.join(conditions)}"""
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        try:
            total = con.execute(f"SELECT count(*) FROM {source}", args).fetchall()[0][0]
            rows = con.execute(f"""SELECT runs.run, runs.sweep, runs.name, runs.status, runs.created, runs.started,
                                          runs.ended, runs.duration, runs.origin, c._exit, runs.params::VARCHAR,
                                          runs.metrics::VARCHAR, runs.tags::VARCHAR
                                   FROM {source} ORDER BY runs.created DESC NULLS LAST, runs.run{page}
                                   OFFSET {int(offset)}""", args).fetchall()
        except duckdb.Error as error:
            raise QueryError(f"where {where}: {str(error).splitlines()[0]}") from None
        columns = con.execute("SELECT kind, key, type FROM _columns ORDER BY kind DESC, rowid").fetchall()
    finally:
        con.close()
    items = []
    for row in rows:
        item = {key: plain(value) for key, value in zip(_TABLE_FIELDS, row)}
        item["params"], item["metrics"] = json.loads(row[10] or "{}"), json.loads(row[11] or "{}")
        tags = json.loads(row[12] or "{}")
        item["tags"] = tags if isinstance(tags, dict) else {}
        items.append(item)
    return {"total": total, "offset": offset, "rows": items,
            "columns": [{"kind": kind, "key": key, "type": sql_type} for kind, key, sql_type in columns]}


def _condition(where: str) -> str:
    """One SQL expression, refused when it would end the WHERE clause (`;`, a stray `)`)."""
    import duckdb

    try:
        tokens = duckdb.tokenize(where)
    except duckdb.Error as error:
        raise QueryError(f"where {where}: {str(error).splitlines()[0]}") from None
    depth = 0
    ends = [start for start, _ in tokens[1:]] + [len(where)]
    for (start, kind), end in zip(tokens, ends):
        text = where[start:end]
        if kind == duckdb.token_type.comment or ";" in text and kind == duckdb.token_type.operator:
            raise QueryError(f"where {where}: one condition only (no ';' or comments)")
        if kind == duckdb.token_type.operator:
            depth += text.count("(") - text.count(")")
            if depth < 0:
                raise QueryError(f"where {where}: unbalanced ')'")
    if depth:
        raise QueryError(f"where {where}: unbalanced '('")
    return where


def sweep_table(git: Git, sweep: str, sort: str | None = None, descending: bool = True,
                reconcile: Reconcile | None = None) -> QueryResult:
    """One sweep like runx's `sumx`: the params that differ between its runs, the summary
    metrics, epochs (as runx counts them: the step of the last val/ point) and time per epoch; sorted numerically by `sort`
    (default: run name)."""
    con = sync(git, reconcile)
    try:
        count = con.execute("SELECT count(*) FROM _core WHERE sweep = $1", [sweep]).fetchall()[0][0]
        if not count:
            raise RunNotFoundError(f"no sweep {sweep!r}", hint="see `gitexp ls`")
        # A param differs when two runs hold different values or some run lacks it.
        columns = con.execute("""
            SELECT col.kind, col.col FROM _columns col JOIN (
                SELECT kv.kind, kv.key, count(DISTINCT kv.value) AS values, count(*) AS runs
                FROM _kv kv JOIN _core c ON c.run = kv.run WHERE c.sweep = $1 GROUP BY kv.kind, kv.key
            ) used ON used.kind = col.kind AND used.key = col.key
            WHERE col.kind = 'metric' OR used.values > 1 OR used.runs < $2
            ORDER BY col.kind DESC, col.rowid""", [sweep, count]).fetchall()
        picked = "".join(f", r.{schema.ident(col)}" for _, col in columns)
        epoch_time = "r.duration / nullif(c.epochs, 0)"
        order = {None: "r.name", "epochs": "c.epochs", "epoch_time": epoch_time}.get(sort)
        order = order or f"r.{_sort_column(con, str(sort))}"
        cursor = con.execute(f"""
            SELECT r.name AS run{picked}, c.epochs, {epoch_time} AS epoch_time
            FROM runs r JOIN _core c ON c.run = r.run WHERE r.sweep = $1
            ORDER BY {order} {'DESC' if descending and sort else 'ASC'} NULLS LAST, r.name""", [sweep])
        rows = cursor.fetchall()
        return QueryResult([d[0] for d in cursor.description], rows, False, [str(d[1]) for d in cursor.description])
    finally:
        con.close()
