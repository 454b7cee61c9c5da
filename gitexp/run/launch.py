"""`gitexp run`: sweep -> snapshot -> scheduler -> executor -> store.

The sweep is expanded and validated before anything is written; the code is snapshotted
once (one commit S shared by every run); every run gets its ref at once as `queued` (one
atomic ref transaction, so two launches never take the same name); then the scheduler fills
the slots and each run's ref moves forward as it starts, makes progress and ends.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gitexp.errors import RefConflictError, SweepError
from gitexp.record import environment, liveness, model as record, outputs, recorder, store
from gitexp.record import snapshot as snapshots
from gitexp.record.git import Git
from gitexp.record.output import DEFAULT_OUTPUT_CAP, CappedOutput
from gitexp.record.refs import RunRef, check_name
from gitexp.record.snapshot import Snapshot, materialize, take_snapshot
from gitexp.record.writer import RecordWriter, first_line
from gitexp.run import control, gpus
from gitexp.run.backends.job import Job
from gitexp.run.executor import Process, Reaper
from gitexp.run.ledger import FileLedger
from gitexp.run.progress import Watched
from gitexp.run.scheduler import Placement, Scheduler, Slots, Task
from gitexp.track import artifacts, stdout_metrics, tensorboard

log = logging.getLogger(__name__)
DEFAULT_LIVE_INTERVAL = 30.0
MIN_LIVE_INTERVAL = 0.1  # a live commit costs a git write: 0 would write every scheduler turn
RECHECK_SECONDS = 0.5  # jobs started within this of a workspace check reuse its answer
FRESH_SNAPSHOT_SECONDS = 2.0  # a first job starting this soon after the snapshot skips the re-check
RESERVE_AT_ONCE = 64  # run folders reserved before the first job starts; the rest this many a scheduler turn


@dataclass
class LaunchOptions:
    name: str | None = None
    jobs: int = 1
    sets: tuple[str, ...] = ()
    sweep_overrides: tuple[str, ...] = ()
    sample: int | None = None
    seed: int = 0
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_large: bool = False
    resume: bool = False
    live_interval: float = DEFAULT_LIVE_INTERVAL
    output_cap: int = DEFAULT_OUTPUT_CAP
    echo: Callable[[str, bytes], None] | None = None  # (run name, output line)
    slots: Slots | None = None
    backend: Any = None  # a gitexp.run.backends.job.Backend (ray, farm); None runs local processes
    gpus: str | None = None  # --gpus 0,2 | all | none
    progress: Any = None  # a gitexp.progress.Progress told of every start and end
    search: Any = None  # a gitexp.sweep.search.CommandLine: --search / --trials / --objective


@dataclass
class RunOutcome:
    run: RunRef
    status: str
    exit_code: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    duration: float | None = None


@dataclass
class LaunchResult:
    sweep: str
    snapshot: str | None  # None when nothing was left to run
    outcomes: list[RunOutcome]
    skipped: list[RunRef]
    interrupted: bool
    unrecorded: list[RunRef] = field(default_factory=list)  # refs someone else moved: records not written
    search: dict[str, Any] | None = None  # a search's study: its best trial and how many ran
    unwritten: str | None = None  # why some records could not be written at the end (disk full)

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.unrecorded and not self.unwritten and all(
            o.status in ("completed", "pruned") for o in self.outcomes)


def load(path: str | os.PathLike[str], options: LaunchOptions):
    """Expand and validate the sweep file (raises SweepError before anything is written)."""
    from gitexp.sweep import load_sweep

    if not (options.live_interval >= MIN_LIVE_INTERVAL and math.isfinite(options.live_interval)):
        raise SweepError(f"--live-interval {options.live_interval}: expected seconds, at least {MIN_LIVE_INTERVAL}")
    sweep = load_sweep(
        path, name=options.name, sets=options.sets, sweep_overrides=options.sweep_overrides,
        sample=options.sample, seed=options.seed, only=options.only, exclude=options.exclude,
        allow_large=options.allow_large, search=options.search,
    )
    check_name(sweep.name, "sweep")
    if sweep.search is not None:
        from gitexp.run import search  # Optuna is imported only when a search runs

        search.require(sweep)  # Optuna missing: one line naming the extra, before anything is written
    if sweep.options.get("metrics"):
        try:  # bad regexes fail before any write
            stdout_metrics.compile_patterns(sweep.options["metrics"])
        except SweepError as error:
            raise SweepError(f"{path}: {error}") from None
    return sweep


def dry_run(git: Git, path: str | os.PathLike[str], options: LaunchOptions, sweep: Any = None) -> list[str]:
    """One line per run: the command exactly as it would execute (`sweep`: already loaded)."""
    sweep = sweep or load(path, options)
    if sweep.search is not None:
        from gitexp.run import search  # Optuna is imported only when a search runs

        return search.describe(sweep)
    existing = store.list_runs(git, sweep.name)
    plan = _resume_plan(git, sweep, existing)[0] if options.resume else [(spec, None) for spec in sweep.runs]
    fresh = iter(_assign_names(sweep.name, [spec for spec, rerun in plan if rerun is None], existing))
    lines = []
    for spec, rerun in plan:  # exactly what `gitexp run` (--resume) would run, under the same names
        run = rerun[0] if rerun else next(fresh)
        logdir = record.RunFiles.for_run(git.gitexp_dir, run).dir
        lines.append(" && ".join(spec.render(str(logdir), run.name)))
    return lines


def _assign_names(sweep_name: str, specs, existing: dict[RunRef, str]) -> list[RunRef]:
    """Each run's ref: its readable name, suffixed -2, -3... when an earlier launch used it."""
    used = {run.name for run in existing}
    refs = []
    for spec in specs:
        name, n = spec.name, 2
        while name in used:
            name, n = f"{spec.name}-{n}", n + 1
        used.add(name)
        refs.append(RunRef(sweep_name, name))
    return refs


