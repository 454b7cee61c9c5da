"""The DuckDB index: built from refs alone, incremental, live values, rebuilt when broken,
and safe with many processes syncing and reading at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import recordgen
from gitexp.errors import QueryError
from gitexp.index import index_path, list_runs, list_sweeps, run_query, sweep_table, sync
from gitexp.index.schema import name_columns
from gitexp.record import model as record
from gitexp.record.git import open_repo
from gitexp.record.refs import RunRef
from recordgen import Record


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return recordgen.init_repo(tmp_path / "repo")


def rows(git, sql: str) -> list[tuple]:
    return run_query(git, sql).rows


def test_runs_view_has_typed_columns_by_bare_name(repo):
    recordgen.write(repo, [
        Record("s", "a", {"lr": 0.1, "batch": 32, "opt": "sgd", "aug": True, "model": {"depth": 4}}, {"acc": 0.9}),
        Record("s", "b", {"lr": 1, "batch": 64, "opt": 3, "aug": False, "model": {"depth": 8}}, {"acc": "nan"}),
    ])
    git = open_repo(repo)
    result = run_query(git, "select * from runs order by run")
    types = dict(zip(result.columns, result.types))
    assert result.columns[:9] == ["run", "sweep", "name", "status", "commit", "created", "started", "ended",
                                  "duration"]
    assert result.columns[-3:] == ["params", "metrics", "tags"]
    assert types["lr"] == "DOUBLE" and types["batch"] == "BIGINT" and types["aug"] == "BOOLEAN"
    assert types["opt"] == "VARCHAR" and types["model.depth"] == "BIGINT" and types["acc"] == "DOUBLE"
    assert rows(git, 'select run, lr, opt, "model.depth", duration from runs order by run') == [
        ("s/a", 0.1, "sgd", 4, 60.0), ("s/b", 1.0, "3", 8, 60.0)]
    nan = rows(git, "select acc from runs where run = 's/b'")[0][0]
    assert nan != nan  # a recorded "nan" stays a number


def test_name_clashes_get_documented_prefixes():
    named = name_columns([("param", "lr", "DOUBLE"), ("param", "status", "VARCHAR"),
                          ("metric", "LR", "DOUBLE"), ("metric", "acc", "DOUBLE")])
    assert [n for _, _, n, _ in named] == ["param.lr", "param.status", "metric.LR", "acc"]


def test_series_params_metrics_long_tables(repo):
    recordgen.write(repo, recordgen.synthetic(3, sweeps=1, epochs=4))
    git = open_repo(repo)
    assert rows(git, "select count(*), max(step) from series where run = 'sweep0/run1' and key = 'loss'") == [(4, 4)]
    assert rows(git, "select value, num, type from params where run = 'sweep0/run2' and key = 'batch'")[0][2] == "bigint"
    assert rows(git, "select count(*) from metrics") == [(6,)]
    joined = rows(git, "select r.run, max(s.value) from runs r join series s using (run) "
                       "where s.key = 'acc' group by r.run order by r.run")
    assert len(joined) == 3


def test_sync_is_incremental_and_follows_moves_and_deletions(repo):
    recordgen.write(repo, recordgen.synthetic(5, sweeps=1))
    git = open_repo(repo)
    sync(git).close()
    before = index_path(git).stat().st_ino
    sync(git).close()
    assert index_path(git).stat().st_ino == before  # nothing changed: no new snapshot
    recordgen.write(repo, [Record("sweep0", "run1", {"lr": 5.0}, {"acc": 1.0})])  # the ref moves
    recordgen.delete(repo, "sweep0/run2")
    assert rows(git, "select run, lr, acc from runs where run = 'sweep0/run1'") == [("sweep0/run1", 5.0, 1.0)]
    assert rows(git, "select count(*) from runs") == [(4,)]
    assert rows(git, "select count(*) from series where run in ('sweep0/run1', 'sweep0/run2')") == [(0,)]


def _age_refs(repo, seconds: float = 5) -> None:
    """Make every place refs live look `seconds` old, as if that time had passed (no sleeping)."""
    import os
    import time

    places = [repo / ".git/packed-refs", repo / ".git/refs/experiments",
              *(repo / ".git/refs/experiments").iterdir()]
    for place in places:
        if place.exists() and place.stat().st_mtime > time.time() - 2:  # only what was just written
            then = time.time() - seconds
            os.utime(place, (then, then))


def _listings(monkeypatch):
    """The run-ref patterns of every for-each-ref gitexp runs."""
    from gitexp.record.git import Git

    calls, real = [], Git.call

    def call(self, *args, **kwargs):
        patterns = [a for a in args[1:] if a.startswith("refs/experiments")]
        if args and args[0] == "for-each-ref" and patterns:
            calls.append(patterns)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Git, "call", call)
    return calls


def test_one_new_run_lists_only_its_sweep_and_no_rebuild_follows(repo, monkeypatch):
    recordgen.write(repo, recordgen.synthetic(30, sweeps=3))
    git = open_repo(repo)
    sync(git).close()  # the refs were just written: their stat data is too fresh to vouch for them
    _age_refs(repo)
    listings = _listings(monkeypatch)
    sync(git).close()  # confirms the index against the refs once...
    built = index_path(git).stat().st_ino
    listings.clear()
    sync(git).close()  # ...then trusts their stat data: nothing listed, nothing rewritten
    assert listings == [] and index_path(git).stat().st_ino == built
    recordgen.write(repo, [Record("sweep1", "new", {"lr": 0.5}, {"acc": 0.9})])
    assert rows(git, "select lr, acc from runs where run = 'sweep1/new'") == [(0.5, 0.9)]
    assert listings == [["refs/experiments/sweep1/"]]  # one sweep listed, not every run
    rebuilt = index_path(git).stat().st_ino
    _age_refs(repo)  # a second later: the fresh stat data settles without a second rebuild
    assert rows(git, "select count(*) from runs") == [(31,)]
    assert rows(git, "select count(*) from runs") == [(31,)]
    assert index_path(git).stat().st_ino == rebuilt
    assert listings[1:] == [["refs/experiments/sweep1/"]]


def test_incremental_index_equals_a_fresh_build(repo):
    recordgen.write(repo, recordgen.synthetic(12, sweeps=2))
    git = open_repo(repo)
    sync(git).close()
    recordgen.write(repo, [Record("sweep0", "run2", {"lr": 5.0, "extra": "x"}, {"acc": 1.0}),
                           Record("sweep9", "late", {"lr": 0.2}, {"acc": 0.3})])
    recordgen.delete(repo, "sweep1/run3")
    query = "select * exclude (duration) from runs order by run"
    incremental = rows(git, query)
    index_path(git).unlink()
    assert rows(git, query) == incremental
    assert rows(git, "select count(*) from runs") == [(12,)]


def test_deleted_or_corrupt_index_is_rebuilt(repo):
    recordgen.write(repo, recordgen.synthetic(4))
    git = open_repo(repo)
    sync(git).close()
    index_path(git).write_bytes(b"not a duckdb file at all" * 100)
    assert rows(git, "select count(*) from runs") == [(4,)]
    index_path(git).unlink()
    assert rows(git, "select count(*) from runs") == [(4,)]


def test_index_of_another_version_is_rebuilt(repo):
    import duckdb

    recordgen.write(repo, recordgen.synthetic(2))
    git = open_repo(repo)
    sync(git).close()
    con = duckdb.connect(str(index_path(git)))
    con.execute("UPDATE _meta SET value = 'old' WHERE key = 'version'")
    con.execute("DELETE FROM _core")
    con.close()
    assert rows(git, "select count(*) from runs") == [(2,)]


def test_records_from_other_tools_and_broken_files_are_indexed(repo):
    recordgen.write(repo, [
        Record("s", "broken", raw={"run.json": b"{not json", "metrics.jsonl": b'{"step": 1, "key": "a", "value": 2}\n{"ste'}),
        Record("s", "bare", raw={"metrics.json": b"[]", "metrics.jsonl": b""}),
    ])
    git = open_repo(repo)
    assert rows(git, "select run, status from runs order by run") == [("s/bare", "completed"), ("s/broken", "unknown")]
    assert rows(git, "select step, value from series") == [(1, 2.0)]


def _live(git, run: RunRef, points: list[dict], summary: dict | None = None) -> record.RunFiles:
    files = record.RunFiles.for_run(git.gitexp_dir, run)
    files.create()
    record.write_json_atomic(files.run_json, {"sweep": run.sweep, "name": run.name, "status": "running",
                                              "attempt_id": f"{run.id}#1", "params": {"lr": 0.1},
                                              "started": "2025-01-01T00:00:01+00:00"})
    files.series.write_text("".join(json.dumps(p) + "\n" for p in points))
    if summary is not None:
        record.write_json_atomic(files.summary_overrides, summary)
    return files


def test_running_runs_show_live_values(repo):
    recordgen.write(repo, [Record("s", "live", {"lr": 0.1}, {"acc": 0.1}, status="running")])
    git = open_repo(repo)
    assert rows(git, "select acc from runs") == [(0.1,)]
    files = _live(git, RunRef("s", "live"), [{"step": 1, "key": "acc", "value": 0.5, "time": 1.0}])
    assert rows(git, "select acc, status from runs") == [(0.5, "running")]
    with open(files.series, "a") as handle:
        handle.write(json.dumps({"step": 2, "key": "acc", "value": 0.7, "time": 2.0}) + "\n")
    assert rows(git, "select acc from runs") == [(0.7,)]
    assert rows(git, "select max(step) from series") == [(2,)]
    record.write_json_atomic(files.summary_overrides, {"best": 0.75})
    assert rows(git, "select acc, best from runs") == [(0.7, 0.75)]
    assert rows(git, "select duration > 0 from runs") == [(True,)]


def test_reconcile_hook_settles_running_runs(repo):
    recordgen.write(repo, [Record("s", "ghost", {}, {}, status="running"), Record("s", "done", {}, {})])
    git = open_repo(repo)
    assert rows(git, "select status from runs where name = 'ghost'") == [("running",)]
    seen = []

    def reconcile(git, runs):
        seen.extend(run.id for run in runs)
        for run in runs:
            run.info = dict(run.info, status="lost")
        return runs

    assert run_query(git, "select status from runs where name = 'ghost'", reconcile=reconcile).rows == [("lost",)]
    assert "s/ghost" in seen and "s/done" not in seen


def test_list_runs_filters_sorts_numerically_and_pages(repo):
    recordgen.write(repo, [Record("a", f"r{i}", {"lr": lr, "opt": opt}, {"acc": acc})
                           for i, (lr, opt, acc) in enumerate([(0.1, "sgd", 9.0), (0.01, "adam", 10.0),
                                                               (1.0, "adam", None)])])
    recordgen.write(repo, [Record("b", "x", {"lr": 0.5}, {"acc": 1.0})])
    git = open_repo(repo)
    total, runs = list_runs(git, sort="acc")
    assert total == 4 and [r["run"] for r in runs] == ["a/r1", "a/r0", "b/x", "a/r2"]  # 10 > 9: numeric
    total, runs = list_runs(git, sweep="a", filter="ADAM", sort="lr", descending=False, offset=1, limit=1)
    assert total == 2 and [r["run"] for r in runs] == ["a/r2"]
    assert runs[0]["params"] == {"lr": 1.0, "opt": "adam"} and runs[0]["created"].startswith("2025-01-01T00:00:00")
    assert list_sweeps(git) == [{"sweep": "a", "runs": 3, "running": 0}, {"sweep": "b", "runs": 1, "running": 0}]


def test_sweep_table_like_sumx(repo):
    series = [{"step": s, "key": "loss", "value": 1 / s, "time": s} for s in (1, 2, 3)]
    recordgen.write(repo, [
        Record("sw", "a", {"lr": 0.1, "seed": 1, "opt": "sgd"}, {"acc": 9.0}, series),
        Record("sw", "b", {"lr": 0.2, "seed": 1, "opt": "sgd"}, {"acc": 10.0}, series),
        Record("sw", "c", {"lr": 0.3, "seed": 1}, {"acc": 2.0}, series),
    ])
    git = open_repo(repo)
    result = sweep_table(git, "sw", sort="acc")
    assert result.columns == ["run", "lr", "opt", "acc", "epochs", "epoch_time"]  # seed never differs
    assert result.rows == [("b", 0.2, "sgd", 10.0, 3, 20.0), ("a", 0.1, "sgd", 9.0, 3, 20.0),
                           ("c", 0.3, None, 2.0, 3, 20.0)]


_HAMMER = """
import sys
from gitexp.index import run_query
from gitexp.record.git import open_repo
git = open_repo(sys.argv[1])
for _ in range(int(sys.argv[2])):
    count = run_query(git, "select count(*) from runs").rows[0][0]
