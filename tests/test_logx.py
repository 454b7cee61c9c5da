"""`gitexp.logx`: runx's logx API writing runx's files, with every scalar also in gitexp."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitexp.record import model as record
from gitexp.track import artifacts

# runx's examples/mnist.py reduced to its logx calls; only the import line differs from runx.
RUNX_EXAMPLE = """\
import argparse
import numpy as np
from gitexp.logx import logx

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.01)
p.add_argument("--logdir", default=None)
args = p.parse_args()
logx.initialize(logdir=args.logdir, coolname=False, tensorboard=True, hparams=vars(args))
for epoch in range(3):
    for it in range(2):
        logx.msg(f"Train Epoch: {epoch} [{it}]\\tLoss: {1.0 / (epoch + 1):.6f}")
        logx.metric("train", {"loss": 1.0 / (epoch + 1)}, epoch * 2 + it)
    accuracy = [50.0, 70.0, 60.0][epoch]
    logx.metric("val", {"loss": 0.5 / (epoch + 1), "accuracy": accuracy}, epoch)
    logx.add_scalar("lr", args.lr, epoch)
    logx.add_image("sample", np.array([[[0.0, 0.5], [1.0, 0.25]]]), epoch)
    logx.save_model({"epoch": epoch + 1, "state_dict": {"w": [epoch]}}, metric=accuracy, epoch=epoch,
                    higher_better=True)
"""


def run_example(folder: Path) -> subprocess.CompletedProcess:
    (folder / "example.py").write_text(RUNX_EXAMPLE)
    proc = subprocess.run([sys.executable, "example.py", "--lr", "0.1", "--logdir", str(folder)], cwd=folder,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GITEXP_RUN_DIR": str(folder)})
    assert proc.returncode == 0, proc.stderr
    return proc


def test_runx_files_are_written_as_runx_writes_them(tmp_path):
    proc = run_example(tmp_path)
    assert "Train Epoch: 2 [1]\tLoss: 0.333333" in proc.stdout
    assert (tmp_path / "logging.log").read_text().count("Train Epoch") == 6
    assert json.loads((tmp_path / "hparams.json").read_text()) == {"lr": 0.1, "logdir": str(tmp_path)}
    rows = list(csv.reader((tmp_path / "metrics.csv").open()))
    assert rows[0][:3] == ["start", "start/step", "0"]
    assert [row[:7] for row in rows[1:]] == [  # val rows only, as runx
        ["val", "loss", str(0.5 / (e + 1)), "accuracy", acc, "epoch", str(e)]
        for e, acc in enumerate(["50.0", "70.0", "60.0"])]
    names = sorted(p.name for p in tmp_path.glob("*_checkpoint_ep*.pth"))
    assert names == ["best_checkpoint_ep1.pth", "last_checkpoint_ep2.pth"]  # old ones deleted, as runx
    assert any("tfevents" in p.name for p in tmp_path.iterdir())


def test_logx_scalars_flow_into_gitexp_once(tmp_path):
    run_example(tmp_path)
    from gitexp.track.tensorboard import Ingest

    assert Ingest(tmp_path).poll() == 0  # logx's own event file is not ingested a second time
    points = record.read_series(tmp_path / ".gitexp" / "metrics.jsonl")
    by_key: dict[str, list] = {}
    for p in points:
        by_key.setdefault(p["key"], []).append((p["step"], p["value"]))
    assert by_key["val/accuracy"] == [(0, 50.0), (1, 70.0), (2, 60.0)]
    assert [s for s, _ in by_key["train/loss"]] == [0, 1, 2, 3, 4, 5]
    assert by_key["lr"] == [(0, 0.1), (1, 0.1), (2, 0.1)]
    entries = {Path(e["path"]).name: e for e in artifacts.read_manifest(tmp_path)}
    assert set(entries) == {"best_checkpoint_ep1.pth", "last_checkpoint_ep2.pth"}
    assert entries["best_checkpoint_ep1.pth"]["metric"] == 70.0
    assert all(artifacts.verify(e) for e in entries.values())


def test_event_file_holds_scalars_and_a_png_image(tmp_path):
    run_example(tmp_path)
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader

    [events] = [p for p in tmp_path.iterdir() if "tfevents" in p.name]
    tags, images = set(), []
    for event in LegacyEventFileLoader(str(events)).Load():
        for value in event.summary.value:
            tags.add(value.tag)
            if value.HasField("image"):
                images.append(value.image)
    assert {"train/loss", "val/accuracy", "val/loss", "lr", "sample"} <= tags
    assert images and images[0].encoded_image_string.startswith(b"\x89PNG") and images[0].width == 2


def test_unknown_phase_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from gitexp import logx\n"
                           f"logx.initialize(logdir={str(tmp_path)!r})\nlogx.metric('eval', {{'a': 1}})\n"],
                          capture_output=True, text=True, env={**os.environ, "GITEXP_RUN_DIR": str(tmp_path)})
    assert proc.returncode != 0 and "phase 'eval' is not one of" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_with_torch_checkpoints_are_torch_files_and_events_come_from_summarywriter(tmp_path):
    run_example(tmp_path)
    import torch

    best = torch.load(tmp_path / "best_checkpoint_ep1.pth", weights_only=False)
    assert best["epoch"] == 2 and best["__metric"] == 70.0
    [events] = [p for p in tmp_path.iterdir() if "tfevents" in p.name]
    assert events.name.endswith(".gitexp-mirror")


def test_closing_the_tensorboard_writer_as_runx_scripts_do_is_not_an_error(tmp_path):
    """`logx.tensorboard.close()` ends the writer; logx's flush after each call must not touch it then."""
    script = ("from gitexp.logx import logx\n"
              f"logx.initialize(logdir={str(tmp_path)!r}, tensorboard=True)\n"
              "for step in range(3):\n"
              "    logx.metric('val', {'loss': 1.0 / (step + 1)}, step)\n"
              "logx.tensorboard.close()\n")
    for _ in range(3):  # the writer's thread may or may not have ended by the flush: try a few times
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env={**os.environ, "GITEXP_RUN_DIR": str(tmp_path)})
        assert proc.returncode == 0, proc.stderr


def test_the_event_writer_flushed_or_closed_again_after_close_is_a_no_op(tmp_path):
    from gitexp.track.tensorboard import EventWriter

    writer = EventWriter(tmp_path)
    writer.add_scalar("loss", 0.5, 1)
    writer.close()
    writer.flush()  # TensorBoard's own writer raises "Writer is closed" here
    writer.close()