def _resume_plan(git: Git, sweep, existing: dict[RunRef, str]):
    """For --resume: skip specs with a completed (or still running) record of the same params;
    rerun each other one under its own name, as a new commit on its ref.

    Runs of a scheduler that died are marked `lost` in git first (what every reader does), so
    a sweep killed with -9 is continued, not duplicated next to its lost records."""
    with git.cat_file() as cat:
        loaded = [store.load_run(git, cat, run, commit) for run, commit in existing.items()]
    by_params: dict[str, list[tuple[RunRef, str, str]]] = {}
    for run in recorder.reconcile(git, loaded):
        key = json.dumps(run.params, sort_keys=True, default=str)
        by_params.setdefault(key, []).append((run.ref, run.commit, run.status))
    plan, skipped, reused = [], [], set()
    for spec in sweep.runs:
        matches = sorted(by_params.get(json.dumps(spec.params, sort_keys=True, default=str), []),
                         key=lambda m: (m[0].name != spec.name, m[0].name))  # its own name first
        done = next((r for r, _, s in matches if s in ("completed", "running", "queued")), None)
        if done is not None:
            skipped.append(done)
            continue
        rerun = next(((r, c) for r, c, s in matches if r not in reused), None)
        if rerun:
            reused.add(rerun[0])
        plan.append((spec, rerun))
    return plan, skipped