print(count)
"""


@pytest.mark.slow
def test_many_processes_sync_and_read_at_once(repo):
    recordgen.write(repo, recordgen.synthetic(200))
    procs = [subprocess.Popen([sys.executable, "-c", _HAMMER, str(repo), "15"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for batch in range(5):  # refs move under the readers' feet
        recordgen.write(repo, [Record("extra", f"r{batch}-{i}", {"i": i}, {"m": i}) for i in range(20)])
    results = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
    assert all(int(out) >= 200 for out, _ in results)
    assert rows(open_repo(repo), "select count(*) from runs") == [(300,)]
    assert not list(open_repo(repo).gitexp_dir.glob("*.tmp"))


def test_records_in_many_batches_index_as_in_one(repo, monkeypatch):
    """The reader thread hands records over a batch at a time; batch edges lose nothing."""
    import importlib

    sync_module = importlib.import_module("gitexp.index.sync")
    recordgen.write(repo, recordgen.synthetic(7, sweeps=2, epochs=3))
    git = open_repo(repo)
    whole = rows(git, "select * exclude (created, started, ended) from runs order by run")
    points = rows(git, "select run, key, step, value from series order by all")
    index_path(git).unlink()
    monkeypatch.setattr(sync_module, "BATCH", 2)
    assert rows(git, "select * exclude (created, started, ended) from runs order by run") == whole
    assert rows(git, "select run, key, step, value from series order by all") == points
    assert len(points) == 7 * 2 * 3


def test_a_failing_batch_leaves_no_index_no_thread_and_no_git_process(repo, monkeypatch):
    import importlib
    import threading

    sync_module = importlib.import_module("gitexp.index.sync")
    schema_module = importlib.import_module("gitexp.index.schema")
    recordgen.write(repo, recordgen.synthetic(6, sweeps=1, epochs=2))
    git = open_repo(repo)
    monkeypatch.setattr(sync_module, "BATCH", 2)
    real, calls = schema_module.write_rows, []

    def failing(batch, folder):
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(batch, folder)

    monkeypatch.setattr(schema_module, "write_rows", failing)
    with pytest.raises(OSError, match="No space left"):
        sync(git)
    assert calls == [2, 2]  # stopped at the failing batch, not read to the end
    assert not index_path(git).exists()
    assert list(index_path(git).parent.glob("index.duckdb.*")) == []
    assert not [t for t in threading.enumerate() if t.name == "gitexp-index-reader"]
    children = subprocess.run(["pgrep", "-P", str(__import__("os").getpid()), "-f", "cat-file"],
                              capture_output=True, text=True).stdout
    assert children == ""


def test_column_types_follow_the_runs_left_after_a_change(repo):
    """Types are kept per key as counts of runs: removing the one text value makes the column numeric
    again, and a key no run has any more leaves the table."""
    recordgen.write(repo, [Record("s", "a", {"opt": "sgd", "lr": 0.1}, {"acc": 0.5}),
                           Record("s", "b", {"opt": 3, "lr": 0.2}, {"acc": 0.6}),
                           Record("t", "c", {"opt": 4, "only": 1}, {"acc": 0.7})])
    git = open_repo(repo)
    types = dict(zip(*(lambda r: (r.columns, r.types))(run_query(git, "select * from runs"))))
    assert types["opt"] == "VARCHAR" and types["only"] == "BIGINT"
    recordgen.git(repo, "update-ref", "-d", "refs/experiments/s/a")
    recordgen.git(repo, "update-ref", "-d", "refs/experiments/t/c")
    result = run_query(git, "select * from runs")
    types = dict(zip(result.columns, result.types))
    assert types["opt"] == "BIGINT" and "only" not in types
    assert rows(git, "select run, opt, lr from runs") == [("s/b", 3, 0.2)]


def _snapshot(git) -> tuple[int | None, int | None]:
    """Inodes of the base and the delta (None: absent): which files the last write replaced."""
    from gitexp.index.sync import delta_path

    return tuple(p.stat().st_ino if p.exists() else None for p in (index_path(git), delta_path(git)))


def _everything(git) -> list[list[tuple]]:
    return [rows(git, sql) for sql in (
        "select * exclude (duration) from runs order by run",
        "select * from series order by all", "select * from params order by all",
        "select * from metrics order by all", "select run, sweep, status, commit, epochs, search from _core order by run")]


def _fresh(git) -> list[list[tuple]]:
    from gitexp.index.sync import delta_path

    index_path(git).unlink()
    delta_path(git).unlink(missing_ok=True)
    return _everything(git)


@pytest.fixture
def deltas(monkeypatch):
    """Deltas for an index of any size (by default only a big one gets them)."""
    import importlib

    monkeypatch.setattr(importlib.import_module("gitexp.index.sync"), "DELTA_FROM", 0)


def _base_and_delta(repo):
    """6 runs in a base, a seventh (sweep0/late) in the delta over it."""
    recordgen.write(repo, recordgen.synthetic(6, sweeps=1))
    git = open_repo(repo)
    sync(git).close()
    recordgen.write(repo, [Record("sweep0", "late", {"lr": 0.2}, {"acc": 0.3})])
    sync(git).close()
    assert _snapshot(git)[1] is not None
    return git


def test_a_small_index_is_copied_for_a_change_not_given_a_delta(repo):
    recordgen.write(repo, recordgen.synthetic(6, sweeps=1))
    git = open_repo(repo)
    sync(git).close()
    base = _snapshot(git)[0]
    recordgen.write(repo, [Record("sweep0", "late", {"lr": 0.2}, {"acc": 0.3})])
    assert rows(git, "select count(*) from runs") == [(7,)]
    assert _snapshot(git)[0] != base and _snapshot(git)[1] is None


def test_small_changes_go_to_a_delta_and_leave_the_base_alone(repo, deltas):
    recordgen.write(repo, recordgen.synthetic(20, sweeps=2, epochs=3))
    git = open_repo(repo)
    sync(git).close()
    base, delta = _snapshot(git)
    assert delta is None
    recordgen.write(repo, [Record("sweep0", "run2", {"lr": 5.0}, {"acc": 1.0}),  # moved
                           Record("sweep9", "late", {"lr": 0.2}, {"acc": 0.3})])  # new
    recordgen.delete(repo, "sweep1/run3")  # dropped
    after = _everything(git)
    assert _snapshot(git)[0] == base and _snapshot(git)[1] is not None  # the base was not rewritten
    recordgen.write(repo, [Record("sweep9", "late", {"lr": 0.4}, {"acc": 0.6})])  # a run of the delta moves
    recordgen.delete(repo, "sweep0/run2")  # a run the delta holds is dropped
    again = _everything(git)
    assert _snapshot(git)[0] == base
    assert rows(git, "select run, lr, acc from runs where sweep = 'sweep9'") == [("sweep9/late", 0.4, 0.6)]
    assert rows(git, "select count(*) from runs") == [(19,)]
    assert again == _fresh(git)
    assert after != again


def test_a_new_key_or_type_folds_the_delta_into_a_new_base(repo, deltas):
    git = _base_and_delta(repo)
    base = _snapshot(git)[0]
    recordgen.write(repo, [Record("sweep0", "odd", {"lr": "warmup"}, {"acc": 0.3, "brand_new": 1})])
    result = run_query(git, "select * from runs")
    assert dict(zip(result.columns, result.types))["lr"] == "VARCHAR" and "brand_new" in result.columns
    new_base, new_delta = _snapshot(git)
    assert new_base != base and new_delta is None  # the delta's runs went into the new base
    assert rows(git, "select count(*) from runs") == [(8,)]
    assert _everything(git) == _fresh(git)


def test_a_delta_past_its_size_folds_into_a_new_base(repo, monkeypatch, deltas):
    import importlib

    monkeypatch.setattr(importlib.import_module("gitexp.index.sync"), "DELTA_RUNS", 3)
    recordgen.write(repo, recordgen.synthetic(10, sweeps=1))
    git = open_repo(repo)
    sync(git).close()
    base = _snapshot(git)[0]
    recordgen.write(repo, [Record("sweep0", "a", {"lr": 0.2}, {"acc": 0.3}), Record("sweep0", "b", {"lr": 0.3}, {"acc": 0.4})])
    sync(git).close()
    assert _snapshot(git)[0] == base
    recordgen.write(repo, [Record("sweep0", "c", {"lr": 0.2}, {"acc": 0.3}), Record("sweep0", "d", {"lr": 0.3}, {"acc": 0.4})])
    recordgen.delete(repo, "sweep0/a")
    sync(git).close()
    assert _snapshot(git)[0] != base and _snapshot(git)[1] is None
    assert rows(git, "select count(*) from runs") == [(13,)]
    assert _everything(git) == _fresh(git)


def test_a_reader_keeps_its_snapshot_while_the_delta_is_folded(repo, deltas):
    reader = sync(git := _base_and_delta(repo))  # base + delta
    try:
        recordgen.write(repo, [Record("sweep0", "odd", {"lr": "text"}, {"acc": 0.1})])  # forces a new base
        assert rows(git, "select count(*) from runs") == [(8,)]
        assert _snapshot(git)[1] is None
        assert reader.execute("select count(*) from runs").fetchall() == [(7,)]  # its own files, still whole
    finally:
        reader.close()


def test_a_delta_left_from_another_base_is_ignored(repo, deltas):
    from gitexp.index.sync import delta_path

    git = _base_and_delta(repo)
    stale = delta_path(git).read_bytes()
    index_path(git).unlink()
    delta_path(git).unlink()
    assert rows(git, "select count(*) from runs") == [(7,)]  # a fresh base, no delta
    delta_path(git).write_bytes(stale)  # a delta written for the old base
    assert rows(git, "select count(*) from runs") == [(7,)]
    assert rows(git, "select count(*) from runs where run = 'sweep0/late'") == [(1,)]


def test_a_corrupt_delta_is_replaced_by_the_next_sync(repo, deltas):
    from gitexp.index.sync import delta_path

    git = _base_and_delta(repo)
    delta_path(git).write_bytes(b"not a duckdb file" * 1000)
    assert rows(git, "select count(*) from runs where run = 'sweep0/late'") == [(1,)]
    assert rows(git, "select count(*) from runs") == [(7,)]


def test_sort_key_resolves_a_unique_suffix_after_a_slash(repo):
    recordgen.write(repo, [Record("sw", n, {"lr": lr}, {"val/acc": acc, "train/loss": 1.0, "val/loss": 2.0})
                           for n, lr, acc in (("a", 0.1, 9.0), ("b", 0.2, 10.0))])
    git = open_repo(repo)
    assert [row[0] for row in sweep_table(git, "sw", sort="acc").rows] == ["b", "a"]  # acc: val/acc
    assert [r["run"] for r in list_runs(git, sort="acc")[1]] == ["sw/b", "sw/a"]
    with pytest.raises(QueryError, match=r"several keys end in '/loss': did you mean train/loss or val/loss\?"):
        sweep_table(git, "sw", sort="loss")
    with pytest.raises(QueryError, match="no run field, param or metric has that name"):
        sweep_table(git, "sw", sort="cc")  # a suffix counts only after a '/'


def test_a_delta_that_was_not_laid_is_never_taken_as_unchanged(repo, deltas):
    """A delta left unattached (unreadable, stale) is not held open, so its inode may come back
    with the next delta: under the writers' lock that must still be attached, not skipped."""
    import importlib

    sync_module = importlib.import_module("gitexp.index.sync")
    git = _base_and_delta(repo)
    path = sync_module.delta_path(git)
    good = path.read_bytes()
    with open(path, "r+b") as handle:  # the same inode, unreadable now
        handle.write(b"not a duckdb file" * 1000)
    con = sync_module._instance(git)
    try:
        attached = sync_module._attach_current(git, con)
        assert con.execute("select count(*) from runs").fetchall() == [(6,)]  # the base alone
        with open(path, "r+b") as handle:  # a valid delta again, at that same inode
            handle.truncate(0)
            handle.write(good)
        assert sync_module._attach_current(git, con, attached)
        assert con.execute("select count(*) from runs").fetchall() == [(7,)]
    finally:
        con.close()


def test_duckdb_spills_beside_the_index_not_into_the_work_tree(repo):
    recordgen.write(repo, recordgen.synthetic(3, sweeps=1))
    git = open_repo(repo)
    con = sync(git)
    try:
        spill = con.execute("select current_setting('temp_directory')").fetchall()[0][0]
    finally:
        con.close()
    assert Path(spill) == git.gitexp_dir / "duckdb.tmp"  # DuckDB's default is `.tmp` in the current folder
