"""`gitexp push` / `gitexp pull`: share run refs through any git remote, never clobbering a run.

Refs involved (all outside git's default refspecs, so a plain `git clone`/`fetch` skips them):

    refs/experiments/<sweep>/<run>                   the runs themselves, pushed ref-for-ref
    refs/gitexp/incoming/<remote>/<sweep>/<run>      staging: what <remote> had at the last pull
    refs/gitexp/origin/<remote>/<sweep>/<run>        a pulled run's origin (the commit it came as)

Push sends explicit, non-forced refspecs: git itself refuses to replace a remote run unless
the new record descends from it (a run's record only ever moves forward), so re-pushing is a
no-op and a different run of the same name is reported, never overwritten. Pull fetches into
staging, then moves local refs in one `update-ref --stdin` transaction with old-value checks:
new runs are created, runs that progressed remotely fast-forward, runs that are newer here
stay, and a run whose history diverged is kept beside ours as `<run>.<remote>`.
`run.json` is never rewritten; where a run came from is the origin ref, read by `origins()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitexp.errors import GitexpError, RefConflictError
from gitexp.record import store, view
from gitexp.record.git import ZERO_SHA, Git, last_line
from gitexp.record.refs import EXPERIMENTS, INCOMING_PREFIX, ORIGIN_PREFIX, RunRef, sanitize


class RemoteError(GitexpError):
    """A push or pull could not talk to the remote, or the remote refused runs."""

    exit_code = 1


@dataclass
class PushResult:
    remote: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # run id -> why


@dataclass
class PullResult:
    remote: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_local: list[str] = field(default_factory=list)  # ours is newer than theirs
    renamed: dict[str, str] = field(default_factory=dict)  # their run id -> local id (diverged)


def default_remote(git: Git) -> str:
    """`origin` when configured, else the only remote; otherwise the user must name one."""
    remotes = git.run("remote").split()
    if "origin" in remotes:
        return "origin"
    if len(remotes) == 1:
        return remotes[0]
    raise GitexpError("no remote given and no single default", hint="name one: gitexp push REMOTE")


def label(git: Git, remote: str) -> str:
    """The remote's name in gitexp's ref namespaces: its own name, or a sanitized URL/path."""
    if remote in git.run("remote").split():
        return remote
    return sanitize(remote.rstrip("/"))


def push(git: Git, remote: str | None = None, targets: list[str] | None = None) -> PushResult:
    """Push the chosen runs (a sweep name selects all its runs; none = every run)."""
    remote = remote or default_remote(git)
    chosen = view.resolve_many(git, targets) if targets else sorted(store.list_runs(git).items())
    result = PushResult(remote)
    if not chosen:
        return result
    specs = [f"{run.ref}:{run.ref}" for run, _ in chosen]
    proc = git.call("push", "--porcelain", "--no-verify", remote, *specs)
    statuses = _porcelain(proc.stdout.decode(errors="replace"))
    if not statuses and proc.returncode != 0:
        raise RemoteError(f"git push to {remote!r} failed: {last_line(proc.stderr)}")
    for run, _ in chosen:
        flag, summary = statuses.get(run.ref, ("!", "no answer from the remote"))
        if flag == "*":
            result.created.append(run.id)
        elif flag in (" ", "+"):
            result.updated.append(run.id)
        elif flag == "=":
            result.unchanged.append(run.id)
        else:
            result.rejected[run.id] = summary
    return result


def _porcelain(text: str) -> dict[str, tuple[str, str]]:
    """`git push --porcelain` lines `<flag>\\t<from>:<to>\\t<summary>` -> {to: (flag, summary)}."""
    out = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            out[parts[1].rpartition(":")[2]] = (parts[0], parts[2])
    return out


def pull(git: Git, remote: str | None = None) -> PullResult:
    """Fetch the remote's runs into staging, then bring them in without overwriting any run."""
    remote = remote or default_remote(git)
    name = label(git, remote)
    staging = f"{INCOMING_PREFIX}{name}/"
    proc = git.call("fetch", "--no-tags", "--prune", "--quiet", remote, f"+{EXPERIMENTS}*:{staging}*")
    if proc.returncode != 0:
        raise RemoteError(f"git fetch from {remote!r} failed: {last_line(proc.stderr)}")
    theirs = _refs(git, staging)
    ours = {run.ref: commit for run, commit in store.list_runs(git).items()}
    origin_prefix = f"{ORIGIN_PREFIX}{name}/"
    origin_refs = _refs(git, origin_prefix)
    result = PullResult(remote)
    lines: list[str] = []

    def bring(local: str, commit: str, old: str | None) -> None:
        lines.append(f"update {EXPERIMENTS}{local} {commit} {old or ZERO_SHA}\n")
        origin_old = origin_refs.get(local)
        lines.append(f"update {origin_prefix}{local} {commit} {origin_old or ZERO_SHA}\n")

    for run_id, commit in sorted(theirs.items()):
        if RunRef.from_ref(EXPERIMENTS + run_id) is None:
            continue  # not a <sweep>/<run> ref: not ours to interpret
        mine = ours.get(EXPERIMENTS + run_id)
        if mine is None:
            bring(run_id, commit, None)
            result.created.append(run_id)
        elif mine == commit:
            result.unchanged.append(run_id)
        elif _is_ancestor(git, mine, commit):
            bring(run_id, commit, mine)
            result.updated.append(run_id)
        elif _is_ancestor(git, commit, mine):
            result.kept_local.append(run_id)
        else:
            local, old = _side_name(git, run_id, name, commit, ours)
            if old != commit:
                bring(local, commit, old)
            result.renamed[run_id] = local
    if lines:
        proc = git.call("update-ref", "--stdin", input="".join(lines).encode())
        if proc.returncode != 0:
            raise RefConflictError(f"runs changed locally during the pull, nothing was changed: "
                                   f"{last_line(proc.stderr)}", hint="run `gitexp pull` again")
    return result