class _Launch:
    """The job hooks the scheduler calls; owns the records of one launch."""

    def __init__(self, git: Git, sweep, snapshot: Snapshot, options: LaunchOptions):
        self.git = git
        self.sweep = sweep
        self.snapshot = snapshot
        self.options = options
        self.reaper = Reaper()
        self.specs: dict[RunRef, Any] = {}
        self.infos: dict[RunRef, dict[str, Any]] = {}
        self.outputs: dict[RunRef, CappedOutput] = {}
        self.last_commit: dict[RunRef, float] = {}
        self.outcomes: dict[RunRef, RunOutcome] = {}
        self.invocation_dir = Path.cwd().resolve()
        self.root = git.root.resolve()
        # the same for every run of this launch: asked once, not per queued run (~1.5 s at 10k runs)
        self.user = environment.user()
        self.owner = liveness.owner()
        self._checkout: Path | None = None
        self.snapshot_time = time.time()
        self._checked_at = -RECHECK_SECONDS
        self.stops = control.StopRequests(git)
        self.ingests: dict[RunRef, tensorboard.Ingest] = {}
        self.last_ingest: dict[RunRef, float] = {}
        self.environment = environment.capture()  # per launch: reading package metadata is not free
        self.writer = RecordWriter(git)  # every record write after `queue` goes through it
        self.abandoned: set[RunRef] = set()  # runs whose ref someone else moved: we stop writing them
        self.pruned: dict[RunRef, dict[str, Any]] = {}  # search trials the pruner stopped: how and where
        self.extra_info: dict[RunRef, dict[str, Any]] = {}  # run.json fields a search adds (trial, search)
        self.extra_env: dict[str, str] = {}  # environment a search adds to every run (faster metric flushes)
        self.folders: dict[RunRef, FolderWatch] = {}
        self._unreserved: collections.deque[tuple[RunRef, bytes]] = collections.deque()

    # -- queueing ---------------------------------------------------------------
    def queue(self, plan: list[tuple[Any, tuple[RunRef, str] | None]],
              existing: dict[RunRef, str] | None = None) -> list[RunRef]:
        """Give every run its ref as `queued` in one transaction; retry names if another launch raced us."""
        for _ in range(5):
            existing = store.list_runs(self.git, self.sweep.name) if existing is None else existing
            fresh = [spec for spec, rerun in plan if rerun is None]
            fresh_refs = iter(_assign_names(self.sweep.name, fresh, existing))
            writes, runs = [], []
            with contextlib.ExitStack() as stack:  # a cat-file process only when resuming runs
                cat = stack.enter_context(self.git.cat_file()) if any(r and r[1] for _, r in plan) else None
                for spec, rerun in plan:
                    run, old = rerun if rerun else (next(fresh_refs), None)
                    writes.append(self._queued(spec, run, old, cat))
                    runs.append(run)
            try:
                self.writer.seed(store.write_records(self.git, writes))
                self._unreserved.extend((write.run, write.files[record.RUN_JSON]) for write in writes)
                self._reserve_folders(RESERVE_AT_ONCE)
                return runs
            except RefConflictError:
                self.specs.clear()
                self.infos.clear()
                existing = None  # another launch took names: look again
                continue
        raise RefConflictError("could not reserve run names: other launches keep taking them; try again")

    def _reserve_folders(self, count: int) -> None:
        """Give the next `count` queued runs their live `run.json` (the queued record's bytes)
        while there is room: on a disk that fills later, their states are then rewritten in place
        (`write_bytes_atomic`), so the folder still holds the final state for the next command
        to commit. The first RESERVE_AT_ONCE are done before any job starts, the rest as many a
        scheduler turn (`tick`): a 10k-run sweep starts its first job without making 10k
        folders first. A run that started or was cancelled meanwhile has its own file; a folder
        a run had before keeps its file (it is the earlier attempt's until this one starts)."""
        while count > 0 and self._unreserved:
            run, run_json = self._unreserved.popleft()
            count -= 1
            if self.infos.get(run, {}).get("status") != "queued":
                continue
            files = record.RunFiles.for_run(self.git.gitexp_dir, run)
            if not files.run_json.exists():  # no room already: the states go to git once it frees
                recorder.keep_in_folder(files, run_json)

    def adopt(self, spec, run: RunRef, old: str | None) -> None:
        """Take on a run that starts at once (a search trial, asked for when a slot freed): no
        separate `queued` write; its `started` record, committed by the writer thread, creates the
        ref (or moves it from `old`), so a freed slot waits for no git write."""
        with contextlib.ExitStack() as stack:
            cat = stack.enter_context(self.git.cat_file()) if old else None
            self._queued(spec, run, old, cat)
        if old:
            self.writer.seed({run: old})  # its next move fast-forwards from the interrupted record

    def _queued(self, spec, run: RunRef, old: str | None, cat) -> store.RecordWrite:
        self._place_folder(run)
        info = self._initial_info(run, spec)
        # the attempt is named now, not when it starts: should its `started` commit never land (a
        # full disk), the ref's queued record still names the attempt the live folder holds
        info["attempt_id"] = uuid.uuid4().hex
        if old and cat:
            info["attempts"] = _attempts(store.load_run(self.git, cat, run, old).info)
        self.stops.clear(run)  # a stop request left by a scheduler that died is not for us
        self.specs[run], self.infos[run] = spec, info
        return store.RecordWrite(run, self.snapshot.commit, old, store.record_files(info, {}, b"", b""),
                                 f"gitexp: {run} queued")

    def _place_folder(self, run: RunRef) -> None:
        """With runx's LOGROOT set, the run folder lives under it; the usual place becomes a link
        to it, so every reader finds the run's live files where it always looks."""
        logroot = self.sweep.options.get("logroot")
        usual = record.RunFiles.for_run(self.git.gitexp_dir, run).dir
        if not logroot or usual.exists() or usual.is_symlink():
            return
        target = (self.git.root / os.path.expanduser(str(logroot))).resolve() / run.sweep / run.name
        target.mkdir(parents=True, exist_ok=True)
        usual.parent.mkdir(parents=True, exist_ok=True)
        usual.symlink_to(target, target_is_directory=True)

    def _initial_info(self, run: RunRef, spec) -> dict[str, Any]:
        logdir = record.RunFiles.for_run(self.git.gitexp_dir, run).dir
        commands = list(spec.render(str(logdir), run.name))
        try:
            cwd = str(self.invocation_dir.relative_to(self.root))
        except ValueError:
            cwd = "."
        return record.new_info(
            run, self.snapshot, commands, spec.params, cwd=cwd, logdir=logdir,
            environment=_with_seed(self.environment, spec.params), user=self.user,
            scheduler=dict(self.owner), resources=spec.resources,
            sweep_file=str(self.sweep.path) if self.sweep.path else None, sweep_hash=self.sweep.content_hash,
            ) | self.extra_info.get(run, {})

    # -- scheduler hooks ----------------------------------------------------------
    def start(self, task: Task, placement: Placement) -> Process:
        run: RunRef = task.key
        spec, info = self.specs[run], self.infos[run]
        files = record.RunFiles.for_run(self.git.gitexp_dir, run)
        with contextlib.suppress(OSError):  # a full disk: the job runs all the same, its state in memory
            files.create()
            for stale in (files.series, files.summary_overrides, files.meta / artifacts.MANIFEST):
                stale.unlink(missing_ok=True)
        self.ingests[run] = tensorboard.Ingest(files.dir)
        backend = self.options.backend
        cwd = self._code_dir() if backend is None else Path(info["cwd"])  # remote: inside the snapshot
        env = dict(os.environ)
        env.update({
            record.ENV_RUN_DIR: str(files.dir), record.ENV_RUN: run.id, "LOGDIR": str(files.dir),
            record.ENV_PARAMS: json.dumps(spec.params, default=str), "PYTHONUNBUFFERED": "1",
        })
        if self.sweep.options.get("pythonpath"):
            extra = str(self.sweep.options["pythonpath"])
            env["PYTHONPATH"] = extra + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update(placement.env())
        env.update(self.extra_env)
        output = CappedOutput(files.output, self.options.output_cap)
        echo = self.options.echo
        on_line = stdout_metrics.line_hook(self.sweep.options.get("metrics"), files,
                                           (lambda line, n=run.name: echo(n, line)) if echo else None)
        if backend is None:
            process = Process(tuple(info["commands"]), cwd, env, output, on_line=on_line, reaper=self.reaper)
        else:
            process = backend.process(Job(run, tuple(info["commands"]), str(cwd), env, output, on_line,
                                          self.snapshot.commit, files.dir, dict(task.resources), self.sweep.options))
        process.start()
        if backend is None and process.pid > 0:  # SummaryWriter() writes ./runs/... below the run's cwd
            self.ingests[run].watch_workspace(cwd, process.pid, process.started)
        info["backend"] = backend.name if backend else "local"
        info["where"] = getattr(process, "where", None) or {"host": record.hostname()}
        if getattr(process, "start_error", None):
            info["failure"] = process.start_error
        info.update(status="running", started=record.now_iso(), ended=None, exit_code=None,
                    gpus=list(placement.gpus), placement={"slot": placement.slot, "reason": placement.reason,
                                                         "estimate_mib": placement.estimate_mib},
                    attempt_id=_attempt_id(info), pid=process.pid if backend is None and process.pid > 0 else None,
                    code_dir=str(cwd),
                    output={"cap": output.cap, "bytes": 0, "truncated": False})
        self.outputs[run] = output
        self.folders[run] = FolderWatch.open(files)
        self._commit(run, "started", ingest=False)  # nothing is logged yet: no event file to read
        return process

    def finish(self, task: Task, placement: Placement, process: Process, exit_code: int | None,
               cancelled: bool) -> Task | None:
        run: RunRef = task.key
        info = self.infos[run]
        output = self.outputs.pop(run)
        data = output.close()
        info["where"] = getattr(process, "where", None) or info.get("where")  # remote: known once it ran
        ended = time.time()
        if cancelled and run in self.pruned:
            status = "pruned"  # stopped the way `gitexp kill` stops a run, by the search's pruner
            info["pruned"] = self.pruned[run]
        elif cancelled:
            status = "cancelled"
            self.stops.clear(run)
        elif getattr(process, "lost", None):  # a remote backend lost the job (node died)
            status = "lost"
            info["lost_reason"] = process.lost
            exit_code = None
        elif exit_code == 0:
            status = "completed"
        else:
            status = "failed"
        info.update(status=status, exit_code=exit_code, ended=record.now_iso(),
                    duration=round(ended - process.started, 3),
                    output={"cap": output.cap, "bytes": output.total, "truncated": output.truncated})
        if process.timed_out:
            info["failure"] = f"timed out after {self.sweep.options.get('timeout')} s"
        info["attempts"] = list(info.get("attempts", [])) + [{
            "attempt_id": info["attempt_id"], "started": info["started"], "ended": info["ended"],
            "status": status, "exit_code": exit_code, "gpus": info["gpus"], "placement": info["placement"]}]
        oom = status == "failed" and placement.gpus and not task.resources.get("alone") \
            and gpus.is_out_of_memory(exit_code, data)
        if oom:
            info["failure"] = "CUDA out of memory: retrying once alone on a GPU"
        watch = self.folders.pop(run, None)
        if watch and watch.close_and_restore():
            info["warnings"] = list(info.get("warnings", [])) + [FolderWatch.WARNING]
            log.warning("%s: %s", run, FolderWatch.WARNING)
        self._commit(run, status, output=data)
        files = record.RunFiles.for_run(self.git.gitexp_dir, run)
        self.ingests.pop(run, None)
        metrics = record.summarize(record.read_series(files.series), record.read_json(files.summary_overrides, {}))
        self.outcomes[run] = RunOutcome(run, status, exit_code, metrics, info["duration"])
        if oom:
            return Task(run, {**task.resources, "alone": True}, task.attempt)
        retries = int(self.sweep.options.get("retries", 0) or 0)
        if status == "failed" and task.attempt < retries:
            return Task(run, task.resources, task.attempt + 1)
        return None

    def stop_requests(self) -> set[RunRef]:
        return self.stops.pending(self.sweep.name) | self.abandoned | set(self.pruned)

    def cancel_queued(self, task: Task) -> None:
        run: RunRef = task.key
        info = self.infos[run]
        info.update(status="cancelled", ended=record.now_iso())
        self.stops.clear(run)
        self._commit(run, "cancelled before it started")
        self.outcomes[run] = RunOutcome(run, "cancelled")

    def tick(self, running: list[tuple[Task, Placement, Process]]) -> None:
        self._reserve_folders(RESERVE_AT_ONCE)
        now = time.monotonic()
        for task, _, _ in running:
            run = task.key
            if now - self.last_ingest.get(run, 0.0) >= tensorboard.POLL_SECONDS:
                self._ingest(run)
                self.last_ingest[run] = now
            if now - self.last_commit.get(run, now) >= self.options.live_interval:
                self._commit(run, "progress", output=self.outputs[run].content())
        self.writer.check()  # an unexpected write failure stops the loop (a full disk does not: see writer)
        self.abandoned |= self.writer.refused()

    def _ingest(self, run: RunRef) -> None:
        """TensorBoard events -> points; a full disk only delays them (the events stay)."""
        try:
            self.ingests[run].poll()
        except OSError as error:
            log.debug("%s: TensorBoard ingestion deferred: %s", run, error)

    def _commit(self, run: RunRef, what: str, output: bytes | None = None, ingest: bool = True) -> None:
        """Hand the run's new state to the writer and go on: its thread commits everything handed
        over meanwhile in one ref transaction, so starting or ending N jobs at once costs one git
        write, and no scheduler turn waits for git."""
        if run in self.abandoned:
            return  # its ref is someone else's now; its folder keeps what we know
        if ingest and run in self.ingests:
            self._ingest(run)
        info = self.infos[run]
        info["artifacts"] = artifacts.read_manifest(record.RunFiles.for_run(self.git.gitexp_dir, run).dir)
        self.writer.submit(run, json.loads(json.dumps(info, default=str)), f"gitexp: {run} {what}", output)
        self.last_commit[run] = time.monotonic()

    def settled(self, run: RunRef) -> bool:
        """Whether the run's last state handed to the writer is in git (see `RecordWriter.settled`)."""
        return self.writer.settled(run)

    def flush(self) -> None:
        """Wait until every state handed to the writer is in git."""
        try:
            self.writer.flush()
        finally:
            self.abandoned |= self.writer.refused()

    # -- where the code runs ------------------------------------------------------------
    def _code_dir(self) -> Path:
        """The workspace while it still matches S, else a private checkout of S."""
        if self._checkout is None:
            if not self.outputs and not self.outcomes \
                    and time.time() - self.snapshot_time < FRESH_SNAPSHOT_SECONDS:
                return self.invocation_dir  # first job, just snapshotted: nothing can have run yet
            if time.monotonic() - self._checked_at < RECHECK_SECONDS:
                return self.invocation_dir  # jobs starting together share one check
            if not snapshots.changed(self.git, self.snapshot):  # a run's new files are no code change
                self._checked_at = time.monotonic()
                return self.invocation_dir
            root = materialize(self.git, self.snapshot.commit, self.git.gitexp_dir / "checkouts" / self.snapshot.commit,
                               self.snapshot.excluded)
            self._checkout = root
        rel = self.invocation_dir.relative_to(self.root) if self.invocation_dir.is_relative_to(self.root) else Path()
        folder = self._checkout / rel
        folder.mkdir(parents=True, exist_ok=True)  # launched from a folder the snapshot has no file in
        return folder

    def learn_outputs(self) -> None:
        """Files the runs wrote into the workspace are outputs: later snapshots leave them out."""
        if not any(info.get("code_dir") == str(self.invocation_dir) for info in self.infos.values()):
            return
        fresh = snapshots.new_files(self.git, self.snapshot, self.snapshot_time - 1)
        if fresh:  # the matcher is built only when there is something to match
            rule = outputs.Rule(self.git)
            outputs.learn(self.git, [path for path in fresh if not rule.is_output(path)])

    def close(self) -> None:
        self.writer.close()
        self.reaper.close()
        if self.snapshot.index is not None:
            self.snapshot.index.unlink(missing_ok=True)


