"""The snapshot captures exactly the workspace and leaves the user's repository untouched."""

from __future__ import annotations

import hashlib

from gitexp.record.git import open_repo
from gitexp.record.snapshot import take_snapshot


def user_state(repo) -> dict:
    """Everything of the user's that gitexp must never change."""
    index = repo.path / ".git" / "index"
    return {
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "head": repo.git("rev-parse", "HEAD", check=False),
        "symbolic": repo.git("symbolic-ref", "HEAD", check=False),
        "branches": repo.git("for-each-ref", "refs/heads", "refs/tags"),
        "stash": repo.git("stash", "list"),
        "status": repo.git("status", "--porcelain=v2", "--untracked-files=all"),
    }


def test_snapshot_has_dirty_untracked_and_leaves_out_ignored_and_big(repo):
    repo.write("train.py", "print('edited')\n")
    repo.write("new_module.py", "X = 1\n")
    repo.write("ignored/cache.bin", "secret")
    repo.write("model.ckpt", "weights")
    repo.write("huge.bin", b"0" * 2048)
    repo.write("staged.py", "staged = True\n")
    repo.git("add", "staged.py")
    repo.git("stash", "list")
    before = user_state(repo)

    snap = take_snapshot(open_repo(repo.path), "test", limit=1024)

    assert user_state(repo) == before
    files = set(repo.git("ls-tree", "-r", "--name-only", snap.commit).split())
    assert files == {".gitignore", "train.py", "new_module.py", "staged.py"}
    assert repo.show(f"{snap.commit}:train.py") == "print('edited')\n"
    assert snap.base == repo.git("rev-parse", "HEAD").strip()
    assert repo.git("rev-parse", f"{snap.commit}^1").strip() == snap.base
    assert snap.excluded == ({"path": "huge.bin", "size": 2048, "reason": "size"},)


def test_deleted_tracked_file_is_absent_from_snapshot(repo):
    (repo.path / "train.py").unlink()
    snap = take_snapshot(open_repo(repo.path), "test")
    assert "train.py" not in repo.git("ls-tree", "-r", "--name-only", snap.commit).split()
    assert "train.py" in repo.git("ls-tree", "-r", "--name-only", "HEAD").split()


def test_repo_without_commits_gets_a_parentless_snapshot(tmp_path):
    from conftest import Repo, git

    path = tmp_path / "fresh"
    path.mkdir()
    git(path, "init", "-q")
    fresh = Repo(path)
    fresh.write("a.py", "a = 1\n")
    snap = take_snapshot(open_repo(path), "test")
    assert snap.base is None
    assert fresh.git("rev-list", "--parents", "-n1", snap.commit).split() == [snap.commit]
    assert not (path / ".git" / "index").exists()
