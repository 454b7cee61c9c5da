"""Reliability figures that are timings (issue 19); the chaos counts come from tests/test_chaos.py.

1. Output reading: a job printing 10 MB as one line with no newline, against the floor of the
   same 10 MB as 80-byte lines, both through the executor with a METRICS regex on every line.
   Before issue 19 the line scan was quadratic (64 KB: 26 s; 256 KB: never finished).
2. Ctrl-C on a query that would run for hours: seconds from SIGINT to exit, against the floor of
   a trivial query's whole run.

    python bench/bench_reliability.py [--mb 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitexp.record.output import CappedOutput  # noqa: E402
from gitexp.run.executor import Process  # noqa: E402
from gitexp.track.stdout_metrics import StdoutMetrics  # noqa: E402


def _read(folder: Path, script: str) -> float:
    metrics = StdoutMetrics({"loss": r"loss ([0-9.]+)"}, folder / "metrics.jsonl")
    process = Process((f"{sys.executable} -c '{script}'",), folder, dict(os.environ),
                      CappedOutput(folder / "out.log"), on_line=metrics.feed)
    start = time.perf_counter()
    process.start()
    while process.poll() is None:
        time.sleep(0.005)
    return time.perf_counter() - start


def output_reading(mb: int) -> None:
    size = mb * 1024 * 1024
    one_line = f"import sys; sys.stdout.buffer.write(b\"x\" * {size}); sys.stdout.buffer.write(b\" loss 0.5\\n\")"
    short = f"import sys; sys.stdout.buffer.write((b\"y\" * 70 + b\" loss 0.5\\n\") * {size // 80})"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = min(_read(folder, short) for _ in range(3))
        long = min(_read(folder, one_line) for _ in range(3))
    print(f"output reading: {mb} MB as one line {long:.2f} s, as 80-byte lines {floor:.2f} s "
          f"(floor): ratio {long / floor:.2f}")


def _repo(folder: Path) -> Path:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    subprocess.run(["git", "init", "-q", str(folder)], check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "i"], cwd=folder, check=True, env=env)
    return folder


def ctrl_c(trials: int = 5) -> None:
    command = [sys.executable, "-m", "gitexp", "query"]
    with tempfile.TemporaryDirectory() as tmp:
        repo = _repo(Path(tmp) / "repo")
        subprocess.run([*command, "select 1"], cwd=repo, capture_output=True, check=True)  # build the index
        start = time.perf_counter()
        subprocess.run([*command, "select 1"], cwd=repo, capture_output=True, check=True)
        floor = time.perf_counter() - start
        delays = []
        for _ in range(trials):
            proc = subprocess.Popen([*command, "select count(*) from range(1000000000000)"], cwd=repo,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(max(2.0, floor * 2))
            sent = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
            delays.append(time.perf_counter() - sent)
            assert proc.returncode == 130 and "interrupted" in err, err
        shutil.rmtree(repo, ignore_errors=True)
    print(f"query Ctrl-C: exit {max(delays):.2f} s after SIGINT at worst of {trials} "
          f"(median {sorted(delays)[trials // 2]:.2f} s); a whole `select 1` {floor:.2f} s (floor): "
          f"ratio {max(delays) / floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=10)
    args = parser.parse_args()
    output_reading(args.mb)
    ctrl_c()


if __name__ == "__main__":
    main()
