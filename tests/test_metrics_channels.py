"""Every channel into one run under `gitexp run`: API, logx, TensorBoard writers, printed lines;
environment and checkpoints in the record; live progress visible mid-run; a crash loses at
most the live interval."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gitexp.track import artifacts

ALL_CHANNELS = """\
import argparse, os
import gitexp
from gitexp.logx import logx
from tensorboard.summary import Writer

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--seed", type=int)
p.add_argument("--logdir")
a = p.parse_args()
logx.initialize(logdir=a.logdir, tensorboard=True)
tb = Writer(os.path.join(a.logdir, "tb"))
for epoch in range(3):
    gitexp.log({"api_loss": a.lr / (epoch + 1)}, step=epoch)
    logx.metric("val", {"acc": 0.5 + epoch / 10}, epoch)
    tb.add_scalar("tb_loss", 2.0 - epoch, epoch)
    print(f"epoch {epoch} printed_ppl {100 - epoch}")
    gitexp.save_checkpoint({"epoch": epoch}, metric=0.5 + epoch / 10)
tb.flush()
gitexp.summary["best_acc"] = 0.7
"""
TORCH_WRITER = """\
from torch.utils.tensorboard import SummaryWriter
w = SummaryWriter(log_dir=os.path.join(a.logdir, "torch"))
w.add_scalar("torch_loss", 0.25, 4)
w.close()
"""


def test_every_channel_lands_in_one_record(repo):
    with_torch = importlib.util.find_spec("torch") is not None
    repo.write("channels.py", ALL_CHANNELS + (TORCH_WRITER if with_torch else ""))
    repo.write("exp.yml", "CMD: python channels.py\nHPARAMS:\n  lr: [0.1]\n  seed: [7]\n  logdir: LOGDIR\n"
               "METRICS:\n  printed_ppl: 'printed_ppl (\\d+)'\n")
    repo.gitexp("run", "exp.yml")
    [ref] = repo.refs()
    metrics = json.loads(repo.show(f"{ref}:.gitexp/metrics.json"))
    assert metrics["api_loss"] == pytest.approx(0.1 / 3) and metrics["val/acc"] == pytest.approx(0.7)
    assert metrics["tb_loss"] == 0.0 and metrics["printed_ppl"] == 98.0 and metrics["best_acc"] == 0.7
    if with_torch:
        assert metrics["torch_loss"] == 0.25
    points = [json.loads(line) for line in repo.show(f"{ref}:.gitexp/metrics.jsonl").splitlines()]
    assert sum(p["key"] == "val/acc" for p in points) == 3  # logx's event file is not ingested twice
    info = json.loads(repo.show(f"{ref}:.gitexp/run.json"))
    assert info["environment"]["seed"] == 7 and info["environment"]["python"] == sys.version.split()[0]
    assert "tensorboard" in info["environment"]["packages"]
    roles = {a["role"]: a for a in info["artifacts"]}
    assert roles["best"]["metric"] == pytest.approx(0.7) and all(artifacts.verify(a) for a in info["artifacts"])
    shown = repo.gitexp("show", ref.split("refs/experiments/")[1]).stdout
    assert "artifacts" in shown and roles["best"]["sha256"][:12] in shown
    out = repo.path.parent / "tb"
    repo.gitexp("tensorboard", ref.split("refs/experiments/")[1], "--export", str(out))
    assert list(out.glob("exp/*/*tfevents*"))


SLOW = """\
import sys, time
import gitexp
for step in range(5):
    gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
print("logged", flush=True)
time.sleep(float(sys.argv[2]))  # --sleep N
"""


def _show(repo, run: str) -> dict:
    return json.loads(repo.gitexp("show", run, "--json").stdout)


def _launch(repo, interval: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gitexp", "run", "exp.yml", "--live-interval", interval],
                            cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"})


def test_metrics_are_visible_mid_run_before_any_live_commit(repo):
    repo.write("slow.py", SLOW)
    repo.write("exp.yml", "CMD: python slow.py\nHPARAMS:\n  sleep: [60]\n")
    proc = _launch(repo, "600")
    try:
        assert "logged" in proc.stdout.readline()
        [ref] = repo.refs()
        deadline, shown = time.monotonic() + 30, {}
        while time.monotonic() < deadline and len(shown.get("metrics", {})) == 0:
            time.sleep(0.2)
            shown = _show(repo, ref.split("refs/experiments/")[1])
        assert shown["status"] == "running" and shown["live"]
        assert shown["metrics"] == {"loss": 0.2}
        assert json.loads(repo.show(f"{ref}:.gitexp/metrics.json")) == {}  # not committed yet: read live
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_kill_9_loses_no_more_than_the_live_interval(repo):
    repo.write("slow.py", SLOW)
    repo.write("exp.yml", "CMD: python slow.py\nHPARAMS:\n  sleep: [60]\n")
    proc = _launch(repo, "1")
    try:
        assert "logged" in proc.stdout.readline()
        deadline, committed = time.monotonic() + 30, []
        [ref] = repo.refs()
        while time.monotonic() < deadline and len(committed) < 5:  # within about one interval
            time.sleep(0.2)
            committed = repo.show(f"{ref}:.gitexp/metrics.jsonl").splitlines()
        assert len(committed) == 5
    finally:
        proc.kill()  # the whole scheduler, no cleanup; its reaper kills the job
        proc.wait(timeout=30)
    shown = _show(repo, ref.split("refs/experiments/")[1])
    assert shown["status"] == "lost" and shown["metrics"] == {"loss": 0.2}
