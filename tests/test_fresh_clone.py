"""Right after `git clone` or `git pack-refs` (packed-refs under a second old) nothing crashes."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from conftest import GIT_ENV, Repo


def fresh(packed_refs) -> None:
    """Make packed-refs look just written, however slowly this machine starts gitexp."""
    soon = time.time() + 120
    os.utime(packed_refs, (soon, soon))


@pytest.mark.parametrize("command", [["ls"], ["query", "select count(*) as n", "--format", "json"]])
def test_first_command_in_a_fresh_clone_builds_the_index(repo, tmp_path, command):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True, env={**GIT_ENV})
    fresh(clone / ".git" / "packed-refs")  # written by the clone a moment ago
    proc = Repo(clone).gitexp(*command, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (clone / ".git" / "gitexp" / "index.duckdb").exists()
    if command[0] == "query":
        assert json.loads(proc.stdout)["rows"] == [[0]]


def test_first_command_right_after_pack_refs(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n")
    repo.gitexp("run", "exp.yml")
    (repo.path / ".git" / "gitexp" / "index.duckdb").unlink(missing_ok=True)
    repo.git("pack-refs", "--all")
    fresh(repo.path / ".git" / "packed-refs")
    proc = repo.gitexp("query", "select run from runs", "--format", "json", check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == [["exp/lr0.1"]]
