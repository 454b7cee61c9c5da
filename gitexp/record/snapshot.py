"""Snapshot the workspace as a commit without touching the user's index or working tree.

The git-wip pattern: copy the real index to a temporary file (its stat cache keeps `git add`
fast), point `GIT_INDEX_FILE` at it, stage tracked edits and the untracked, not-ignored files
below the size limit, `write-tree`, `commit-tree -p HEAD`. Oversized untracked files (a stray
checkpoint) are left out and reported, so they never land in git. No code is copied anywhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.record.git import Git

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
IDENTITY = {
    "GIT_AUTHOR_NAME": "gitexp", "GIT_AUTHOR_EMAIL": "gitexp@localhost",
    "GIT_COMMITTER_NAME": "gitexp", "GIT_COMMITTER_EMAIL": "gitexp@localhost",
}


@dataclass(frozen=True)
class Snapshot:
    commit: str  # S
    tree: str
    base: str | None  # the user's HEAD at launch (S's parent)
    branch: str | None
    excluded: tuple[dict, ...] = field(default_factory=tuple)  # [{"path", "size"}] left out for size


def max_file_bytes(git: Git) -> int:
    """`gitexp.maxFileSize` from git config (bytes, k/m/g suffixes allowed), else 10 MB."""
    value = git.run("config", "--type=int", "--default", str(DEFAULT_MAX_FILE_BYTES),
                    "gitexp.maxFileSize", check=False).strip()
    return int(value) if value.isdigit() else DEFAULT_MAX_FILE_BYTES


def workspace_tree(git: Git, limit: int | None = None) -> tuple[str, tuple[dict, ...]]:
    """Tree SHA of the workspace as it is now, plus the untracked files left out for size."""
    limit = max_file_bytes(git) if limit is None else limit
    with tempfile.TemporaryDirectory(prefix="gitexp-index-") as tmp:
        index = Path(tmp) / "index"
        real_index = git.git_dir / "index"
        if real_index.exists():
            shutil.copyfile(real_index, index)
        env = {"GIT_INDEX_FILE": str(index)}
        # Tracked files: edits, deletions (the copy may also hold staged-but-uncommitted work).
        git.run_bytes("add", "-u", "--", ".", env=env)
        untracked = git.run_bytes("ls-files", "-z", "--others", "--exclude-standard", env=env)
        keep, excluded = [], []
        for raw in untracked.split(b"\0"):
            if not raw:
                continue
            path = raw.decode(errors="surrogateescape")
            try:
                size = os.lstat(git.root / path).st_size
            except OSError:
                continue  # vanished while we looked
            if size > limit:
                excluded.append({"path": path, "size": size})
            else:
                keep.append(raw)
        if keep:
            git.run_bytes("add", "--pathspec-from-file=-", "--pathspec-file-nul", "--", env=env,
                          input=b"\0".join(keep))
        tree = git.run("write-tree", env=env).strip()
    return tree, tuple(excluded)


def take_snapshot(git: Git, message: str, limit: int | None = None) -> Snapshot:
    """Commit the workspace as S (parent: HEAD, or none in a repo without commits)."""
    tree, excluded = workspace_tree(git, limit)
    base, branch = git.head_and_branch()
    parent = ["-p", base] if base else []
    commit = git.run("commit-tree", tree, *parent, "-m", message, env=IDENTITY).strip()
    return Snapshot(commit=commit, tree=tree, base=base, branch=branch, excluded=excluded)


def materialize(git: Git, commit: str, dest: Path) -> Path:
    """Check out `commit` into `dest` (once; reused after) through a private index.

    Used when the workspace changed after launch, so the remaining runs still execute
    exactly the snapshotted code. The user's index and work tree are not involved.
    """
    done = dest / ".gitexp-complete"
    if done.exists():
        return dest
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index = tmp.with_name(tmp.name + ".index")
    env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(tmp)}
    git.run("read-tree", commit, env=env)
    git.run("checkout-index", "-a", "-f", f"--prefix={tmp}/", env=env)
    index.unlink(missing_ok=True)
    (tmp / ".gitexp-complete").touch()
    try:
        os.replace(tmp, dest)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