@dataclass
class FolderWatch:
    """Keeps a running run's series readable even if its folder is deleted (a job that runs
    `rm -rf .git/gitexp`): an open descriptor still reads the unlinked file, so at the end the
    points from before the deletion are put back in front of those logged after it."""

    WARNING = "its run folder was deleted while it ran; gitexp restored the points it had logged"

    files: record.RunFiles
    fd: int | None

    @classmethod
    def open(cls, files: record.RunFiles) -> "FolderWatch":
        try:
            return cls(files, os.open(files.series, os.O_RDONLY | os.O_CREAT, 0o644))
        except OSError:
            return cls(files, None)

    def close_and_restore(self) -> bool:
        """True when the folder had been replaced (and its earlier points were restored)."""
        if self.fd is None:
            return False
        try:
            try:
                same = os.path.samestat(os.fstat(self.fd), os.stat(self.files.series))
            except FileNotFoundError:
                same = False
            if same:
                return False
            with os.fdopen(os.dup(self.fd), "rb") as old:
                earlier = old.read()
            try:
                later = self.files.series.read_bytes()
            except FileNotFoundError:
                later = b""
            if earlier and not earlier.endswith(b"\n"):
                earlier += b"\n"
            self.files.create()
            tmp = self.files.series.with_name(f".{self.files.series.name}.restored")
            tmp.write_bytes(earlier + later)
            os.replace(tmp, self.files.series)
            return True
        except OSError:
            return False
        finally:
            os.close(self.fd)
            self.fd = None


