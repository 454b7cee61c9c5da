"""`SEARCH` and `PRUNE` sections: an adaptive search over a sweep's params instead of a grid.

Every grammar hands its two sections here (runx `SEARCH:`/`PRUNE:`, mlrunner `search:`/`prune:`
in the first document), so the keys, their checks and the messages are the same everywhere:

    SEARCH: {sampler: tpe, trials: 40, objective: val_acc, direction: max, seed: 0}
    PRUNE:  {pruner: asha, metric: val_acc, min_steps: 1, reduction: 3}

The search space is the sweep's own params: a list is a categorical choice, `uniform(a,b)`,
`loguniform(a,b)` and `randint(a,b)` are ranges, a single value stays fixed. This module is pure:
it never imports Optuna (the driver, `gitexp.run.search`, does, and only when a search runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from gitexp.sweep.diagnostics import Diagnostics, Span, did_you_mean, text_span
from gitexp.sweep.model import RunSpec
from gitexp.sweep.plan import Dist, Plan

SAMPLERS = {
    "tpe": "Tree-structured Parzen Estimator (Optuna's TPESampler, constant liar for parallel trials)",
    "gp": "Gaussian-process Bayesian optimisation (Optuna's GPSampler; needs torch and scipy)",
    "cmaes": "CMA-ES (Optuna's CmaEsSampler; needs the cmaes package; numeric ranges only)",
    "random": "independent random draws (Optuna's RandomSampler)",
    "grid": "every combination once, in a seeded order (Optuna's GridSampler; lists and randint only)",
}
PRUNERS = {
    "asha": "asynchronous successive halving (Optuna's SuccessiveHalvingPruner)",
    "hyperband": "Hyperband: several successive-halving brackets (Optuna's HyperbandPruner)",
    "median": "stop a trial whose value is worse than the median of earlier trials at the same step",
    "none": "never stop a trial early",
}
SEARCH_KEYS = {
    "sampler": "how the next trial's params are chosen: " + ", ".join(SAMPLERS),
    "trials": "how many trials the search runs in all (a positive integer)",
    "objective": "the metric to optimise: its last logged value is the trial's result",
    "direction": "max or min",
    "seed": "the sampler's seed (an integer; default 0)",
}
PRUNE_KEYS = {
    "pruner": "how hopeless trials are stopped early: " + ", ".join(PRUNERS),
    "metric": "the metric whose points are compared (default: SEARCH's objective, same direction)",
    "min_steps": "steps every trial runs before it may be stopped (default 1)",
    "max_steps": "hyperband: the steps a full trial runs (default: learnt from the first trials)",
    "reduction": "asha/hyperband: keep 1 in `reduction` trials at each rung (default 3)",
    "startup": "median: trials that run to the end before any is stopped (default 5)",
}
DIRECTIONS = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}
CONTINUOUS_OK = {"tpe", "gp", "cmaes", "random"}  # grid needs finite choices


@dataclass
class Sections:
    """The raw SEARCH / PRUNE nodes a grammar found (key Y, value Y), checked later in one place."""

    search: tuple | None = None
    prune: tuple | None = None


@dataclass(frozen=True)
class Pruning:
    pruner: str
    metric: str
    min_steps: int = 1
    max_steps: int | None = None
    reduction: int = 3
    startup: int = 5


@dataclass(frozen=True)
class SearchPlan:
    """What a search needs to run: the settings, the space, and how params become a run."""

    sampler: str
    trials: int
    objective: str
    direction: str  # "max" | "min"
    seed: int
    space: dict  # param -> Dist | tuple of choices (params searched, in file order)
    fixed: dict  # param -> value (single values: never searched)
    pruning: Pruning | None = None
    make: Callable[[str, dict], RunSpec] = field(default=None, compare=False, repr=False)

    def block(self) -> dict[str, Any]:
        """The `search` block each trial's run.json carries (the study is rebuilt from these)."""
        prune = None
        if self.pruning:
            p = self.pruning
            prune = {"pruner": p.pruner, "metric": p.metric, "min_steps": p.min_steps, "max_steps": p.max_steps,
                     "reduction": p.reduction, "startup": p.startup}
        return {"sampler": self.sampler, "trials": self.trials, "objective": self.objective,
                "direction": self.direction, "seed": self.seed, "prune": prune,
                "space": {k: _space_json(v) for k, v in self.space.items()}}


def _space_json(value) -> Any:
    if isinstance(value, Dist):
        return {"dist": value.kind, "low": value.low, "high": value.high}
    return list(value)


