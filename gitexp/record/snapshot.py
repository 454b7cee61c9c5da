"""Snapshot the workspace as a commit without touching the user's index or working tree.

The git-wip pattern: copy the real index to a temporary file (its stat cache keeps `git add`
fast), point `GIT_INDEX_FILE` at it, stage tracked edits and the untracked, not-ignored files
below the size limit, `write-tree`, `commit-tree -p HEAD`. Oversized untracked files (a stray
checkpoint) and untracked run outputs (`outputs.py`: `model.pt`, `outputs/`, `runs/`...) are left
out and reported, so they never land in git. No code is copied anywhere.

The temporary index can be kept (`keep_index`): its stat cache answers "did a file of the
snapshot change?" in one `git add -u` later, without hashing the whole workspace again.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.record import outputs
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
    excluded: tuple[dict, ...] = field(default_factory=tuple)  # [{"path", "size", "reason", ...}] left out
    index: Path | None = None  # the kept temporary index (see `changed`)


def max_file_bytes(git: Git) -> int:
    """`gitexp.maxFileSize` from git config (bytes, k/m/g suffixes allowed), else 10 MB."""
    value = git.run("config", "--type=int", "--default", str(DEFAULT_MAX_FILE_BYTES),
                    "gitexp.maxFileSize", check=False).strip()
    return int(value) if value.isdigit() else DEFAULT_MAX_FILE_BYTES


def workspace_tree(git: Git, limit: int | None = None, keep_index: Path | None = None) -> tuple[str, tuple[dict, ...]]:
    """Tree SHA of the workspace as it is now, plus the untracked files left out (size, outputs)."""
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
        keep, excluded, produced = [], [], []
        rule = None
        for raw in untracked.split(b"\0"):
            if not raw:
                continue
            path = raw.decode(errors="surrogateescape")
            rule = rule or outputs.Rule(git)
            if rule.is_output(path):
                produced.append(path)
                continue
            try:
                size = os.lstat(git.root / path).st_size
            except OSError:
                continue  # vanished while we looked
            if size > limit:
                excluded.append({"path": path, "size": size, "reason": "size"})
            else:
                keep.append(raw)
        if keep:
            git.run_bytes("add", "--pathspec-from-file=-", "--pathspec-file-nul", "--", env=env,
                          input=b"\0".join(keep))
        tree = git.run("write-tree", env=env).strip()
        if keep_index is not None:
            keep_index.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(index), keep_index)
    if produced:
        excluded.extend(outputs.summarize(rule, git.root, produced))
    return tree, tuple(excluded)


def take_snapshot(git: Git, message: str, limit: int | None = None, keep_index: Path | None = None) -> Snapshot:
    """Commit the workspace as S (parent: HEAD, or none in a repo without commits)."""
    tree, excluded = workspace_tree(git, limit, keep_index)
    base, branch = git.head_and_branch()
    parent = ["-p", base] if base else []
    commit = git.run("commit-tree", tree, *parent, "-m", message, env=IDENTITY).strip()
    return Snapshot(commit=commit, tree=tree, base=base, branch=branch, excluded=excluded, index=keep_index)


def changed(git: Git, snapshot: Snapshot) -> bool:
    """Whether a file of the snapshot changed or vanished in the workspace since it was taken.

    New files (a run's `model.pt`, `outputs/`) are no code change: only the snapshot's own
    files count. With the kept index this is one `git add -u` that re-reads only files whose
    stat changed; without it the snapshot's tree is read into a fresh index and hashed."""
    with tempfile.TemporaryDirectory(prefix="gitexp-index-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        if snapshot.index is not None and snapshot.index.exists():
            shutil.copyfile(snapshot.index, index)
        else:
            git.run("read-tree", snapshot.tree, env=env)
        git.run_bytes("add", "-u", "--", ".", env=env)
        return git.run("write-tree", env=env).strip() != snapshot.tree


def new_files(git: Git, snapshot: Snapshot, since: float) -> list[str]:
    """Untracked, not-ignored files that are not in the snapshot and were written after `since`:
    what runs in the workspace produced. Against the kept index (the snapshot's own files) one
    listing says it; without it, the workspace's untracked files less the snapshot's tree."""
    if snapshot.index is not None and snapshot.index.exists():
        listing = git.run_bytes("ls-files", "-z", "--others", "--exclude-standard",
                                env={"GIT_INDEX_FILE": str(snapshot.index)})
        have: set[bytes] = set()
    else:
        listing = git.run_bytes("ls-files", "-z", "--others", "--exclude-standard")
        have = set(git.run_bytes("ls-tree", "-r", "-z", "--name-only", snapshot.tree).split(b"\0"))
    out = []
    for raw in listing.split(b"\0"):
        if not raw or raw in have:
            continue
        path = raw.decode(errors="surrogateescape")
        try:
            if os.lstat(git.root / path).st_mtime >= since:
                out.append(path)
        except OSError:
            continue
    return out


def materialize(git: Git, commit: str, dest: Path, left_out: tuple[dict, ...] = ()) -> Path:
    """Check out `commit` into `dest` (once; reused after) through a private index, and link
    in what the workspace has beside the snapshot's files.

    Used when a file of the snapshot changed after launch, so the remaining runs still execute
    exactly the snapshotted code, while seeing the same data as a run started by hand: every
    git-ignored entry of the workspace (`data/`, `.venv/`, caches) and every untracked file
    left out of the snapshot (`left_out`: too large, or an output) becomes a symlink to the
    workspace's own. The user's index and work tree are not involved.
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
    _link_workspace(git, tmp, [item["path"] for item in left_out])
    (tmp / ".gitexp-complete").touch()
    try:
        os.replace(tmp, dest)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _link_workspace(git: Git, dest: Path, extra: list[str]) -> None:
    """Symlink the workspace's ignored entries (whole ignored folders as one link) into `dest`."""
    listing = git.run_bytes("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory")
    paths = [raw.decode(errors="surrogateescape").rstrip("/") for raw in listing.split(b"\0") if raw]
    for rel in dict.fromkeys([*paths, *(p.rstrip("/") for p in extra)]):
        if not rel or Path(rel).name == "__pycache__":
            continue  # bytecode is per checkout: sharing it would only make both sides recompile
        target, link = git.root / rel, dest / rel
        if link.exists() or link.is_symlink() or any(p.is_symlink() for p in link.parents if dest in p.parents):
            continue  # the snapshot has it, or a linked folder above already brings it
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(target, target_is_directory=target.is_dir())
        except OSError:
            continue
