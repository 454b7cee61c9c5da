"""What one run, one new run, a live-runs listing and a cold index cost at 1k/10k/100k runs.

    python bench/bench_scale.py                       # 1k, 10k and 100k runs
    python bench/bench_scale.py 100000 --baseline DIR # also time another gitexp checkout (say, main before a change)
    python bench/bench_scale.py 100000 --one-run      # only the one-run rows (show, diff, show by bare name)

Records have the shape real sweeps have (tests/recordgen.py `heavy`: 20 params, 10 summary
metrics, 2 curves of 20 points; `--epochs 500` for long curves), 10 sweeps, written with one
streamed `git fast-import` and kept in CACHE between runs of this script (100k runs take
minutes to write). gitexp runs against the refs as it leaves them (packed after a sweep,
`store.pack_refs`); the baseline against them as it left them (100k loose files).
Every figure is the median of 5 whole processes (3 at 100k; `ls` once there), beside its floor measured in the same run:

  show A / diff A B   interpreter start (`python -c pass`) + the git plumbing they need
                      (rev-parse the ref(s), cat-file the record, diff-tree/diff the code)
  cold index          bare DuckDB loading the same records from NDJSON (`read_json`) into a file;
                      then that plus reading the records out of git (`for-each-ref | cat-file --batch`)
  warm query          bare DuckDB running the same top-20 query on the finished index
  +1 run, next query  (against the warm query, `gitexp query ... --limit 20` with nothing changed)
                      `then` is the query after that, a second later (no second rebuild)
  ps                  bare DuckDB reading the live rows of the finished index
  ls                  bare DuckDB reading every row of `runs` and writing it as CSV
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import recordgen  # noqa: E402

CACHE = Path(os.environ.get("GITEXP_BENCH_CACHE", "/tmp/gitexp-bench-cache"))
REPEAT = 5  # 3 at 100k runs
PY = sys.executable
# bytecode caching on, as on a user's machine
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
QUERY = ["query", "select run, acc order by acc desc", "--limit", "20", "--format", "csv"]
BARE_LOAD = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
             "con.execute(\"create table core as select * from read_json(?, format='newline_delimited')\", [sys.argv[2]]); "
             "con.execute(\"create table series as select * from read_json(?, format='newline_delimited')\", [sys.argv[3]]); "
             "con.execute('checkpoint')")
BARE_ROWS = ("import csv, duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
             "cur = con.execute(sys.argv[2]); w = csv.writer(sys.stdout); w.writerows(cur.fetchall())")


def repo_for(count: int, epochs: int) -> Path:
    """The cached repository of `count` heavy runs (loose refs, as fast-import leaves them)."""
    path = CACHE / f"heavy-{count}-{epochs}"
    done = CACHE / f"heavy-{count}-{epochs}.done"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {count} runs x {epochs} steps in {path} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        recordgen.init_repo(path)
        recordgen.write_stream(path, recordgen.heavy(count, epochs=epochs))
        done.write_text("")
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def copy_of(source: Path, name: str) -> Path:
    target = source.parent / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    return target


def wall(args: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or ENV)
    return time.perf_counter() - start


def median(args: list[str], cwd: Path, env: dict | None = None, repeat: int | None = None) -> float:
    repeat = repeat or REPEAT
    if repeat > 1:
        wall(args, cwd, env)  # warm-up: OS caches, bytecode
    return statistics.median(wall(args, cwd, env) for _ in range(repeat))


def peak_mb(args: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak resident MB) of one process, through GNU time's %M when present."""
    timer = shutil.which("time") or "/usr/bin/time"
    start = time.perf_counter()
    proc = subprocess.run([timer, "-f", "%M", *args], cwd=cwd, env=env or ENV, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return took, int(proc.stderr.strip().splitlines()[-1]) / 1024


class Side:
    """One gitexp to time: the checkout this script is in, or the baseline's (each on PYTHONPATH)."""

    def __init__(self, name: str, repo: Path, root: Path):
        self.name, self.repo = name, repo
        self.env = {**ENV, "PYTHONPATH": os.pathsep.join([str(root), str(root / "lsp")])}

    def cmd(self, *args: str) -> list[str]:
        return [PY, "-m", "gitexp", *args]

    def index(self) -> Path:
        return self.repo / ".git" / "gitexp" / "index.duckdb"

    def cold(self) -> tuple[float, float]:
        runs = []
        for _ in range(2 if self.repo.name.endswith("100000") else 3):
            for stale in self.index().parent.glob("index.*"):
                if stale.name != "index.lock":
                    stale.unlink()
            runs.append(peak_mb(self.cmd(*QUERY), self.repo, self.env))
        return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def row(label: str, values: dict[str, float | None], floor: float, unit: str = "s") -> None:
    cells = []
    for name, value in values.items():
        cells.append(f"{name} {value:8.3f} {unit} ({value / floor:6.1f}x)" if value is not None else f"{name} -")
    print(f"  {label:<24} floor {floor:7.3f} {unit}   " + "   ".join(cells), flush=True)


def bench(count: int, epochs: int, baseline: Path | None, one_run: bool = False) -> None:
    global REPEAT
    REPEAT = 5 if count <= 10_000 else 3
    source = repo_for(count, epochs)
    mine = Side("gitexp", copy_of(source, f"mine-{count}-{epochs}"), Path(__file__).resolve().parent.parent)
    from gitexp.record import store
    from gitexp.record.git import open_repo

    store.pack_refs(open_repo(mine.repo))  # what a sweep of this gitexp leaves behind
    sides = [mine]
    if baseline:
        sides.append(Side("baseline", copy_of(source, f"base-{count}-{epochs}"), baseline.resolve()))
    print(f"\n{count} runs x {epochs} steps (20 params, 10 metrics, 2 curves), median of {REPEAT}", flush=True)

    a, b = "sweep3/run503", "sweep4/run604"
    base = recordgen.git(mine.repo, "rev-parse", "HEAD").strip()
    start = median([PY, "-c", "pass"], mine.repo)

    def plumbing(*runs: str) -> float:
        total = 0.0
        for run in runs:
            ref = f"refs/experiments/{run}"
            total += median(["git", "rev-parse", "--verify", ref], mine.repo)
            total += median(["git", "cat-file", "-p", f"{ref}:.gitexp/run.json"], mine.repo)
            total += median(["git", "cat-file", "-p", f"{ref}:.gitexp/metrics.json"], mine.repo)
        last = f"refs/experiments/{runs[-1]}^1"
        total += median(["git", "diff-tree", "-r", base, last], mine.repo)
        if len(runs) > 1:
            total += median(["git", "diff", f"refs/experiments/{runs[0]}^1", last], mine.repo)
        return total

    row("show A", {s.name: median(s.cmd("show", a), s.repo, s.env) for s in sides}, start + plumbing(a))
    row("diff A B", {s.name: median(s.cmd("diff", a, b), s.repo, s.env) for s in sides}, start + plumbing(a, b))
    row("show by bare name", {s.name: median(s.cmd("show", "run503"), s.repo, s.env) for s in sides},
        start + plumbing(a))
    print(f"  (load average {os.getloadavg()[0]:.1f})", flush=True)
    if one_run:
        for side in sides:
            shutil.rmtree(side.repo)
        return

    colds = {s.name: s.cold() for s in sides}
    dump = mine.repo.parent / f"dump-{count}-{epochs}"
    dump.mkdir(exist_ok=True)
    recordgen.git(mine.repo, "rev-parse", "HEAD")
    import duckdb

    con = duckdb.connect(str(mine.index()), read_only=True)
    con.execute(f"COPY (SELECT run, info FROM _core) TO '{dump / 'core.ndjson'}' (FORMAT json)")
    con.execute(f"COPY (SELECT * FROM series) TO '{dump / 'series.ndjson'}' (FORMAT json)")
    con.close()
    bare_db = dump / "bare.duckdb"

    def bare_load() -> float:
        bare_db.unlink(missing_ok=True)
        return wall([PY, "-c", BARE_LOAD, str(bare_db), str(dump / "core.ndjson"), str(dump / "series.ndjson")], dump)

    bare_load()
    floor = statistics.median(bare_load() for _ in range(3))
    # reading the records out of git, as any indexer must: every run's three files through one cat-file
    read = ("git for-each-ref --format='%(objectname):.gitexp/run.json%0a%(objectname):.gitexp/metrics.json"
            "%0a%(objectname):.gitexp/metrics.jsonl' refs/experiments | git cat-file --batch > /dev/null")
    git_read = median(["sh", "-c", read], mine.repo, repeat=3)
    row("cold index (1st query)", {n: c[0] for n, c in colds.items()}, floor)
    row("  against git read + load", {n: c[0] for n, c in colds.items()}, floor + git_read)
    print(f"  {'  peak memory':<24} " + "   ".join(f"{n} {c[1]:7.0f} MB" for n, c in colds.items()), flush=True)

    for side in sides:  # a warm index for what follows
        subprocess.run(side.cmd(*QUERY), cwd=side.repo, env=side.env, check=True, capture_output=True)
        time.sleep(1.1)
        subprocess.run(side.cmd(*QUERY), cwd=side.repo, env=side.env, check=True, capture_output=True)
    warm = {s.name: median(s.cmd(*QUERY), s.repo, s.env) for s in sides}
    row("warm query (top 20)", warm, median([PY, "-c", BARE_ROWS, str(mine.index()),
                                             "select run, acc from runs order by acc desc limit 20"], mine.repo))
    added, then = {}, {}
    for side in sides:
        news, nexts = [], []
        for i in range(3):
            recordgen.write(side.repo, [recordgen.Record("sweep1", f"new{i}", {"p00": 0.1}, {"acc": 0.5})])
            news.append(wall(side.cmd(*QUERY), side.repo, side.env))
            time.sleep(1.1)
            nexts.append(wall(side.cmd(*QUERY), side.repo, side.env))
        added[side.name], then[side.name] = statistics.median(news), statistics.median(nexts)
    row("+1 run, next query", added, warm["gitexp"])
    row("  then, a second later", then, warm["gitexp"])

    live = "select * from _core where status in ('queued', 'running')"
    row("ps", {s.name: median(s.cmd("ps"), s.repo, s.env) for s in sides},
        median([PY, "-c", BARE_ROWS, str(mine.index()), live], mine.repo))
    row("ls", {s.name: median(s.cmd("ls"), s.repo, s.env, repeat=1 if count >= 100_000 else 3) for s in sides},
        median([PY, "-c", BARE_ROWS, str(mine.index()), "select * from runs order by created desc"], mine.repo))
    for side in sides:
        shutil.rmtree(side.repo)
    shutil.rmtree(dump)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--epochs", type=int, default=20, help="points per curve")
    parser.add_argument("--baseline", type=Path, help="another gitexp checkout to time beside this one")
    parser.add_argument("--one-run", action="store_true", help="only show A, diff A B and show by bare name")
    args = parser.parse_args()
    for count in args.sizes:
        bench(count, args.epochs, args.baseline, args.one_run)


if __name__ == "__main__":
    main()
