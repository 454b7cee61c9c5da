"""Verbs that change what is kept: `rm`, `gc`, `branch`, `apply`.

`rm` deletes run refs with old-value checks; `gc` removes run folders nobody refers to and
lets git prune the objects they left unreachable; `branch` and `apply` bring a run's code
back to the user, and `apply` refuses to overwrite uncommitted work.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.errors import GitexpError, RefConflictError, WorkspaceError
from gitexp.record import liveness, model as record, store
from gitexp.record.git import ZERO_SHA, Git
from gitexp.record.refs import INCOMING_PREFIX, ORIGIN_PREFIX, TMP_PREFIX, RunRef, check_name


def rm(git: Git, targets: list[tuple[RunRef, str]]) -> list[RunRef]:
    """Delete run refs, and the origin refs of pulled runs, which would keep their objects alive.

    A run that is still queued or running is refused: its scheduler would find its ref gone.
    """
    with git.cat_file() as cat:
        live = [run for run, commit in targets
                if _is_live(store.load_run(git, cat, run, commit).info)]
    if live:
        names = " ".join(run.id for run in live[:5])
        raise GitexpError(f"{names}{' ...' if len(live) > 5 else ''}: still queued or running",
                          hint=f"stop it first: gitexp kill {names}")
    origins = _refs_under(git, ORIGIN_PREFIX)
    removed = []
    for run, commit in targets:
        store.delete_ref(git, run, commit)
        removed.append(run)
        for ref in origins:  # refs/gitexp/origin/<remote>/<sweep>/<run>
            if ref[len(ORIGIN_PREFIX):].partition("/")[2] == run.id:
                git.run("update-ref", "-d", ref, check=False)
    return removed


def _is_live(info: dict) -> bool:
    return info.get("status") in ("queued", "running") and liveness.owner_alive(info) is not False


def _refs_under(git: Git, prefix: str) -> list[str]:
    return git.run("for-each-ref", "--format=%(refname)", prefix).split()


@dataclass
class GcResult:
    folders_removed: list[str]
    bytes_freed: int
    artifacts_removed: list[str] = field(default_factory=list)  # run ids cleared under the artifact root


def gc(git: Git, prune: bool = True, now: bool = False) -> GcResult:
    """Delete run folders (logs, artifacts) of runs that no longer have a ref, then prune objects."""
    live = {run.id for run in store.list_runs(git)}
    root = record.runs_root(git.gitexp_dir)
    removed, freed = [], 0
    if root.exists():
        for sweep_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for run_dir in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
                run_id = f"{sweep_dir.name}/{run_dir.name}"
                if run_id in live:
                    continue
                folder = run_dir.resolve()  # under LOGROOT, the usual place is a link to it
                freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
                shutil.rmtree(folder, ignore_errors=True)
                if run_dir.is_symlink():
                    run_dir.unlink()
                removed.append(run_id)
            if not any(sweep_dir.iterdir()):
                sweep_dir.rmdir()
    from gitexp.track import artifacts

    elsewhere, more = artifacts.remove_orphans(artifacts.configured_root(git.root), live)
    freed += more
    runs = store.list_runs(git)
    checkouts = git.gitexp_dir / "checkouts"
    if checkouts.exists() and any(checkouts.iterdir()):
        needed = set(git.run("rev-parse", *(f"{commit}^1" for commit in runs.values())).split()) if runs else set()
        for folder in checkouts.iterdir():
            if folder.name not in needed:
                shutil.rmtree(folder, ignore_errors=True)
    for ref in _refs_under(git, INCOMING_PREFIX):  # pull's staging area: merged already
        git.run("update-ref", "-d", ref, check=False)
    for ref in _refs_under(git, TMP_PREFIX):  # scratch refs of writers that died mid-write
        if not liveness.pid_alive(ref[len(TMP_PREFIX):].partition("-")[0]):
            git.run("update-ref", "-d", ref, check=False)
    if prune:
        if now:
            with git.cat_file() as cat:
                if any(_is_live(store.load_run(git, cat, run, commit).info) for run, commit in runs.items()):
                    raise GitexpError("runs are queued or running: pruning now could delete objects they "
                                      "are about to reference", hint="wait for them, or drop --now")
        # git's own grace period protects objects a concurrent writer has made but not yet referenced
        git.run("prune", "--expire=now" if now else "--expire=2.weeks.ago")
    return GcResult(removed, freed, elsewhere)


def _snapshot_of(git: Git, commit: str) -> str:
    return git.run("rev-parse", f"{commit}^1").strip()


def branch(git: Git, text: str, name: str) -> tuple[RunRef, str]:
    """A normal branch at the run's code snapshot (never moves an existing branch)."""
    if name.startswith("refs/"):  # would become refs/heads/refs/heads/x
        short = name.removeprefix("refs/heads/")
        raise GitexpError(f"{name!r} is a ref, not a branch name", hint=f"pass the branch name: {short}")
    run, commit = store.resolve(git, text)
    check_name(name.replace("/", "_"), "branch")
    snapshot = _snapshot_of(git, commit)
    if not git.ok("check-ref-format", f"refs/heads/{name}"):
        raise GitexpError(f"{name!r} is not a valid branch name")
    if git.rev_parse(f"refs/heads/{name}"):
        raise GitexpError(f"branch {name!r} already exists", hint="choose another name")
    try:
        git.run("update-ref", f"refs/heads/{name}", snapshot, ZERO_SHA)
    except GitexpError as error:
        raise RefConflictError(f"could not create branch {name!r}: {error}") from None
    return run, snapshot


def apply(git: Git, text: str) -> tuple[RunRef, list[str]]:
    """Make the working tree match the run's code; the index and HEAD stay as they are.

    Refused when any tracked file has uncommitted changes, or when an untracked file would
    be overwritten by different content: the user's work is never lost.
    """
    run, commit = store.resolve(git, text)
    snapshot = _snapshot_of(git, commit)
    dirty = [line[3:] for line in git.run("status", "--porcelain", "--untracked-files=no").splitlines()]
    if dirty:
        raise WorkspaceError(
            f"refusing to apply {run}: uncommitted changes in {', '.join(dirty[:5])}"
            + (" ..." if len(dirty) > 5 else ""), hint="commit or stash them first")
    untracked = [p for p in git.run("ls-files", "-z", "--others", "--exclude-standard").split("\0") if p]
    clashes = []
    for path in untracked:
        theirs = git.show_file(snapshot, path)
        if theirs is None:
            continue
        local = git.root / path
        if not local.is_file() or local.is_symlink() or local.read_bytes() != theirs:
            clashes.append(path)
    if clashes:
        raise WorkspaceError(f"refusing to apply {run}: it would overwrite untracked {', '.join(clashes[:5])}",
                             hint="move those files away first")
    # tree against tree: a work-tree diff would refresh (write) the user's index
    changed = [p for p in git.run("diff-tree", "-r", "-z", "--name-only", "HEAD", snapshot, check=False).split("\0") if p]
    # restore through a copy of the index: it may refresh stat data, and the real index is not ours.
    with tempfile.TemporaryDirectory(prefix="gitexp-apply-") as tmp:
        index = Path(tmp) / "index"
        if (git.git_dir / "index").exists():
            shutil.copyfile(git.git_dir / "index", index)
        git.run("restore", f"--source={snapshot}", "--worktree", "--", ".", env={"GIT_INDEX_FILE": str(index)})
    return run, changed
