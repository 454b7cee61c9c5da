"""Overhead of one `gitexp.log` call inside a run, amortised over flushes (goal: under 5 µs).

Runs against a real run folder in a temp dir ($GITEXP_RUN_DIR), so the figure includes the
background flusher serialising and appending every point. Prints µs per call and per point.

    python bench/bench_log.py [CALLS]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

GOAL_US = 5.0


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        os.environ["GITEXP_RUN_DIR"] = tmp
        import gitexp

        gitexp.log({"warmup": 0.0})
        gitexp.flush()
        start = time.perf_counter()
        for step in range(calls):
            gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
        gitexp.flush()
        single = (time.perf_counter() - start) / calls * 1e6
        start = time.perf_counter()
        for step in range(calls // 4):
            gitexp.log({"loss": 0.5, "acc": 0.9, "lr": 0.1, "grad_norm": 1.5}, step=step)
        gitexp.flush()
        four = (time.perf_counter() - start) / (calls // 4) * 1e6
        lines = sum(1 for _ in open(os.path.join(tmp, ".gitexp", "metrics.jsonl")))
    assert lines == 1 + calls + 4 * (calls // 4), lines
    print(f"gitexp.log, 1 key : {single:.2f} µs/call amortised (incl. flush), goal < {GOAL_US} µs "
          f"-> {'ok' if single < GOAL_US else 'OVER'}")
    print(f"gitexp.log, 4 keys: {four:.2f} µs/call ({four / 4:.2f} µs/point)")


if __name__ == "__main__":
    main()
