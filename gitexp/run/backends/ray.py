"""`--backend ray`: each run is one Ray task on an existing cluster; only the driver writes git.

The code travels as the snapshot commit: the driver `git archive`s S once and `ray.put`s the
tar; a node unpacks it once per snapshot into its cache (`$GITEXP_CACHE`, else
`<tmp>/gitexp-<uid>`) and every later task there reuses it. The task is a streaming generator:
it runs the command in a node-local run folder (LOGDIR / GITEXP_RUN_DIR point there; the
driver's run-folder path in the command is rewritten to it) and yields, every fraction of a
second, the new output and the new bytes of every file in that folder (metrics, summaries,
artifact pointers, event files; files over `MIRROR_MAX` stay on the node). The driver writes
them into its own run folder, so live progress, stdout metrics and the final record come out
exactly as for a local run. A task whose worker or node dies ends the run as `lost`.
Workers need gitexp importable (`pip install gitexp` on the nodes, or a runtime_env).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from gitexp.errors import GitexpError
from gitexp.record import model as record
from gitexp.record.git import Git
from gitexp.record.output import DEFAULT_OUTPUT_CAP, CappedOutput
from gitexp.run.backends.job import Job, job_id
from gitexp.run.executor import Process, Reaper
from gitexp.run.scheduler import Placement, Task

MIRROR_MAX = 16 * 1024 * 1024  # bytes: bigger files (checkpoints) stay on the node
FLUSH_SECONDS = 0.25


def _ray():
    try:
        import ray
    except ImportError:
        raise GitexpError("--backend ray needs Ray", hint="pip install 'gitexp[ray]'") from None
    return ray


def _needs(resources: dict[str, Any]) -> tuple[float, float]:
    """(num_cpus, num_gpus) a run asks for: runx `RESOURCES: {gpu: 1, cpu: 4}` or Ray's names."""
    def number(*keys: str, default: float) -> float:
        for key in keys:
            if resources.get(key) is not None:
                try:
                    return float(resources[key])
                except (TypeError, ValueError):
                    raise GitexpError(f"resource {key}={resources[key]!r}: expected a number") from None
        return default
    return number("num_cpus", "cpus", "cpu", default=1.0), number("num_gpus", "gpus", default=0.0)


class RaySlots:
    """Keep at most what the cluster can hold in flight, so a run's `started` is when it runs."""

    def __init__(self, nodes: list[dict[str, float]]):
        self.nodes = nodes
        self.total = (sum(n.get("CPU", 0) for n in nodes), sum(n.get("GPU", 0) for n in nodes))
        self.used = [0.0, 0.0]

    def check(self, resources: dict[str, Any]) -> None:
        cpus, gpus = _needs(resources)
        if not any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in self.nodes):
            raise GitexpError(f"no node of the Ray cluster has {cpus:g} CPU(s) and {gpus:g} GPU(s) free "
                              f"for one run (cluster: {self.total[0]:g} CPU, {self.total[1]:g} GPU)")

    def acquire(self, task: Task) -> Placement | None:
        cpus, gpus = _needs(task.resources)
        if self.used[0] + cpus > self.total[0] or self.used[1] + gpus > self.total[1]:
            return None
        self.used[0] += cpus
        self.used[1] += gpus
        return Placement("ray", reason=f"ray task: {cpus:g} cpu, {gpus:g} gpu")

    def release(self, task: Task, placement: Placement, exit_code: int | None) -> None:
        cpus, gpus = _needs(task.resources)
        self.used[0] -= cpus
        self.used[1] -= gpus

    def observe(self, running: dict) -> None:
        pass


PROBE_SECONDS = 5.0


