"""Index benchmark: cold build and warm `gitexp query`, whole processes, against bare DuckDB.

    python bench/bench_index.py                  # 1k, 10k and 100k runs, with the peers
    python bench/bench_index.py 1000 --no-peers  # gitexp against the floor only

Records are written with `git fast-import` in the documented format (tests/recordgen.py:
5 params, 2 summary metrics, 2 curves of 10 points per run, 10 sweeps). The floor is a bare
`python -c "import duckdb; ..."` that opens the finished index and runs the same sort,
printing the same CSV. Peers, each in a throwaway venv (bench/peers.py) and holding the same
records: `dvc exp show` over as many DVC experiments (bench/peer_dvc.py) and MLflow's
`search_runs` over a sqlite store (bench/peer_mlflow.py). Either is skipped with a line when its
venv can't be built (or with --no-peers); a peer command that runs past --peer-timeout is
reported as such, with the ratio it at least has.
Goals: cold build of 10k < 3 s; warm query within 2x of the floor at 10k, < 1 s at 100k.
`--heavy`: records of the shape real sweeps have (recordgen.heavy: 20 params, 10 summary
metrics, 2 curves of 20 points), without peers; bench/bench_scale.py times show, diff, the
incremental index, ps and ls at that shape.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import recordgen  # noqa: E402
from peer_dvc import DVC_PACKAGES, bench_dvc  # noqa: E402
from peer_mlflow import MLFLOW_PACKAGES, bench_mlflow  # noqa: E402
from peers import peer_venv, repeats, rows_label  # noqa: E402

SQL = "select * order by acc desc"
TOP = 20  # what a terminal shows: `gitexp query SQL --limit 20`
COLD = "from gitexp.git import open_repo; from gitexp.index import sync; sync(open_repo('.')).close()"
BARE = ("import csv, sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
        "cur = con.execute('select * from runs order by acc desc' + (' limit ' + sys.argv[2] if sys.argv[2] != '0' else '')); "
        "w = csv.writer(sys.stdout); w.writerow([d[0] for d in cur.description]); w.writerows(cur.fetchall())")


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(args: list[str], cwd: Path, repeat: int) -> float:
    timed(args, cwd)  # warm the OS caches
    return statistics.median(timed(args, cwd) for _ in range(repeat))


def query_command(limit: int) -> list[str]:
    """`gitexp query` printing CSV (limit 0 = all rows)."""
    return [sys.executable, "-m", "gitexp", "query", SQL, "--format", "csv",
            *(["--limit", str(limit)] if limit else [])]


def bench(count: int, root: Path, peers: dict[str, Path | str], timeout: float, heavy: bool = False) -> None:
    """One size: records, cold build, warm queries vs the floor, then each peer (a str: why it's skipped)."""
    repo = recordgen.init_repo(root / f"repo{count}")
    start = time.perf_counter()
    if heavy:  # 20 params, 10 metrics, 2 curves of 20 points, streamed into fast-import
        recordgen.write_stream(repo, recordgen.heavy(count))
    else:
        recordgen.write(repo, recordgen.synthetic(count))
    made = time.perf_counter() - start
    index = repo / ".git" / "gitexp" / "index.duckdb"
    colds, firsts = [], []
    for _ in range(repeats(count)):
        index.unlink(missing_ok=True)
        colds.append(timed([sys.executable, "-c", COLD], repo))
        index.unlink(missing_ok=True)  # what a first `dvc exp show` does: build, sort and print every row
        firsts.append(timed(query_command(0), repo))
    cold, first = statistics.median(colds), statistics.median(firsts)
    print(f"{count:>7} runs  (records written in {made:.1f} s, index {index.stat().st_size / 1e6:.1f} MB)")
    print(f"  cold build            {cold:7.3f} s   ({cold / count * 1000:.2f} s per 1k runs)")
    print(f"  first gitexp query    {first:7.3f} s   all rows, no index yet (the build included)")
    warms = {}
    for limit in (0, TOP):
        warms[limit] = median(query_command(limit), repo, 1 + 2 * repeats(count))
        floor = median([sys.executable, "-c", BARE, str(index), str(limit)], repo, 1 + 2 * repeats(count))
        print(f"  warm gitexp query  {rows_label(limit):<8} {warms[limit]:7.3f} s   bare duckdb floor {floor:.3f} s   "
              f"ratio {warms[limit] / floor:.2f}x")
    shutil.rmtree(repo)  # the peers' copies of these records need the room at 100k
    if isinstance(peers["dvc"], str):
        print(f"  dvc exp show          skipped ({peers['dvc']})")
    else:
        bench_dvc(count, root, peers["dvc"], first, warms[0], timeout)
    if isinstance(peers["mlflow"], str):
        print(f"  mlflow                skipped ({peers['mlflow']})")
    else:
        bench_mlflow(count, root, peers["mlflow"], warms, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000], help="run counts")
    parser.add_argument("--no-peers", action="store_true", help="skip DVC and MLflow and their venvs")
    parser.add_argument("--heavy", action="store_true",
                        help="records of the shape real sweeps have: 20 params, 10 metrics (peers skipped)")
    parser.add_argument("--peer-timeout", type=float, default=300.0, metavar="S",
                        help="seconds one peer command may take before it is reported as too slow")
    args = parser.parse_args()
    args.no_peers = args.no_peers or args.heavy  # the peers' generators write the light shape
    peers: dict[str, Path | str] = {}
    for name, packages, program in (("dvc", DVC_PACKAGES, "dvc"), ("mlflow", MLFLOW_PACKAGES, "python")):
        bin_dir = None if args.no_peers else peer_venv(name, packages)
        peers[name] = ("--no-peers" if args.no_peers else f"{name} could not be installed") if bin_dir is None \
            else bin_dir / program
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-") as tmp:
        for count in args.sizes:
            bench(count, Path(tmp), peers, args.peer_timeout, args.heavy)


if __name__ == "__main__":
    main()
