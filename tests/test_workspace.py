"""Runs see the workspace as if started by hand; snapshots hold code, not the runs' outputs."""

from __future__ import annotations

import json

from gitexp.record.git import open_repo
from gitexp.record.snapshot import take_snapshot

TRAIN = '''\
import argparse, os, pathlib
p = argparse.ArgumentParser()
p.add_argument("--x", type=int)
a = p.parse_args()
text = open("data/train.txt").read()          # gitignored data, by relative path
pathlib.Path("model.pt").write_text(f"weights {a.x}")
pathlib.Path("outputs/x%d" % a.x).mkdir(parents=True, exist_ok=True)
pathlib.Path("outputs/x%d/log.txt" % a.x).write_text("log")
pathlib.Path("results_%d.csv" % a.x).write_text("acc\\n0.5\\n")
print("read", len(text), "cwd", os.getcwd())
'''


def record(repo, ref: str) -> dict:
    return json.loads(repo.show(f"{ref}:.gitexp/run.json"))


def files_of(repo, commit: str) -> set[str]:
    return set(repo.git("ls-tree", "-r", "--name-only", commit).split())


def project(repo):
    repo.commit(".gitignore", **{".gitignore": "ignored/\n*.ckpt\ndata/\n", "train.py": TRAIN})
    repo.write("data/train.txt", "hello world\n")
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  x: [1, 2, 3]\n")


def test_outputs_written_into_the_work_tree_are_no_code_change(repo):
    project(repo)
    repo.gitexp("run", "exp.yml")
    for x in (1, 2, 3):
        info = record(repo, f"refs/experiments/exp/x{x}")
        assert info["status"] == "completed", repo.show(f"refs/experiments/exp/x{x}:.gitexp/output.log")
        assert info["code_dir"] == str(repo.path.resolve())  # never moved to a private checkout


def test_next_snapshot_leaves_out_what_runs_wrote_and_show_lists_it(repo):
    project(repo)
    repo.gitexp("run", "exp.yml")
    repo.write("exp2.yml", "CMD: python train.py\nHPARAMS:\n  x: [4]\n")
    repo.write("new_module.py", "X = 1\n")  # new code the user wrote stays in
    repo.gitexp("run", "exp2.yml")
    snapshot = record(repo, "refs/experiments/exp2/x4")["snapshot"]
    files = files_of(repo, snapshot)
    assert "new_module.py" in files and "train.py" in files
    assert not {f for f in files if f.startswith(("outputs/", "model.pt", "results_"))}, files
    shown = repo.gitexp("show", "exp2/x4").stdout
    assert "left out of the snapshot" in shown
    assert "outputs/" in shown and "model.pt" in shown and "results_1.csv" in shown


def test_committed_outputs_stay_and_config_adds_and_takes_back_patterns(repo):
    repo.commit("weights", **{"pretrained.pt": "committed weights"})
    repo.write("runs/event", "e")
    repo.write("keep.pt", "tiny")
    repo.write("scratch/tmp.bin", "x")
    repo.git("config", "--add", "gitexp.exclude", "scratch/")
    repo.git("config", "--add", "gitexp.exclude", "!keep.pt")
    snap = take_snapshot(open_repo(repo.path), "test")
    files = files_of(repo, snap.commit)
    assert "pretrained.pt" in files and "keep.pt" in files
    assert "runs/event" not in files and "scratch/tmp.bin" not in files
    assert {e["path"] for e in snap.excluded} == {"runs/", "scratch/"}


def test_private_checkout_links_the_workspaces_ignored_files(repo):
    # The first run edits a file of the snapshot: the others run from a private checkout,
    # which must still see the gitignored data/ and the virtualenv-like ignored/ folder.
    project(repo)
    repo.write("train.py", TRAIN + 'if a.x == 1:\n    pathlib.Path("train.py").write_text("print(1)")\n')
    repo.write("ignored/tool.txt", "tool")
    repo.gitexp("run", "exp.yml")
    second = record(repo, "refs/experiments/exp/x2")
    assert second["status"] == "completed", repo.show("refs/experiments/exp/x2:.gitexp/output.log")
    assert ".git/gitexp/checkouts/" in second["code_dir"]
    checkout = repo.path / ".git" / "gitexp" / "checkouts" / second["snapshot"]
    assert (checkout / "data").is_symlink() and (checkout / "ignored" / "tool.txt").read_text() == "tool"
    assert (checkout / "train.py").read_text() != "print(1)"
