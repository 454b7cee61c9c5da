"""Packing benchmark: 8 small MLP trainings on one real GPU, hand-packed vs `gitexp run` with no memory hint.

    python bench/bench_packing.py            # needs torch with CUDA and a GPU; skips otherwise
    python bench/bench_packing.py --jobs 8 --steps 3000

Each job trains a 3-layer MLP on random data on `cuda` (about 80 MiB of tensors plus the CUDA
context). Schedules measured, makespan in seconds (launch of the first job to end of the last):
  1 at a time         what a one-job-per-GPU tool does on one GPU
  2 / 4 / 8 at once   hand-packed: waves of N jobs started together
  gitexp              `gitexp run sweep.yml` in a scratch repo, no gpu_mem: it learns the footprint
Reference figures (one H100 80GB): 98.4 / 62.0 / 33.4 / 17.2 s. Goal: gitexp within 1.2x of the
best hand-packed makespan.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = '''\
import argparse, torch
p = argparse.ArgumentParser()
p.add_argument("--seed", type=int, default=0)
p.add_argument("--steps", type=int, default=3000)
a = p.parse_args()
torch.manual_seed(a.seed)
x, y = torch.randn(8192, 512, device="cuda"), torch.randint(0, 10, (8192,), device="cuda")
model = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2048),
                            torch.nn.ReLU(), torch.nn.Linear(2048, 10)).cuda()
opt = torch.optim.Adam(model.parameters(), 1e-3)
for step in range(a.steps):
    idx = torch.randint(0, 8192, (256,), device="cuda")
    loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
    opt.zero_grad(); loss.backward(); opt.step()
torch.cuda.synchronize()
print("loss", float(loss), "peak MiB", torch.cuda.max_memory_allocated() / 2**20)
'''


def gpu_ready() -> str | None:
    """None when torch sees a CUDA GPU, else why the benchmark cannot run."""
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch sees no CUDA GPU"
    return None


def waves(script: Path, jobs: int, at_once: int, steps: int) -> float:
    """Start jobs in waves of `at_once` on GPU 0; makespan in seconds."""
    env = {**os.environ, "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0"}
    started = time.perf_counter()
    for first in range(0, jobs, at_once):
        procs = [subprocess.Popen([sys.executable, str(script), "--seed", str(i), "--steps", str(steps)], env=env,
                                  stdout=subprocess.DEVNULL) for i in range(first, min(jobs, first + at_once))]
        if any(proc.wait() != 0 for proc in procs):
            raise SystemExit(f"a job failed with {at_once} at once")
    return time.perf_counter() - started


def with_gitexp(jobs: int, steps: int) -> float:
    """`gitexp run` over the same jobs in a throwaway repository, limited to GPU 0."""
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        repo = Path(tmp)
        (repo / "train.py").write_text(TRAIN)
        seeds = ", ".join(str(i) for i in range(jobs))
        (repo / "sweep.yml").write_text(f"CMD: {shlex.quote(sys.executable)} train.py\n"
                                        f"HPARAMS:\n  seed: [{seeds}]\n  steps: {steps}\n")
        env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
        for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
            subprocess.run(cmd, cwd=repo, env=env, check=True)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "gitexp", "run", "sweep.yml", "--gpus", "0"], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        took = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"gitexp run failed:\n{proc.stderr}")
        placements = [line for line in proc.stderr.splitlines() if " started on " in line]
        print("\n".join(f"    {line}" for line in placements))
        return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    why = gpu_ready()
    if why:
        print(f"bench_packing: skipped: {why} (run it on a machine with a GPU and torch)")
        return
    if not shutil.which("git"):
        raise SystemExit("bench_packing: git is not on PATH")
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        script = Path(tmp) / "train.py"
        script.write_text(TRAIN)
        waves(script, 1, 1, 50)  # warm the driver and the kernel caches once
        results = {}
        for at_once in (1, 2, 4, args.jobs):
            results[f"{at_once} at a time" if at_once == 1 else f"{at_once} at once"] = \
                waves(script, args.jobs, at_once, args.steps)
            print(f"{list(results)[-1]:>12}: {list(results.values())[-1]:6.1f} s", flush=True)
    print("      gitexp:", flush=True)
    results["gitexp"] = with_gitexp(args.jobs, args.steps)
    best = min(v for k, v in results.items() if k != "gitexp")
    print(f"      gitexp: {results['gitexp']:6.1f} s")
    print(f"\ngitexp / best hand-packed = {results['gitexp'] / best:.2f}x (goal <= 1.2x); "
          f"one at a time / gitexp = {results['1 at a time'] / results['gitexp']:.1f}x")


if __name__ == "__main__":
    main()
