"""`gitexp query`: no-FROM statements read `runs`, read-only and sandboxed, readable output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import recordgen
from gitexp.errors import QueryError
from gitexp.index import render, run_query, table
from gitexp.index.query import QueryResult, add_from_runs
from gitexp.record.git import open_repo
from recordgen import Record


@pytest.fixture(scope="module", params=["base", "delta"])
def git(tmp_path_factory, request):
    """Three runs; with "delta" the last one is in a delta file over the base, so every query
    (and every refusal) also runs on the connection that lays the delta's views over the base."""
    import importlib

    repo = recordgen.init_repo(tmp_path_factory.mktemp("q") / "repo")
    records = [Record("s", f"r{i}", {"lr": lr, "opt": opt}, {"acc": acc},
                      [{"step": 1, "key": "acc", "value": acc, "time": 1.0}])
               for i, (lr, opt, acc) in enumerate([(0.1, "sgd", 9.0), (0.01, "adam", 10.0), (1.0, "adam", 0.5)])]
    git = open_repo(repo)
    if request.param == "base":
        recordgen.write(repo, records)
        return git
    sync_module = importlib.import_module("gitexp.index.sync")
    before, sync_module.DELTA_FROM = sync_module.DELTA_FROM, 0
    try:
        recordgen.write(repo, records[:2])
        sync_module.sync(git).close()
        recordgen.write(repo, records[2:])
        sync_module.sync(git).close()
    finally:
        sync_module.DELTA_FROM = before
    assert sync_module.delta_path(git).exists()
    return git


@pytest.mark.parametrize("sql, expected", [
    ("select * order by acc desc", "select * FROM runs order by acc desc"),
    ("select count(*)", "select count(*) FROM runs"),
    ("select lr, (select max(step) from series) where acc > 1",
     "select lr, (select max(step) from series) FROM runs where acc > 1"),
    ("select sum(acc) over (order by lr) -- trailing note", "select sum(acc) over (order by lr) FROM runs -- trailing note"),
    ("select opt, avg(acc) group by all", "select opt, avg(acc) FROM runs group by all"),
])
def test_from_runs_goes_after_the_select_list(sql, expected):
    assert add_from_runs(sql) == expected


def test_card_query_verbatim(git):
    result = run_query(git, "select * order by acc desc")
    assert [row[0] for row in result.rows] == ["s/r1", "s/r0", "s/r2"]  # numeric, not string, order


@pytest.mark.parametrize("sql, expected", [
    ("select opt, count(*) n group by opt order by opt", [("adam", 2), ("sgd", 1)]),
    ("select run, rank() over (order by acc desc) where lr < 1 order by run", [("s/r0", 2), ("s/r1", 1)]),
    ("select r.run, s.value from runs r join series s using (run) where s.key = 'acc' order by r.run limit 1",
     [("s/r0", 9.0)]),
    ("with best as (select max(acc) m from runs) select run from runs, best where acc = m", [("s/r1",)]),
    ("select 1 + 1;", [(2,), (2,), (2,)]),
])
def test_ordinary_sql_works(git, sql, expected):
    assert run_query(git, sql).rows == expected


def test_limit_truncates(git):
    result = run_query(git, "select run order by run", limit=2)
    assert result.rows == [("s/r0",), ("s/r1",)] and result.truncated
    assert not run_query(git, "select run", limit=3).truncated


@pytest.mark.parametrize("sql", [
    "copy runs to '/tmp/gitexp-leak.csv'",
    "attach '/tmp/gitexp-other.duckdb' as other",
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "install httpfs",
    "set enable_external_access = true",
    "create table stolen as select 1",
    "delete from _core",
])
def test_writes_and_file_access_are_refused(git, sql):
    with pytest.raises(QueryError) as caught:
        run_query(git, sql)
    assert "Error" in str(caught.value)
    assert not Path("/tmp/gitexp-leak.csv").exists()


def test_sql_error_keeps_duckdb_message_and_caret(git):
    with pytest.raises(QueryError) as caught:
        run_query(git, "select * from runz")
    assert "runz" in str(caught.value) and "^" in str(caught.value)
    assert caught.value.exit_code == 2
    with pytest.raises(QueryError, match="syntax error"):
        run_query(git, "selec 1")
    with pytest.raises(QueryError, match="2 statements"):
        run_query(git, "select 1; select 2")


def test_renderers(git):
    result = run_query(git, "select run, lr, opt, acc, created order by run")
    parsed = list(csv.reader(io.StringIO(render(result, "csv"))))
    assert parsed[0] == ["run", "lr", "opt", "acc", "created"] and parsed[1][:4] == ["s/r0", "0.1", "sgd", "9.0"]
    data = json.loads(render(result, "json"))
    assert data["rows"][0][:4] == ["s/r0", 0.1, "sgd", 9.0] and data["rows"][0][4].startswith("2025-01-01T00:00:00")
    markdown = render(result, "markdown").splitlines()
    assert markdown[0] == "| run | lr | opt | acc | created |" and markdown[1] == "| --- | ---: | --- | ---: | --- |"
    text = render(result, "table", width=120)
    assert "s/r0" in text and "2025-01-01 00:00:00" in text


def test_wide_tables_stay_readable():
    columns = [f"param_{i}" for i in range(30)]
    wide = QueryResult(columns, [tuple(range(30))], False, ["BIGINT"] * 30)
    text = render(wide, "table", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "param_0" in text and "param_29" not in text  # columns that do not fit are elided ...
    assert "1 row x 30 columns (7 columns shown)" in text  # ... and counted, like DuckDB's shell
    assert table(wide, 80) is not None


def test_json_keeps_non_finite_numbers():
    result = QueryResult(["x"], [(float("nan"),), (float("inf"),)], False, ["DOUBLE"])
    assert json.loads(render(result, "json"))["rows"] == [["nan"], ["inf"]]
