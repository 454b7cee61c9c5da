"""The index's tables, and how loaded records become rows in them.

Tables (everything a query sees):

    runs      view: run, sweep, name, status, commit, created, started, ended, duration,
              origin (the remote a pulled run came from; NULL for runs made here),
              one typed column per param, one per summary metric, then `params`,
              `metrics` and `tags` (the run's tags and stars, `gitexp tag`) as JSON. A column is named by the bare key; a key that is also a
              metric (for a param), a param (for a metric) or a fixed column gets the prefix
              `param.` or `metric.` (quote it: `select "metric.lr"`). Nested params are
              flattened with dots (`model.depth`).
    series    run, key, step, value, time (seconds since the epoch)  -- every logged point
    params    run, key, value (text), num (DOUBLE or NULL), type     -- long form
    metrics   run, key, value, num, type                              -- summary metrics, long form

A column's type is inferred across runs: all integers -> BIGINT, all numbers -> DOUBLE, all
booleans -> BOOLEAN, anything else -> VARCHAR. Tables starting with `_` are internal.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

from gitexp.index.load import Loaded
from gitexp.record import model as record

VERSION = "8"  # bump when the tables change: an index of another version is rebuilt
# Epochs as runx's sumx counts them: the step of the last validation point (`val/acc`, as logx's
# metric('val', ...) logs it, the epoch of the last val row of metrics.csv); without validation
# series, the last step logged.
VAL_PHASES = ("val", "validate", "validation", "test")
EPOCHS = ("SELECT run, coalesce(arg_max(step, coalesce(time, 0) * 1e6 + step) FILTER "
          f"(WHERE split_part(key, '/', 1) IN {VAL_PHASES}), max(step)) AS epochs "
          "FROM {table} GROUP BY run")
FIXED = ("run", "sweep", "name", "status", "commit", "created", "started", "ended", "duration", "origin")
RESERVED = {name.lower() for name in (*FIXED, "params", "metrics", "tags")}
_INT64 = 2**63
_NON_FINITE = {"nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}

DDL = """
CREATE TABLE _meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE _core(run VARCHAR, sweep VARCHAR, name VARCHAR, status VARCHAR, commit VARCHAR,
    created TIMESTAMPTZ, started TIMESTAMPTZ, ended TIMESTAMPTZ, duration DOUBLE,
    params JSON, metrics JSON, epochs BIGINT, search VARCHAR, live VARCHAR, info JSON);
CREATE TABLE _kv(run VARCHAR, kind VARCHAR, key VARCHAR, pos INTEGER, value VARCHAR, num DOUBLE, type VARCHAR);
CREATE TABLE _columns(kind VARCHAR, key VARCHAR, col VARCHAR, type VARCHAR);
CREATE TABLE _keys(kind VARCHAR, key VARCHAR, type VARCHAR, pos INTEGER, runs BIGINT,
    seen STRUCT(created BIGINT, run VARCHAR, pos INTEGER));
