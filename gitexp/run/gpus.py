"""The GPUs of this machine, read through NVML, and the packer that fills them with jobs.

`Devices` is the one small interface to the hardware (count, names, memory, utilisation and
the processes on each GPU); `NvmlDevices` reads NVML, `FakeDevices` simulates GPUs for tests
and machines without one (`GITEXP_FAKE_GPUS`). GPU indices are NVML's, ordered by PCI bus id,
and jobs get `CUDA_DEVICE_ORDER=PCI_BUS_ID` so CUDA numbers the devices the same way.

`GpuSlots` decides where a job goes. Without `gpu_mem`, the sweep's footprint is unknown, so a
job only starts on an idle GPU, alone; once one such job's memory (read from NVML) has stopped
growing for `settle` seconds, or it completed, its peak (plus a margin) becomes the estimate for
its siblings, which are then packed while the estimates fit in the free memory less a safety
margin. Every job holds a reservation of max(estimate, what NVML shows it using) in a ledger
that other schedulers on the machine share, so memory that a just-started job has not
allocated yet is never handed out twice. Multi-GPU jobs, and retries after CUDA
out-of-memory, get whole devices that nothing else has reserved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol

from gitexp.errors import GitexpError
from gitexp.record import liveness
from gitexp.record.environment import nvidia_driver_present
from gitexp.run.scheduler import CpuSlots, Placement, Task

ENV_FAKE = "GITEXP_FAKE_GPUS"  # JSON list: [{"name": "H100", "memory_mib": 81559}, ...]
ENV_FAKE_STATE = "GITEXP_FAKE_GPU_STATE"  # folder of <pid>.json {"gpus": [0], "mib": 500}

SETTLE_SECONDS = 2.0  # a reading taken sooner after a start does not yet show the job's memory
READ_INTERVAL = 0.5  # seconds between NVML readings
ESTIMATE_MARGIN = 0.10  # learned peak * 1.10
MIN_ESTIMATE_MIB = 512.0  # a CUDA context alone takes about this much
GROWTH_MIB = 16.0  # smaller changes are noise, not growth


class GpuError(GitexpError):
    """A GPU request or selection that cannot be satisfied on this machine."""


# -- what the hardware reports -------------------------------------------------------


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    used_mib: float | None  # None where the driver cannot tell


@dataclass(frozen=True)
class Gpu:
    index: int  # NVML index in PCI bus order (= CUDA's with CUDA_DEVICE_ORDER=PCI_BUS_ID)
    name: str
    uuid: str
    total_mib: float
    used_mib: float
    utilization: int | None  # percent of time a kernel ran over the last sample period
    processes: tuple[GpuProcess, ...] = ()

    @property
    def free_mib(self) -> float:
        return max(0.0, self.total_mib - self.used_mib)


class Devices(Protocol):
    def read(self) -> list[Gpu]: ...


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlDevices:
    """The real GPUs, through nvidia-ml-py."""

    def __init__(self) -> None:
        import pynvml

        self._nvml = pynvml
        pynvml.nvmlInit()  # raises NVMLError when there is no driver
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        # CUDA's PCI_BUS_ID order, whatever order NVML enumerates in.
        self._handles = sorted(handles, key=lambda h: _text(pynvml.nvmlDeviceGetPciInfo(h).busId))

    def read(self) -> list[Gpu]:
        nvml = self._nvml
        gpus = []
        for index, handle in enumerate(self._handles):
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                utilization: int | None = nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            except nvml.NVMLError:
                utilization = None
            try:
                procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
            except nvml.NVMLError:
                procs = []
            gpus.append(Gpu(
                index, _text(nvml.nvmlDeviceGetName(handle)), _text(nvml.nvmlDeviceGetUUID(handle)),
                memory.total / 2**20, memory.used / 2**20, utilization,
                tuple(GpuProcess(p.pid, None if p.usedGpuMemory is None else p.usedGpuMemory / 2**20)
                      for p in procs)))
        return gpus


class FakeDevices:
    """Simulated GPUs for tests: a process "uses" memory by writing `<pid>.json` into the state folder.

    The file says which GPUs (physical indices) and how many MiB; it counts while that pid lives.
    """

    def __init__(self, spec: str, state: str | None = None):
        try:
            devices = json.loads(spec)
            self.devices = [{"name": str(d.get("name", "FakeGPU")), "memory_mib": float(d["memory_mib"]),
                             "used_mib": float(d.get("used_mib", 0)),
                             "utilization": d.get("utilization")} for d in devices]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise GpuError(f"{ENV_FAKE}: expected a JSON list such as "
                           '[{"name": "H100", "memory_mib": 81559}]') from None
        self.state = Path(state) if state else None

    def processes(self) -> dict[int, dict[str, Any]]:
        found = {}
        for file in self.state.glob("*.json") if self.state and self.state.is_dir() else ():
            try:
                pid = int(file.stem)
                usage = json.loads(file.read_text())
            except ValueError:
                continue  # being written
            if liveness.process_start_time(pid) is not None:
                found[pid] = usage
        return found

    def read(self) -> list[Gpu]:
        procs = self.processes()
        gpus = []
        for index, device in enumerate(self.devices):
            mine = tuple(GpuProcess(pid, float(u["mib"])) for pid, u in sorted(procs.items())
                         if index in u.get("gpus", ()))
            used = device["used_mib"] + sum(p.used_mib or 0 for p in mine)
            gpus.append(Gpu(index, device["name"], f"GPU-fake-{index}", device["memory_mib"], used,
                            device["utilization"], mine))
        return gpus


def open_devices() -> Devices | None:
    """The machine's GPUs (fake ones when GITEXP_FAKE_GPUS is set); None when there are none."""
    if os.environ.get(ENV_FAKE):
        return FakeDevices(os.environ[ENV_FAKE], os.environ.get(ENV_FAKE_STATE))
    if not nvidia_driver_present():
        return None  # not even loading NVML: `import pynvml` and nvmlInit cost every CPU-only launch
    try:
        devices = NvmlDevices()
    except Exception:  # no nvidia-ml-py library, no driver, no permission: a CPU machine
        return None
    return devices if devices.read() else None


