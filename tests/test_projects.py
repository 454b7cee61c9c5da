"""Small, real-shaped projects (tests/projects/) run through gitexp exactly as a user would.

Each project is copied into a fresh git repository (a file named `gitignore` becomes its
`.gitignore`, so it does not apply to this repository), committed, and run for real: every
run must complete, every metric must be right, and the next snapshot must hold code only.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Repo, git

PROJECTS = Path(__file__).parent / "projects"
needs_hydra = pytest.mark.skipif(importlib.util.find_spec("hydra") is None,
                                 reason="hydra-core is not installed (pip install -e '.[dev]' brings it)")


def project(tmp_path: Path, name: str) -> Repo:
    path = tmp_path / "repo"
    shutil.copytree(PROJECTS / name, path)
    if (path / "gitignore").exists():
        (path / "gitignore").rename(path / ".gitignore")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "project")
    return Repo(path)


def info(repo: Repo, run: str) -> dict:
    return json.loads(repo.show(f"refs/experiments/{run}:.gitexp/run.json"))


def metrics(repo: Repo, run: str) -> dict:
    return json.loads(repo.show(f"refs/experiments/{run}:.gitexp/metrics.json"))


def tree(repo: Repo, commit: str) -> set[str]:
    return set(repo.git("ls-tree", "-r", "--name-only", commit).split())


def untracked(repo: Repo) -> list[str]:
    return repo.git("ls-files", "--others", "--exclude-standard").split()


# -- a Hydra app with conf/ groups and no GROUPS --------------------------------------------

HYDRA_OVERRIDES = ["db=glob(*,exclude=sqlite)", "seed=range(2)", "lr=0.1,0.01"]


def hydra_meaning(overrides: list[str]) -> list[tuple]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides([o for o in overrides if not o.startswith("hydra.")])
    return [(o.key_or_group, o.package, o.type.name, o.value()) for o in parsed]


@needs_hydra
def test_hydra_app_dry_run_equals_real_hydra_multirun(tmp_path):
    repo = project(tmp_path, "hydra_app")
    real = subprocess.run([sys.executable, "my_app.py", "-m", *HYDRA_OVERRIDES], cwd=repo.path,
                          capture_output=True, text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    theirs = [json.loads(line[4:]) for line in real.stdout.splitlines() if line.startswith("JOB ")]
    ours = [shlex.split(line)[2:] for line in repo.gitexp("run", "-n", "sweep.yml").stdout.splitlines()]
    assert len(theirs) == 8
    assert [hydra_meaning(job) for job in ours] == [hydra_meaning(job) for job in theirs]
    assert all(job[-1].startswith("hydra.run.dir=") and "/.git/gitexp/runs/" in job[-1] for job in ours)


@needs_hydra
@pytest.mark.slow
def test_hydra_app_runs_each_job_in_its_own_folder_and_nothing_lands_in_the_work_tree(tmp_path):
    repo = project(tmp_path, "hydra_app")
    repo.gitexp("run", "sweep.yml", "--name", "hy", timeout=300)
    runs = [ref.split("/", 2)[2] for ref in repo.refs()]
    assert len(runs) == 8
    for run in runs:
        record = info(repo, run)
        assert record["status"] == "completed", repo.show(f"refs/experiments/{run}:.gitexp/output.log")
        weight = {"mysql": 1, "postgresql": 2}[record["params"]["db"]]
        expected = record["params"]["lr"] * (record["params"]["seed"] + 1) / weight / 2
        assert metrics(repo, run)["loss"] == pytest.approx(expected)
        folder = Path(record["logdir"])
        assert (folder / ".hydra" / "overrides.yaml").is_file() and (folder / "my_app.log").is_file()
    assert len({info(repo, run)["logdir"] for run in runs}) == 8
    assert untracked(repo) == []  # no outputs/, no multirun/ in the work tree
    repo.gitexp("run", "sweep.yml", "--name", "again", "--only", "db=mysql", "--only", "seed=0",
                "--only", "lr=0.1", timeout=120)
    again = info(repo, "again/" + "db_mysql-seed0-lr0.1")
    assert tree(repo, again["snapshot"]) == tree(repo, "HEAD")


@needs_hydra
@pytest.mark.slow
def test_hydra_run_dir_survives_a_comma_and_a_space_in_the_path(tmp_path):
    """The run folder reaches Hydra as one quoted value: `a, b` unquoted would be a sweep."""
    weird = tmp_path / "my, projects [v2]"
    weird.mkdir()
    repo = project(weird, "hydra_app")
    repo.gitexp("run", "sweep.yml", "--name", "odd", "--only", "db=mysql", "--only", "seed=0",
                "--only", "lr=0.1", timeout=120)
    run, = [ref.split("/", 2)[2] for ref in repo.refs()]
    record = info(repo, run)
    assert record["status"] == "completed", repo.show(f"refs/experiments/{run}:.gitexp/output.log")
    folder = Path(record["logdir"])
    assert ", " in str(folder) and (folder / ".hydra" / "overrides.yaml").is_file()
    assert metrics(repo, run)["loss"] == pytest.approx(0.1 / 1 / 2)
    assert untracked(repo) == []


@needs_hydra
def test_unknown_hydra_group_is_one_line_naming_the_folders_searched_and_the_groups(tmp_path):
    repo = project(tmp_path, "hydra_app")
    proc = repo.gitexp("run", "sweep.yml", "--sweep", "dbx=glob(*)", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    line, = proc.stderr.strip().splitlines()
    assert "--sweep:1:" in line and "no config group 'dbx'" in line
    assert str((repo.path / "conf").resolve()) in line and "groups found: db" in line
    assert repo.refs() == {}
    proc = repo.gitexp("run", "-n", "sweep.yml", "--sweep", "db=mysql,nosuch", check=False)
    assert proc.returncode == 2
    assert "no option 'nosuch' in config group db (options: mysql, postgresql, sqlite)" in proc.stderr


# -- an argparse script swept with distributions --------------------------------------------


def test_argparse_script_sampled_from_distributions_gets_numbers(tmp_path):
    repo = project(tmp_path, "argparse_sample")
    repo.gitexp("run", "sweep.yml", "--name", "rs", "--sample", "3", "--seed", "1")
    runs = [ref.split("/", 2)[2] for ref in repo.refs()]
    assert len(runs) == 3
    for run in runs:
        record = info(repo, run)
        params = record["params"]
        assert record["status"] == "completed"
        assert type(params["lr"]) is float and 1e-4 <= params["lr"] <= 1e-1
        assert type(params["hidden"]) is int and 8 <= params["hidden"] <= 64
        assert params["optimizer"] in ("sgd", "adam") and params["epochs"] == 2
        output = repo.show(f"refs/experiments/{run}:.gitexp/output.log")
        assert f"FINAL lr={params['lr']!r} hidden={params['hidden']}" in output
        factor = 2 if params["optimizer"] == "adam" else 1
        assert metrics(repo, run)["score"] == pytest.approx(params["lr"] * params["hidden"] * 2 * factor, abs=1e-6)


def test_hydra_style_sweep_on_an_argparse_script_emits_flags(tmp_path):
    repo = project(tmp_path, "argparse_sample")
    pins = ["--set", "lr=0.01", "--set", "hidden=8", "--set", "optimizer=sgd"]
    lines = repo.gitexp("run", "-n", "sweep.yml", *pins, "--sweep", "epochs=range(1,3)").stdout.splitlines()
    assert lines == ["python train.py --lr 0.01 --hidden 8 --optimizer sgd --epochs 1",
                     "python train.py --lr 0.01 --hidden 8 --optimizer sgd --epochs 2"]


@pytest.mark.parametrize("dry", [True, False])
def test_unknown_flags_are_warned_about_before_anything_starts(tmp_path, dry):
    repo = project(tmp_path, "argparse_sample")
    repo.write("sweep.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n  momentum: [0.9]\n")
    proc = repo.gitexp("run", *(["-n"] if dry else []), "sweep.yml", check=False)
    lines = proc.stderr.splitlines()
    warning = "gitexp: warning: sweep.yml:4:3: 'momentum': train.py defines no --momentum argument"
    assert lines[0].startswith(warning) and sum("warning" in line for line in lines) == 1
    if not dry:
        assert proc.returncode == 1 and "queued" in lines[1]  # the warning came first; the run then failed


# -- a runx project: the sumx view against runx's own sumx -----------------------------------


@pytest.mark.slow
def test_sumx_view_counts_epochs_as_runx_sumx_does(tmp_path):
    from gitexp.index.runs import sweep_table
    from gitexp.record.git import open_repo

    repo = project(tmp_path, "runx_logx")
    repo.gitexp("run", "sweep.yml", "--name", "rl")
    runs_dir = repo.path / ".git" / "gitexp" / "runs"
    (runs_dir / ".runx").write_text("LOGROOT: .\n")
    real = subprocess.run([sys.executable, "-m", "runx.sumx", "rl", "--csv", str(tmp_path / "sumx")],
                          cwd=runs_dir, capture_output=True, text=True, timeout=60)
    assert real.returncode == 0, real.stderr
    header, *rows = [[c.strip() for c in line.split(",")][:-1] for line in
                     (tmp_path / "sumx.csv").read_text().splitlines()]
    theirs = {row[0]: int(row[header.index("epoch")]) for row in rows}
    table = sweep_table(open_repo(repo.path), "rl", sort="val/acc")
    ours = {row[0]: row[table.columns.index("epochs")] for row in table.rows}
    assert theirs == ours == {"lr0.1-epochs2": 2, "lr0.1-epochs3": 3, "lr0.2-epochs2": 2, "lr0.2-epochs3": 3}


# -- gitignored data, outputs into cwd, SummaryWriter() defaults, add_scalars ------------------


def series(repo: Repo, run: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for line in repo.show(f"refs/experiments/{run}:.gitexp/metrics.jsonl").splitlines():
        point = json.loads(line)
        out.setdefault(point["key"], []).append((point["step"], point["value"]))
    return out


@pytest.mark.slow
def test_ignored_data_outputs_in_cwd_and_default_summary_writer(tmp_path):
    repo = project(tmp_path, "tb_data")
    repo.write("data/train.txt", "the quick brown fox jumps over the lazy dog again\n")  # 10 words
    repo.gitexp("run", "sweep.yml", "--name", "tb", "-j", "2", timeout=300)
    runs = sorted(ref.split("/", 2)[2] for ref in repo.refs())
    assert runs == ["tb/lr0.1", "tb/lr0.2", "tb/lr0.3"]
    for run in runs:
        record = info(repo, run)
        assert record["status"] == "completed", repo.show(f"refs/experiments/{run}:.gitexp/output.log")
        assert record["code_dir"] == str(repo.path.resolve())
        lr = record["params"]["lr"]
        points = series(repo, run)  # two runs wrote into the same ./runs/<second>_<host>/ at once
        assert sorted(points) == ["loss/train", "loss/val", "lr"]
        assert [s for s, _ in points["loss/train"]] == [0, 1, 2]
        assert [v for _, v in points["loss/train"]] == pytest.approx([lr * 10 / e for e in (1, 2, 3)], rel=1e-6)
        assert [v for _, v in points["loss/val"]] == pytest.approx([lr * 2 / e for e in (1, 2, 3)], rel=1e-6)
        assert metrics(repo, run)["loss/val"] == pytest.approx(lr * 2 / 3, rel=1e-6)
    repo.gitexp("run", "sweep.yml", "--name", "next", "--set", "lr=0.5", timeout=120)
    again = info(repo, "next/lr0.5")
    assert again["status"] == "completed"
    assert tree(repo, again["snapshot"]) == tree(repo, "HEAD")  # no model.pt, no runs/
    shown = repo.gitexp("show", "next/lr0.5").stdout
    assert "model.pt" in shown and "runs/" in shown


def test_without_hydra_core_glob_says_what_it_needs(tmp_path, monkeypatch):
    import importlib.util as iu

    from gitexp.sweep import hydra_app
    from gitexp.sweep.load import check_sweep_text

    repo = project(tmp_path, "hydra_app")
    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "hydra" else real(name, *a))
    errors = [d for d in check_sweep_text((repo.path / "sweep.yml").read_text(), str(repo.path / "sweep.yml"))
              if d.severity == "error"]
    assert len(errors) == 1 and hydra_app.HYDRA_MISSING in errors[0].message
    assert (errors[0].line, errors[0].col) == (3, 8)  # at glob(
