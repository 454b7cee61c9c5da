"""The language server's cache of finished runs' curves (`inspect.CurveCache`): a plot asked for
again, or a live plot's refresh, gives the same curves as a fresh read; a live run's points are
read every time; an entry is a record's commit, so a new commit (a tag) is read anew; the cache
stays within its bytes."""

from __future__ import annotations

import base64
import json
from array import array

import recordgen
from recordgen import Record

from gitexp import inspect
from gitexp.record import model as record, store
from gitexp.record.git import open_repo
from gitexp.record.store import RunRef


def _points(n: int, key: str = "loss") -> list[dict]:
    return [{"step": s, "key": key, "value": 1.0 / (1 + s), "time": 1e9 + s} for s in range(n)]


def _values(result: dict, run: str, key: str = "loss") -> list[float]:
    doubles = array("d", base64.b64decode(result["data"]))
    curve = next(c for c in result["curves"] if c["run"] == run and c["key"] == key)
    return list(doubles[curve["at"] + curve["count"]:curve["at"] + 2 * curve["count"]])


def _commit(repo, run: str) -> str:
    return recordgen.git(repo, "rev-parse", f"refs/experiments/{run}").strip()


def _counting_reads(monkeypatch) -> list[str]:
    """The runs whose series the next calls read from git or the live folder."""
    read, series_of = [], store.series_of
    monkeypatch.setattr(store, "series_of", lambda git, cat, run: read.append(run.id) or series_of(git, cat, run))
    return read


def test_a_cached_read_is_a_fresh_read(repo, monkeypatch):
    recordgen.write(repo.path, [Record("s", "a", {"lr": 0.1}, {}, _points(50) + _points(20, "acc")),
                                Record("s", "b", {"lr": 0.2}, {}, [{"step": 0, "key": "acc", "value": 0.5}])])
    git, cache, runs = open_repo(repo.path), inspect.CurveCache(), ["s/a", "s/b"]
    fresh = inspect.curves(git, runs, None, time=True, most=30)
    read = _counting_reads(monkeypatch)
    assert inspect.curves(git, runs, None, time=True, most=30, cache=cache) == fresh
    assert read == ["s/a", "s/b"]
    assert inspect.curves(git, runs, None, time=True, most=30, cache=cache) == fresh
    assert read == ["s/a", "s/b"]  # the second read came from the cache
    # other arguments on the same entries: keys, no times, no thinning
    assert inspect.curves(git, runs, ["acc"], cache=cache) == inspect.curves(git, runs, ["acc"])


def test_a_live_run_is_read_every_time_and_a_new_commit_anew(repo, monkeypatch):
    recordgen.write(repo.path, [Record("s", "live", {"lr": 0.1}, {}, [], status="running"),
                                Record("s", "done", {"lr": 0.2}, {}, _points(3))])
    git, cache = open_repo(repo.path), inspect.CurveCache()
    files = record.RunFiles.for_run(git.gitexp_dir, RunRef("s", "live"))
    files.create()
    record.write_json_atomic(files.run_json, {"sweep": "s", "name": "live", "status": "running",
                                              "attempt_id": "s/live#1", "params": {"lr": 0.1}})
    files.series.write_text(json.dumps(_points(1)[0]) + "\n")
    runs, read = ["s/live", "s/done"], _counting_reads(monkeypatch)
    assert _values(inspect.curves(git, runs, cache=cache), "s/live") == [1.0]
    with open(files.series, "a") as handle:
        handle.write(json.dumps(_points(2)[1]) + "\n")
    assert _values(inspect.curves(git, runs, cache=cache), "s/live") == [1.0, 0.5]
    assert read == ["s/live", "s/done", "s/live"]  # the live run every time, the finished one once

    before = _commit(repo.path, "s/done")
    recordgen.write(repo.path, [Record("s", "done", {"lr": 0.2}, {}, _points(5))])  # the run's ref moves on
    assert _commit(repo.path, "s/done") != before
    assert len(_values(inspect.curves(git, runs, cache=cache), "s/done")) == 5
    assert read[-1] == "s/done"


def test_the_cache_keeps_to_its_bytes_dropping_the_least_recent(repo):
    recordgen.write(repo.path, [Record("s", name, {}, {}, _points(100)) for name in ("a", "b", "c")])
    git = open_repo(repo.path)
    one_run = inspect.CurveCache.ENTRY_BYTES + inspect.CurveCache.CURVE_BYTES + 100 * 3 * 8  # steps, values, times
    cache = inspect.CurveCache(most_bytes=2 * one_run)
    for run in ("s/a", "s/b", "s/a", "s/c"):  # a read again, so b is the least recent when c comes
        inspect.curves(git, [run], cache=cache)
    kept = {run: cache.get(_commit(repo.path, run)) is not None for run in ("s/a", "s/b", "s/c")}
    assert kept == {"s/a": True, "s/b": False, "s/c": True}
    small = inspect.CurveCache(most_bytes=one_run - 1)
    assert len(_values(inspect.curves(git, ["s/a"], cache=small), "s/a")) == 100  # too big to keep, still read
    assert small.get(_commit(repo.path, "s/a")) is None
