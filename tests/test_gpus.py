"""The device interface and the packer's decisions, on simulated GPUs (GITEXP_FAKE_GPUS).

Memory "use" is simulated the way the fake device interface defines it: a live process owns
`<state>/<pid>.json`. The packer's clock is driven by hand, so settle times need no sleeping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gitexp.run import gpus
from gitexp.run.gpus import FakeDevices, GpuError, GpuSlots, select
from gitexp.run.scheduler import Task

H100 = {"name": "H100", "memory_mib": 81559}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def sleeper():
    """Real processes (own process group each) that can 'hold' fake GPU memory."""
    procs = []

    def start():
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
        procs.append(proc)
        return proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def fake(tmp_path, *devices):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return FakeDevices(json.dumps(list(devices)), str(state))


def use(devices: FakeDevices, pid: int, gpu: int, mib: float) -> None:
    (devices.state / f"{pid}.json").write_text(json.dumps({"gpus": [gpu], "mib": mib}))


def task(name, **resources):
    return Task(name, resources)


def test_fake_devices_report_memory_of_live_processes_only(tmp_path, sleeper):
    devices = fake(tmp_path, H100, {"name": "A10", "memory_mib": 24000, "used_mib": 1000, "utilization": 7})
    pid = sleeper()
    use(devices, pid, 1, 500)
    use(devices, 999999, 1, 9000)  # no such process: its memory is free again
    first, second = devices.read()
    assert (first.name, first.used_mib, first.processes) == ("H100", 0, ())
    assert second.used_mib == 1500 and second.free_mib == 22500 and second.utilization == 7
    assert [(p.pid, p.used_mib) for p in second.processes] == [(pid, 500)]


def test_fake_devices_reject_a_malformed_spec():
    with pytest.raises(GpuError, match="GITEXP_FAKE_GPUS"):
        FakeDevices('{"name": "H100"}')


def test_open_devices_uses_the_fake_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv(gpus.ENV_FAKE, json.dumps([H100, H100]))
    devices = gpus.open_devices()
    assert [g.index for g in devices.read()] == [0, 1]


@pytest.mark.parametrize("requested, visible, config, expected", [
    (None, None, None, [0, 1, 2, 3]),
    (None, "2,0", None, [2, 0]),
    (None, "", None, []),
    (None, "-1", None, []),
    ("0,2", None, None, [0, 2]),
    ("2", "1,2", None, [2]),
    (None, None, "1,3", [1, 3]),
    ("0", None, "1,3", [0]),  # --gpus wins over the project's config
    ("none", None, None, []),
    (None, "GPU-fake-3", None, [3]),
])
def test_select_combines_visible_devices_option_and_config(tmp_path, requested, visible, config, expected):
    readings = fake(tmp_path, H100, H100, H100, H100).read()
    assert select(readings, requested, visible, config) == expected


@pytest.mark.parametrize("requested, visible, message", [
    ("7", None, "--gpus: no GPU '7'"),
    ("0", "1,2", "GPU 0 is not in CUDA_VISIBLE_DEVICES=1,2"),
    (None, "0,x", "CUDA_VISIBLE_DEVICES: no GPU 'x'"),
])
def test_select_rejects_unknown_devices(tmp_path, requested, visible, message):
    with pytest.raises(GpuError, match=message):
        select(fake(tmp_path, H100, H100, H100).read(), requested, visible)


@pytest.mark.parametrize("text, mib", [("10G", 10240), ("10GiB", 10240), ("500M", 500), ("500mb", 500),
                                       (2048, 2048), ("1.5g", 1536), ("0.5T", 524288)])
def test_parse_mib(text, mib):
    assert gpus.parse_mib(text) == mib


@pytest.mark.parametrize("text", ["lots", "-1G", "0", True])
def test_parse_mib_rejects_nonsense(text):
    with pytest.raises(GpuError, match="gpu_mem"):
        gpus.parse_mib(text)


def test_without_a_footprint_jobs_go_alone_to_idle_gpus_until_one_settles(tmp_path, sleeper):
    devices, clock = fake(tmp_path, H100, H100), Clock()
    slots = GpuSlots(devices, [0, 1], clock=clock, settle=2.0)
    first = slots.acquire(task("a"))
    second = slots.acquire(task("b"))
    assert (first.gpus, second.gpus) == ((0,), (1,)) or (first.gpus, second.gpus) == ((1,), (0,))
    assert "learn" in first.reason and first.estimate_mib is None
    assert slots.acquire(task("c")) is None  # both GPUs hold a job of unknown size

    pid = sleeper()
    use(devices, pid, first.gpus[0], 800)
    running = {pid: (Task("a"), first)}
    clock.now += 1.0
    slots.observe(running)
    assert slots.estimate_mib is None  # still inside the settle time after its start
    use(devices, pid, first.gpus[0], 1000)  # memory grows after launch
    clock.now += 1.5
    slots.observe(running)
    assert slots.estimate_mib is None  # it grew within the last settle period
    clock.now += 2.5
    slots.observe(running)
    assert slots.estimate_mib == pytest.approx(1100)  # peak + 10 %
    assert slots.learned_from == "a"

    packed = slots.acquire(task("c"))
    assert packed.gpus == first.gpus and packed.estimate_mib == pytest.approx(1100)
    assert "learned from a" in packed.reason


def test_packing_stops_when_estimates_no_longer_fit_the_margin(tmp_path):
    devices = fake(tmp_path, {"name": "small", "memory_mib": 10000})
    slots = GpuSlots(devices, [0], clock=Clock(), margin_mib=1000)
    placed = [slots.acquire(task(f"r{i}", gpu_mem="2G")) for i in range(5)]
    assert [p is not None for p in placed] == [True, True, True, True, False]  # 4 * 2048 <= 9000
    slots.release(Task("r0"), placed[0], 0)
    assert slots.acquire(task("r4", gpu_mem="2G")) is not None


def test_memory_used_by_others_counts_and_growth_beyond_the_reservation_too(tmp_path, sleeper):
    devices = fake(tmp_path, {"name": "small", "memory_mib": 10000, "used_mib": 3000})
    slots = GpuSlots(devices, [0], clock=Clock(), margin_mib=1000)
    first = slots.acquire(task("a", gpu_mem=2000))
    pid = sleeper()
    use(devices, pid, 0, 3500)  # it grew beyond what it asked for
    slots.clock.now += 5
    slots.observe({pid: (Task("a"), first)})
    # 10000 - 3000 (others) - 3500 (a, as seen) - 1000 (margin) = 2500
    assert slots.acquire(task("b", gpu_mem=3000)) is None
    assert slots.acquire(task("b", gpu_mem=2400)) is not None


def test_jobs_spread_over_the_roomiest_gpu(tmp_path):
    devices = fake(tmp_path, H100, {**H100, "used_mib": 30000}, H100)
    slots = GpuSlots(devices, [0, 1, 2], clock=Clock())
    placed = [slots.acquire(task(f"r{i}", gpu_mem="10G")).gpus[0] for i in range(4)]
    assert placed == [0, 2, 0, 2]  # gpu1 has 30 GB less room than the others even after two jobs each


def test_multi_gpu_jobs_get_whole_untouched_devices(tmp_path):
    devices = fake(tmp_path, H100, H100, H100)
    clock = Clock()
    slots = GpuSlots(devices, [0, 1, 2], clock=clock, settle=2.0)
    small = slots.acquire(task("small", gpu_mem="1G"))
    clock.now += 5
    big = slots.acquire(task("big", gpus=2))
    assert len(big.gpus) == 2 and small.gpus[0] not in big.gpus and "whole" in big.reason
    assert slots.acquire(task("other", gpu_mem="1G")).gpus == small.gpus  # nothing joins a whole device
    assert slots.acquire(task("big2", gpus=2)) is None


def test_a_device_right_after_a_start_is_not_idle(tmp_path):
    devices, clock = fake(tmp_path, H100), Clock()
    slots = GpuSlots(devices, [0], clock=clock, settle=2.0)
    placement = slots.acquire(task("a", gpu_mem="1G"))
    slots.release(Task("a"), placement, 1)
    assert slots.acquire(task("alone", alone=True)) is None  # its memory may not be freed yet
    clock.now += 2.5
    assert slots.acquire(task("alone", alone=True)).reason == "alone after CUDA out of memory"


def test_pinned_slots_restrict_the_devices(tmp_path):
    devices, clock = fake(tmp_path, H100, H100, H100, H100), Clock()
    slots = GpuSlots(devices, [0, 1, 2, 3], clock=clock)
    assert slots.acquire(task("a", slot=["2,3"], gpus=2)).gpus == (2, 3)
    assert slots.acquire(task("b", slot=["1"], gpu_mem="1G")).gpus == (1,)


def test_gpus_zero_runs_in_a_cpu_slot_with_every_gpu_hidden(tmp_path):
    slots = GpuSlots(fake(tmp_path, H100), [0], clock=Clock(), jobs=1)
    placement = slots.acquire(task("cpu", gpus=0))
    assert placement.gpus == () and placement.env()["CUDA_VISIBLE_DEVICES"] == ""
    assert slots.acquire(task("cpu2", gpus=0)) is None


def test_check_refuses_impossible_requests_up_front(tmp_path):
    slots = GpuSlots(fake(tmp_path, H100, H100), [0, 1], clock=Clock())
    with pytest.raises(GpuError, match="asks for 3 GPUs"):
        slots.check({"gpus": 3})
    with pytest.raises(GpuError, match="does not fit"):
        slots.check({"gpu_mem": "100G"})
    with pytest.raises(GpuError, match="GPU 5 is not available"):
        slots.check({"slot": ["5"]})
    slots.check({"gpus": 2, "gpu_mem": "10G"})


def test_reservations_of_a_dead_scheduler_are_dropped(tmp_path):
    devices = fake(tmp_path, {"name": "small", "memory_mib": 10000})
    slots = GpuSlots(devices, [0], clock=Clock(), margin_mib=0)
    with slots.ledger.locked() as entries:
        entries.append({"token": "x", "scheduler": {"host": os.uname().nodename, "pid": 999999, "start": "1"},
                        "run": "s/r", "gpus": [0], "mib": 9000, "whole": False, "pgid": None})
    assert slots.acquire(task("a", gpu_mem="5G")) is not None


def test_out_of_memory_is_recognised_in_a_failed_jobs_output():
    assert gpus.is_out_of_memory(1, b"...\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate")
    assert not gpus.is_out_of_memory(0, b"CUDA out of memory")
    assert not gpus.is_out_of_memory(1, b"ValueError: bad lr")
    assert not gpus.is_out_of_memory(1, b"MemoryError: host out of memory")  # RAM, not the GPU
