"""Adaptive search on the real scheduler: samplers, pruning, and what asking costs the slots.

    python bench/bench_search.py [--seeds 10] [--trials 100] [--jobs 2] [--prune-trials 30] [--prune-seeds 3]

No GPU needed: each trial is a real process started by the real scheduler (`gitexp run`'s own
launch, in this process so the driver's timings can be read), and records a synthetic training
curve from a known function through `gitexp.log`, so the optimum is known exactly.

1. TPE vs random vs grid at an equal budget (`--trials`, `--seeds` seeds each): the trials each
   needed to come within 1 % of the known optimum, and the trials TPE needed to match the best of
   `--trials` random trials (goal: at most 40, median).
2. ASHA vs no pruning at an equal trial count: the training steps computed in all, and the best
   value found (goal: at least 50 % fewer steps, best within 1 %).
3. The gap between a slot freeing (the scheduler noticing a trial's end) and the next trial's
   process starting, which includes telling the result, asking the sampler and writing the new
   trial's ref (goal: median under 100 ms); and the cost of reporting one point to the pruner.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "bench",
       "GIT_COMMITTER_EMAIL": "b@b"}
OPTIMUM = 0.9
# The known function: 0.9 at lr = 10^-2.5, dropout = 0.3, layers = 5; the curve rises towards the
# trial's final value (reached at the last step), slower for more layers, so early points say
# something about the end.
CURVE = """\
import argparse, math, time
import gitexp
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--dropout", type=float)
p.add_argument("--layers", type=int)
p.add_argument("--steps", type=int)
p.add_argument("--sleep", type=float)
a = p.parse_args()
final = 0.9 * math.exp(-((math.log10(a.lr) + 2.5) ** 2) / 4 - 2 * (a.dropout - 0.3) ** 2 - (a.layers - 5) ** 2 / 200)
tau = 1 + 2 * a.layers / 8
for step in range(1, a.steps + 1):
    gitexp.log({"val_acc": final * (1 - math.exp(-step / tau)) / (1 - math.exp(-a.steps / tau))}, step=step)
    if a.sleep:
        time.sleep(a.sleep)
"""
SPACE = {
    "continuous": "  lr: loguniform(1e-5, 1e-1)\n  dropout: uniform(0.0, 0.8)\n  layers: randint(2, 8)\n",
    "grid": "  lr: [1.0e-5, 1.0e-4, 1.0e-3, 3.0e-3, 1.0e-2, 1.0e-1]\n  dropout: [0.0, 0.2, 0.3, 0.4, 0.8]\n"
            "  layers: [2, 4, 5, 8]\n",  # 120 combinations holding the optimum exactly
}


def sweep_file(folder: Path, name: str, sampler: str, trials: int, seed: int, steps: int, sleep: float,
               prune: str | None) -> Path:
    space = SPACE["grid" if sampler == "grid" else "continuous"]
    text = (f"CMD: python curve.py --steps {steps} --sleep {sleep}\nHPARAMS:\n{space}"
            f"SEARCH: {{sampler: {sampler}, trials: {trials}, objective: val_acc, direction: max, seed: {seed}}}\n")
    if prune:
        text += f"PRUNE: {{pruner: {prune}, metric: val_acc, min_steps: 1, reduction: 3}}\n"
    path = folder / f"{name}.yml"
    path.write_text(text)
    return path


def new_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "curve.py").write_text(CURVE)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=root, check=True, env={**os.environ, **ENV})
    return root


def search(root: Path, name: str, jobs: int, **kw):
    """One search through gitexp's own launch; returns (results by trial number, driver timings)."""
    from gitexp.record.git import open_repo
    from gitexp.run import launch

    path = sweep_file(root, name, **kw)
    old = os.getcwd()
    os.chdir(root)
    try:
        result = launch.launch(open_repo(root), path, launch.LaunchOptions(name=name, jobs=jobs))
    finally:
        os.chdir(old)
    by_trial = {}
    for outcome in result.outcomes:
        by_trial[int(outcome.run.name.rsplit("-", 1)[1])] = outcome
    return by_trial, result.search


def first_within(by_trial: dict, target: float) -> int | None:
    """1-based count of trials until one completed with val_acc >= target."""
    for number in sorted(by_trial):
        outcome = by_trial[number]
        value = outcome.metrics.get("val_acc")
        if outcome.status == "completed" and isinstance(value, (int, float)) and value >= target:
            return number + 1
    return None


def best(by_trial: dict) -> float:
    values = [o.metrics.get("val_acc") for o in by_trial.values() if o.status == "completed"]
    return max(v for v in values if isinstance(v, (int, float)))


