"""TensorBoard in (event files under LOGDIR -> series) and out (records -> event files, HParams, server)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from gitexp.record import model as record
from gitexp.track.tensorboard import MIRROR_SUFFIX, EventWriter, Ingest, WorkspaceScan


def points(run_dir: Path) -> list[tuple[str, int, float]]:
    return [(p["key"], p["step"], p["value"]) for p in record.read_series(run_dir / ".gitexp" / "metrics.jsonl")]


def test_tensorboards_own_writer_is_ingested_incrementally(tmp_path):
    from tensorboard.summary import Writer

    ingest = Ingest(tmp_path)
    writer = Writer(str(tmp_path / "tb"))
    for step in range(3):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.flush()
    assert ingest.poll() == 3
    writer.add_scalar("loss", 0.1, 3)
    writer.flush()
    assert ingest.poll() == 1 and ingest.poll() == 0
    assert points(tmp_path) == [("loss", 0, 1.0), ("loss", 1, 0.5), ("loss", 2, 0.33333334), ("loss", 3, 0.1)]


def test_simple_value_events_are_ingested_and_gitexps_own_files_skipped(tmp_path):
    legacy = EventWriter(tmp_path / "nested" / "deeper")
    legacy.add_scalar("acc", 0.75, 10)
    legacy.close()
    for skipped in (EventWriter(tmp_path / ".gitexp" / "tensorboard"), EventWriter(tmp_path, MIRROR_SUFFIX)):
        skipped.add_scalar("dup", 1.0, 0)
        skipped.close()
    assert Ingest(tmp_path).poll() == 1
    assert points(tmp_path) == [("acc", 10, 0.75)]


def test_workspace_scan_lists_again_only_the_folders_that_changed(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"pkg{i}").mkdir()
        (tmp_path / f"pkg{i}" / "mod.py").write_text("pass\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "events.out.tfevents.1.h.1.0").write_bytes(b"")  # hidden folders: skipped
    scan = WorkspaceScan(tmp_path)
    scan.RACY_NS = 0  # no clock-tick doubt here: only a changed mtime lists a folder again
    assert scan.files() == []
    listed = []
    real = scan._list
    monkeypatch.setattr(scan, "_list", lambda folder, mtime: listed.append(folder) or real(folder, mtime))
    assert scan.files() == [] and listed == []  # nothing changed: one stat per folder, no listing
    new = tmp_path / "runs" / "Dec01_host" / "events.out.tfevents.2.h.42.0"
    new.parent.mkdir(parents=True)
    new.write_bytes(b"")  # a new folder changes its parent's mtime: found from the top
    assert scan.files() == [new] and sorted(listed) == [str(tmp_path), str(new.parent.parent), str(new.parent)]
    listed.clear()
    second = tmp_path / "pkg1" / "events.out.tfevents.3.h.42.0"
    second.write_bytes(b"")
    os.utime(second.parent, ns=(1, 1))  # a new mtime, whatever the clock's resolution
    assert sorted(scan.files()) == sorted([new, second]) and listed == [str(second.parent)]
    racy = WorkspaceScan(tmp_path)
    racy.RACY_NS = 10**18  # every mtime is "recent": such folders are listed on every poll
    racy.files()
    again = []
    monkeypatch.setattr(racy, "_list", lambda folder, mtime: again.append(folder) or real(folder, mtime))
    racy.files()
    assert str(tmp_path / "pkg0") in again
    second.unlink()
    shutil.rmtree(tmp_path / "pkg0")
    assert scan.files() == [new] and str(tmp_path / "pkg0") not in scan._folders


def test_old_leaf_folders_of_a_dataset_are_not_listed_yet_a_new_event_file_in_one_is_found(tmp_path, monkeypatch):
    data = tmp_path / "data" / "train"
    for c in range(20):
        (data / f"class{c}").mkdir(parents=True)
        for i in range(5):
            (data / f"class{c}" / f"img{i}.jpg").write_bytes(b"")
    (tmp_path / "logs" / "train").mkdir(parents=True)  # an existing log folder, TF/Keras style
    past = time.time() - 3600
    for folder in [tmp_path, *(p for p in tmp_path.rglob("*") if p.is_dir())]:
        os.utime(folder, (past, past))  # all of it there an hour before the run
    if os.stat(data / "class0").st_nlink != 2:
        pytest.skip("this file system does not count a folder's links as 2 + its subfolders")
    scan = WorkspaceScan(tmp_path, since=time.time())
    listed = []
    real = scan._list
    monkeypatch.setattr(scan, "_list", lambda folder, mtime: listed.append(folder) or real(folder, mtime))
    assert scan.files() == []
    assert not [f for f in listed if "class" in f]  # 20 leaves: a stat each, no listing
    assert str(data) in listed and str(tmp_path / "logs") in listed  # folders with subfolders: listed
    new = tmp_path / "logs" / "train" / "events.out.tfevents.9.h.42.0"
    new.write_bytes(b"")  # the run's writer, in an old leaf: the file moves the leaf's mtime
    assert scan.files() == [new]
    blind = WorkspaceScan(tmp_path)  # no start time: nothing is known to be old, every folder is listed
    blind_listed = []
    monkeypatch.setattr(blind, "_list", lambda folder, mtime: blind_listed.append(folder) or real(folder, mtime))
    assert blind.files() == [new] and len([f for f in blind_listed if "class" in f]) == 20


@pytest.mark.parametrize("links", [1, 2])  # btrfs counts 1; a FUSE file system may say 2 for every folder
def test_a_file_system_whose_link_counts_mean_something_else_gets_every_folder_listed(tmp_path, monkeypatch, links):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    deep = tmp_path / "a" / "b" / "c" / "events.out.tfevents.9.h.42.0"
    deep.write_bytes(b"")
    past = time.time() - 3600
    for folder in (tmp_path / "a" / "b" / "c", tmp_path / "a" / "b", tmp_path / "a", tmp_path):
        os.utime(folder, (past, past))
    os.utime(deep, None)  # written during the run, in a folder older than the run
    real_stat = os.stat

    def counted_otherwise(path, *args, **kwargs):
        info = real_stat(path, *args, **kwargs)
        if stat.S_ISDIR(info.st_mode):
            return SimpleNamespace(**{**{name: getattr(info, name) for name in dir(info) if name.startswith("st_")},
                                      "st_nlink": links})
        return info

    monkeypatch.setattr(os, "stat", counted_otherwise)
    scan = WorkspaceScan(tmp_path, since=time.time() - 60)
    assert scan.files() == [deep] and scan._counts == {real_stat(tmp_path).st_dev: False}


def test_a_corrupt_event_file_is_skipped_not_fatal(tmp_path):
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"\x00" * 7 + b"garbage" * 10)
    good = EventWriter(tmp_path / "ok")
    good.add_scalar("a", 1.0, 0)
    good.close()
    ingest = Ingest(tmp_path)
    assert ingest.poll() == 1
    assert points(tmp_path) == [("a", 0, 1.0)]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_summarywriter_is_ingested(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path / "runs"))
    writer.add_scalar("train/loss", 0.5, 1)
    writer.add_scalars("val", {"a": 1.0, "b": 2.0}, 2)
    writer.close()
    Ingest(tmp_path).poll()
    assert ("train/loss", 1, 0.5) in points(tmp_path)


TRAIN = """\
import gitexp, sys
gitexp.init()
lr = gitexp.config.lr
for step in range(4):
    gitexp.log({"loss": lr / (step + 1)}, step=step)
