"""Index benchmark: cold build and warm `gitexp query`, whole processes, against bare DuckDB.

    python bench/bench_index.py            # 1k and 10k runs
    python bench/bench_index.py 1000 10000 100000

Records are written with `git fast-import` in the documented format (tests/recordgen.py:
5 params, 2 summary metrics, 2 curves of 10 points per run, 10 sweeps). The floor is a bare
`python -c "import duckdb; ..."` that opens the finished index and runs the same sort,
printing the same CSV. Reference figures: `dvc exp show` over 1,000 experiments 22.4 s
cold / 1.2 s warm; MLflow 3 `search_runs` ordering 5,000 runs by a metric 6.5 s.
Goals: cold build of 10k < 3 s; warm query within 2x of the floor at 10k, < 1 s at 100k.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import recordgen  # noqa: E402

SQL = "select * order by acc desc"
TOP = 20  # what a terminal shows: `gitexp query SQL --limit 20`
COLD = "from gitexp.git import open_repo; from gitexp.index import sync; sync(open_repo('.')).close()"
WARM = ("import sys; from gitexp.git import open_repo; from gitexp.index import render, run_query; "
        f"limit = int(sys.argv[1]) or None; sys.stdout.write(render(run_query(open_repo('.'), {SQL!r}, limit), 'csv'))")
BARE = ("import csv, sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
        "cur = con.execute('select * from runs order by acc desc' + (' limit ' + sys.argv[2] if sys.argv[2] != '0' else '')); "
        "w = csv.writer(sys.stdout); w.writerow([d[0] for d in cur.description]); w.writerows(cur.fetchall())")


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(args: list[str], cwd: Path, repeat: int = 5) -> float:
    timed(args, cwd)  # warm the OS caches
    return statistics.median(timed(args, cwd) for _ in range(repeat))


def query_command(repo: Path, limit: int) -> tuple[str, list[str]]:
    """`gitexp query` itself when the CLI has it, else the same library calls (limit 0 = all rows)."""
    probe = subprocess.run([sys.executable, "-m", "gitexp", "query", "--help"], cwd=repo, capture_output=True)
    if probe.returncode == 0:
        return "gitexp query", [sys.executable, "-m", "gitexp", "query", SQL, "--format", "csv",
                                *(["--limit", str(limit)] if limit else [])]
    return "run_query()", [sys.executable, "-c", WARM, str(limit)]


def bench(count: int, root: Path) -> None:
    repo = recordgen.init_repo(root / f"repo{count}")
    start = time.perf_counter()
    recordgen.write(repo, recordgen.synthetic(count))
    made = time.perf_counter() - start
    index = repo / ".git" / "gitexp" / "index.duckdb"
    colds = []
    for _ in range(3 if count <= 10_000 else 1):
        index.unlink(missing_ok=True)
        colds.append(timed([sys.executable, "-c", COLD], repo))
    cold = statistics.median(colds)
    print(f"{count:>7} runs  (records written in {made:.1f} s, index {index.stat().st_size / 1e6:.1f} MB)")
    print(f"  cold build            {cold:7.3f} s   ({cold / count * 1000:.2f} s per 1k runs; "
          f"dvc exp show: 22.4 s per 1k -> {22.4 / (cold / count * 1000):.0f}x faster)")
    for limit in (0, TOP):
        label, command = query_command(repo, limit)
        warm = median(command, repo)
        floor = median([sys.executable, "-c", BARE, str(index), str(limit)], repo)
        rows = f"top {limit}" if limit else "all rows"
        print(f"  warm {label} {rows:<8} {warm:7.3f} s   bare duckdb floor {floor:.3f} s   ratio {warm / floor:.2f}x")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1_000, 10_000]
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        for count in sizes:
            bench(count, Path(tmp))


if __name__ == "__main__":
    main()
