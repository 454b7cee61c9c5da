"""Launch overhead of `gitexp run` on a big repository, side by side with its alternatives.

Generates a repo of N files (default 20,000, ~280 MB) with one dirty file, then times in
one process, each repeated and the median taken:
  bare      the no-op command run directly (the floor)
  plumbing  the git plumbing of a snapshot, as one shell script: copy the index, `add -u`,
            `ls-files --others`, `write-tree`, `commit-tree` (the floor of one run: goal 2.5x)
  gitexp    `gitexp run` of a 1-run sweep of that no-op command (snapshot + records + run)
  copy      copying the code tree, which runx does for every run
  dvc       one `dvc exp run` of a trivial stage running the same no-op, with one dirty file;
            dvc comes from a throwaway venv (bench/peers.py), skipped if that can't be built
  baseline  with --baseline DIR: `gitexp run` from another checkout of gitexp (say, the commit
            before a change), timed on the same repo in the same run, for before/after figures
and prints the overhead of each over `bare` and the ratios. Usage:
  python bench/bench_launch.py [--files 20000] [--mb 280] [--repeat 3] [--keep DIR] [--no-peers]
                               [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers import peer_venv

ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "bench",
       "GIT_COMMITTER_EMAIL": "b@b", "DVC_NO_ANALYTICS": "1"}
# Python caches compiled bytecode on a user's machine; some sandboxes turn that off, which would
# charge every launch ~40 ms of recompiling gitexp's own modules. Measure the normal case.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def sh(*args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env or ENV, check=check, capture_output=True, text=True)


def make_repo(root: Path, files: int, megabytes: int) -> None:
    root.mkdir(parents=True)
    size = max(1, megabytes * 1024 * 1024 // files)
    block = os.urandom(size)  # incompressible-ish code stand-in, different per file by a header
    for i in range(files):
        folder = root / f"pkg{i // 500:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i:05d}.py").write_bytes(f"# file {i}\n".encode() + block[: size - 16])
    (root / "noop.py").write_text("pass\n")
    (root / "sweep.yml").write_text("CMD: python noop.py\nHPARAMS:\n  x: [1]\n")
    sh("git", "init", "-q", cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-q", "-m", "generated", cwd=root)
    (root / "pkg000" / "mod00000.py").write_text("# dirty edit\n")


# What a snapshot costs git, with nothing of gitexp around it (see gitexp/record/snapshot.py).
PLUMBING = ('t=$(mktemp -d) && cp .git/index "$t/index" && export GIT_INDEX_FILE="$t/index" && '
            'git add -u -- . && git ls-files -z --others --exclude-standard >/dev/null && '
            'tree=$(git write-tree) && git commit-tree "$tree" -p HEAD -m snapshot >/dev/null && rm -rf "$t"')


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def time_dvc(dvc: str, repo: Path, repeat: int) -> float:
    """Median of `dvc exp run`, each with a fresh edit to the same one file, checked to make an experiment."""
    sh(dvc, "init", "-q", cwd=repo)
    sh(dvc, "config", "--local", "core.check_update", "false", cwd=repo)  # no network call in the timing
    sh(dvc, "stage", "add", "-q", "-n", "noop", f"{sys.executable} noop.py", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "dvc", cwd=repo)
    samples = []
    for attempt in range(repeat):
        (repo / "pkg000" / "mod00000.py").write_text(f"# dirty edit {attempt}\n")
        samples.append(timed(lambda: sh(dvc, "exp", "run", "-q", cwd=repo), 1))
    made = sh("git", "for-each-ref", "--format=%(refname)", "refs/exps/", cwd=repo).stdout.split()
    experiments = [ref for ref in made if not ref.startswith("refs/exps/exec/")]
    if len(experiments) != repeat:
        raise SystemExit(f"dvc exp run made {len(experiments)} experiments, expected {repeat}")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=280)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the repo here and keep it")
    parser.add_argument("--no-peers", action="store_true", help="skip peers (dvc) and their venv")
    parser.add_argument("--baseline", type=Path, help="another gitexp checkout to time beside this one")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gitexp-bench-"))
    repo = args.keep or tmp / "repo"
    print(f"generating {args.files} files, ~{args.mb} MB in {repo} ...", file=sys.stderr)
    started = time.perf_counter()
    make_repo(repo, args.files, args.mb)
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    gitexp = [sys.executable, "-m", "gitexp"]
    results: dict[str, float | None] = {}
    results["bare"] = timed(lambda: sh(sys.executable, "noop.py", cwd=repo), args.repeat)
    sh("sh", "-c", PLUMBING, cwd=repo)  # warm-up: the OS file cache
    plumbing = timed(lambda: sh("sh", "-c", PLUMBING, cwd=repo), args.repeat)
    sh(*gitexp, "run", "sweep.yml", cwd=repo)  # warm-up: bytecode and the OS file cache, as on a 2nd run
    if args.baseline:  # alternate the two, so a noisy neighbour slows both alike
        root = args.baseline.resolve()
        before = {**ENV, "PYTHONPATH": os.pathsep.join([str(root), str(root / "lsp")])}
        sh(*gitexp, "run", "sweep.yml", cwd=repo, env=before)  # its warm-up
        mine, theirs = [], []
        for _ in range(args.repeat):
            mine.append(timed(lambda: sh(*gitexp, "run", "sweep.yml", cwd=repo), 1))
            theirs.append(timed(lambda: sh(*gitexp, "run", "sweep.yml", cwd=repo, env=before), 1))
        results["gitexp"], results["baseline"] = statistics.median(mine), statistics.median(theirs)
    else:
        results["gitexp"] = timed(lambda: sh(*gitexp, "run", "sweep.yml", cwd=repo), args.repeat)
    copies = iter(range(1000))
    results["copy"] = timed(lambda: shutil.copytree(repo, tmp / f"copy{next(copies)}",
                                                    ignore=shutil.ignore_patterns(".git")), 1)
    dvc_bin = None if args.no_peers else peer_venv("dvc", ["dvc"])
    results["dvc"] = None if dvc_bin is None else time_dvc(str(dvc_bin / "dvc"), repo, args.repeat)

    bare = results["bare"] or 1e-9
    print(f"\nlaunch overhead, {args.files} files / {args.mb} MB, one dirty file (median of {args.repeat})")
    print(f"{'what':<8} {'total s':>9} {'overhead s':>11} {'vs gitexp':>10}")
    overhead = {k: (v - bare if k != "copy" else v) for k, v in results.items() if v is not None}
    for key in ("bare", "gitexp", "baseline", "copy", "dvc"):
        if key == "baseline" and not args.baseline:
            continue
        value = results[key]
        if value is None:
            why = "--no-peers" if args.no_peers else "dvc could not be installed"
            print(f"{key:<8} {'skipped (' + why + ')':>32}")
            continue
        ratio = overhead[key] / overhead["gitexp"] if overhead["gitexp"] > 0 else float("inf")
        print(f"{key:<8} {value:>9.3f} {overhead[key]:>11.3f} {ratio:>9.1f}x")
    print(f"\ngoal: gitexp overhead under 0.3 s -> {'met' if overhead['gitexp'] < 0.3 else 'NOT met'}"
          f" ({overhead['gitexp']:.3f} s)")
    print(f"one run against the snapshot plumbing ({plumbing:.3f} s): gitexp {results['gitexp'] / plumbing:.1f}x"
          + (f", baseline {results['baseline'] / plumbing:.1f}x" if results.get("baseline") else "")
          + f"; goal < 2.5x -> {'met' if results['gitexp'] / plumbing < 2.5 else 'NOT met'}"
          + f" (load average {os.getloadavg()[0]:.1f})")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