@dataclass(frozen=True)
class CommandLine:
    """`--search SAMPLER`, `--trials N`, `--objective METRIC[:max|min]` (each overrides SEARCH)."""

    sampler: str | None = None
    trials: int | None = None
    objective: str | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.sampler, self.trials, self.objective))


def read_sections(doc, sections: dict, diags: Diagnostics) -> Sections:
    """Keep a grammar's SEARCH / PRUNE (key, value) pairs; their contents are checked by `prepare`."""
    found = Sections()
    for name, pair in sections.items():
        key, value = pair
        if not value.is_map:
            diags.error(value.span, f"{key.value}: expected a mapping such as "
                                    + ("{sampler: tpe, trials: 40, objective: acc, direction: max}"
                                       if name == "search" else "{pruner: asha, metric: acc}"))
            continue
        setattr(found, name, (key, value, doc.items(value)))
    return found


def prepare(plan: Plan, sections: Sections | None, cli: CommandLine | None, diags: Diagnostics) -> SearchPlan | None:
    """The search this file (and command line) asks for, or None for an ordinary sweep."""
    sections = sections or Sections()
    cli = cli or CommandLine()
    if sections.search is None and not cli.given:
        if sections.prune is not None:
            key = sections.prune[0]
            diags.error(key.span, f"{key.value}: pruning needs a SEARCH section (the trials it stops "
                                  f"are a search's); add SEARCH: {{sampler: tpe, trials: N, objective: ..., "
                                  f"direction: max}}")
        return None
    values, spans = _values(sections.search, SEARCH_KEYS, diags)
    anchor = sections.search[0].span if sections.search else Span("--search", 1, 1, 1, 2)
    for name, text in (("sampler", cli.sampler), ("trials", cli.trials), ("objective", cli.objective)):
        if text is not None:
            flag = f"--{'search' if name == 'sampler' else name}"
            values[name], spans[name] = text, text_span(flag, str(text))
    if cli.objective is not None and ":" in str(cli.objective):
        metric, _, direction = str(cli.objective).rpartition(":")
        values["objective"], values["direction"] = metric, direction
        spans["direction"] = spans["objective"]
    settings = _settings(values, spans, anchor, diags)
    pruning = _pruning(sections.prune, settings.get("objective"), diags)
    space, fixed, axes = _space(plan, anchor, diags)
    sampler = settings.get("sampler")
    _sampler_fits(sampler, space, axes, spans.get("sampler", anchor), diags)
    if diags.errors or sampler is None:
        return None
    trials = settings["trials"]
    if sampler == "grid":
        size = _grid_size(space)
        if trials > size:
            diags.warning(spans.get("trials", anchor), f"trials: {trials} is more than the grid's {size} "
                                                       f"combinations; the search stops after {size}")
            trials = size
    make = _maker(plan)
    return SearchPlan(sampler, trials, settings["objective"], settings["direction"], settings["seed"],
                      space, fixed, pruning, make)


def _values(section, known: dict, diags: Diagnostics) -> tuple[dict, dict]:
    values, spans = {}, {}
    if section is None:
        return values, spans
    head, _, items = section
    for key, value in items:
        name = str(key.value)
        if name.lower() not in known:
            diags.error(key.span, f"{head.value}: unknown key '{name}'{did_you_mean(name, known)} "
                                  f"(known: {', '.join(known)})")
            continue
        values[name.lower()], spans[name.lower()] = value.value, value.span
    return values, spans


def _settings(values: dict, spans: dict, anchor: Span, diags: Diagnostics) -> dict:
    out: dict[str, Any] = {}
    sampler = values.get("sampler", "tpe")
    if not isinstance(sampler, str) or sampler.lower() not in SAMPLERS:
        diags.error(spans.get("sampler", anchor), f"sampler: unknown sampler '{sampler}'"
                                                  f"{did_you_mean(str(sampler), SAMPLERS)} "
                                                  f"(known: {', '.join(SAMPLERS)})")
    else:
        out["sampler"] = sampler.lower()
    trials = values.get("trials")
    if trials is None:
        diags.error(anchor, "SEARCH: missing trials (how many trials to run, e.g. trials: 40)")
    elif isinstance(trials, str) and trials.isdigit():
        trials = int(trials)
    if trials is not None:
        if type(trials) is not int or trials <= 0:
            diags.error(spans.get("trials", anchor), f"trials: expected a positive integer, got {trials!r}")
        else:
            out["trials"] = trials
    objective = values.get("objective")
    if not isinstance(objective, str) or not objective.strip():
        diags.error(spans.get("objective", anchor), "SEARCH: missing objective (the metric to optimise, "
                                                    "e.g. objective: val_acc)" if objective is None else
                    f"objective: expected a metric name, got {objective!r}")
    else:
        out["objective"] = objective.strip()
    direction = values.get("direction")
    if direction is None:
        diags.error(spans.get("objective", anchor), "SEARCH: missing direction: max or min "
                                                    "(on the command line: --objective METRIC:max)")
    elif str(direction).lower() not in DIRECTIONS:
        diags.error(spans.get("direction", anchor), f"direction: expected max or min, got '{direction}'")
    else:
        out["direction"] = DIRECTIONS[str(direction).lower()]
    seed = values.get("seed", 0)
    if type(seed) is not int:
        diags.error(spans.get("seed", anchor), f"seed: expected an integer, got {seed!r}")
    out["seed"] = seed if type(seed) is int else 0
    return out


