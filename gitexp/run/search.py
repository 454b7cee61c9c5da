"""Adaptive search: Optuna chooses each trial's params the moment a slot frees; every trial is a run.

    SEARCH -> study (in memory, rebuilt from the trial refs on --resume) -> the scheduler asks
    for a task when a slot is free -> ask() -> a `queued` ref -> the trial runs like any run
    -> its points for the PRUNE metric go to the pruner as they land in metrics.jsonl
    -> should_prune() stops it the way `gitexp kill` does -> status `pruned` -> tell()

Nothing lives outside git and `.git/gitexp/`: each trial's run.json carries `trial` (its number)
and `search` (the settings, the study id, Optuna's attrs for the trial), which is all a later
`--resume` or `--trials N` needs to rebuild the study. Optuna is imported here and only here.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from gitexp.errors import GitexpError, SweepError
from gitexp.record import liveness, model as record, store
from gitexp.record.refs import RunRef
from gitexp.run.scheduler import Placement, Task
from gitexp.sweep.plan import Dist

log = logging.getLogger(__name__)
EXTRA = "pip install 'gitexp[search]'"
PRUNE_FLUSH_SECONDS = 0.1  # how often a pruned search's trials write their gitexp.log points (default 1 s)
MAX_ATTR_BYTES = 4096  # Optuna's per-trial attrs kept in run.json (rungs, grid ids; not CMA-ES state)


def require(sweep) -> Any:
    """Optuna (and what the chosen sampler needs), or one line saying what to install."""
    where = f"{sweep.path}: " if sweep.path else ""
    try:
        import optuna
    except ImportError:
        raise SweepError(f"{where}SEARCH needs Optuna, which is not installed: {EXTRA}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = sweep.search.sampler
    needs = {"gp": ("torch", "scipy"), "cmaes": ("cmaes",)}.get(sampler, ())
    missing = [name for name in needs if not _importable(name)]
    if missing:
        hint = "pip install torch scipy" if sampler == "gp" else EXTRA
        raise SweepError(f"{where}sampler {sampler} needs {' and '.join(missing)} (Optuna's "
                         f"{'GPSampler' if sampler == 'gp' else 'CmaEsSampler'}): {hint}, or use sampler: tpe")
    if sampler == "gp" and not hasattr(optuna.samplers, "GPSampler"):
        raise SweepError(f"{where}sampler gp needs Optuna 3.6 or newer: pip install -U optuna")
    return optuna


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def describe(sweep) -> list[str]:
    """The dry run of a search: what it would search, and the command of a first trial."""
    plan = sweep.search
    lines = [f"# search: {plan.sampler}, {plan.trials} trials, objective {plan.objective} ({plan.direction}), "
             f"seed {plan.seed}"
             + (f"; pruner {plan.pruning.pruner} on {plan.pruning.metric}" if plan.pruning else "")]
    for key, value in plan.space.items():
        shown = f"{value.kind}({value.low:g}, {value.high:g})" if isinstance(value, Dist) else list(value)
        lines.append(f"#   {key}: {shown}")
    example = {k: (v.low if isinstance(v, Dist) else v[0]) for k, v in plan.space.items()}
    lines.append(" && ".join(plan.make("trial-0000", example).render("LOGDIR", "trial-0000")))
    return lines


def distributions(optuna, space: dict) -> dict:
    out = {}
    for key, value in space.items():
        if isinstance(value, Dist) and value.kind == "randint":
            out[key] = optuna.distributions.IntDistribution(int(value.low), int(value.high))
        elif isinstance(value, Dist):
            out[key] = optuna.distributions.FloatDistribution(value.low, value.high, log=value.kind == "loguniform")
        else:
            out[key] = optuna.distributions.CategoricalDistribution(list(value))
    return out


def grid_space(space: dict) -> dict:
    return {k: list(range(int(v.low), int(v.high) + 1)) if isinstance(v, Dist) else list(v) for k, v in space.items()}


def make_sampler(optuna, plan, seed: int):
    name = plan.sampler
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)  # parallel trials: a lie per running one
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_space(plan.space), seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.GPSampler(seed=seed)


def make_pruner(optuna, pruning):
    if pruning is None or pruning.pruner == "none":
        return optuna.pruners.NopPruner()
    if pruning.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, pruning.min_steps),
                                                      reduction_factor=pruning.reduction)
    if pruning.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, pruning.min_steps),
                                              max_resource=pruning.max_steps or "auto",
                                              reduction_factor=pruning.reduction)
    return optuna.pruners.MedianPruner(n_startup_trials=pruning.startup, n_warmup_steps=pruning.min_steps)


def number(value: Any) -> float | None:
    """A metric value as the float Optuna takes, or None (missing, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# -- the study as the refs hold it ----------------------------------------------------------


@dataclass
class Past:
    """What the refs say about a sweep's latest search study."""

    study: str | None = None
    trials: list = field(default_factory=list)  # store.Run of that study, by trial number
    reruns: list = field(default_factory=list)  # (RunRef, commit, params): interrupted, rerun in place
    series: dict = field(default_factory=dict)  # RunRef -> points of the prune metric


def read_past(git, sweep_name: str, metric: str | None) -> Past:
    existing = store.list_runs(git, sweep_name)
    if not existing:
        return Past()
    with git.cat_file() as cat:
        runs = [store.load_run(git, cat, ref, commit) for ref, commit in existing.items()]
        runs = [r for r in runs if isinstance(r.info.get("search"), dict) and r.info["search"].get("study")]
        if not runs:
            return Past()
        latest = max(runs, key=lambda r: str(r.info.get("created") or ""))
        study = latest.info["search"]["study"]
        mine = sorted((r for r in runs if r.info["search"].get("study") == study),
                      key=lambda r: int(r.info.get("trial") or 0))
        past = Past(study)
        for run in mine:
            if run.status in ("queued", "running") and liveness.owner_alive(run.info.get("scheduler") or {}):
                raise GitexpError(f"search {sweep_name} is still running ({run.id} is {run.status}): "
                                  f"wait for it or stop it with `gitexp kill {sweep_name}`")
            if run.status in ("queued", "running", "cancelled", "lost"):  # never got a result: run it again
                past.reruns.append((run.ref, run.commit, dict(run.params)))
                continue
            past.trials.append(run)
            if metric and run.status in ("pruned", "completed"):
                data = cat.blob(f"{run.commit}:{record.RECORD_DIR}/{record.SERIES_JSONL}") or b""
                past.series[run.ref] = [p for p in record.parse_series(data) if p.get("key") == metric]
    return past


def rebuild(optuna, study, plan, past: Past, dists: dict) -> dict[int, RunRef]:
    """Add every finished trial of `past` to `study`; returns Optuna's trial number -> run."""
    states = optuna.trial.TrialState
    owners = {}
    for run in past.trials:
        params = {k: run.params[k] for k in dists if k in run.params}
        if set(params) != set(dists) or not all(dists[k]._contains(dists[k].to_internal_repr(v))
                                               for k, v in params.items()):
            log.warning("%s: its params are outside this search space; left out of the study", run.id)
            continue
        value = number(run.metrics.get(plan.objective)) if run.status == "completed" else None
        state = states.COMPLETE if value is not None else states.PRUNED if run.status == "pruned" else states.FAIL
        steps = {}
        for index, point in enumerate(past.series.get(run.ref, [])):
            v = number(point.get("value"))
            step = point.get("step") if isinstance(point.get("step"), int) else index
            if v is not None:
                steps[step] = v
        attrs = (run.info["search"].get("attrs") or {}) if isinstance(run.info.get("search"), dict) else {}
        frozen = optuna.trial.create_trial(state=state, value=value, params=params, distributions=dists,
                                           intermediate_values=steps, system_attrs=attrs)
        study.add_trial(frozen)
        owners[len(study.trials) - 1] = run.ref
    return owners


# -- the driver: a task source for the scheduler, wrapped around the launch's hooks ----------


class Driver:
    """Asks Optuna for a trial when the scheduler has a free slot, reports points, tells results."""

    def __init__(self, optuna, sweep, hooks, inner, past: Past, budget: int, study_id: str):
        self.optuna = optuna
        self.sweep = sweep
        self.plan = sweep.search
        self.hooks = hooks  # the launch's _Launch: records, pruned set, extra run.json fields
        self.inner = inner  # what the scheduler would call without a search (hooks, or hooks + progress)
        self.budget = budget
        self.study_id = study_id
        self.dists = distributions(optuna, self.plan.space)
        done = len(past.trials)
        seed = self.plan.seed if done == 0 else (self.plan.seed * 1_000_003 + done) % 2**32  # new draws
        self.study = optuna.create_study(direction="maximize" if self.plan.direction == "max" else "minimize",
                                         sampler=make_sampler(optuna, self.plan, seed),
                                         pruner=make_pruner(optuna, self.plan.pruning))
        self.owners = rebuild(optuna, self.study, self.plan, past, self.dists)
        self.finished = len(past.trials)
        self.reruns = list(past.reruns)
        self.next_number = 1 + max([int(r.info.get("trial") or 0) for r in past.trials]
                                   + [int(_trial_of(r)) for r in past.reruns] + [-1])
        self.resources = dict(self.plan.make("probe", {}).resources)
        self.live: dict[RunRef, Any] = {}  # running trials -> optuna.Trial
        self.offsets: dict[RunRef, int] = {}
        self.pending_line: dict[RunRef, bytes] = {}
        self.last_step: dict[RunRef, int] = {}
        self.seen_points: dict[RunRef, int] = {}
        self.peeked: Task | None = None
        self.stopped = False
        self.warned = False
        self.freed: list[float] = []
        self.gaps: list[float] = []  # seconds from a slot freeing to its next trial's process starting
        self.report_costs: list[float] = []  # seconds per point: report() + should_prune()
        self.ask_costs: list[float] = []
        self.on_first = None

    # -- TaskSource ---------------------------------------------------------------
    def more(self) -> bool:
        return not self.stopped and self.finished + len(self.live) < self.budget

    def peek(self) -> Task:
        if self.peeked is None:
            if self.reruns:
                ref = self.reruns[0][0]
            else:
                ref = RunRef(self.sweep.name, f"trial-{self.next_number:04d}")
            self.peeked = Task(ref, dict(self.resources))
        return self.peeked

    def take(self, task: Task, placement: Placement) -> Task | None:
        self.peeked = None
        ref, old, params = self.reruns.pop(0) if self.reruns else (task.key, None, None)
        began = time.perf_counter()
        if params is not None:
            self.study.enqueue_trial({k: params[k] for k in self.dists if k in params}, skip_if_exists=False)
        trial = self.study.ask(self.dists)
        self.ask_costs.append(time.perf_counter() - began)
        number_ = _trial_of_ref(ref) if params is not None else self.next_number
        if params is None:
            self.next_number += 1
        spec = self.plan.make(ref.name, trial.params)
        self.hooks.extra_info[ref] = {"trial": number_, "search": {**self.plan.block(), "study": self.study_id,
                                                                   "optuna_number": trial.number}}
        self.hooks.adopt(spec, ref, old)
        self.live[ref] = trial
        self.owners[trial.number] = ref
        self.offsets[ref], self.last_step[ref], self.seen_points[ref] = 0, -1, 0
        if self.on_first:
            self.on_first([ref])
            self.on_first = None
        return Task(ref, dict(spec.resources))

    # -- JobHooks (delegating to the launch's) ----------------------------------------------
    def start(self, task, placement):
        process = self.inner.start(task, placement)
        if self.freed:
            self.gaps.append(time.perf_counter() - self.freed.pop(0))
        return process

    def finish(self, task, placement, process, exit_code, cancelled):
        if self.more() or self.reruns:
            self.freed.append(time.perf_counter())
        retry = self.inner.finish(task, placement, process, exit_code, cancelled)
        if retry is None and task.key in self.live:
            if self._pruning() and task.key not in self.hooks.pruned:
                self._report(task.key, final=True)  # points that landed after the last tick (TB, the end)
            self._tell(task.key)
        return retry

    def cancel_queued(self, task) -> None:
        self.inner.cancel_queued(task)

    def stop_requests(self):
        wanted = self.inner.stop_requests()
        asked = {r for r in wanted if r in self.live and r not in self.hooks.pruned}
        if asked and asked == set(self.live) - set(self.hooks.pruned):
            self.stopped = True  # every running trial asked to stop (`gitexp kill SWEEP`): the search ends
        return wanted

    def tick(self, running) -> None:
        self.inner.tick(running)
        if not self._pruning():
            return
        now = time.monotonic()
        for task, _, _ in running:
            if task.key in self.live and task.key not in self.hooks.pruned:
                ingest = self.hooks.ingests.get(task.key)
                if ingest is not None and now - self.hooks.last_ingest.get(task.key, 0.0) >= PRUNE_FLUSH_SECONDS * 2.5:
                    ingest.poll()  # TensorBoard event files tailed more often than a plain sweep does
                    self.hooks.last_ingest[task.key] = now
                self._report(task.key)

    # -- pruning from live points ------------------------------------------------------
    def _pruning(self) -> bool:
        return self.plan.pruning is not None and self.plan.pruning.pruner != "none"

    def _report(self, ref: RunRef, final: bool = False) -> None:
        """Feed the trial's new points for the PRUNE metric to the pruner (any channel lands in
        metrics.jsonl: gitexp.log, logx, TensorBoard ingest, METRICS regexes)."""
        path = record.RunFiles.for_run(self.hooks.git.gitexp_dir, ref).series
        try:
            size = os.stat(path).st_size
        except OSError:
            return
        offset = self.offsets.get(ref, 0)
        if size <= offset:
            return
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(size - offset)
        self.offsets[ref] = size
        data = self.pending_line.pop(ref, b"") + data
        if not data.endswith(b"\n") and not final:
            data, _, rest = data.rpartition(b"\n")
            self.pending_line[ref] = rest
        metric = self.plan.pruning.metric
        trial = self.live[ref]
        for point in record.parse_series(data):
            if point.get("key") != metric:
                continue
            index = self.seen_points[ref]
            self.seen_points[ref] = index + 1
            value = number(point.get("value"))
            step = point.get("step") if isinstance(point.get("step"), int) and not isinstance(point.get("step"), bool) \
                else index
            if value is None or step <= self.last_step[ref]:
                continue  # Optuna keeps one value per step
            self.last_step[ref] = step
            began = time.perf_counter()
            trial.report(value, step)
            if final:
                continue  # the trial has ended: its points inform later trials, nothing to stop
            prune = trial.should_prune()
            self.report_costs.append(time.perf_counter() - began)
            if prune:
                self.hooks.pruned[ref] = {"step": step, "metric": metric, "value": point.get("value"),
                                          "pruner": self.plan.pruning.pruner}
                return

    # -- results ----------------------------------------------------------------------
    def _tell(self, ref: RunRef) -> None:
        trial = self.live.pop(ref)
        self.finished += 1
        outcome = self.hooks.outcomes.get(ref)
        status = outcome.status if outcome else "failed"
        states = self.optuna.trial.TrialState
        value = None
        if status == "completed":
            value = number(outcome.metrics.get(self.plan.objective))
            if value is None and not self.warned:
                self.warned = True
                logged = ", ".join(sorted(outcome.metrics)) or "nothing"
                log.warning("search %s: %s did not log the objective '%s' (it logged: %s); trials without it "
                            "count as failed", self.sweep.name, ref.name, self.plan.objective, logged)
        state = states.COMPLETE if value is not None else states.PRUNED if status == "pruned" else states.FAIL
        try:
            self.study.tell(trial, value if value is not None else None, state=state)
        except RuntimeError:
            pass  # GridSampler calls study.stop() once the grid is done; the trial is stored first
        self._record_attrs(ref, trial, state.name.lower())

    def _record_attrs(self, ref: RunRef, trial, state: str) -> None:
        """Optuna's per-trial attrs (ASHA rungs, grid ids) go into the trial's record for --resume."""
        frozen = self.study.get_trials(deepcopy=False)[trial.number]
        attrs = {}
        for key, value in frozen.system_attrs.items():
            try:
                text = json.dumps(value)
            except (TypeError, ValueError):
                continue
            if len(text) <= MAX_ATTR_BYTES:
                attrs[key] = value
        info = self.hooks.infos.get(ref)
        if info is None or ref in self.hooks.abandoned:
            return
        info["search"] = {**info.get("search", {}), "state": state, "attrs": attrs}
        self.hooks._commit(ref, f"{info['status']} ({state} in the study)")

    def best(self) -> dict[str, Any] | None:
        try:
            trial = self.study.best_trial
        except ValueError:
            return None
        ref = self.owners.get(trial.number)
        return {"run": ref.id if ref else None, "value": trial.value, "params": trial.params}


def _trial_of(rerun) -> int:
    return _trial_of_ref(rerun[0])


def _trial_of_ref(ref: RunRef) -> int:
    tail = ref.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def prepare(git, sweep, options) -> tuple[Any, Past, str]:
    """Optuna, the study so far (from the refs) and its id; refuses to mix into a finished study."""
    optuna = require(sweep)
    plan = sweep.search
    past = read_past(git, sweep.name, plan.pruning.metric if plan.pruning else None)
    extending = options.search is not None and options.search.trials is not None
    if past.study and not (options.resume or extending):
        raise SweepError(f"sweep {sweep.name} already holds a search ({len(past.trials)} trials done): "
                         f"--resume continues it, --trials N extends it, --name NAME starts another")
    return optuna, past, past.study or uuid.uuid4().hex[:12]


def pruning_env(plan) -> dict[str, str]:
    """What every trial's environment gets: gitexp.log points reach the pruner sooner."""
    if not plan.pruning or plan.pruning.pruner == "none":
        return {}
    from gitexp.track.api import ENV_FLUSH

    return {ENV_FLUSH: str(PRUNE_FLUSH_SECONDS)}