CREATE TABLE series(run VARCHAR, key VARCHAR, step BIGINT, value DOUBLE, time DOUBLE);
CREATE TABLE _origin(run VARCHAR, origin VARCHAR);
"""
# the long forms of params and metrics, over `_kv` (the base's own, or the layered one of a delta)
LONG_VIEWS = {kind + "s": f"SELECT run, key, value, num, type FROM _kv WHERE kind = '{kind}'" for kind in ("param", "metric")}
DDL += "".join(f"CREATE VIEW {name} AS {select};\n" for name, select in LONG_VIEWS.items())


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys; lists and scalars are leaves."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def cell(value: Any) -> tuple[str | None, float | None, str]:
    """(text, number, type) of one param or metric value."""
    if value is None:
        return None, None, "null"
    if isinstance(value, bool):
        return ("true" if value else "false"), None, "boolean"
    if isinstance(value, int):
        return str(value), float(value), "bigint" if -_INT64 <= value < _INT64 else "double"
    if isinstance(value, float):
        return (repr(value) if math.isfinite(value) else str(value)), value, "double"
    if isinstance(value, str):
        if value.strip().lower() in _NON_FINITE:
            return value, float(value.strip().lower().replace("infinity", "inf")), "double"
        return value, None, "varchar"
    return json.dumps(value, default=str), None, "json"


def column_type(types: Iterable[str]) -> str:
    seen = set(types) - {"null"}
    if seen and seen <= {"bigint"}:
        return "BIGINT"
    if seen and seen <= {"bigint", "double"}:
        return "DOUBLE"
    if seen == {"boolean"}:
        return "BOOLEAN"
    return "VARCHAR"


def _dumps(row: dict[str, Any]) -> str:
    """One JSON line; non-finite floats become strings, like in the record itself."""
    try:
        return json.dumps(row, allow_nan=False)
    except (ValueError, TypeError):
        return json.dumps(_clean(row), allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return record.clean_number(value)
    return str(value)


def _nested(values: dict[str, Any]) -> bool:
    # the types are collected in C: no Python step per value unless some value is a dict (decoded JSON)
    return dict in set(map(type, values.values())) and any(isinstance(v, dict) and v for v in values.values())


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\U0010ffff]*\Z')  # printable ASCII but quote and backslash


def _quoted(text: str) -> bytes:
    """`text` as a JSON string (run ids, sweep names and commits are plain: no encoder needed)."""
    if _PLAIN.match(text):
        return b'"' + text.encode() + b'"'
    return json.dumps(text).encode()


def write_rows(loaded: Iterable[Loaded], folder: Path) -> dict[str, Path]:
    """Two NDJSON files that DuckDB bulk-loads: one line per run, one per series point.

    Nothing is parsed or re-encoded per param or per point: a run's line carries its
    run.json and metrics.json as committed (`Loaded.info_json`), and DuckDB derives every
    column, the long tables and the types itself (`insert`). Only a record that had to be
    fixed, overlaid or flattened is encoded again here.
    """
    paths = {name: folder / f"{name}.ndjson" for name in ("core", "series")}
    with open(paths["core"], "wb") as core, open(paths["series"], "wb") as series:
        for item in loaded:
            run, info = item.run, item.run.info
            params = info.get("params") if isinstance(info.get("params"), dict) else {}
            line = [b'{"run":', _quoted(run.id), b',"sweep":', _quoted(run.ref.sweep), b',"name":',
                    _quoted(run.ref.name), b',"status":', _quoted(run.status), b',"commit":', _quoted(run.commit),
                    b',"live":', _quoted(item.live), b',"info":']
            if item.info_json is not None and not _nested(params):
                line.append(item.info_json)  # params: the record's own, taken by `insert`
            else:
                line += [_dumps(info).encode(), b',"params":', _dumps(flatten(params)).encode()]
            line.append(b',"metrics":')
            if item.metrics_json is not None and not _nested(run.metrics):
                line.append(item.metrics_json)
            else:
                line.append(_dumps(flatten(run.metrics)).encode())
            core.write(b"".join(line) + b"}\n")
            # Points are copied as they are, with the run id spliced in: no JSON parsing here.
            # A torn or foreign line stays invalid JSON and is skipped by the loader.
            prefix = b'\n{"run":' + _quoted(run.id) + b","
            body = (b"\n" + _series_lines(item.series)).replace(b"\n{", prefix)
            series.write(body[1:] if body.endswith(b"\n") else body[1:] + b"\n")
    return paths


_SEEN = "{'created': coalesce(epoch_us(b.created), 9223372036854775807), 'run': k.run, 'pos': k.pos}"
_NON_FINITE_SQL = ", ".join(literal(word) for word in sorted(_NON_FINITE))
_WORD = "lower(trim(e.value->>'$'))"
# one row per param and summary metric, typed as `cell` types them
_KV = f"""
SELECT run, kind, e.key AS key, e.id::INTEGER AS pos,
    CASE WHEN e.type = 'VARCHAR' THEN e.value->>'$' WHEN e.type = 'NULL' THEN NULL
         WHEN e.type = 'DOUBLE' THEN TRY_CAST(e.value AS DOUBLE)::VARCHAR ELSE e.value::VARCHAR END AS value,
    CASE WHEN e.type IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST(e.value::VARCHAR AS DOUBLE)
         WHEN e.type = 'VARCHAR' AND {_WORD} IN ({_NON_FINITE_SQL})
         THEN TRY_CAST(replace({_WORD}, 'infinity', 'inf') AS DOUBLE) END AS num,
    CASE WHEN e.type = 'NULL' THEN 'null' WHEN e.type = 'BOOLEAN' THEN 'boolean' WHEN e.type = 'DOUBLE' THEN 'double'
         WHEN e.type IN ('BIGINT', 'UBIGINT') THEN
              CASE WHEN TRY_CAST(e.value::VARCHAR AS BIGINT) IS NULL THEN 'double' ELSE 'bigint' END
         WHEN e.type = 'VARCHAR' THEN CASE WHEN {_WORD} IN ({_NON_FINITE_SQL}) THEN 'double' ELSE 'varchar' END
         ELSE 'json' END AS type
