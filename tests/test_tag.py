"""`gitexp tag`: tags and stars go into the run record as a fast-forward commit, show in
`ls`/`show`/`query`, travel with `push`/`pull`; bad names and live runs write nothing."""

from __future__ import annotations

import json

from conftest import git
from test_remote import _clone, _ls, _run_sweep, hub  # noqa: F401  (the bare-remote fixture)


def test_tag_round_trip_through_ls_show_query_push_and_pull(repo, hub, tmp_path):  # noqa: F811
    repo.git("remote", "add", "origin", str(hub))
    repo.git("push", "-q", "origin", "main")
    _run_sweep(repo)
    old = repo.refs()["refs/experiments/exp/lr0.1"]

    tagged = repo.gitexp("tag", "exp/lr0.1", "star", "note=baseline", "seed=3")
    assert tagged.stdout.strip() == "exp/lr0.1: star note=baseline seed=3"
    new = repo.refs()["refs/experiments/exp/lr0.1"]
    assert old in repo.git("rev-list", "--parents", "-1", new).split()  # fast-forward on the old record
    info = json.loads(repo.show("refs/experiments/exp/lr0.1:.gitexp/run.json"))
    assert info["tags"] == {"star": True, "note": "baseline", "seed": 3}
    assert info["params"] == {"lr": 0.1} and info["status"] == "completed"  # the rest is kept
    assert repo.show("refs/experiments/exp/lr0.1:.gitexp/output.log") == "trained\n"

    assert _ls(repo)["exp/lr0.1"]["tags"] == {"star": True, "note": "baseline", "seed": 3}
    assert "star note=baseline seed=3" in repo.gitexp("ls").stdout
    assert "tags      star note=baseline seed=3" in repo.gitexp("show", "exp/lr0.1").stdout
    csv = repo.gitexp("query", "select run from runs where tags->>'note' = 'baseline'", "--format", "csv").stdout
    assert csv.split() == ["run", "exp/lr0.1"]

    repo.gitexp("tag", "--rm", "exp/lr0.1", "seed")
    assert repo.gitexp("tag", "exp/lr0.1").stdout.strip() == "exp/lr0.1: star note=baseline"

    repo.gitexp("push")
    bob = _clone(hub, tmp_path / "bob")
    bob.gitexp("pull")
    assert _ls(bob)["exp/lr0.1"]["tags"] == {"star": True, "note": "baseline"}
    assert git(hub, "rev-parse", "refs/experiments/exp/lr0.1").strip() == repo.refs()["refs/experiments/exp/lr0.1"]


def test_bad_tag_names_and_unknown_runs_write_nothing(repo):
    _run_sweep(repo)
    before = repo.refs()
    for args in (["exp/lr0.1", "has space"], ["exp/lr0.1", "a/b=1"], ["--rm", "exp/lr0.1", "x/y"],
                 ["exp/ghost", "star"]):
        proc = repo.gitexp("tag", *args, check=False)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gitexp: error: "), proc.stderr
    assert repo.refs() == before
    assert repo.gitexp("tag", "exp/lr0.1", "star").returncode == 0
    moved = repo.refs()
    repo.gitexp("tag", "exp/lr0.1", "star")  # already set: no new commit
    assert repo.refs() == moved
