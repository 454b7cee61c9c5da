"""Output benchmark: what a person sees, against the CSV / DuckDB floor measured in the same run.

    python bench/bench_output.py                 # 10k and 100k runs
    python bench/bench_output.py 10000 --before /work/main   # also time another checkout's gitexp

Records have the heavier shape (20 params, 10 summary metrics, 2 curves of 20 points, 10
sweeps; tests/recordgen.py writes them). The index is built first (not timed here: see
bench_index.py). Then, whole processes, medians of --repeat:

* card query `select * order by acc desc`, piped (every row, tab-separated) and `--format csv`,
  against the floor: a bare `python -c "import duckdb, csv"` running the same SQL on the index
  file and writing every row with csv.writer;
* the same query in a terminal (a real pseudo-terminal, 120x50): the first screen; goal < 0.5 s;
* `gitexp ls` piped (every run) against the bare-DuckDB floor of its columns, and in a terminal.

Goals: piped within 2x the CSV floor; `ls` piped within 2x its floor; first screen < 0.5 s.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import recordgen  # noqa: E402

SQL = "select * order by acc desc"
FLOOR = ("import csv, sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
         "cur = con.execute(sys.argv[2]); w = csv.writer(sys.stdout); "
         "w.writerow([d[0] for d in cur.description]); w.writerows(cur.fetchall())")
LS_FLOOR_SQL = ("select sweep, name, status, created, p0, p1, p2, p3, p4, seed, m0, m1, m2, m3, m4, m5 "
                "from runs order by created desc, run")


def heavy(count: int, seed: int = 0) -> list[recordgen.Record]:
    """20 params (5 that vary, a seed, 14 constant), 10 metrics, 2 curves of 20 points."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        params = {f"p{j}": rng.choice([0.1, 0.01, 1, 2, "a", "b"]) if j < 5 else 7 for j in range(19)}
        params["seed"] = i
        metrics = {f"m{j}": rng.random() for j in range(9)}
        metrics["acc"] = rng.random()
        series = [{"step": s, "key": k, "value": rng.random(), "time": 1.7e9 + s}
                  for s in range(1, 21) for k in ("loss", "acc")]
        failed = i % 17 == 0
        records.append(recordgen.Record(f"sweep{i % 10}", f"run{i}", params, metrics, series,
                                        status="failed" if failed else "completed",
                                        info={"exit_code": 3} if failed else {}))
    return records


def piped(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0 and proc.stdout, args
    return elapsed


def in_terminal(args: list[str], cwd: Path, env: dict[str, str], cols: int = 120, rows: int = 50) -> float:
    """Seconds until the command, attached to a real pseudo-terminal, has printed and exited."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    while True:
        try:
            if not os.read(master, 1 << 16):
                break
        except OSError:
            break
    proc.wait()
    elapsed = time.perf_counter() - start
    os.close(master)
    assert proc.returncode == 0, args
    return elapsed


def median(measure, repeat: int) -> float:
    measure()  # warm the OS caches
    return statistics.median(measure() for _ in range(repeat))


def bench(count: int, root: Path, repeat: int, before: Path | None) -> None:
    repo = recordgen.init_repo(root / f"r{count}")
    recordgen.write(repo, heavy(count))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    gitexp = [sys.executable, "-m", "gitexp"]
    subprocess.run([*gitexp, "query", "select count(*)"], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
    index = repo / ".git" / "gitexp" / "index.duckdb"
    floor = median(lambda: piped([sys.executable, "-c", FLOOR, str(index), SQL.replace("*", "* from runs")],
                                 repo, env), repeat)
    ls_floor = median(lambda: piped([sys.executable, "-c", FLOOR, str(index), LS_FLOOR_SQL], repo, env), repeat)
    rows = [
        ("card query, piped (tsv)", median(lambda: piped([*gitexp, "query", SQL], repo, env), repeat), floor, 2.0),
        ("card query, --format csv", median(lambda: piped([*gitexp, "query", SQL, "-f", "csv"], repo, env), repeat),
         floor, 2.0),
        ("card query, terminal 120x50", median(lambda: in_terminal([*gitexp, "query", SQL], repo, env), repeat),
         floor, None),
        ("ls, piped (every run)", median(lambda: piped([*gitexp, "ls"], repo, env), repeat), ls_floor, 2.0),
        ("ls, terminal 120x50", median(lambda: in_terminal([*gitexp, "ls"], repo, env), repeat), ls_floor, None),
    ]
    if before is not None:
        old = {**env, "PYTHONPATH": str(before)}
        rows.append((f"before ({before}): card query, terminal",
                     median(lambda: in_terminal([*gitexp, "query", SQL], repo, old), 1), floor, None))
        rows.append((f"before ({before}): card query, piped",
                     median(lambda: piped([*gitexp, "query", SQL], repo, old), 1), floor, None))
    print(f"\n{count:,} runs (heavy shape), medians of {repeat}; floor: bare DuckDB -> csv.writer, every row")
    print(f"{'what':44} {'gitexp':>9} {'floor':>9} {'ratio':>7}  goal")
    for what, seconds, base, goal in rows:
        target = f"<= {goal:g}x" if goal else ("< 0.5 s" if "card query, terminal" in what else "")
        print(f"{what:44} {seconds:8.3f}s {base:8.3f}s {seconds / base:6.2f}x  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout whose gitexp to time as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-output-") as folder:
        for count in args.counts:
            bench(count, Path(folder), args.repeat, args.before)


if __name__ == "__main__":
    main()
