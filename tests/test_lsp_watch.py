"""The language server's run watcher and options, as plain objects against real repositories."""

from __future__ import annotations

import json

import recordgen
from recordgen import Record

from gitexp.record.git import open_repo
from gitexp_lsp.options import Options, parse_options
from gitexp_lsp.watch import RepoWatcher, Watcher


def _watcher(repo) -> RepoWatcher:
    return RepoWatcher(open_repo(repo.path).common_dir)


def test_new_moved_and_deleted_refs_are_reported_by_run(repo):
    recordgen.write(repo.path, [Record("s", "a")])
    watcher = _watcher(repo)
    assert watcher.poll() == set()
    recordgen.write(repo.path, [Record("s", "b"), Record("t", "c")])
    assert watcher.poll() == {"s/b", "t/c"}
    assert watcher.poll() == set()
    commit = repo.refs()["refs/experiments/s/a"]
    repo.git("update-ref", "refs/experiments/s/a", repo.refs()["refs/experiments/s/b"], commit)
    assert watcher.poll() == {"s/a"}
    recordgen.delete(repo.path, "t/c")
    assert watcher.poll() == {"t/c"}


def test_packing_refs_means_refresh_everything(repo):
    recordgen.write(repo.path, [Record("s", "a")])
    watcher = _watcher(repo)
    repo.git("pack-refs", "--all")
    assert watcher.poll() is None


def test_live_files_of_running_runs_are_watched(repo):
    watcher = _watcher(repo)
    meta = repo.path / ".git" / "gitexp" / "runs" / "s" / "live" / ".gitexp"
    meta.mkdir(parents=True)
    (meta / "run.json").write_text(json.dumps({"status": "running"}))
    assert watcher.poll() == {"s/live"}
    with open(meta / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 1, "key": "acc", "value": 0.5}\n')
    assert watcher.poll() == {"s/live"}
    assert watcher.poll() == set()
    (meta / "run.json").write_text(json.dumps({"status": "completed", "x": 1}))
    assert watcher.poll() == {"s/live"}
    with open(meta / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 2, "key": "acc", "value": 0.6}\n')
    assert watcher.poll() == set()  # finished runs are no longer statted


def test_changes_are_debounced_and_merged(repo):
    sent = []
    watcher = Watcher(lambda: [("uri", open_repo(repo.path).common_dir)], lambda uri, runs: sent.append(runs),
                      interval=1, debounce=0.3, max_delay=2)
    watcher.tick(0.0)  # first look: remembers the state
    recordgen.write(repo.path, [Record("s", "a")])
    watcher.tick(1.0)
    recordgen.write(repo.path, [Record("s", "b")])
    watcher.tick(1.1)
    assert sent == []  # still changing
    watcher.tick(1.5)
    assert sent == [["s/a", "s/b"]]


def test_bad_options_fall_back_to_defaults_with_a_notice():
    options, notices = parse_options({"debounce": 0.5, "watchInterval": "fast", "metricGoals": {"bleu": "max"},
                                      "nope": 1})
    assert options == Options(debounce=0.5, metric_goals={"bleu": "max"})
    assert len(notices) == 2 and "watchInterval" in notices[0] and "nope" in notices[1]
    assert parse_options(None) == (Options(), [])
    assert parse_options([1])[0] == Options()
