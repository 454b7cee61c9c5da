"""The local scheduler on CPU: makespan against a hand-packed floor, and its own memory.

    python bench/bench_scheduler.py [--jobs 4] [--runs 8] [--seconds 1] [--queued 1000] [--baseline DIR]

1. Makespan: `--runs` jobs of `sleep SECONDS` through `gitexp run -j JOBS`, next to the same
   commands run by `xargs -P JOBS` (no records, no snapshot: the floor). Prints both and
   the ratio.
2. Short jobs: 50 x `true` and `--short` x `sleep 0.01` through `gitexp run -j JOBS`, next to
   `xargs -P JOBS` running the same command lines (goals: within 5x and 2x of it).
   With `--baseline DIR`, the same sweeps also through another checkout of gitexp (say, main
   before a change), alternated with this one so a noisy neighbour slows both alike.
3. Memory: a sweep of `--queued` no-op runs (all queued at once, 8 at a time), and the
   peak resident memory of the `gitexp run` process (goal: under 150 MB), plus the
   scheduler's cost per run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bytecode caching on, as on a user's machine (a test runner's PYTHONDONTWRITEBYTECODE would
# make every `gitexp run` compile its modules again)
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "bench",
       "GIT_COMMITTER_EMAIL": "b@b"}


def repo(root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "README").write_text("bench\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=root, check=True, env=ENV)
    return root


def wall(args: list[str], cwd: Path, stdin: str | None = None, env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, input=stdin, text=True, env=env or ENV,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--short", type=int, default=1000, help="how many `sleep 0.01` jobs in part 2")
    parser.add_argument("--repeat", type=int, default=1, help="part 2: median of this many of each")
    parser.add_argument("--baseline", type=Path, help="part 2: another gitexp checkout, timed beside this one")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gitexp-bench-sched-"))
    gitexp = [sys.executable, "-m", "gitexp"]

    work = repo(tmp / "makespan")
    values = ", ".join(str(i) for i in range(args.runs))
    (work / "sweep.yml").write_text(f"CMD: sleep {args.seconds}; true\nHPARAMS:\n  i: [{values}]\n")
    ours = wall([*gitexp, "run", "sweep.yml", "-j", str(args.jobs)], work)
    floor = wall(["xargs", "-P", str(args.jobs), "-I{}", "sh", "-c", f"sleep {args.seconds}; true --i {{}}"], work,
                 stdin="\n".join(str(i) for i in range(args.runs)) + "\n")
    ideal = -(-args.runs // args.jobs) * args.seconds
    print(f"makespan: {args.runs} jobs of {args.seconds:g} s, {args.jobs} at a time")
    print(f"  {'ideal':<22} {ideal:7.2f} s")
    print(f"  {'xargs -P (floor)':<22} {floor:7.2f} s")
    print(f"  {'gitexp run -j':<22} {ours:7.2f} s   ratio to floor {ours / floor:.2f}x")

    before = None
    if args.baseline:
        root = args.baseline.resolve()
        before = {**ENV, "PYTHONPATH": os.pathsep.join([str(root), str(root / "lsp")])}
    print(f"\nshort jobs, {args.jobs} at a time (floor: xargs -P {args.jobs} running the same command lines; "
          f"median of {args.repeat}; load average {os.getloadavg()[0]:.1f})")
    for label, count, command, goal in ((f"50 x true", 50, "true", 5.0),
                                        (f"{args.short} x sleep 0.01", args.short, "sleep 0.01; true", 2.0)):
        samples: dict[str, list[float]] = {"gitexp": [], "baseline": [], "floor": []}
        for attempt in range(args.repeat):
            for side, env in (("gitexp", ENV), ("baseline", before)):
                if side == "baseline" and before is None:
                    continue
                work = repo(tmp / f"short-{count}-{side}-{attempt}")
                (work / "sweep.yml").write_text(f"CMD: '{command}'\nHPARAMS:\n  i: {list(range(count))}\n")
                samples[side].append(wall([*gitexp, "run", "sweep.yml", "-j", str(args.jobs), "--yes"], work, env=env))
            samples["floor"].append(wall(["xargs", "-P", str(args.jobs), "-I{}", "sh", "-c", f"{command} --i {{}}"],
                                         work, stdin="\n".join(str(i) for i in range(count)) + "\n"))
        ours, floor = statistics.median(samples["gitexp"]), statistics.median(samples["floor"])
        ratio = ours / floor
        then = (f"   baseline {statistics.median(samples['baseline']):6.2f} s "
                f"({statistics.median(samples['baseline']) / floor:5.1f}x)") if before else ""
        print(f"  {label:<20} gitexp {ours:6.2f} s   xargs -P {floor:6.2f} s   {ratio:5.1f}x   "
              f"goal < {goal:g}x -> {'met' if ratio < goal else 'NOT met'}{then}")

    work = repo(tmp / "memory")
    (work / "sweep.yml").write_text(f"CMD: 'true'\nHPARAMS:\n  i: {list(range(args.queued))}\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    launched = time.time()
    took = wall([*gitexp, "run", "sweep.yml", "-j", "8", "--yes"], work)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # before the query's own process
    first = subprocess.run([*gitexp, "query", "select epoch(min(started)) from runs", "--format", "csv"], cwd=work,
                           env=ENV, check=True, capture_output=True, text=True).stdout.split()[-1]
    print(f"\nmemory: {args.queued} runs queued at once, 8 at a time")
    print(f"  peak RSS of `gitexp run`  {peak_mb:7.1f} MB   goal < 150 MB -> {'met' if peak_mb < 150 else 'NOT met'}"
          + ("" if before < peak_mb * 1024 else " (bounded by an earlier child)"))
    print(f"  wall time                 {took:7.1f} s   ({1000 * took / args.queued:.1f} ms per run, records included)")
    print(f"  first job started after   {float(first) - launched:7.2f} s   (expanding, snapshotting, queueing {args.queued} runs)")


if __name__ == "__main__":
    main()
