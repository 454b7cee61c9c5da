"""The scheduler loop with real processes: packing on simulated GPUs, process groups, stops, timeouts.

Jobs are real Python processes; a fake GPU job "allocates" memory through the fake device
interface (and fails with CUDA's out-of-memory message when it does not fit), then waits until
one of them sees `expect` jobs holding GPU memory at once, so packing shows in what they report.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest

from gitexp.record.output import CappedOutput
from gitexp.run import scheduler as scheduler_module
from gitexp.run.executor import Process, Reaper
from gitexp.run.gpus import FakeDevices, GpuSlots
from gitexp.run.scheduler import CpuSlots, Scheduler, Task

FAKE_JOB = r'''
import argparse, json, os, sys, time
from gitexp.run.gpus import FakeDevices
parser = argparse.ArgumentParser()
for flag, kind in (("--mib", float), ("--grow", float), ("--expect", int), ("--hold", float)):
    parser.add_argument(flag, type=kind, default=0)
args = parser.parse_args()
mib, grow, expect, hold = args.mib, args.grow, args.expect, args.hold
assert os.environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
gpus = [int(i) for i in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if i]
devices = FakeDevices(os.environ["GITEXP_FAKE_GPUS"], os.environ["GITEXP_FAKE_GPU_STATE"])
mine = devices.state / f"{os.getpid()}.json"

def allocate(amount):
    for gpu in devices.read():
        own = sum(p.used_mib for p in gpu.processes if p.pid == os.getpid())
        if gpu.index in gpus and amount - own > gpu.free_mib:
            print(f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {amount - own:.0f} MiB", flush=True)
            sys.exit(1)
    tmp = mine.with_suffix(".tmp")
    tmp.write_text(json.dumps({"gpus": gpus, "mib": amount}))
    os.replace(tmp, mine)

steps = 4 if grow else 1
for step in range(1, steps + 1):
    allocate(mib * step / steps)
    time.sleep(grow / steps)
peers, deadline, seen = 0, time.time() + hold, devices.state / "all-seen"
while time.time() < deadline and peers < expect and not seen.exists():
    peers = max(peers, len(devices.processes()))
    time.sleep(0.02)
if peers >= expect:
    seen.touch()  # release the others, who may have missed the moment
print(json.dumps({"gpus": gpus, "peers": peers}), flush=True)
'''


class Hooks:
    """The smallest JobHooks: run `resources["cmd"]`, keep what happened."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.reaper = Reaper()
        self.placements, self.results, self.stop, self.order = {}, {}, set(), []

    def start(self, task, placement):
        env = {**os.environ, **placement.env()}
        process = Process((task.resources["cmd"],), self.tmp, env,
                          CappedOutput(self.tmp / f"{task.key}.{task.attempt}.log"), reaper=self.reaper)
        process.start()
        self.placements[task.key] = placement
        self.order.append(task.key)
        return process

    def finish(self, task, placement, process, exit_code, cancelled):
        self.results[task.key] = (exit_code, cancelled, process.output.close().decode())
        return None

    def cancel_queued(self, task):
        self.results[task.key] = (None, True, "")

    def tick(self, running):
        pass

    def stop_requests(self):
        return self.stop

    def report(self, key):
        return json.loads(self.results[key][2].strip().splitlines()[-1])


@pytest.fixture
def hooks(tmp_path):
    hooks = Hooks(tmp_path)
    yield hooks
    hooks.reaper.close()


@pytest.fixture
def fake_gpus(tmp_path, monkeypatch):
    def install(*devices):
        state = tmp_path / "gpu-state"
        state.mkdir()
        monkeypatch.setenv("GITEXP_FAKE_GPUS", json.dumps(list(devices)))
        monkeypatch.setenv("GITEXP_FAKE_GPU_STATE", str(state))
        script = tmp_path / "fake_job.py"
        script.write_text(FAKE_JOB)
        return FakeDevices(json.dumps(list(devices)), str(state)), f"{sys.executable} {script}"
    return install


def test_first_job_learns_the_footprint_then_siblings_pack_onto_the_gpu(hooks, fake_gpus):
    devices, job = fake_gpus({"name": "fake", "memory_mib": 16000})
    slots = GpuSlots(devices, [0], settle=0.3, margin_mib=1000)
    tasks = [Task(f"r{i}", {"cmd": f"{job} --mib 2000 --grow 0.2 --expect 5 --hold 20"}) for i in range(5)]

    assert Scheduler(slots, hooks).run(tasks)

    assert {code for code, _, _ in hooks.results.values()} == {0}
    first = hooks.placements["r0"]
    assert "learn" in first.reason and first.estimate_mib is None
    assert slots.estimate_mib == pytest.approx(2200)
    packed = [hooks.placements[f"r{i}"] for i in range(1, 5)]
    assert all(p.estimate_mib == pytest.approx(2200) and "learned from r0" in p.reason for p in packed)
    # 16000 - 1000 margin leaves room for r0 + 4 siblings: some job saw all five at once
    assert max(hooks.report(f"r{i}")["peers"] for i in range(5)) == 5


