"""Start-up of the command line: what a command into a pipe imports, and that a terminal still
gets rich's styles. (Speed itself is measured by bench/bench_scale.py and bench_scheduler.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import GIT_ENV, in_terminal


def _imported(repo, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `gitexp ARGS` into a pipe under `-X importtime`; its result and every module it imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitexp", *args], cwd=repo.path,
                          capture_output=True, text=True, timeout=60, env={**os.environ, **GIT_ENV})
    assert proc.returncode == 0, proc.stderr
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return proc, modules - {"imported package"}


def _rich(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "rich" or m.startswith("rich."))


@pytest.fixture
def two_runs(repo):
    repo.write("s.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.01]\n")
    proc, modules = _imported(repo, "run", "s.yml", "-j", "2")
    assert "run(s) queued in sweep s" in proc.stderr and "completed" in proc.stderr
    assert _rich(modules) == []  # progress lines and the closing table are plain text on a pipe
    return repo


def test_show_and_diff_into_a_pipe_never_import_rich(two_runs):
    proc, modules = _imported(two_runs, "show", "s/lr0.1")
    assert "run       s/lr0.1\n" in proc.stdout and "  lr = 0.1\n" in proc.stdout
    assert _rich(modules) == []
    assert "tempfile" not in modules and "socket" not in modules  # a reader needs neither
    proc, modules = _imported(two_runs, "diff", "s/lr0.1", "s/lr0.01")
    assert _rich(modules) == []
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["params", " key  s/lr0.1  s/lr0.01", " lr   0.1      0.01"]
    assert not [line for line in lines if line.endswith(" ")]  # aligned, no trailing padding


def test_a_command_still_has_its_own_help_and_the_others_are_listed(repo):
    assert "gitexp diff [OPTIONS]" in repo.gitexp("diff", "--help").stdout
    listing = repo.gitexp("--help").stdout
    assert all(name in listing for name in ("run", "show", "diff", "ls", "query", "ps", "gc", "lsp"))
    wrong = repo.gitexp("shw", "x", check=False)
    assert wrong.returncode == 2 and "No such command 'shw'" in wrong.stderr


def test_a_terminal_still_gets_styles(two_runs):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    screen = in_terminal(two_runs.path, ["show", "s/lr0.1"], {**env, **GIT_ENV, "TERM": "xterm-256color"}, 120, 40)
    assert "\x1b[1m" in screen and "s/lr0.1" in screen  # bold labels, as rich draws them
    data = json.loads(two_runs.gitexp("show", "s/lr0.1", "--json").stdout)
    assert data["status"] == "completed"


def test_diff_of_two_runs_costs_two_git_processes_and_pairs_every_patch(repo, monkeypatch):
    from gitexp import inspect
    from gitexp.record.git import Git, open_repo

    repo.write("gone.py", "x = 1\n")
    repo.commit("base", **{"s.yml": "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n"})
    repo.gitexp("run", "s.yml", "--name", "before")
    (repo.path / "gone.py").unlink()
    repo.write("train.py", (repo.path / "train.py").read_text() + "print('changed')\n")
    repo.write("a new file.txt", "with a space\n")
    repo.write("blob.bin", b"\x00\x01binary\x00")
    repo.gitexp("run", "s.yml", "--name", "after")
    git = open_repo(repo.path)
    calls = []
    call, spawn = Git.call, Git.spawn
    monkeypatch.setattr(Git, "call", lambda self, *args, **kw: calls.append(args[0]) or call(self, *args, **kw))
    monkeypatch.setattr(Git, "spawn", lambda self, *args: calls.append(args[0]) or spawn(self, *args))
    data = inspect.diff(git, "before/lr0.1", "after/lr0.1")
    assert calls == ["cat-file", "diff-tree"]  # one process for both records, one for files and patches
    monkeypatch.undo()
    a, b = f"{data['snapshot_a']}^{{tree}}", f"{data['snapshot_b']}^{{tree}}"
    assert [(f["path"], f["status"]) for f in data["files"]] == [
        ("a new file.txt", "A"), ("blob.bin", "A"), ("gone.py", "D"), ("train.py", "M")]
    for entry in data["files"]:
        assert entry["patch"] == repo.git("diff", "--no-color", "--no-ext-diff", a, b, "--", entry["path"])
    assert "Binary files" in data["files"][1]["patch"] and "+print('changed')" in data["files"][3]["patch"]
