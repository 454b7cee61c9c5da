"""`gitexp push` / `gitexp pull` between two real repos through a bare remote."""

from __future__ import annotations

import json

import pytest

from conftest import Repo, git

SWEEP = """\
CMD: python train.py
HPARAMS:
  lr: [0.1, 0.01]
"""


def _run_sweep(repo: Repo) -> None:
    """Record two completed runs the way `gitexp run exp.yml` does (snapshot + record commits),
    without running processes: these tests are about moving records, not making them."""
    from gitexp.record import store
    from gitexp.record.git import open_repo
    from gitexp.record.refs import RunRef
    from gitexp.record.snapshot import take_snapshot

    repo.write("exp.yml", SWEEP)
    g = open_repo(repo.path)
    snap = take_snapshot(g, "gitexp snapshot for sweep exp")
    writes = []
    for lr in (0.1, 0.01):
        run = RunRef("exp", f"lr{lr}")
        info = {"schema": 1, "sweep": "exp", "name": run.name, "status": "completed", "exit_code": 0,
                "params": {"lr": lr}, "snapshot": snap.commit, "base_commit": snap.base,
                "created": "2024-01-01T00:00:00+00:00", "host": str(repo.path)}
        writes.append(store.RecordWrite(run, snap.commit, None, store.record_files(
            info, {"acc": 0.5 + 2 * lr}, b"", b"trained\n"), f"gitexp: {run} completed"))
    store.write_records(g, writes)


@pytest.fixture
def hub(tmp_path):
    """A bare remote, and a second clone of the project (alice = `repo`, bob = the clone)."""
    bare = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    return bare


def _clone(bare, dest) -> Repo:
    git(dest.parent, "clone", "-q", str(bare), str(dest))
    return Repo(dest)


def _ls(repo: Repo) -> dict[str, dict]:
    return {row["run"]: row for row in json.loads(repo.gitexp("ls", "--json").stdout)}


def test_push_pull_round_trip_keeps_records_and_shows_origin(repo, hub, tmp_path):
    repo.git("remote", "add", "origin", str(hub))
    repo.git("push", "-q", "origin", "main")
    _run_sweep(repo)
    runs = repo.refs()

    first = repo.gitexp("push")
    assert "2 new" in first.stderr
    again = repo.gitexp("push", "origin", "exp")
    assert "0 new, 0 updated, 2 already there" in again.stderr
    assert git(hub, "for-each-ref", "--format=%(refname) %(objectname)", "refs/experiments/").split() == [
        x for ref in sorted(runs) for x in (ref, runs[ref])]

    bob = _clone(hub, tmp_path / "bob")
    assert bob.refs() == {}, "a plain clone must not fetch experiments"
    pulled = bob.gitexp("pull")
    assert "2 new" in pulled.stderr
    assert bob.refs() == runs  # same commits: identical records, code snapshot included
    assert bob.show(f"{runs['refs/experiments/exp/lr0.1']}^1:exp.yml") == SWEEP
    rows = _ls(bob)
    assert rows["exp/lr0.1"]["origin"] == "origin" and rows["exp/lr0.1"]["status"] == "completed"
    assert rows["exp/lr0.1"]["metrics"]["acc"] == pytest.approx(0.7)
    assert _ls(repo)["exp/lr0.1"]["origin"] is None  # made here
    assert "origin" in bob.gitexp("ls").stdout.splitlines()[0]
    queried = bob.gitexp("query", "select run, origin from runs order by run", "--format", "csv").stdout
    assert "exp/lr0.1,origin" in queried  # query sees where a run came from, as the sidebar does
    assert "0 new, 0 updated, 2 unchanged" in bob.gitexp("pull", "origin").stderr