"""


def adhoc_runs(repo, *lrs: str) -> list[str]:
    repo.write("tb_train.py", TRAIN)
    for lr in lrs:
        subprocess.run([sys.executable, "tb_train.py", "--lr", lr, "--opt", "sgd"], cwd=repo.path, check=True,
                       timeout=60, capture_output=True)
        time.sleep(1.1)  # adhoc names carry the second they started
    return sorted(r.split("refs/experiments/")[1] for r in repo.refs())


def test_export_writes_one_folder_per_run_with_hparams(repo, tmp_path):
    runs = adhoc_runs(repo, "0.1", "0.5")
    out = tmp_path / "tb"
    repo.gitexp("tensorboard", "adhoc", "--export", str(out))
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    for run, lr in zip(runs, (0.1, 0.5)):
        [events] = list((out / run).glob("*tfevents*"))
        scalars, hparams = [], {}
        for event in EventFileLoader(str(events)).Load():
            for value in event.summary.value:
                if value.tag == metadata.SESSION_START_INFO_TAG:
                    start = metadata.parse_session_start_info_plugin_data(value.metadata.plugin_data.content)
                    hparams = {k: (v.number_value if v.HasField("number_value") else v.string_value)
                               for k, v in start.hparams.items()}
                elif value.tag == "loss":
                    scalars.append(event.step)
        assert scalars == [0, 1, 2, 3]
        assert hparams == {"lr": lr, "opt": "sgd"}
    top = [p for p in out.glob("*tfevents*")]
    assert len(top) == 1  # the HParams experiment summary, at the root as TensorBoard expects


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "lost", "running", "queued"])
def test_every_status_exports(tmp_path, status):
    from gitexp.track.tensorboard import write_run

    info = {"sweep": "s", "name": "r", "status": status, "params": {"lr": 0.1, "nested": {"a": [1, 2]}, "none": None},
            "started": "2024-01-01T00:00:00+00:00", "ended": "2024-01-01T01:00:00+00:00"}
    assert write_run(tmp_path, [{"step": 0, "key": "a", "value": 1.0}, {"step": 1, "key": "b", "value": "nan"}],
                     info) == ["a"]


@pytest.mark.slow
def test_gitexp_tensorboard_serves_the_runs_on_localhost(repo):
    runs = adhoc_runs(repo, "0.1")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "tensorboard", "--port", "0"], cwd=repo.path,
                            stderr=subprocess.PIPE, text=True, env={**os.environ})
    try:
        url = logdir = None
        deadline = time.monotonic() + 90
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            logdir = logdir or (re.search(r"run\(s\) in (\S+);", line) or [None, None])[1]
            match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            url = match.group(1) if match else None
        assert url and logdir, "TensorBoard did not announce its address"
        body = urllib.request.urlopen(f"{url}/data/runs", timeout=30).read()
        assert set(runs) <= set(json.loads(body))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not Path(logdir).exists()  # SIGTERM stops TensorBoard and removes the materialised files
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/data/runs", timeout=5)