# -- which GPUs gitexp may use --------------------------------------------------------


def _indices(text: str, gpus: list[Gpu], where: str) -> list[int]:
    chosen = []
    for item in (part.strip() for part in text.split(",")):
        if item.isdigit() and int(item) < len(gpus):
            chosen.append(int(item))
            continue
        match = [g.index for g in gpus if item and g.uuid.startswith(item)] if not item.isdigit() else []
        if len(match) != 1:
            raise GpuError(f"{where}: no GPU {item!r} (this machine has {len(gpus)}: "
                           f"{', '.join(str(g.index) for g in gpus)})")
        chosen.append(match[0])
    return list(dict.fromkeys(chosen))


def select(gpus: list[Gpu], requested: str | None = None, visible: str | None = None,
           config: str | None = None) -> list[int]:
    """The GPU indices jobs may use: `--gpus` (else the project's `gitexp.gpus`), within an
    inherited CUDA_VISIBLE_DEVICES. "none" (or CUDA_VISIBLE_DEVICES="" / -1) means CPU only."""
    allowed = [g.index for g in gpus]
    if visible is not None:
        if not visible.strip() or visible.strip().startswith("-1"):
            return []
        allowed = _indices(visible, gpus, "CUDA_VISIBLE_DEVICES")
    for text, where in ((requested, "--gpus"), (config, "git config gitexp.gpus")):
        if text is None:
            continue
        if text.strip().lower() == "none":
            return []
        if text.strip().lower() == "all":
            return allowed
        chosen = _indices(text, gpus, where)
        outside = [i for i in chosen if i not in allowed]
        if outside:
            raise GpuError(f"{where}: GPU {outside[0]} is not in CUDA_VISIBLE_DEVICES={visible}")
        return chosen
    return allowed


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_mib(value: Any) -> float:
    """`gpu_mem` as MiB: 10G, 10GiB, 500M, 0.5T; a bare number is MiB."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _SIZE.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise GpuError(f"gpu_mem: {value!r} is not a size such as 10G or 500M")
    scale = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024**2}[match.group(2).lower()]
    return float(match.group(1)) * scale


# -- the ledger of reservations ----------------------------------------------------------


class Ledger(Protocol):
    """Reservations shared by every scheduler that uses these GPUs (see ledger.FileLedger)."""

    def locked(self) -> contextlib.AbstractContextManager[list[dict[str, Any]]]: ...


class MemoryLedger:
    """A ledger private to one scheduler."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[dict[str, Any]]]:
        yield self.entries


# -- the packer ------------------------------------------------------------------------------