def med(values: list) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "never"
    missing = len(values) - len(known)
    return f"{statistics.median(known):g}" + (f" ({missing} of {len(values)} never)" if missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--prune-trials", type=int, default=30)
    parser.add_argument("--prune-seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=27)
    parser.add_argument("--step-seconds", type=float, default=0.05)
    args = parser.parse_args()
    os.environ.update(ENV)
    import logging

    logging.basicConfig(format="gitexp: %(message)s", level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="gitexp-bench-search-"))
    gaps, reports, asks = [], [], []
    began = time.perf_counter()

    print(f"1. samplers at an equal budget: {args.trials} trials, {args.seeds} seeds, -j {args.jobs}; "
          f"optimum {OPTIMUM}, 'within 1 %' = val_acc >= {OPTIMUM * 0.99:.4f}")
    reach = {"tpe": [], "random": [], "grid": []}
    best_random, tpe_runs = [], []
    for sampler in reach:
        root = new_repo(tmp / sampler)
        for seed in range(args.seeds):
            by_trial, timings = search(root, f"s{seed}", args.jobs, sampler=sampler, trials=args.trials, seed=seed,
                                       steps=1, sleep=0.0, prune=None)
            gaps += timings["gaps"]
            asks += timings["ask_costs"]
            reach[sampler].append(first_within(by_trial, OPTIMUM * 0.99))
            if sampler == "random":
                best_random.append(best(by_trial))
            if sampler == "tpe":
                tpe_runs.append(by_trial)
        print(f"   {sampler:6s} trials to within 1 % (median of {args.seeds}): {med(reach[sampler])}")
    to_match = [first_within(runs, target) for runs, target in zip(tpe_runs, best_random)]
    print(f"   TPE trials to reach the best of {args.trials} random trials (same seed), median: {med(to_match)}"
          f"  [goal <= 40: {'met' if _median_ok(to_match, 40) else 'NOT met'}]")

    print(f"2. ASHA vs no pruning: {args.prune_trials} trials of {args.steps} steps, {args.prune_seeds} seeds, "
          f"-j {args.jobs}, TPE")
    rows = []
    for seed in range(args.prune_seeds):
        results = {}
        for prune in (None, "asha"):
            root = new_repo(tmp / f"prune-{seed}-{prune}")
            by_trial, timings = search(root, "p", args.jobs, sampler="tpe", trials=args.prune_trials, seed=seed,
                                       steps=args.steps, sleep=args.step_seconds, prune=prune)
            gaps += timings["gaps"]
            reports += timings["report_costs"]
            asks += timings["ask_costs"]
            steps = sum(_steps(root, "p", number) for number in by_trial)
            pruned = sum(1 for o in by_trial.values() if o.status == "pruned")
            results[prune] = (steps, best(by_trial), pruned)
        (s0, b0, _), (s1, b1, p1) = results[None], results["asha"]
        rows.append((1 - s1 / s0, b1 / b0))
        print(f"   seed {seed}: steps {s0} -> {s1} ({100 * (1 - s1 / s0):.0f} % fewer, {p1} pruned); "
              f"best {b0:.4f} -> {b1:.4f} ({100 * (b1 / b0 - 1):+.2f} %)")
    saved = statistics.median(r[0] for r in rows)
    ratio = statistics.median(r[1] for r in rows)
    print(f"   median: {100 * saved:.0f} % fewer steps, best at {100 * ratio:.2f} % of unpruned  "
          f"[goal >= 50 % fewer, within 1 %: {'met' if saved >= 0.5 and ratio >= 0.99 else 'NOT met'}]")

    spawn = _spawn_floor(tmp)
    print(f"3. slot freed -> next trial started, over {len(gaps)} trials: median {1000 * statistics.median(gaps):.1f} ms, "
          f"p90 {1000 * _quantile(gaps, 0.9):.1f} ms  [goal median < 100 ms: "
          f"{'met' if statistics.median(gaps) < 0.1 else 'NOT met'}]")
    print(f"   of which asking the sampler: median {1000 * statistics.median(asks):.2f} ms, "
          f"p90 {1000 * _quantile(asks, 0.9):.2f} ms; floor: spawning a process alone {1000 * spawn:.1f} ms")
    if reports:
        print(f"   reporting one point to the pruner (report + should_prune), over {len(reports)} points: "
              f"median {1e6 * statistics.median(reports):.0f} µs, p90 {1e6 * _quantile(reports, 0.9):.0f} µs")
    print(f"   (the scheduler notices an ended trial within its {20} ms poll; not counted above)")
    print(f"total {time.perf_counter() - began:.0f} s")


def _median_ok(values: list, limit: float) -> bool:
    known = [v if v is not None else math.inf for v in values]
    return statistics.median(known) <= limit


def _quantile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _steps(root: Path, sweep: str, number: int) -> int:
    """Steps the trial computed: the points its record holds."""
    out = subprocess.run(["git", "show", f"refs/experiments/{sweep}/trial-{number:04d}:.gitexp/metrics.jsonl"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


def _spawn_floor(tmp: Path) -> float:
    """Starting the same interpreter with nothing to do (the part of the gap no scheduler can save)."""
    times = []
    for _ in range(10):
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", "pass"], cwd=tmp)
        times.append(time.perf_counter() - start)
        proc.wait()
    return statistics.median(times)


if __name__ == "__main__":
    main()