FROM (SELECT run, 'param' AS kind, params AS doc FROM _batch UNION ALL
      SELECT run, 'metric' AS kind, metrics AS doc FROM _batch) d, json_each(d.doc) e
"""


def _series_lines(data: bytes) -> bytes:
    """The series as DuckDB should load it. Lines as gitexp writes them (one `{"step": ...,
    "key": "..."` point each) are copied as they are; anything else (a torn line hiding the next
    point, a number as key) is read the way every other reader reads it (`parse_series`)."""
    data = record.escape_surrogates(data)
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    starts = (b"\n" + data).count(b'\n{"step": ')  # points that begin a line
    if starts == lines == data.count(b'{"step": ') == data.count(b', "key": "'):
        return data
    return b"".join(_dumps(point).encode() + b"\n" for point in record.parse_series(data))


def insert(con: Any, paths: dict[str, Path]) -> None:
    """Bulk-load one batch of the NDJSON files written by `write_rows`."""
    def source(name: str, columns: dict[str, str], tolerant: bool = False) -> str:
        spec = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in columns.items()) + "}"
        return (f"read_json({literal(str(paths[name]))}, format = 'newline_delimited', columns = {spec}"
                f"{', ignore_errors = true' if tolerant else ''})")

    con.execute(f"""CREATE OR REPLACE TEMP TABLE _batch_series AS
        SELECT run, key, TRY_CAST(step AS BIGINT) AS step, value,
               coalesce(TRY_CAST(time AS DOUBLE), epoch(TRY_CAST(time AS TIMESTAMPTZ))) AS time
        FROM {source('series', {'run': 'VARCHAR', 'key': 'VARCHAR', 'step': 'DOUBLE', 'value': 'DOUBLE',
                                 'time': 'VARCHAR'}, tolerant=True)}
        WHERE run IS NOT NULL AND key IS NOT NULL""")
    con.execute("INSERT INTO series SELECT * FROM _batch_series")
    text = {name: "VARCHAR" for name in ("run", "sweep", "name", "status", "commit", "live")}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _batch AS
        SELECT run, sweep, name, status, commit, live, info, TRY_CAST(info->>'created' AS TIMESTAMPTZ) AS created,
               coalesce(params, CASE WHEN json_type(info, '$.params') = 'OBJECT' THEN info->'params' END,
                        '{{}}')::JSON AS params,
               CASE WHEN json_type(metrics) = 'OBJECT' THEN metrics ELSE '{{}}' END::JSON AS metrics
        FROM {source('core', {**text, 'info': 'JSON', 'params': 'JSON', 'metrics': 'JSON'})}""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _batch_kv AS {_KV}")
    con.execute("INSERT INTO _kv SELECT * FROM _batch_kv")
    # the first run (oldest, then by id) that has each key: columns come in the order keys first appeared
    con.execute(f"""INSERT INTO _keys SELECT k.kind, k.key, k.type, k.pos, count(*), min({_SEEN})
                    FROM _batch_kv k JOIN _batch b ON b.run = k.run GROUP BY ALL""")

    def when(field: str) -> str:
        return f"TRY_CAST(b.info->>'{field}' AS TIMESTAMPTZ)"

    con.execute(f"""INSERT INTO _core
        SELECT b.run, b.sweep, b.name, b.status, b.commit, b.created, {when('started')}, {when('ended')},
               CASE WHEN json_type(b.info, '$.duration') IN ('BIGINT', 'UBIGINT', 'DOUBLE')
                    THEN TRY_CAST(b.info->>'duration' AS DOUBLE)
                    ELSE epoch({when('ended')}) - epoch({when('started')}) END,
               b.params, b.metrics, s.epochs,
               lower(concat_ws(' ', b.run, b.status, w.words)), b.live, b.info
        FROM _batch b
        LEFT JOIN ({EPOCHS.format(table='_batch_series')}) s ON s.run = b.run
        LEFT JOIN (SELECT run, string_agg(key || '=' || coalesce(value, 'None'), ' ' ORDER BY pos) AS words
                   FROM _batch_kv WHERE kind = 'param' GROUP BY run) w ON w.run = b.run""")
    for table in ("_batch", "_batch_kv", "_batch_series"):
        con.execute(f"DROP TABLE {table}")


def forget(con: Any, runs: list[str]) -> None:
    """Take `runs` (ids about to be re-read or dropped) out of every table of records."""
    if not runs:
        return
    chosen = "run IN (SELECT unnest($1::VARCHAR[]))"
    con.execute(f"INSERT INTO _keys SELECT kind, key, type, pos, -count(*), NULL FROM _kv WHERE {chosen} GROUP BY ALL",
                [runs])
    for table in ("_core", "_kv", "series"):
        con.execute(f"DELETE FROM {table} WHERE {chosen}", [runs])


def forget_in_delta(con: Any, base: str, runs: list[str]) -> None:
    """`forget` in a delta over catalog `base`: the rows of `runs` that show through it (its own,
    or the base's it does not hide yet) leave the key counts; its own rows go; the base's are hidden."""
    if not runs:
        return
    chosen = "run IN (SELECT unnest($1::VARCHAR[]))"
    con.execute(f"""INSERT INTO _keys SELECT kind, key, type, pos, -count(*), NULL FROM
        (SELECT kind, key, type, pos FROM _kv WHERE {chosen} UNION ALL
         SELECT kind, key, type, pos FROM {base}._kv WHERE {chosen} AND run NOT IN (SELECT run FROM _gone))
        GROUP BY ALL""", [runs])
    for table in ("_core", "_kv", "series", "_origin"):
        con.execute(f"DELETE FROM {table} WHERE {chosen}", [runs])
    con.execute("INSERT INTO _gone SELECT unnest($1::VARCHAR[]) EXCEPT SELECT run FROM _gone", [runs])


def name_columns(keys: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    """(kind, key, SQL type) -> (kind, key, column name, SQL type): bare names unless they clash.

    DuckDB names are case-insensitive, so clashes are found on lowercased names.
    """
    by_kind: dict[str, set[str]] = {"param": set(), "metric": set()}
    for kind, key, _ in keys:
        by_kind[kind].add(key.lower())
    used = set(RESERVED)
    named = []
    for kind, key, sql_type in keys:
        other = by_kind["metric" if kind == "param" else "param"]
        name = key if key.lower() not in used and key.lower() not in other else f"{kind}.{key}"
        serial = 2
        while name.lower() in used:
            name, serial = f"{kind}.{key}#{serial}", serial + 1
        used.add(name.lower())
        named.append((kind, key, name, sql_type))
    return named


def rebuild_runs(con: Any, changed: list[str] | None = None) -> None:
    """Derive the wide `runs` table (one typed column per key) from the long tables.

    With `changed` (run ids just re-read or dropped) and the same columns as before, only
    those rows are replaced: adding k runs costs O(k). A new key or a changed type rebuilds it."""
    # `_keys` counts the runs per (key, type, position), kept in step by `insert` and `forget`:
    # the columns come from a few rows per key, not from every param of every run.
    con.execute(f"CREATE OR REPLACE TABLE _keys AS {_KEYS.format(keys='_keys')}")
    columns = derive_columns(con, "_keys")
    if changed is not None:
        current = con.execute("SELECT kind, key, col, type FROM _columns ORDER BY rowid").fetchall()
        if current == columns and con.execute("SELECT count(*) FROM duckdb_tables() "
                                              "WHERE table_name = '_runs'").fetchall()[0][0]:
            con.execute("DELETE FROM _runs WHERE run IN (SELECT unnest($1::VARCHAR[]))", [changed])
            con.execute(f"INSERT INTO _runs {_wide(columns, 'IN (SELECT unnest($1::VARCHAR[]))')}", [changed])
            return
    con.execute("DELETE FROM _columns")
    if columns:
        con.execute("INSERT INTO _columns SELECT unnest($1), unnest($2), unnest($3), unnest($4)",
                    [list(c) for c in zip(*columns)])
    con.execute(f"CREATE OR REPLACE TABLE _runs AS {_wide(columns)}")
    con.execute(f"CREATE OR REPLACE VIEW runs AS {RUNS_VIEW}")


# What a query sees as `runs`: a running run's duration grows while it runs.
RUNS_VIEW = """SELECT * REPLACE (
    CASE WHEN status = 'running' AND ended IS NULL THEN epoch(now()) - epoch(started) ELSE duration END
    AS duration) FROM _runs"""


# Key counts netted: what `_keys` rows (and a delta's, added to its base's) say together.
_KEYS = """SELECT kind, key, type, pos, sum(runs)::BIGINT AS runs, min(seen) AS seen FROM {keys}
           GROUP BY kind, key, type, pos HAVING sum(runs) > 0"""


def derive_columns(con: Any, keys: str) -> list[tuple[str, str, str, str]]:
    """The `runs` columns (kind, key, column name, SQL type) that the key counts in `keys` call
    for: params, then metrics, each in the order the keys first appeared (oldest run first)."""
    found = con.execute(f"""SELECT kind, key, list(DISTINCT type) FROM ({_KEYS.format(keys=keys)})
                            GROUP BY kind, key ORDER BY kind DESC, min(seen), key""").fetchall()
    return name_columns([(kind, key, column_type(types)) for kind, key, types in found])


# A delta (see sync.py) holds the runs changed since its base was written, and `_gone`: every
# run whose base rows it hides (re-read or dropped).
DELTA_DDL = DDL + "CREATE TABLE _gone(run VARCHAR);\n"
_RECORD_TABLES = ("_core", "_kv", "series", "_origin", "_runs")


LAYERED = "layered"  # the delta's schema of views that lay it over its base


def layered_views(base: str, delta: str) -> list[str]:
    """Views over catalog `base` with catalog `delta` laid on top: what one index would hold.

    They live in the delta file itself (schema LAYERED), written once when the delta is made,
    so a reader only attaches the two files: nothing is created per connection. A view's
    unqualified names bind in its own schema, so `runs` reads the layered `_runs`."""
    views, hidden = f"{delta}.{LAYERED}", f"run NOT IN (SELECT run FROM {delta}.main._gone)"
    layered = [f"CREATE VIEW {views}.{table} AS SELECT * FROM {base}.main.{table} WHERE {hidden} "
               f"UNION ALL SELECT * FROM {delta}.main.{table}" for table in _RECORD_TABLES]
    keys = f"(SELECT * FROM {base}.main._keys UNION ALL SELECT * FROM {delta}.main._keys)"
    return [f"CREATE SCHEMA {views}"] + layered + [
        f"CREATE VIEW {views}._columns AS SELECT *, rowid AS rowid FROM {base}.main._columns",  # its order is the rowid's
        f"CREATE VIEW {views}._keys AS " + _KEYS.format(keys=keys),
        f"""CREATE VIEW {views}._meta AS SELECT * FROM {delta}.main._meta
            UNION ALL SELECT * FROM {base}.main._meta WHERE key NOT IN (SELECT key FROM {delta}.main._meta)""",
        *(f"CREATE VIEW {views}.{name} AS {select}" for name, select in LONG_VIEWS.items()),
        f"CREATE VIEW {views}.runs AS {RUNS_VIEW}",
    ]


def write_delta_runs(con: Any, base: str, gone: list[str]) -> bool:
    """Replace the `_runs` rows of `gone` in a delta; False when the runs now call for columns
    other than the base's (a new key, a changed type): then only a new base will do."""
    columns = con.execute(f"SELECT kind, key, col, type FROM {base}._columns ORDER BY rowid").fetchall()
    wanted = derive_columns(con, f"(SELECT * FROM {base}._keys UNION ALL SELECT * FROM _keys)")
    if sorted(wanted) != sorted(columns):  # the base's order stands (a key's first run may have gone)
        return False
    picked = "IN (SELECT unnest($1::VARCHAR[]))"
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                   "AND table_name = '_runs'").fetchall()[0][0]:
        con.execute(f"DELETE FROM _runs WHERE run {picked}", [gone])
        con.execute(f"INSERT INTO _runs {_wide(columns, picked)}", [gone])
    else:
        con.execute(f"CREATE TABLE _runs AS {_wide(columns, picked)}", [gone])
    return True


def _wide(columns: list[tuple[str, str, str, str]], runs: str | None = None) -> str:
    """The SELECT of `_runs` rows (of the runs `run {runs}` picks, or every run)."""
    only = f" AND run {runs}" if runs else ""

    def pivot(kind: str) -> str:
        picks = "".join(f", TRY_CAST(any_value(value) FILTER (WHERE key = {literal(key)}) AS {sql_type}) AS {ident(name)}"
                        for k, key, name, sql_type in columns if k == kind)
        return f"(SELECT run{picks} FROM _kv WHERE kind = {literal(kind)}{only} GROUP BY run)"

    wide = "".join(f", {kind[0]}.{ident(name)}" for kind, _, name, _ in columns)
    return f"""SELECT c.run, c.sweep, c.name, c.status, c.commit, c.created, c.started, c.ended, c.duration,
               o.origin{wide}, c.params, c.metrics, json_extract(c.info, '$.tags') AS tags
        FROM _core c LEFT JOIN {pivot('param')} p ON p.run = c.run LEFT JOIN {pivot('metric')} m ON m.run = c.run
        LEFT JOIN _origin o ON o.run = c.run
        {f"WHERE c.run {runs}" if runs else ""}
        ORDER BY c.created, c.run"""