@dataclass
class _Job:
    """What this scheduler knows about one of its running jobs."""

    token: str
    gpus: tuple[int, ...]
    started: float
    learning: bool  # started without a footprint: its peak may become the estimate
    baseline_mib: float = 0.0  # memory already used on its GPU when it started there alone
    grew_at: float = 0.0
    pgid: int | None = None
    peak_mib: float = 0.0


class GpuSlots:
    """The `Slots` policy for a machine with GPUs (see the module docstring)."""

    def __init__(self, devices: Devices, allowed: list[int], ledger: Ledger | None = None,
                 jobs: int = 1, settle: float = SETTLE_SECONDS, margin_mib: float | None = None,
                 clock=time.monotonic):
        self.devices = devices
        self.allowed = list(allowed)
        self.ledger = ledger or MemoryLedger()
        self.cpu = CpuSlots(jobs)  # for jobs that ask for `gpus: 0`
        self.settle = settle
        self.margin_mib = margin_mib
        self.clock = clock
        self.estimate_mib: float | None = None
        self.learned_from: str | None = None
        self.jobs: dict[Any, _Job] = {}
        self.last_start: dict[int, float] = {}
        self.readings: dict[int, Gpu] = {}
        self._read_at = self._observed_at = -1e9
        self.owner = liveness.owner()
        self._refresh(force=True)

    # -- reading the hardware ------------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        now = self.clock()
        if force or now - self._read_at >= READ_INTERVAL:
            self.readings = {g.index: g for g in self.devices.read()}
            self._read_at = now

    def margin(self, gpu: Gpu) -> float:
        return self.margin_mib if self.margin_mib is not None else max(1024.0, 0.05 * gpu.total_mib)

    def settled(self, index: int) -> bool:
        return self.clock() - self.last_start.get(index, -1e9) >= self.settle

    # -- the Slots protocol ----------------------------------------------------------------
    def check(self, resources: dict[str, Any]) -> None:
        """Refuse, before anything runs, a request no allowed GPU could ever satisfy."""
        need, pinned, mib = self._request(resources)
        if need == 0:
            return
        if need > len(self.allowed):
            raise GpuError(f"a run asks for {need} GPUs but only {len(self.allowed)} may be used "
                           f"({', '.join(map(str, self.allowed))})")
        for group in pinned:
            outside = [i for i in group if i not in self.allowed]
            if outside:
                raise GpuError(f"slot {','.join(map(str, group))}: GPU {outside[0]} is not available "
                               f"(usable: {', '.join(map(str, self.allowed))})")
        biggest = max(self.readings[i].total_mib - self.margin(self.readings[i]) for i in self.allowed)
        if mib is not None and mib > biggest:
            raise GpuError(f"gpu_mem: {mib:.0f} MiB does not fit on any usable GPU (at most {biggest:.0f} MiB)")

    def _request(self, resources: dict[str, Any]) -> tuple[int, list[tuple[int, ...]], float | None]:
        pinned = [tuple(int(i) for i in str(s).split(",")) for s in resources.get("slot") or ()]
        need = resources.get("gpus")
        need = int(need) if need is not None else max((len(g) for g in pinned), default=1)
        mib = parse_mib(resources["gpu_mem"]) if resources.get("gpu_mem") not in (None, "") else None
        return need, pinned, mib

    def acquire(self, task: Task) -> Placement | None:
        need, pinned, mib = self._request(task.resources)
        if need == 0:
            cpu = self.cpu.acquire(task)
            return Placement(cpu.slot, (), "gpus: 0", cuda=True) if cpu else None
        alone = bool(task.resources.get("alone"))
        self._refresh()
        with self.ledger.locked() as entries:
            live = self._prune(entries)
            if need > 1 or alone:
                gpus, reason, footprint = self._whole(need, pinned, live, alone), "", None
                reason = ("alone after CUDA out of memory" if alone and need == 1
                          else f"{need} whole GPUs for a {need}-GPU job")
            else:
                footprint = mib if mib is not None else self.estimate_mib
                gpus, reason = self._packed(footprint, pinned, live, explicit=mib is not None)
            if not gpus:
                return None
            now = self.clock()
            job = _Job(uuid.uuid4().hex, gpus, now, learning=footprint is None and need == 1 and not alone,
                       baseline_mib=self.readings[gpus[0]].used_mib, grew_at=now)
            entries.append({"token": job.token, "scheduler": self.owner, "run": str(task.key), "gpus": list(gpus),
                            "mib": footprint, "whole": need > 1 or alone, "pgid": None})
        self.jobs[task.key] = job
        for index in gpus:
            self.last_start[index] = job.started
        label = "gpu" + ",".join(map(str, gpus))
        return Placement(label, gpus, reason, footprint, cuda=True)

    def _prune(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Drop reservations of schedulers that are gone (they cannot release them)."""
        entries[:] = [e for e in entries if e.get("scheduler") == self.owner or liveness.owner_alive(e) is not False]
        return entries

    def _reserved(self, entries: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
        return [e for e in entries if index in e["gpus"]]

    def _whole(self, need: int, pinned: list[tuple[int, ...]], entries, alone: bool) -> tuple[int, ...]:
        """`need` devices nobody has reserved, settled; a pinned slot must be free as a whole."""
        idle = [i for i in self.allowed if not self._reserved(entries, i) and self.settled(i)]
        if pinned:
            for group in pinned:
                if len(group) >= need and all(i in idle for i in group):
                    return group[:need]
            return ()
        idle.sort(key=lambda i: -self.readings[i].free_mib)
        return tuple(sorted(idle[:need])) if len(idle) >= need else ()

    def _packed(self, footprint: float | None, pinned, entries, explicit: bool) -> tuple[tuple[int, ...], str]:
        """One GPU for a one-GPU job: idle while the footprint is unknown, else the roomiest that fits."""
        candidates = [g[0] for g in pinned if len(g) == 1] if pinned else self.allowed
        if footprint is None:
            idle = [i for i in candidates if not self._reserved(entries, i) and self.settled(i)]
            if not idle:
                return (), ""
            best = max(idle, key=lambda i: self.readings[i].free_mib)
            return (best,), f"alone on gpu{best} to learn the sweep's memory footprint"
        room = {}
        for index in candidates:
            reserved = self._reserved(entries, index)
            if any(e["whole"] or e["mib"] is None for e in reserved):
                continue
            room[index] = self.projected_free(index, reserved)
        fitting = [i for i, free in room.items() if free >= footprint]
        if not fitting:
            return (), ""
        best = max(fitting, key=lambda i: (room[i], -len(self._reserved(entries, i))))
        source = "gpu_mem" if explicit else f"learned from {self.learned_from}"
        return (best,), (f"packed: needs {footprint:.0f} MiB ({source}), "
                         f"{room[best]:.0f} MiB free on gpu{best} after reservations")

    def projected_free(self, index: int, reserved: list[dict[str, Any]]) -> float:
        """Free memory once every reserved job reaches its reservation, less the safety margin.

        Memory NVML attributes to reserved jobs is replaced by their reservation (whichever is
        larger); everything else on the GPU (other users, jobs not yet attributed) counts as used.
        """
        gpu = self.readings[index]
        attributed = sum(e.get("seen", {}).get(str(index), 0.0) for e in reserved)
        held = sum(max(e["mib"] or 0.0, e.get("seen", {}).get(str(index), 0.0)) for e in reserved)
        others = max(0.0, gpu.used_mib - attributed)
        return gpu.total_mib - others - held - self.margin(gpu)

    def release(self, task: Task, placement: Placement, exit_code: int | None) -> None:
        if not placement.gpus:
            self.cpu.release(task, placement, exit_code)
            return
        job = self.jobs.pop(task.key, None)
        if job is None:
            return
        if job.learning and exit_code == 0 and self.estimate_mib is None:
            self._learn(job, task)  # finished before its memory settled: its peak is all there is
        with self.ledger.locked() as entries:
            entries[:] = [e for e in entries if e.get("token") != job.token]

    def observe(self, running: dict[int, tuple[Task, Placement]]) -> None:
        self._refresh()
        if self._read_at == self._observed_at:
            return  # nothing new to look at
        self._observed_at = self._read_at
        now = self.clock()
        by_pgid = {pid: task for pid, (task, placement) in running.items() if placement.gpus}
        usage = _usage_by_group(self.readings.values(), set(by_pgid))
        seen_by_token = {}
        for pgid, task in by_pgid.items():
            job = self.jobs.get(task.key)
            if job is None:
                continue
            job.pgid = pgid
            seen = dict(usage.get(pgid, {}))
            if not seen and job.learning and self.estimate_mib is None:
                # NVML cannot attribute it (e.g. another pid namespace); until the estimate is
                # known nothing shares its GPU, so the device's growth since its start is its usage.
                index = job.gpus[0]
                seen = {index: max(0.0, self.readings[index].used_mib - job.baseline_mib)}
            total = sum(seen.values())
            if total > job.peak_mib + GROWTH_MIB:
                job.grew_at = now
            job.peak_mib = max(job.peak_mib, total)
            if self.estimate_mib is None:
                if job.learning and job.peak_mib > 0 and now - job.started >= self.settle \
                        and now - job.grew_at >= self.settle:
                    self._learn(job, task)
            elif len(job.gpus) == 1 and job.peak_mib * (1 + ESTIMATE_MARGIN) > self.estimate_mib:
                self.estimate_mib = job.peak_mib * (1 + ESTIMATE_MARGIN)  # a sibling needs more
            seen_by_token[job.token] = (pgid, {str(i): round(v, 1) for i, v in seen.items()})
        with self.ledger.locked() as entries:
            for entry in entries:
                if entry.get("token") in seen_by_token:
                    entry["pgid"], entry["seen"] = seen_by_token[entry["token"]]
                if entry.get("scheduler") == self.owner and entry["mib"] is None and self.estimate_mib is not None \
                        and not entry["whole"]:
                    entry["mib"] = self.estimate_mib  # a learning job now holds what a sibling would

    def _learn(self, job: _Job, task: Task) -> None:
        self.estimate_mib = max(MIN_ESTIMATE_MIB, job.peak_mib * (1 + ESTIMATE_MARGIN))
        self.learned_from = str(getattr(task.key, "name", task.key))


def _usage_by_group(gpus, pgids: set[int]) -> dict[int, dict[int, float]]:
    """MiB per GPU of the processes in each of our jobs' process groups."""
    usage: dict[int, dict[int, float]] = {}
    for gpu in gpus:
        for proc in gpu.processes:
            try:
                group = os.getpgid(proc.pid)
            except OSError:
                continue
            if group in pgids and proc.used_mib is not None:
                per_gpu = usage.setdefault(group, {})
                per_gpu[gpu.index] = per_gpu.get(gpu.index, 0.0) + proc.used_mib
    return usage


_GPU_ITEM = re.compile(r"^(\d+|(GPU|MIG)-[0-9A-Za-z-]*)$")


def check_request(requested: str | None) -> None:
    """`--gpus` must read as all, none, or a list of indices / UUID prefixes, whatever GPUs exist."""
    if requested is None or requested.strip().lower() in ("all", "none"):
        return
    bad = [item.strip() for item in requested.split(",") if not _GPU_ITEM.match(item.strip())]
    if bad:
        raise GpuError(f"--gpus {requested}: {bad[0]!r} is not a GPU; expected all, none, or indices "
                       "or UUIDs such as 0,2 or GPU-5d2c")


def slots_for(git, jobs: int = 1, requested: str | None = None, ledger: Ledger | None = None):
    """GPU slots over the usable GPUs, or CPU slots (`--jobs`) when there are none."""
    check_request(requested)
    devices = open_devices()
    if devices is None:
        if requested not in (None, "none", "all"):
            raise GpuError(f"--gpus {requested}: this machine has no GPU that NVML can see")
        return CpuSlots(jobs)
    config = git.run("config", "--get", "gitexp.gpus", check=False).strip() or None
    allowed = select(devices.read(), requested, os.environ.get("CUDA_VISIBLE_DEVICES"), config)
    if not allowed:
        return CpuSlots(jobs)
    return GpuSlots(devices, allowed, ledger, jobs=jobs)


# GPU memory only: a host-RAM "out of memory" (MemoryError, the OOM killer) is not helped by a GPU alone
_OOM = re.compile(rb"CUDA out of memory|CUDA error: out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED"
                  rb"|cudaErrorMemoryAllocation|RESOURCE_EXHAUSTED: Out of memory", re.IGNORECASE)


def is_out_of_memory(exit_code: int | None, output: bytes) -> bool:
    """A failed job whose output says it ran out of (GPU) memory: worth one retry alone."""
    return exit_code not in (0, None) and bool(_OOM.search(output[-65536:]))


def report(git: Any) -> list[dict[str, Any]]:
    """Each GPU as NVML sees it, with the runs of any scheduler that reserved it (`gitexp gpus`)."""
    from gitexp.run.ledger import FileLedger

    devices = open_devices()
    readings = devices.read() if devices else []
    reserved = FileLedger(git).read()
    return [{"index": g.index, "name": g.name, "total_mib": round(g.total_mib), "used_mib": round(g.used_mib),
             "utilization": g.utilization, "processes": [p.pid for p in g.processes],
             "reserved_by": [e["run"] for e in reserved if g.index in e["gpus"]]} for g in readings]
