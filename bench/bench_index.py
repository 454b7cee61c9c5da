"""Index benchmark: cold build and warm `gitexp query`, whole processes, against bare DuckDB.

    python bench/bench_index.py            # 1k and 10k runs
    python bench/bench_index.py 1000 10000 100000 [--no-peers]

Records are written with `git fast-import` in the documented format (tests/recordgen.py:
5 params, 2 summary metrics, 2 curves of 10 points per run, 10 sweeps). The floor is a bare
`python -c "import duckdb; ..."` that opens the finished index and runs the same sort,
printing the same CSV. Peer, measured at sizes up to 5,000 runs: MLflow (mlflow-skinny in a
throwaway venv, bench/peers.py) with the same records in a sqlite store, one experiment per
sweep, queried by a whole process paging through `search_runs(order_by=["metrics.acc DESC"])`.
Peer, cited: `dvc exp show` over 1,000 experiments 22.4 s cold / 1.2 s warm (making 1,000
real DVC experiments takes one ~1 s `dvc exp run` each, too slow to do here).
Goals: cold build of 10k < 3 s; warm query within 2x of the floor at 10k, < 1 s at 100k.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import recordgen  # noqa: E402
from peers import peer_venv  # noqa: E402

SQL = "select * order by acc desc"
TOP = 20  # what a terminal shows: `gitexp query SQL --limit 20`
COLD = "from gitexp.git import open_repo; from gitexp.index import sync; sync(open_repo('.')).close()"
WARM = ("import sys; from gitexp.git import open_repo; from gitexp.index import render, run_query; "
        f"limit = int(sys.argv[1]) or None; sys.stdout.write(render(run_query(open_repo('.'), {SQL!r}, limit), 'csv'))")
BARE = ("import csv, sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
        "cur = con.execute('select * from runs order by acc desc' + (' limit ' + sys.argv[2] if sys.argv[2] != '0' else '')); "
        "w = csv.writer(sys.stdout); w.writerow([d[0] for d in cur.description]); w.writerows(cur.fetchall())")

MLFLOW_PACKAGES = ["mlflow-skinny", "sqlalchemy", "alembic"]  # enough for a sqlite:/// tracking store
MLFLOW_MAX = 5_000  # each run costs ~3 MLflow API calls, ~25 ms: 5k runs is two minutes
# argv: tracking uri, run count, tests folder. The same records as the git side, through MLflow's API.
MLFLOW_MAKE = """
import sys
sys.path.insert(0, sys.argv[3])
import recordgen
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
client, experiments = MlflowClient(sys.argv[1]), {}
for rec in recordgen.synthetic(int(sys.argv[2])):
    if rec.sweep not in experiments:
        experiments[rec.sweep] = client.create_experiment(rec.sweep)
    run = client.create_run(experiments[rec.sweep], run_name=rec.name)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in rec.params.items()],
                     metrics=[Metric(p["key"], p["value"], int(p["time"] * 1000), p["step"]) for p in rec.series])
    client.set_terminated(run.info.run_id)
"""
# argv: tracking uri, limit (0 = all rows). Pages through every run, as `mlflow runs` / the UI do.
MLFLOW_QUERY = """
import csv, sys
from mlflow.tracking import MlflowClient
client, limit = MlflowClient(sys.argv[1]), int(sys.argv[2])
ids = [e.experiment_id for e in client.search_experiments()]
out, token, rows = csv.writer(sys.stdout), None, 0
while True:
    size = min(limit - rows, 1000) if limit else 1000
    page = client.search_runs(ids, order_by=["metrics.acc DESC"], max_results=size, page_token=token)
    for run in page:
        if not rows:
            out.writerow(["name", *run.data.params, *run.data.metrics])
        out.writerow([run.info.run_name, *run.data.params.values(), *run.data.metrics.values()])
        rows += 1
    token = page.token
    if not token or rows == limit:
        break
"""


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


def bench(count: int, root: Path, mlflow: Path | None, skipped: str) -> None:
    """One size: records, cold build, warm queries vs the floor, then MLflow (`mlflow` None: print `skipped`)."""
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
          f"cited dvc exp show: 22.4 s per 1k -> {22.4 / (cold / count * 1000):.0f}x faster)")
    warms = {}
    for limit in (0, TOP):
        label, command = query_command(repo, limit)
        warms[limit] = median(command, repo)
        floor = median([sys.executable, "-c", BARE, str(index), str(limit)], repo)
        print(f"  warm {label:<13} {rows_label(limit):<8} {warms[limit]:7.3f} s   bare duckdb floor {floor:.3f} s   "
              f"ratio {warms[limit] / floor:.2f}x")
    print("  dvc exp show          cited, not measured: 22.4 s cold / 1.2 s warm over 1k experiments")
    if mlflow is None:
        print(f"  mlflow                skipped ({skipped})")
    elif count > MLFLOW_MAX:
        print(f"  mlflow                skipped above {MLFLOW_MAX} runs (~25 ms to create each through its API)")
    else:
        bench_mlflow(count, root, mlflow, warms)


def rows_label(limit: int) -> str:
    return f"top {limit}" if limit else "all rows"


def bench_mlflow(count: int, root: Path, python: Path, warms: dict[int, float]) -> None:
    """The same runs in an MLflow sqlite store; first and warm whole-process queries vs gitexp's warm ones."""
    uri = f"sqlite:///{root / f'mlflow{count}.db'}"
    start = time.perf_counter()
    made = subprocess.run([str(python), "-c", MLFLOW_MAKE, uri, str(count), str(Path(recordgen.__file__).parent)],
                          capture_output=True, text=True)
    if made.returncode:  # a broken peer is reported, not fatal: gitexp's own figures above still stand
        print(f"  mlflow                failed: {(made.stderr.strip().splitlines() or ['?'])[-1]}")
        return
    print(f"  mlflow sqlite store   {count} runs created in {time.perf_counter() - start:.1f} s through its API")
    for limit in (0, TOP):
        command = [str(python), "-c", MLFLOW_QUERY, uri, str(limit)]
        first = timed(command, root)
        warm = median(command, root)
        print(f"  warm {'mlflow search':<13} {rows_label(limit):<8} {warm:7.3f} s   first query {first:.3f} s   "
              f"ratio to gitexp warm {warm / warms[limit]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="*", default=[1_000, 10_000], help="run counts")
    parser.add_argument("--no-peers", action="store_true", help="skip MLflow and its venv")
    args = parser.parse_args()
    bin_dir = None if args.no_peers else peer_venv("mlflow", MLFLOW_PACKAGES)
    mlflow = None if bin_dir is None else bin_dir / "python"
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        for count in args.sizes:
            bench(count, Path(tmp), mlflow, "--no-peers" if args.no_peers else "mlflow could not be installed")


if __name__ == "__main__":
    main()
