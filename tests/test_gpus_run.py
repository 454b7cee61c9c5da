"""`gitexp run` on simulated GPUs: placement in run.json, learning, OOM retry alone, device limits."""

from __future__ import annotations

import json

import pytest

from test_run import record
from test_scheduler import FAKE_JOB

GPU = {"name": "H100", "memory_mib": 16000}


@pytest.fixture
def gpu_repo(repo, tmp_path):
    """The test repo with the fake GPU job committed, and an env that simulates `devices`."""
    repo.commit(**{"fakejob.py": FAKE_JOB})
    state = tmp_path / "gpu-state"
    state.mkdir()

    def env(*devices, **extra):
        return {"GITEXP_FAKE_GPUS": json.dumps(list(devices)), "GITEXP_FAKE_GPU_STATE": str(state), **extra}

    repo.env = env
    return repo


def runs(repo):
    return {ref.rsplit("/", 1)[1]: record(repo, ref) for ref in repo.refs()}


def test_placement_and_learned_estimate_are_recorded(gpu_repo):
    gpu_repo.write("exp.yml", "CMD: python fakejob.py\nHPARAMS:\n  mib: [1000, 1001, 1002]\n  grow: 0.2\n"
                              "  expect: 3\n  hold: 10\n")
    proc = gpu_repo.gitexp("run", "exp.yml", env=gpu_repo.env(GPU))
    infos = runs(gpu_repo)
    first = infos["mib1000"]
    assert first["gpus"] == [0] and "learn" in first["placement"]["reason"]
    assert first["placement"]["estimate_mib"] is None
    for name in ("mib1001", "mib1002"):
        placement = infos[name]["placement"]
        assert placement["estimate_mib"] == pytest.approx(1100) and "learned from mib1000" in placement["reason"]
    assert '"peers": 3' in proc.stdout  # the siblings ran beside the first job
    assert "started on gpu0" in proc.stderr  # piped: plain progress lines


def test_out_of_memory_is_retried_once_alone_and_every_attempt_is_kept(gpu_repo):
    # Both runs claim 2G but take 4000 MiB: packed together, one of them cannot allocate.
    gpu_repo.write("exp.yml", "CMD: python fakejob.py\nRESOURCES:\n  gpu_mem: 2G\n"
                              "HPARAMS:\n  mib: [4000, 4001]\n  expect: 2\n  hold: 5\n")
    gpu_repo.gitexp("run", "exp.yml", env=gpu_repo.env({"name": "small", "memory_mib": 7000}))
    infos = runs(gpu_repo)
    assert {info["status"] for info in infos.values()} == {"completed"}
    retried = [info for info in infos.values() if len(info["attempts"]) == 2]
    assert len(retried) == 1
    first, second = retried[0]["attempts"]
    assert first["status"] == "failed" and "packed" in first["placement"]["reason"]
    assert second["status"] == "completed" and second["placement"]["reason"] == "alone after CUDA out of memory"
    assert first["attempt_id"] != second["attempt_id"] == retried[0]["attempt_id"]  # the retry is an attempt of its own


def test_gpus_option_and_inherited_visible_devices_limit_the_gpus(gpu_repo):
    gpu_repo.write("exp.yml", "CMD: python fakejob.py\nRESOURCES:\n  gpu_mem: 1G\nHPARAMS:\n  mib: [100, 101, 102]\n")
    gpu_repo.gitexp("run", "exp.yml", "--gpus", "2", env=gpu_repo.env(GPU, GPU, GPU))
    assert {info["gpus"][0] for info in runs(gpu_repo).values()} == {2}
    gpu_repo.gitexp("run", "exp.yml", "--name", "vis", env=gpu_repo.env(GPU, GPU, GPU, CUDA_VISIBLE_DEVICES="1"))
    assert {json.dumps(info["gpus"]) for ref, info in runs(gpu_repo).items() if info["sweep"] == "vis"} == {"[1]"}


def test_multi_gpu_runs_get_whole_devices(gpu_repo):
    gpu_repo.write("exp.yml", "CMD: python fakejob.py\nRESOURCES:\n  gpus: 2\nHPARAMS:\n  mib: [100, 101]\n")
    gpu_repo.gitexp("run", "exp.yml", env=gpu_repo.env(GPU, GPU, GPU, GPU))
    placed = [info["gpus"] for info in runs(gpu_repo).values()]
    assert all(len(g) == 2 for g in placed) and not set(placed[0]) & set(placed[1])


def test_impossible_requests_fail_before_anything_is_written(gpu_repo):
    gpu_repo.write("exp.yml", "CMD: python fakejob.py\nRESOURCES:\n  gpus: 3\nHPARAMS:\n  mib: [100]\n")
    proc = gpu_repo.gitexp("run", "exp.yml", env=gpu_repo.env(GPU, GPU), check=False)
    assert proc.returncode == 2 and "asks for 3 GPUs but only 2 may be used" in proc.stderr
    assert gpu_repo.refs() == {}
    proc = gpu_repo.gitexp("run", "exp.yml", "--gpus", "5", env=gpu_repo.env(GPU, GPU), check=False)
    assert proc.returncode == 2 and "--gpus: no GPU '5'" in proc.stderr