def _refs(git: Git, prefix: str) -> dict[str, str]:
    """Refs under `prefix` as {rest of the name: commit}."""
    out = git.run("for-each-ref", "--format=%(refname) %(objectname)", prefix)
    pairs = (line.partition(" ") for line in out.splitlines())
    return {ref[len(prefix):]: sha for ref, _, sha in pairs}


def _is_ancestor(git: Git, old: str, new: str) -> bool:
    return git.ok("merge-base", "--is-ancestor", old, new)


def _side_name(git: Git, run_id: str, remote: str, commit: str, ours: dict[str, str]) -> tuple[str, str | None]:
    """Where a diverged run of theirs lives here: `<run>.<remote>` (then -2, -3 ...), reusing
    the first such name that is free or already holds an ancestor of their record."""
    sweep, _, run = run_id.partition("/")
    base, n = sanitize(f"{run}.{remote}"), 1
    while True:
        candidate = f"{sweep}/{base}" + (f"-{n}" if n > 1 else "")
        held = ours.get(EXPERIMENTS + candidate)
        if held is None or held == commit or _is_ancestor(git, held, commit):
            return candidate, held
        n += 1


def origins(git: Git, runs: dict[RunRef, str] | None = None) -> dict[RunRef, str]:
    """Pulled runs -> the remote they came from. Runs made here are absent, and so is a run
    whose record no longer descends from what was pulled (deleted, then re-made locally)."""
    runs = store.list_runs(git) if runs is None else runs
    found: dict[RunRef, str] = {}
    for rest, pulled in _refs(git, ORIGIN_PREFIX).items():
        parts = rest.split("/")
        if len(parts) < 3:
            continue
        run = RunRef(parts[-2], parts[-1])
        commit = runs.get(run)
        if commit and (commit == pulled or _is_ancestor(git, pulled, commit)):
            found[run] = "/".join(parts[:-2])
    return found