def _probe(address: str | None) -> None:
    """Refuse an explicit HOST:PORT nobody answers on at once; `ray.init` would retry for
    minutes and end in a traceback."""
    if not address or address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise GitexpError(f"--address {address}: expected HOST:PORT (or ray://HOST:PORT, auto, local)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except (OSError, OverflowError) as error:
        raise GitexpError(f"--address {address}: cannot reach the Ray cluster: "
                          f"{getattr(error, 'strerror', None) or error}") from None


class RayBackend:
    name = "ray"

    def __init__(self, git: Git, address: str | None = None):
        ray = _ray()
        self.git = git
        _probe(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR", configure_logging=False)
        except (ConnectionError, TimeoutError, ValueError, RuntimeError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise GitexpError(f"--address {address}: cannot reach the Ray cluster: {first}") from None
        self.remote = ray.remote(_run_job)
        self.archives: dict[str, Any] = {}

    def slots(self) -> RaySlots:
        ray = _ray()
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        return RaySlots(nodes)

    def archive(self, snapshot: str) -> Any:
        """The snapshot's tar in Ray's object store, put once per launch."""
        if snapshot not in self.archives:
            data = self.git.run_bytes("archive", "--format=tar", snapshot)
            self.archives[snapshot] = _ray().put(data)
        return self.archives[snapshot]

    def process(self, job: Job) -> "RayProcess":
        return RayProcess(self, job)

    def close(self) -> None:
        _ray().shutdown()


class RayProcess:
    """One run's Ray task, seen from the driver: `executor.Process`'s interface."""

    def __init__(self, backend: RayBackend, job: Job):
        self.backend = backend
        self.job = job
        self.pid = job_id()
        self.started = 0.0
        self.timed_out = False
        self.lost: str | None = None
        self.where: dict[str, Any] = {"ray": "submitted"}
        self._code: int | None = None
        self._partial = b""
        self._generator: Any = None
        self._pump: threading.Thread | None = None
        self._signalled: int | None = None

    def start(self) -> None:
        self.started = time.time()
        job = self.job
        cpus, gpus = _needs(job.resources)
        payload = {"run": job.run.id, "commands": list(job.commands), "cwd": job.cwd, "snapshot": job.snapshot,
                   "env": job.job_env(dict(os.environ)), "run_dir": str(job.run_dir), "cap": job.output.cap}
        self._generator = self.backend.remote.options(num_cpus=cpus, num_gpus=gpus, max_retries=0).remote(
            payload, [self.backend.archive(job.snapshot)])  # boxed: only nodes without the snapshot fetch it
        self._pump = threading.Thread(target=self._receive, daemon=True)
        self._pump.start()

    def _receive(self) -> None:
        ray = _ray()
        code: int | None = None
        try:
            for ref in self._generator:
                kind, *rest = ray.get(ref)
                if kind == "where":
                    self.where = rest[0]
                elif kind == "out":
                    self._feed(rest[0])
                elif kind == "file":
                    _write_at(self.job.run_dir / rest[0], rest[1], rest[2])
                elif kind == "exit":
                    code = rest[0]
        except ray.exceptions.TaskCancelledError:
            code = -(self._signalled or signal.SIGTERM)
        except ray.exceptions.RayError as error:  # worker or node died, object lost ...
            if self._signalled:
                code = -self._signalled
            else:
                self.lost = f"ray task lost: {str(error).strip().splitlines()[0]}"
                code = -1
        if self._partial:
            self._feed(b"\n")
        self._code = -1 if code is None else code

    def _feed(self, data: bytes) -> None:
        self._partial = self.job.feed(self._partial, data)

    def poll(self) -> int | None:
        if self._pump is not None and self._pump.is_alive():
            return None
        return self._code

    @property
    def signalled(self) -> bool:
        return self._signalled is not None

    def signal(self, sig: int) -> None:
        """Ray's cancel: KeyboardInterrupt in the task (it stops the job's group), or kill the worker."""
        if self._generator is None or self._code is not None:
            return
        self._signalled = sig
        _ray().cancel(self._generator, force=sig == signal.SIGKILL)

    def kill_group(self) -> None:
        self.signal(signal.SIGKILL)


def _write_at(path: Path, offset: int, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "r+b" if offset and path.exists() else "wb") as handle:
        handle.seek(offset)
        handle.write(data)
        handle.truncate()


# -- on the node -----------------------------------------------------------------------


def _cache_root() -> Path:
    return Path(os.environ.get("GITEXP_CACHE") or Path(tempfile.gettempdir()) / f"gitexp-{os.getuid()}")


def _code(snapshot: str, archive_box: list) -> Path:
    """S unpacked once per node (write to a temporary folder, rename when complete)."""
    dest = _cache_root() / "snapshots" / snapshot
    if (dest / ".gitexp-complete").exists():
        return dest
    import io

    import ray

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=snapshot + ".", dir=dest.parent))
    with tarfile.open(fileobj=io.BytesIO(ray.get(archive_box[0]))) as tar:
        tar.extractall(tmp, filter="data")
    (tmp / ".gitexp-complete").touch()
    try:
        os.replace(tmp, dest)
    except OSError:  # another task on this node finished first
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return dest


class _Mirror:
    """New bytes of every small file under the node's run folder since the last scan."""

    def __init__(self, root: Path, skip: Path):
        self.root = root
        self.skip = skip
        self.sent: dict[Path, tuple[int, int, int]] = {}  # path -> (inode, size sent, mtime_ns)

    def scan(self) -> Iterator[tuple[str, str, int, bytes]]:
        for path in sorted(p for p in self.root.rglob("*") if p.is_file() and p != self.skip):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if stat.st_size > MIRROR_MAX:
                continue
            inode, sent, mtime = self.sent.get(path, (0, 0, 0))
            if (inode, sent, mtime) == (stat.st_ino, stat.st_size, stat.st_mtime_ns):
                continue
            rewrite = inode != stat.st_ino or stat.st_size < sent
            offset = 0 if rewrite else sent
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(stat.st_size - offset)
            self.sent[path] = (stat.st_ino, offset + len(data), stat.st_mtime_ns)
            yield "file", str(path.relative_to(self.root)), offset, data


def _run_job(payload: dict[str, Any], archive_box: list) -> Iterator[tuple]:
    """The Ray task: run one job on this node and stream what the driver needs to record it."""
    import ray

    run_dir = _cache_root() / "runs" / payload["run"]
    subprocess.run(["rm", "-rf", str(run_dir)], check=False)  # an earlier attempt's files
    files = record.RunFiles(run_dir)
    files.create()
    code_dir = _code(payload["snapshot"], archive_box) / payload["cwd"]
    yield "where", {"host": socket.gethostname(), "ip": ray.util.get_node_ip_address(),
                    "node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}
    here = str(run_dir)
    commands = tuple(c.replace(payload["run_dir"], here) for c in payload["commands"])
    env = dict(os.environ)
    env.update({k: v.replace(payload["run_dir"], here) for k, v in payload["env"].items()})
    env.update({record.ENV_RUN_DIR: here, "LOGDIR": here})
    lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    reaper = Reaper()  # if this worker dies, the job's process group dies with it
    process = Process(commands, code_dir, env, CappedOutput(files.output, payload.get("cap") or DEFAULT_OUTPUT_CAP),
                      on_line=lines.put, reaper=reaper)
    mirror = _Mirror(run_dir, files.output)
    try:
        process.start()
        while True:
            code = process.poll()
            chunk = b"".join(_drain(lines))
            if chunk:
                yield "out", chunk
            yield from mirror.scan()
            if code is not None:
                yield "exit", code
                return
            time.sleep(FLUSH_SECONDS)
    except KeyboardInterrupt:  # ray.cancel: stop the job like Ctrl-C would, then give up the task
        process.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        raise
    finally:
        process.kill_group()
        reaper.close()


def _drain(lines: "queue.SimpleQueue[bytes]") -> Iterator[bytes]:
    while True:
        try:
            yield lines.get_nowait()
        except queue.Empty:
            return