def test_estimates_that_do_not_fit_wait_for_room_and_nothing_runs_out_of_memory(hooks, fake_gpus):
    devices, job = fake_gpus({"name": "fake", "memory_mib": 8000})
    slots = GpuSlots(devices, [0], settle=0.3, margin_mib=1000)
    cmd = f"{job} --mib 2500 --grow 0 --expect 9 --hold 0.3"
    tasks = [Task(f"r{i}", {"cmd": cmd, "gpu_mem": "2500M"}) for i in range(4)]

    assert Scheduler(slots, hooks).run(tasks)

    assert {code for code, _, _ in hooks.results.values()} == {0}
    assert max(hooks.report(f"r{i}")["peers"] for i in range(4)) == 2  # 2 * 2500 <= 7000 < 3 * 2500


def test_multi_gpu_jobs_get_whole_devices_beside_packed_ones(hooks, fake_gpus):
    devices, job = fake_gpus(*[{"name": "fake", "memory_mib": 16000}] * 3)
    slots = GpuSlots(devices, [0, 1, 2], settle=0.3)
    tasks = [Task("small", {"cmd": f"{job} --mib 1000 --grow 0 --expect 2 --hold 10", "gpu_mem": "1G"}),
             Task("big", {"cmd": f"{job} --mib 3000 --grow 0 --expect 2 --hold 10", "gpus": 2})]

    assert Scheduler(slots, hooks).run(tasks)

    small, big = hooks.report("small")["gpus"], hooks.report("big")["gpus"]
    assert len(small) == 1 and len(big) == 2 and not set(small) & set(big)
    assert hooks.report("big")["peers"] == 2  # they ran side by side


def test_visible_devices_limit_where_jobs_go(hooks, fake_gpus):
    devices, job = fake_gpus(*[{"name": "fake", "memory_mib": 16000}] * 4)
    slots = GpuSlots(devices, [1, 3], settle=0.1)
    tasks = [Task(f"r{i}", {"cmd": f"{job} --mib 500 --grow 0 --expect 0 --hold 0", "gpu_mem": "1G"}) for i in range(6)]
    assert Scheduler(slots, hooks).run(tasks)
    assert {hooks.report(f"r{i}")["gpus"][0] for i in range(6)} <= {1, 3}


def test_a_job_that_runs_out_of_memory_fails_and_the_queue_goes_on(hooks, fake_gpus):
    devices, job = fake_gpus({"name": "fake", "memory_mib": 8000, "used_mib": 5000})
    slots = GpuSlots(devices, [0], settle=0.1, margin_mib=0)
    tasks = [Task("hungry", {"cmd": f"{job} --mib 4000 --grow 0 --expect 0 --hold 0", "gpu_mem": "1G"}),
             Task("modest", {"cmd": f"{job} --mib 1000 --grow 0 --expect 0 --hold 0", "gpu_mem": "1G"})]
    assert Scheduler(slots, hooks).run(tasks)
    assert hooks.results["hungry"][0] == 1 and "CUDA out of memory" in hooks.results["hungry"][2]
    assert hooks.results["modest"][0] == 0


def test_whatever_a_job_started_dies_with_it(hooks, tmp_path):
    marker = tmp_path / "child.pid"
    cmd = f"sleep 60 & echo $! > {marker}; exit 0"
    assert Scheduler(CpuSlots(1), hooks).run([Task("bg", {"cmd": cmd})])
    child = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(child, 0)
            time.sleep(0.05)


def test_stop_requests_cancel_running_and_queued_runs(tmp_path):
    class Stopper(Hooks):
        def tick(self, running):
            if running and running[0][0].key == "a":
                self.stop = {"a", "c"}

    hooks = Stopper(tmp_path)
    tasks = [Task("a", {"cmd": "sleep 30"}), Task("b", {"cmd": "exit 0"}), Task("c", {"cmd": "sleep 30"})]
    try:
        assert Scheduler(CpuSlots(1), hooks).run(tasks)
    finally:
        hooks.reaper.close()
    assert hooks.results["a"][:2] == (-signal.SIGTERM, True)
    assert hooks.results["b"][:2] == (0, False)
    assert hooks.results["c"] == (None, True, "")


def test_a_timed_out_job_that_ignores_sigterm_is_killed(hooks, monkeypatch):
    monkeypatch.setattr(scheduler_module, "GRACE_SECONDS", 0.3)
    cmd = "trap '' TERM; sleep 30"  # the shell and its child both ignore SIGTERM
    scheduler = Scheduler(CpuSlots(1), hooks, timeout=0.5)
    assert scheduler.run([Task("stubborn", {"cmd": cmd})])
    code, cancelled, _ = hooks.results["stubborn"]
    assert code == -signal.SIGKILL and not cancelled