def _pruning(section, objective: str | None, diags: Diagnostics) -> Pruning | None:
    if section is None:
        return None
    values, spans = _values(section, PRUNE_KEYS, diags)
    anchor = section[0].span
    pruner = values.get("pruner", "asha")
    if not isinstance(pruner, str) or pruner.lower() not in PRUNERS:
        diags.error(spans.get("pruner", anchor), f"pruner: unknown pruner '{pruner}'{did_you_mean(str(pruner), PRUNERS)}"
                                                 f" (known: {', '.join(PRUNERS)})")
        return None
    metric = values.get("metric", objective)
    if not isinstance(metric, str) or not metric.strip():
        diags.error(spans.get("metric", anchor), "PRUNE: missing metric (the metric whose points are compared)")
        return None
    numbers = {}
    for name, default, least in (("min_steps", 1, 0), ("max_steps", None, 1), ("reduction", 3, 2), ("startup", 5, 0)):
        value = values.get(name, default)
        if value is not None and (type(value) is not int or value < least):
            diags.error(spans[name], f"{name}: expected an integer of at least {least}, got {value!r}")
            value = default
        numbers[name] = value
    return Pruning(pruner.lower(), metric.strip(), **numbers)


def _space(plan: Plan, anchor: Span, diags: Diagnostics) -> tuple[dict, dict, dict]:
    if len(plan.blocks) != 1:
        diags.error(anchor, f"SEARCH needs one search space, this file has {len(plan.blocks)} "
                            f"(HPARAMS as one mapping, or one mlrunner choice document)")
        return {}, {}, {}
    space, fixed, axes = {}, {}, {}
    for axis in plan.blocks[0].axes:
        if axis.dist is not None:
            space[axis.key] = axis.dist
        elif len(axis.values) > 1:
            bad = [v for v in axis.values if v is not None and not isinstance(v, (str, int, float, bool))]
            if bad:
                diags.error(axis.span, f"{axis.key}: a searched choice must be a number, string, bool or null, "
                                       f"got {bad[0]!r}")
                continue
            space[axis.key] = tuple(axis.values)
        else:
            fixed[axis.key] = axis.values[0]
            continue
        axes[axis.key] = axis
    if not space and not diags.errors:
        diags.error(anchor, "SEARCH: no param to search: give a param a list of values or a range such as "
                            "loguniform(1e-5, 1e-1)")
    return space, fixed, axes


def _sampler_fits(sampler: str | None, space: dict, axes: dict, where: Span, diags: Diagnostics) -> None:
    """A distribution a sampler cannot take is an error (grid) or a warning (cmaes)."""
    for key, value in space.items():
        if sampler == "grid" and isinstance(value, Dist) and value.kind != "randint":
            diags.error(axes[key].span, f"{key}: the grid sampler cannot take {value.kind}(); give a list "
                                        f"of values or randint(a, b)")
        if sampler == "cmaes" and not isinstance(value, Dist):
            diags.warning(axes[key].span, f"{key}: cmaes searches numeric ranges only; this list is "
                                          f"sampled at random (use tpe for categorical params)")


def _grid_size(space: dict) -> int:
    size = 1
    for value in space.values():
        size *= int(value.high - value.low + 1) if isinstance(value, Dist) else len(value)
    return size


def _maker(plan: Plan) -> Callable[[str, dict], RunSpec]:
    block = plan.blocks[0]

    def make(name: str, params: dict) -> RunSpec:
        combo = {a.key: params.get(a.key, a.values[0]) for a in block.axes}
        if hasattr(plan.builder, "seen"):
            plan.builder.seen.clear()  # mlrunner drops repeated specs; a search may repeat one on purpose
        draft = plan.builder.build(block, combo, Diagnostics())
        if draft is None:  # runx RUNX.SKIP: a search has no use for it, run the params as drawn
            return RunSpec(name, dict(combo), (), {})
        return RunSpec(name, draft.params, draft.commands, draft.resources)

    return make