def test_same_name_different_run_is_never_overwritten(repo, hub, tmp_path):
    repo.git("remote", "add", "origin", str(hub))
    repo.git("push", "-q", "origin", "main")
    bob = _clone(hub, tmp_path / "bob")
    for who in (repo, bob):  # both run a sweep of the same name, independently
        _run_sweep(who)
    alice_runs, bob_runs = repo.refs(), bob.refs()
    assert set(alice_runs) == set(bob_runs) and alice_runs != bob_runs

    repo.gitexp("push")
    refused = bob.gitexp("push", check=False)
    assert refused.returncode == 1
    assert "exp/lr0.1: refused by origin" in refused.stderr
    assert git(hub, "rev-parse", "refs/experiments/exp/lr0.1").strip() == alice_runs["refs/experiments/exp/lr0.1"]

    pulled = bob.gitexp("pull")
    assert "exp/lr0.1 differs from the local run of that name; theirs kept as exp/lr0.1.origin" in pulled.stderr
    refs = bob.refs()
    assert refs["refs/experiments/exp/lr0.1"] == bob_runs["refs/experiments/exp/lr0.1"]  # ours untouched
    assert refs["refs/experiments/exp/lr0.1.origin"] == alice_runs["refs/experiments/exp/lr0.1"]
    assert _ls(bob)["exp/lr0.1.origin"]["origin"] == "origin"
    assert bob.gitexp("pull").stderr.count("theirs kept as") == 2  # stable: no new copies
    assert bob.refs() == refs


def test_progress_fast_forwards_and_newer_local_record_stays(repo, hub, tmp_path):
    """A record only moves forward (the new commit has the old as a parent): both ways are fast-forwards."""
    _run_sweep(repo)
    repo.gitexp("push", str(hub), "exp/lr0.1")
    bob = Repo(tmp_path / "bob")
    bob.path.mkdir()
    bob.git("init", "-q")
    bob.gitexp("pull", str(hub))
    old = repo.refs()["refs/experiments/exp/lr0.1"]
    assert bob.refs() == {"refs/experiments/exp/lr0.1": old}
    label = _ls(bob)["exp/lr0.1"]["origin"]
    assert label.endswith("_hub.git") and "/" not in label  # a URL/path remote: its sanitized address

    newer = _rerun_record(repo, "exp/lr0.1", old)
    assert "1 updated" in repo.gitexp("push", str(hub), "exp").stderr
    assert "1 updated" in bob.gitexp("pull", str(hub)).stderr
    assert bob.refs()["refs/experiments/exp/lr0.1"] == newer
    assert _ls(bob)["exp/lr0.1"]["origin"] == label

    git(hub, "update-ref", "refs/experiments/exp/lr0.1", old)  # the remote lags behind us
    assert "1 newer here" in bob.gitexp("pull", str(hub)).stderr
    assert bob.refs()["refs/experiments/exp/lr0.1"] == newer


def _rerun_record(repo: Repo, run_id: str, old: str) -> str:
    """A forward move of a record, written the way gitexp writes every record (old as parent)."""
    from gitexp.record import store
    from gitexp.record.git import open_repo
    from gitexp.record.refs import RunRef

    g = open_repo(repo.path)
    run = RunRef.parse(run_id)
    info = json.loads(repo.show(f"{old}:.gitexp/run.json"))
    info["note"] = "second attempt"
    write = store.RecordWrite(run, repo.git("rev-parse", f"{old}^1").strip(), old,
                              store.record_files(info, {"acc": 1.0}, b"", b""), "test: progress")
    return store.write_records(g, [write])[run]


def test_clone_skips_experiments_unless_asked(repo, hub, tmp_path):
    _run_sweep(repo)
    repo.git("remote", "add", "origin", str(hub))
    repo.git("push", "-q", "origin", "main")
    repo.gitexp("push")
    plain = _clone(hub, tmp_path / "plain")
    plain.git("fetch", "-q", "origin")
    assert plain.refs() == {} and plain.refs("refs/gitexp/") == {}
    git(tmp_path, "clone", "-q", "--mirror", str(hub), str(tmp_path / "mirror.git"))
    assert len(git(tmp_path / "mirror.git", "for-each-ref", "refs/experiments/").splitlines()) == 2


def test_pull_from_unreachable_remote_is_one_clear_line(repo, tmp_path):
    proc = repo.gitexp("pull", str(tmp_path / "nowhere.git"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("gitexp: error: git fetch from") and len(proc.stderr.splitlines()) == 1
    assert repo.gitexp("push", check=False).stderr.startswith("gitexp: error: no remote given")
