"""`--backend ray` against a real single-node Ray cluster this module starts (2 CPUs, no dashboard)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GIT_ENV

ray = pytest.importorskip("ray", reason="the optional `ray` extra is not installed (pip install 'gitexp[ray]')")

pytestmark = pytest.mark.slow

HOLD_PY = """\
import os, sys, time
import gitexp
open(os.path.join(os.environ["LOGDIR"], "pid"), "w").write(str(os.getpid()))
gitexp.log({"alive": 1.0}, step=0)
print("holding", flush=True)
while os.path.exists(sys.argv[sys.argv.index("--hold") + 1]):
    time.sleep(0.2)
print("released")
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real single-node cluster; the CLI under test connects to it by address."""
    cache = tmp_path_factory.mktemp("node-cache")
    os.environ["GITEXP_CACHE"] = str(cache)  # inherited by the cluster's workers: the node's cache
    context = ray.init(address="local", include_dashboard=False, num_cpus=2, num_gpus=0, log_to_driver=False)
    try:
        yield context.address_info["gcs_address"], cache
    finally:
        ray.shutdown()
        os.environ.pop("GITEXP_CACHE", None)


def _info(repo, run_id: str) -> dict:
    return json.loads(repo.show(f"refs/experiments/{run_id}:.gitexp/run.json"))


def test_ray_round_trip_same_record_as_local_plus_where(repo, cluster):
    address, cache = cluster
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.01]\n  logdir: LOGDIR\n"
                          "RESOURCES:\n  cpu: 1\n")
    proc = repo.gitexp("run", "exp.yml", "--backend", "ray", "--address", address, timeout=180)
    assert "trained lr 0.1" in proc.stdout

    snapshots = set()
    for run_id, lr in (("exp/lr0.1", 0.1), ("exp/lr0.01", 0.01)):
        info = _info(repo, run_id)
        assert info["status"] == "completed" and info["exit_code"] == 0 and info["backend"] == "ray"
        assert info["where"]["ip"] == ray.util.get_node_ip_address() and info["where"]["node_id"]
        run_dir = info["logdir"]  # the driver's folder; the node ran in its own, rewritten in
        node_dir = str(cache / "runs" / run_id)
        output = repo.show(f"refs/experiments/{run_id}:.gitexp/output.log")
        assert f"trained lr {lr} logdir {node_dir} env {node_dir}" in output
        assert info["command"] == f"python train.py --lr {lr} --logdir {run_dir}"
        metrics = json.loads(repo.show(f"refs/experiments/{run_id}:.gitexp/metrics.json"))
        assert metrics == {"loss": pytest.approx(lr / 3), "acc": pytest.approx(0.5 + 2 * lr)}
        assert len(repo.show(f"refs/experiments/{run_id}:.gitexp/metrics.jsonl").splitlines()) == 6
        snapshots.add(info["snapshot"])
    # the code travelled as the snapshot, unpacked once on the node
    assert [p.name for p in (cache / "snapshots").iterdir()] == list(snapshots)


def test_ray_failure_is_failed_and_node_loss_is_lost_then_resume(repo, cluster, tmp_path):
    address, _ = cluster
    repo.write("exp.yml", "CMD: python train.py --fail\nHPARAMS:\n  lr: [0.5]\n")
    proc = repo.gitexp("run", "exp.yml", "--backend", "ray", "--address", address, check=False, timeout=180)
    assert proc.returncode == 1
    assert _info(repo, "exp/lr0.5")["status"] == "failed" and _info(repo, "exp/lr0.5")["exit_code"] == 3
    assert "boom" in repo.show("refs/experiments/exp/lr0.5:.gitexp/output.log")

    hold = tmp_path / "hold"
    hold.touch()
    repo.write("hold.py", HOLD_PY)
    repo.write("held.yml", f"CMD: python hold.py\nHPARAMS:\n  hold: [{hold}]\n")
    driver = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "held.yml", "--backend", "ray",
                               "--address", address, "--live-interval", "0.5"],
                              cwd=repo.path, env={**os.environ, **GIT_ENV}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        pid_files = []
        for _ in range(600):  # the job's own file, mirrored back while it runs
            pid_files = [p for p in repo.path.glob(".git/gitexp/runs/held/*/pid") if p.read_text()]
            if pid_files:
                break
            time.sleep(0.1)
        assert pid_files, "the job never reported back"
        live = pid_files[0].parent / ".gitexp" / "metrics.jsonl"
        for _ in range(100):
            if live.exists() and "alive" in live.read_text():
                break
            time.sleep(0.1)
        assert "alive" in live.read_text()  # live metrics reached the driver before the end
        os.kill(_ray_worker_of(int(pid_files[0].read_text())), signal.SIGKILL)  # the node's worker dies
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 1, err
    run_id = f"held/{pid_files[0].parent.name}"
    info = _info(repo, run_id)
    assert info["status"] == "lost" and info["lost_reason"].startswith("ray task lost")

    hold.unlink()
    repo.gitexp("run", "held.yml", "--backend", "ray", "--address", address, "--resume", timeout=180)
    info = _info(repo, run_id)
    assert info["status"] == "completed" and [a["status"] for a in info["attempts"]] == ["lost", "completed"]


def _ray_worker_of(pid: int) -> int:
    """The Ray worker process that runs the job `pid` (its nearest `ray::` ancestor)."""
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if b"ray::" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no Ray worker above the job")