def _attempts(old: dict[str, Any]) -> list[dict[str, Any]]:
    """The attempts a rerun keeps: the earlier ones, plus the last one when it never finished
    (its scheduler died: the record says lost, its attempt was never appended)."""
    attempts = list(old.get("attempts") or [])
    started = old.get("attempt_id") and old.get("started")  # queued, never started: no attempt to keep
    if started and not any(a.get("attempt_id") == old["attempt_id"] for a in attempts):
        attempts.append({key: old.get(key) for key in ("attempt_id", "started", "ended", "status", "exit_code",
                                                       "gpus", "placement")})
    return attempts


def _attempt_id(info: dict[str, Any]) -> str:
    """The id of the attempt starting now: the one it was queued with, or a new one when the run
    already ran once in this launch (a retry alone after CUDA ran out of memory)."""
    return info["attempt_id"] if info.get("attempt_id") and not info.get("started") else uuid.uuid4().hex


def _with_seed(env: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    seed = environment.seed_of(params)
    return env if seed is None else {**env, "seed": seed}


def launch(git: Git, path: str | os.PathLike[str], options: LaunchOptions,
           on_queued: Callable[[list[RunRef]], None] | None = None, sweep: Any = None) -> LaunchResult:
    """Run a sweep to the end (or until interrupted) and return what happened to each run.

    `sweep` is the file already expanded by `load` (the CLI checks it before starting a backend)."""
    sweep = sweep or load(path, options)
    if sweep.search is not None:
        from gitexp.run import search  # Optuna is imported only when a search runs

        return _search(git, sweep, options, on_queued)
    existing = store.list_runs(git, sweep.name)
    if options.resume:
        plan, skipped = _resume_plan(git, sweep, existing)
    else:
        plan, skipped = [(spec, None) for spec in sweep.runs], []
    slots = options.slots or gpus.slots_for(git, options.jobs, options.gpus, FileLedger(git))
    for spec, _ in plan:
        slots.check(spec.resources)  # an impossible request fails before anything is written
    if not plan:
        return LaunchResult(sweep.name, None, [], skipped, False)
    snapshot = take_snapshot(git, f"gitexp snapshot for sweep {sweep.name}",
                             keep_index=git.gitexp_dir / "tmp" / f"snapshot-{uuid.uuid4().hex}.index")
    hooks = _Launch(git, sweep, snapshot, options)
    watched = Watched(hooks, options.progress) if options.progress else hooks
    try:
        runs = hooks.queue(plan, existing)
        if on_queued:
            on_queued(runs)
        tasks = [Task(run, dict(hooks.specs[run].resources)) for run in runs]
        timeout = sweep.options.get("timeout")
        scheduler = Scheduler(slots, watched,
                              timeout=float(timeout) if timeout else None)
        finished = scheduler.run(tasks)
        hooks.learn_outputs()  # while the writer commits the last records
    finally:
        try:
            hooks.flush()
        finally:
            hooks.close()
            if watched is not hooks:
                watched.report(everything=True)
    left, failure = hooks.writer.unwritten()
    if failure is None:
        store.pack_refs(git)  # keeps listings of 100k runs cheap: one packed file, not 100k loose refs
    outcomes = [hooks.outcomes.get(run, RunOutcome(run, hooks.infos[run]["status"])) for run in runs]
    unwritten = None
    if failure is not None:  # records still unwritten: their folders hold them for the next command
        unwritten = (f"{left} run record(s) not written: {first_line(failure)}; their state is kept "
                     "in .git/gitexp/runs/ and the next gitexp command writes it")
    return LaunchResult(sweep.name, snapshot.commit, outcomes, skipped, not finished, sorted(hooks.abandoned),
                        unwritten=unwritten)


def _search(git: Git, sweep, options: LaunchOptions, on_queued) -> LaunchResult:
    """A file with SEARCH: start or continue its study; the scheduler asks for a trial per freed slot."""
    from gitexp.run import search

    optuna, past, study_id = search.prepare(git, sweep, options)
    plan = sweep.search
    slots = options.slots or gpus.slots_for(git, options.jobs, options.gpus, FileLedger(git))
    slots.check(dict(plan.make("probe", {}).resources))
    if len(past.trials) >= plan.trials and not past.reruns:
        done = search.Driver(optuna, sweep, None, None, past, plan.trials, study_id)  # the study as the refs hold it
        return LaunchResult(sweep.name, None, [], [], False, search={
            "study": study_id, "trials": len(past.trials), "budget": len(past.trials), "best": done.best()})
    snapshot = take_snapshot(git, f"gitexp snapshot for search {sweep.name}")
    hooks = _Launch(git, sweep, snapshot, options)
    hooks.extra_env.update(search.pruning_env(plan))
    inner = Watched(hooks, options.progress) if options.progress else hooks
    driver = search.Driver(optuna, sweep, hooks, inner, past, plan.trials, study_id)
    driver.on_first = on_queued
    if options.progress:
        options.progress.queued([])
    try:
        timeout = sweep.options.get("timeout")
        finished = Scheduler(slots, driver, timeout=float(timeout) if timeout else None).run([], source=driver)
        hooks.learn_outputs()  # trials' files in the work tree stay out of later snapshots, as a sweep's do
    finally:
        try:
            hooks.flush()
        finally:
            hooks.close()
            if inner is not hooks:
                inner.report(everything=True)
    outcomes = [hooks.outcomes.get(run, RunOutcome(run, hooks.infos[run]["status"])) for run in hooks.infos]
    summary = {"study": study_id, "trials": driver.finished, "budget": plan.trials, "best": driver.best(),
               "gaps": driver.gaps, "report_costs": driver.report_costs, "ask_costs": driver.ask_costs}
    return LaunchResult(sweep.name, snapshot.commit, outcomes, [], not finished, sorted(hooks.abandoned),
                        search=summary)
