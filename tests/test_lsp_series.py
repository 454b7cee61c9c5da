"""`gitexp/series` packed (float64 columns in base64, what the plots dashboard asks for) through
the real server: the same curves as the JSON form, NaN for what is not a number, thinned past
`most` points keeping a curve's shape, and bad params answered as one line."""

from __future__ import annotations

import base64
import math
from array import array

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

import recordgen
from recordgen import Record
from test_lsp import client, request  # noqa: F401  (the client fixture: a server over this file's `workspace`)


ODD = [
    {"step": 0, "key": "loss", "value": 1.0, "time": 1000.5},
    {"step": 1, "key": "loss", "value": float("nan"), "time": "1970-01-01T00:16:50+00:00"},
    {"step": 2, "key": "loss", "value": "oom"},
    {"step": 3, "key": "loss", "value": None, "time": 1020},
    {"step": 4, "key": "acc", "value": 7, "time": 1030.0},
    {"step": 5, "key": "loss", "value": 2 ** 2000},
    {"key": "loss", "value": 0.5, "time": 1040.0},
]
LONG = [{"step": s, "key": "loss", "value": 99.0 if s == 4321 else -5.0 if s == 777 else 1.0, "time": 1e9 + s}
        for s in range(10_000)]


@pytest.fixture
def workspace(repo):
    recordgen.write(repo.path, [Record("q", "odd", {"lr": 0.1}, {}, ODD), Record("q", "long", {"lr": 0.2}, {}, LONG),
                                Record("q", "untimed", {"lr": 0.3}, {}, [{"step": 0, "key": "acc", "value": 0.5}])])
    return repo


def unpack(result) -> dict:
    doubles = array("d", base64.b64decode(result.data))
    curves = {}
    for curve in result.curves:
        at, count = curve.at, curve.count
        columns = [list(doubles[at + i * count:at + (i + 1) * count]) for i in range(3 if curve.timed else 2)]
        curves[(curve.run, curve.key)] = columns
    assert sum(c.count * (3 if c.timed else 2) for c in result.curves) == len(doubles)
    return curves


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


@pytest.mark.asyncio
async def test_packed_curves_are_the_json_curves_as_numbers(client: LanguageClient):
    runs = ["q/odd", "q/untimed"]
    packed = await request(client, "gitexp/series", {"runs": runs, "time": True, "packed": True})
    plain = await request(client, "gitexp/series", {"runs": runs, "time": True})
    assert packed.keys == plain.keys == ["loss", "acc"]
    curves = unpack(packed)
    assert list(curves) == [(s.run, s.key) for s in plain.series]
    nan = math.nan
    steps, values, times = curves[("q/odd", "loss")]
    assert same(steps, [0, 1, 2, 3, 5, nan])
    assert same(values, [1.0, nan, nan, nan, nan, 0.5])  # NaN, text, null, too big for a double
    assert same(times, [1000.5, 1010.0, nan, 1020.0, nan, 1040.0])  # ISO text read as seconds
    assert same(curves[("q/odd", "acc")][1], [7.0])
    assert len(curves[("q/untimed", "acc")]) == 2  # no time anywhere: no times column

    untimed = unpack(await request(client, "gitexp/series", {"runs": ["q/odd"], "keys": ["acc"], "packed": True}))
    assert list(untimed) == [("q/odd", "acc")] and len(untimed[("q/odd", "acc")]) == 2


@pytest.mark.asyncio
async def test_a_long_curve_is_thinned_to_its_shape(client: LanguageClient):
    full = unpack(await request(client, "gitexp/series", {"runs": ["q/long"], "packed": True, "time": True}))
    assert len(full[("q/long", "loss")][0]) == 10_000
    steps, values, times = unpack(await request(client, "gitexp/series",
                                                {"runs": ["q/long"], "packed": True, "time": True, "most": 300}))[("q/long", "loss")]
    assert len(steps) <= 301 and steps[0] == 0 and steps[-1] == 9999
    assert steps == sorted(steps) and 99.0 in values and -5.0 in values  # spikes survive
    assert all(t == 1e9 + s for s, t in zip(steps, times))  # columns stay aligned


@pytest.mark.asyncio
async def test_bad_params_are_one_line(client: LanguageClient):
    for params in ({"runs": ["q/odd"], "packed": True, "most": -1}, {"runs": ["q/nosuch"], "packed": True},
                   {"runs": [], "packed": True}):
        with pytest.raises(JsonRpcException) as error:
            await request(client, "gitexp/series", params)
        assert error.value.code == -32602 and "\n" not in error.value.message, params
