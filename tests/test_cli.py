"""The read and manage commands, and the promise about bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest

SWEEP = "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.01]\n"


@pytest.fixture
def two_sweeps(repo):
    repo.write("base.yml", SWEEP)
    repo.gitexp("run", "base.yml")
    repo.write("train.py", repo.path.joinpath("train.py").read_text() + "print('changed')\n")
    repo.gitexp("run", "base.yml", "--name", "changed")
    return repo


def test_ls_json_lists_every_run_newest_first(two_sweeps):
    rows = json.loads(two_sweeps.gitexp("ls", "--json").stdout)
    assert [r["run"] for r in rows][:2] == ["changed/lr0.01", "changed/lr0.1"] or \
        {r["sweep"] for r in rows[:2]} == {"changed"}
    assert {r["run"] for r in rows} == {"base/lr0.1", "base/lr0.01", "changed/lr0.1", "changed/lr0.01"}
    only = json.loads(two_sweeps.gitexp("ls", "base", "--json").stdout)
    assert {r["sweep"] for r in only} == {"base"}
    assert only[0]["metrics"]["acc"] > 0


def test_show_reports_code_changes_against_base(two_sweeps):
    data = json.loads(two_sweeps.gitexp("show", "changed/lr0.1", "--json").stdout)
    assert data["status"] == "completed" and data["params"] == {"lr": 0.1}
    assert data["files"] == [{"path": "base.yml", "status": "A"}, {"path": "train.py", "status": "M"}]
    text = two_sweeps.gitexp("show", "changed/lr0.1").stdout
    assert "+print('changed')" in text and "python train.py --lr 0.1" in text
    assert "run       changed/lr0.1\n" in text  # piped: plain lines, no padding to the widest
    by_sha = json.loads(two_sweeps.gitexp("show", data["commit"][:8], "--json").stdout)
    assert by_sha["run"] == "changed/lr0.1"


def test_values_print_as_text_not_markup(repo):
    repo.write("m.yml", "CMD: python train.py\nHPARAMS:\n  logdir: ['[red]x', '[b]y']\n")
    repo.gitexp("run", "m.yml")
    text = repo.gitexp("show", _only_run(repo, "x")).stdout
    assert "  logdir = [red]x\n" in text and "--logdir '[red]x'" in text
    assert "[red]x" in repo.gitexp("ls", "m").stdout and "[b]y" in repo.gitexp("ls", "m").stdout
    assert "[red]x" in repo.gitexp("diff", _only_run(repo, "x"), _only_run(repo, "y")).stdout
    assert "[red]x" in repo.gitexp("query", "select logdir").stdout


def _only_run(repo, suffix: str) -> str:
    [run] = [r["run"] for r in json.loads(repo.gitexp("ls", "--json").stdout) if r["run"].endswith(suffix)]
    return run


def test_diff_shows_params_metrics_and_code(two_sweeps):
    data = json.loads(two_sweeps.gitexp("diff", "base/lr0.1", "changed/lr0.01", "--json").stdout)
    assert data["params"] == [{"key": "lr", "a": 0.1, "b": 0.01, "changed": True}]
    assert [f["path"] for f in data["files"]] == ["train.py"]
    assert "+print('changed')" in data["files"][0]["patch"]
    stat = two_sweeps.gitexp("diff", "base/lr0.1", "changed/lr0.1", "--stat").stdout
    assert "train.py | 1 +" in stat


def test_rm_needs_confirmation_then_gc_frees_folders(two_sweeps):
    refused = two_sweeps.gitexp("rm", "changed", check=False)
    assert refused.returncode == 2 and len(two_sweeps.refs()) == 4
    two_sweeps.gitexp("rm", "changed", "-y")
    assert sorted(two_sweeps.refs()) == ["refs/experiments/base/lr0.01", "refs/experiments/base/lr0.1"]
    runs_dir = two_sweeps.path / ".git" / "gitexp" / "runs"
    assert (runs_dir / "changed").exists()
    two_sweeps.gitexp("gc")
    assert not (runs_dir / "changed").exists() and (runs_dir / "base" / "lr0.1").exists()


def test_branch_and_apply_bring_back_the_code_without_losing_work(two_sweeps):
    repo = two_sweeps
    repo.gitexp("branch", "changed/lr0.1", "from-run")
    assert "print('changed')" in repo.show("from-run:train.py")
    assert repo.gitexp("branch", "changed/lr0.1", "from-run", check=False).returncode == 2
    # train.py is still edited in the workspace: apply must refuse.
    refused = repo.gitexp("apply", "base/lr0.1", check=False)
    assert refused.returncode == 2 and "uncommitted" in refused.stderr
    assert "print('changed')" in (repo.path / "train.py").read_text()
    repo.git("checkout", "--", "train.py")
    head_index = (repo.path / ".git" / "index").read_bytes()
    repo.gitexp("apply", "changed/lr0.1")
    assert "print('changed')" in (repo.path / "train.py").read_text()
    assert (repo.path / ".git" / "index").read_bytes() == head_index


BAD_INPUTS = [
    (["run", "missing.yml"], "missing.yml"),
    (["run", "broken.yml"], "broken.yml:3:1: YAML syntax error"),
    (["run", "empty.yml"], "empty.yml"),
    (["show", "no-such-run"], "no run 'no-such-run'"),
    (["diff", "x", "y"], "no run"),
    (["rm", "-y", "ghost"], "no run"),
]


@pytest.mark.parametrize("args,where", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(repo, args, where):
    repo.write("broken.yml", "CMD: python train.py\nHPARAMS: [\n")
    repo.write("empty.yml", "CMD: python train.py\nHPARAMS:\n  lr: []\n")
    proc = repo.gitexp(*args, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and "Traceback" not in proc.stderr
    assert repo.refs() == {} and repo.refs("refs/gitexp/") == {}


def test_not_a_repo(tmp_path):
    from conftest import Repo

    proc = Repo(tmp_path).gitexp("ls", check=False)
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr


def test_rm_refuses_a_run_that_is_still_running(repo):
    import subprocess
    import sys
    import time

    repo.write("slow.yml", "CMD: python train.py\nHPARAMS:\n  sleep: [30]\n")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "slow.yml"], cwd=repo.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not any(
                '"running"' in repo.show(f"{ref}:.gitexp/run.json") for ref in repo.refs()):
            time.sleep(0.1)
        refused = repo.gitexp("rm", "-y", "slow", check=False)
        assert refused.returncode == 2 and "gitexp kill" in refused.stderr
        assert len(repo.refs()) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
