"""The experiments table's requests through the real server: `gitexp/table` (pages, live
rows, SQL conditions), `gitexp/tag` (into the record, refused names write nothing), series
with times, a failed run's error line, and the filtered sweep counts of `gitexp/runs`."""

from __future__ import annotations

import json

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

import recordgen
from recordgen import Record
from test_lsp import client, request  # noqa: F401  (the client fixture: a server over this file's `workspace`)



def _records() -> list[Record]:
    points = [{"step": s, "key": "loss", "value": 1.0 / (s + 1), "time": 1000.0 + 10 * s} for s in range(3)]
    return [
        Record("quick", "a", {"lr": 0.1, "opt": "sgd"}, {"acc": 0.9, "note": "ok"}, points),
        Record("quick", "b", {"lr": 0.01, "opt": "adam"}, {"acc": float("nan")}, points,
               info={"created": "2025-01-02T00:00:00.000+00:00"}),
        Record("quick", "c", {"lr": 0.001, "opt": "sgd"}, {"acc": "oom"}, status="failed",
               info={"exit_code": 1}, raw={"output.log": b"epoch 1\nTraceback (most recent call last):\n"
                                                          b"ModuleNotFoundError: No module named 'torch'\n"}),
        Record("other", "x", {"lr": 0.5}, {}),
    ]


@pytest.fixture
def workspace(repo):
    recordgen.write(repo.path, _records())
    return repo


@pytest.mark.asyncio
async def test_table_pages_columns_and_mixed_values(client: LanguageClient):
    first = await request(client, "gitexp/table", {"limit": 2})
    assert first.total == 4 and len(first.rows) == 2
    columns = {(c.kind, c.key): c.type for c in first.columns}
    assert columns[("param", "lr")] == "DOUBLE" and columns[("param", "opt")] == "VARCHAR"
    assert columns[("metric", "acc")] == "VARCHAR"  # numbers, NaN and a string: shown as they are
    assert first.rows[0].run == "quick/b"  # newest first
    rest = await request(client, "gitexp/table", {"offset": 2, "limit": 10})
    rows = {row.run: row for row in [*first.rows, *rest.rows]}
    assert set(rows) == {"quick/a", "quick/b", "quick/c", "other/x"}
    assert rows["quick/b"].metrics.acc == "nan" and rows["quick/c"].metrics.acc == "oom"
    assert rows["quick/c"].exit_code == 1 and rows["quick/c"].status == "failed"

    live = await request(client, "gitexp/table", {"runs": ["quick/a", "quick/gone"]})
    assert [row.run for row in live.rows] == ["quick/a"]


@pytest.mark.asyncio
async def test_table_where_and_bad_conditions(client: LanguageClient, workspace):
    result = await request(client, "gitexp/table", {"where": "lr < 0.05 and opt = 'sgd'"})
    assert [row.run for row in result.rows] == ["quick/c"]
    for bad in ("lr >", "nosuch > 1", "1=1); select 1 --", "lr > 0)"):
        with pytest.raises(JsonRpcException) as error:
            await request(client, "gitexp/table", {"where": bad})
        assert error.value.code == -32602 and "\n" not in error.value.message, bad


@pytest.mark.asyncio
async def test_tag_writes_the_record_and_refuses_bad_names(client: LanguageClient, workspace):
    before = workspace.refs()
    with pytest.raises(JsonRpcException) as bad:
        await request(client, "gitexp/tag", {"runs": ["quick/a"], "set": {"has space": True}})
    assert "invalid tag name" in bad.value.message
    with pytest.raises(JsonRpcException):
        await request(client, "gitexp/tag", {"runs": ["quick/a"], "remove": ["a/b"]})
    assert workspace.refs() == before  # nothing written

    done = await request(client, "gitexp/tag", {"runs": ["quick/a", "quick/ghost"], "set": {"star": True, "note": "base"}})
    assert done.done == ["quick/a"] and [e.run for e in done.errors] == ["quick/ghost"]
    info = json.loads(recordgen.git(workspace.path, "show", "refs/experiments/quick/a:.gitexp/run.json"))
    assert info["tags"] == {"star": True, "note": "base"}
    parents = recordgen.git(workspace.path, "rev-list", "--parents", "-1", "refs/experiments/quick/a").split()
    assert before["refs/experiments/quick/a"] in parents  # a fast-forward on top of the old record

    row = (await request(client, "gitexp/table", {"runs": ["quick/a"]})).rows[0]
    assert row.tags.star is True
    query = await request(client, "gitexp/query", {"sql": "select run from runs where tags->>'star' = 'true'"})
    assert query.rows == [["quick/a"]]
    await request(client, "gitexp/tag", {"runs": ["quick/a"], "remove": ["star"]})
    row = (await request(client, "gitexp/table", {"runs": ["quick/a"]})).rows[0]
    assert row.tags.note == "base" and not hasattr(row.tags, "star")


@pytest.mark.asyncio
async def test_series_times_error_line_and_filtered_sweep_counts(client: LanguageClient):
    series = await request(client, "gitexp/series", {"runs": ["quick/a"], "keys": ["loss"], "time": True})
    assert series.series[0].points[1] == [1, 0.5, 1010.0]

    failed = await request(client, "gitexp/run", {"run": "quick/c"})
    assert failed.error == "ModuleNotFoundError: No module named 'torch'"
    assert (await request(client, "gitexp/run", {"run": "quick/a"})).error is None

    filtered = await request(client, "gitexp/runs", {"filter": "opt=sgd", "limit": 0})
    counts = {s.sweep: (s.runs, s.matching) for s in filtered.sweeps}
    assert counts == {"other": (1, 0), "quick": (3, 2)}
