"""The Python API: `gitexp.query`, `gitexp.runs`, `gitexp.run`, from any folder of the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import gitexp
import recordgen
from gitexp.errors import GitexpError, QueryError, RunNotFoundError
from recordgen import Record

pandas = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = recordgen.init_repo(tmp_path_factory.mktemp("api") / "repo")
    (path / "src").mkdir()
    ckpt = {"kind": "checkpoint", "path": "/ckpt/lr/a/checkpoint_best.pt", "size": 3, "sha256": "00",
            "role": "best", "metric": 0.9}
    last = {**ckpt, "path": "/ckpt/lr/a/checkpoint_last.pt", "role": "last"}
    recordgen.write(path, [
        Record("lr", "a", {"lr": 0.1, "opt": "sgd"}, {"acc": 0.9, "loss": 0.1},
               [{"step": s, "key": k, "value": v, "time": 1.0 + s} for s in (1, 2) for k, v in
                (("loss", 1.0 / s), ("acc", 0.4 * s))], info={"artifacts": [last, ckpt]}),
        Record("lr", "b", {"lr": 0.01, "opt": "sgd"}, {"acc": 0.5, "loss": 0.3}, status="failed"),
        Record("depth", "c", {"depth": 3}, {"mse": 2.5}),
    ])
    return path


@pytest.fixture
def inside(repo, monkeypatch):
    monkeypatch.chdir(repo / "src")  # a notebook lives in some folder of the repository
    return repo


def test_query_returns_a_duckdb_relation(inside):
    relation = gitexp.query("select run, acc where acc is not null order by acc desc")
    assert type(relation).__name__ == "DuckDBPyRelation"
    assert relation.fetchall() == [("lr/a", 0.9), ("lr/b", 0.5)]
    frame = relation.df()
    assert list(frame.columns) == ["run", "acc"] and frame.acc.tolist() == [0.9, 0.5]


def test_query_stays_read_only_and_one_statement(inside):
    with pytest.raises(QueryError, match="read-only"):
        gitexp.query("create table t as select 1").fetchall()
    with pytest.raises(QueryError, match="2 statements"):
        gitexp.query("select 1; select 2")


def test_runs_is_a_frame_with_a_column_per_param_and_metric(inside):
    frame = gitexp.runs()
    assert set(frame.run) == {"lr/a", "lr/b", "depth/c"}
    assert {"lr", "opt", "depth", "acc", "loss", "mse", "status", "created"} <= set(frame.columns)
    assert "params" not in frame.columns  # typed columns, not JSON
    assert frame.set_index("run").loc["lr/a", "lr"] == 0.1

    lr = gitexp.runs(sweep="lr")
    assert sorted(lr.run) == ["lr/a", "lr/b"]
    assert "depth" not in lr.columns and "mse" not in lr.columns  # only these runs' keys
    done = gitexp.runs(where="status = 'completed' and acc > 0.6")
    assert done.run.tolist() == ["lr/a"]


def test_runs_of_an_unknown_sweep_says_so(inside):
    with pytest.raises(RunNotFoundError, match="no sweep 'l'.*did you mean lr"):
        gitexp.runs(sweep="l")
    with pytest.raises(QueryError):
        gitexp.runs(where="nosuchcolumn > 1")


def test_run_has_params_metrics_series_files_and_checkpoint(inside):
    run = gitexp.run("a")  # a bare name, like the CLI
    assert (run.id, run.status, run.params, run.metrics) == ("lr/a", "completed", {"lr": 0.1, "opt": "sgd"},
                                                             {"acc": 0.9, "loss": 0.1})
    loss = run.series("loss")
    assert list(loss.columns) == ["step", "value", "time"] and loss.value.tolist() == [1.0, 0.5]
    assert set(run.series().key) == {"loss", "acc"}
    with pytest.raises(GitexpError, match="no series 'los'.*acc, loss"):
        run.series("los")
    assert "train.py" in run.files and not any(f.startswith(".gitexp") for f in run.files)
    assert run.read("train.py") == "print('train')\n"
    assert run.checkpoint == Path("/ckpt/lr/a/checkpoint_best.pt")
    assert gitexp.run("lr/b").checkpoint is None
    with pytest.raises(RunNotFoundError):
        gitexp.run("nosuchrun")


def test_run_still_works_once_the_run_package_is_imported(inside):
    import gitexp.run.launch  # noqa: F401  rebinds `gitexp.run` to the package

    assert gitexp.run("lr/a").params["lr"] == 0.1


def test_import_stays_light_and_works_from_a_subfolder(repo):
    code = ("import sys, gitexp; heavy = [m for m in ('duckdb', 'pandas', 'rich', 'typer') if m in sys.modules]; "
            "frame = gitexp.runs(); print(heavy, len(frame), 'pandas' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo / "src", capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "3", "True"]
