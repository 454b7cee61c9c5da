"""The index's tables, and how loaded records become rows in them.

Tables (everything a query sees):

    runs      view: run, sweep, name, status, commit, created, started, ended, duration,
              origin (the remote a pulled run came from; NULL for runs made here),
              one typed column per param, one per summary metric, then `params` and
              `metrics` as JSON. A column is named by the bare key; a key that is also a
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
from pathlib import Path
from typing import Any, Iterable

from gitexp.index.load import Loaded
from gitexp.record import model as record

VERSION = "2"  # bump when the tables change: an index of another version is rebuilt
FIXED = ("run", "sweep", "name", "status", "commit", "created", "started", "ended", "duration", "origin")
RESERVED = {name.lower() for name in (*FIXED, "params", "metrics")}
_INT64 = 2**63
_NON_FINITE = {"nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}

DDL = """
CREATE TABLE _meta(key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE _core(run VARCHAR, sweep VARCHAR, name VARCHAR, status VARCHAR, commit VARCHAR,
    created TIMESTAMPTZ, started TIMESTAMPTZ, ended TIMESTAMPTZ, duration DOUBLE,
    params JSON, metrics JSON, epochs BIGINT, search VARCHAR, live VARCHAR, info JSON);
CREATE TABLE _kv(run VARCHAR, kind VARCHAR, key VARCHAR, pos INTEGER, value VARCHAR, num DOUBLE, type VARCHAR);
CREATE TABLE _columns(kind VARCHAR, key VARCHAR, col VARCHAR, type VARCHAR);
CREATE TABLE series(run VARCHAR, key VARCHAR, step BIGINT, value DOUBLE, time DOUBLE);
CREATE TABLE _origin(run VARCHAR, origin VARCHAR);
CREATE VIEW params AS SELECT run, key, value, num, type FROM _kv WHERE kind = 'param';
CREATE VIEW metrics AS SELECT run, key, value, num, type FROM _kv WHERE kind = 'metric';
"""


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


def _iso(value: Any) -> str | None:
    return value if isinstance(value, str) and record.parse_iso(value) is not None else None


def _duration(info: dict[str, Any]) -> float | None:
    given = info.get("duration")
    if isinstance(given, (int, float)) and not isinstance(given, bool):
        return float(given)
    started, ended = record.parse_iso(_iso(info.get("started"))), record.parse_iso(_iso(info.get("ended")))
    return ended - started if started is not None and ended is not None else None


def write_rows(loaded: list[Loaded], folder: Path) -> dict[str, Path]:
    """NDJSON files (core, kv, series) that DuckDB bulk-loads in one statement each."""
    paths = {name: folder / f"{name}.ndjson" for name in ("core", "kv", "series")}
    with open(paths["core"], "w") as core, open(paths["kv"], "w") as kv, open(paths["series"], "wb") as series:
        for item in loaded:
            run, info = item.run, item.run.info
            params = flatten(info.get("params") if isinstance(info.get("params"), dict) else {})
            metrics = flatten(run.metrics)
            words = [run.id, run.status] + [f"{k}={cell(v)[0]}" for k, v in params.items()]
            core.write(_dumps({
                "run": run.id, "sweep": run.ref.sweep, "name": run.ref.name, "status": run.status,
                "commit": run.commit, "created": _iso(info.get("created")), "started": _iso(info.get("started")),
                "ended": _iso(info.get("ended")), "duration": _duration(info), "params": params,
                "metrics": metrics, "search": " ".join(words).lower(), "live": item.live,
                "info": info}) + "\n")
            for kind, values in (("param", params), ("metric", metrics)):
                for pos, (key, value) in enumerate(values.items()):
                    text, num, kind_type = cell(value)
                    kv.write(json.dumps({"run": run.id, "kind": kind, "key": key, "pos": pos, "value": text,
                                         "num": num, "type": kind_type}) + "\n")
            # Points are copied as they are, with the run id spliced in: no JSON parsing here.
            # A torn or foreign line stays invalid JSON and is skipped by the loader.
            prefix = b'\n{"run":' + json.dumps(run.id).encode() + b","
            body = (b"\n" + item.series).replace(b"\n{", prefix)
            series.write(body[1:] if body.endswith(b"\n") else body[1:] + b"\n")
    return paths


def insert(con: Any, paths: dict[str, Path]) -> None:
    """Bulk-load the NDJSON files written by `write_rows`."""
    def source(name: str, columns: dict[str, str], tolerant: bool = False) -> str:
        spec = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in columns.items()) + "}"
        return (f"read_json({literal(str(paths[name]))}, format = 'newline_delimited', columns = {spec}"
                f"{', ignore_errors = true' if tolerant else ''})")

    con.execute(f"""INSERT INTO series
        SELECT run, key, TRY_CAST(step AS BIGINT), value,
               coalesce(TRY_CAST(time AS DOUBLE), epoch(TRY_CAST(time AS TIMESTAMPTZ)))
        FROM {source('series', {'run': 'VARCHAR', 'key': 'VARCHAR', 'step': 'DOUBLE', 'value': 'DOUBLE',
                                 'time': 'VARCHAR'}, tolerant=True)}
        WHERE run IS NOT NULL AND key IS NOT NULL""")
    text = {name: "VARCHAR" for name in ("run", "sweep", "name", "status", "commit", "created", "started",
                                         "ended", "search", "live")}
    con.execute(f"""INSERT INTO _core
        SELECT c.run, sweep, name, status, commit, created::TIMESTAMPTZ, started::TIMESTAMPTZ,
               ended::TIMESTAMPTZ, duration, params, metrics, s.epochs, search, live, info
        FROM {source('core', {**text, 'duration': 'DOUBLE', 'params': 'JSON', 'metrics': 'JSON', 'info': 'JSON'})} c
        LEFT JOIN (SELECT run, max(step) AS epochs FROM series GROUP BY run) s ON s.run = c.run""")
    con.execute(f"""INSERT INTO _kv SELECT * FROM {source('kv', {
        'run': 'VARCHAR', 'kind': 'VARCHAR', 'key': 'VARCHAR', 'pos': 'INTEGER', 'value': 'VARCHAR',
        'num': 'DOUBLE', 'type': 'VARCHAR'})}""")


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


def rebuild_runs(con: Any) -> None:
    """Re-derive the wide `runs` table (one typed column per key) from the long tables."""
    keys = con.execute("""SELECT kind, key, list(DISTINCT type) FROM _kv GROUP BY kind, key
                          ORDER BY kind DESC, min(pos), key""").fetchall()
    columns = name_columns([(kind, key, column_type(types)) for kind, key, types in keys])
    con.execute("DELETE FROM _columns")
    if columns:
        con.execute("INSERT INTO _columns SELECT unnest($1), unnest($2), unnest($3), unnest($4)",
                    [list(c) for c in zip(*columns)])

    def pivot(kind: str) -> str:
        picks = "".join(f", TRY_CAST(any_value(value) FILTER (WHERE key = {literal(key)}) AS {sql_type}) AS {ident(name)}"
                        for k, key, name, sql_type in columns if k == kind)
        return f"(SELECT run{picks} FROM _kv WHERE kind = {literal(kind)} GROUP BY run)"

    wide = "".join(f", {kind[0]}.{ident(name)}" for kind, _, name, _ in columns)
    con.execute(f"""CREATE OR REPLACE TABLE _runs AS
        SELECT c.run, c.sweep, c.name, c.status, c.commit, c.created, c.started, c.ended, c.duration,
               o.origin{wide}, c.params, c.metrics
        FROM _core c LEFT JOIN {pivot('param')} p ON p.run = c.run LEFT JOIN {pivot('metric')} m ON m.run = c.run
        LEFT JOIN _origin o ON o.run = c.run
        ORDER BY c.created, c.run""")
    con.execute("""CREATE OR REPLACE VIEW runs AS SELECT * REPLACE (
        CASE WHEN status = 'running' AND ended IS NULL THEN epoch(now()) - epoch(started) ELSE duration END
        AS duration) FROM _runs""")
