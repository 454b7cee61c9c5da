"""Language server benchmark: response times over stdio, warm, and the server's memory.

    python bench/bench_lsp.py                          # 10k runs, light records
    python bench/bench_lsp.py 1000 10000 100000 --heavy
    python bench/bench_lsp.py --plot [--baseline CHECKOUT]   # the plots dashboard's curves

Records are written with `git fast-import` in the documented format (tests/recordgen.py:
10 sweeps, 5 params, 2 metrics each). A real `gitexp lsp` process is driven by a pygls
client; the first request (which builds the index) is reported as cold, then each request
shape below is timed REPEAT times, round trip included: `new` is its first (uncached) time,
`repeat` the median of the rest (answered from the server's cache until runs change).
Goal: warm `gitexp/runs` < 200 ms. The ratio is `new` against the in-process
`index.list_runs` + `list_sweeps` calls it wraps, i.e. what the protocol adds.
`--heavy`: records of the shape real sweeps have (20 params, 10 metrics, 2 curves; the
cached repositories of bench/bench_scale.py, refs packed as a sweep leaves them).
Then the requests about one run — `gitexp/run`, `gitexp/diff`, `gitexp/series` for 5 runs
(goals < 30, 30 and 50 ms: O(1) in the number of runs) — and the server's resident memory
after paging through every run 100 at a time (goal < 200 MB).
`--plot`: the curves of 100 runs x 1,000 points (what the plots dashboard asks for), as JSON
numbers and packed (float64 in base64), round trip through the server and the read alone in
process, beside a floor: the same 100 blobs through one `git cat-file --batch`. Packed, each
of five sets of 100 runs is read once (a first read), then one set five times again (answered
from the server's cache of finished runs' curves). `--baseline
CHECKOUT` runs the server and the in-process read from another checkout too (e.g. main).
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import recordgen  # noqa: E402

REPEAT = 20
GOAL_MS = 200.0
RSS_GOAL_MB = 200.0
SHAPES = {
    "first page (newest)": {"limit": 100},
    "sorted by acc": {"sort": "acc", "limit": 100},
    "filter + sort": {"filter": "adam", "sort": "loss", "descending": False, "limit": 100},
    "one sweep, page 5": {"sweep": "sweep3", "offset": 400, "limit": 100},
}


async def _time(client, params: dict) -> list[float]:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        await client.protocol.send_request_async("gitexp/runs", params)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _direct(repo: Path, params: dict) -> float:
    from gitexp import index
    from gitexp.record import recorder
    from gitexp.record.git import open_repo

    git = open_repo(repo)
    kwargs = {k: v for k, v in params.items()}
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        index.list_runs(git, reconcile=recorder.reconcile, **kwargs)
        index.list_sweeps(git)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


ONE_RUN = {"gitexp/run": {"run": "sweep3/run503"}, "gitexp/diff": {"a": "sweep3/run503", "b": "sweep4/run604"},
           "gitexp/series": {"runs": [f"sweep{i}/run{500 + i}" for i in range(5)], "keys": ["loss", "acc"]}}
ONE_RUN_GOAL_MS = {"gitexp/run": 30.0, "gitexp/diff": 30.0, "gitexp/series": 50.0}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_run_requests(client) -> None:
    """Requests about one run (or five): O(1) in the number of runs."""
    print(f"{'one-run request':<22} {'median':>9}  goal")
    for method, params in ONE_RUN.items():
        times = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            await client.protocol.send_request_async(method, params)
            times.append((time.perf_counter() - start) * 1000)
        median = statistics.median(times)
        goal = ONE_RUN_GOAL_MS[method]
        print(f"{method:<22} {median:>7.1f}ms  < {goal:.0f} ms {'ok' if median < goal else 'SLOW'}")


async def page_through(client, count: int) -> None:
    """Every run, a page of 100 at a time, as a sidebar scrolled to the end; then the server's memory."""
    pid = client._server.pid  # the `gitexp lsp` process
    for offset in range(0, count, 100):
        await client.protocol.send_request_async("gitexp/runs", {"offset": offset, "limit": 100})
    print(f"resident memory after paging through {count} runs: {_rss_mb(pid):.0f} MB "
          f"(goal < {RSS_GOAL_MB:.0f} MB)")


async def bench(count: int, heavy: bool = False) -> None:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    with tempfile.TemporaryDirectory(prefix="gitexp-bench-lsp-") as tmp:
        if heavy:
            from bench_scale import repo_for

            repo = Path(tmp) / "repo"
            shutil.copytree(repo_for(count, 20), repo, symlinks=True)
            from gitexp.record import store
            from gitexp.record.git import open_repo

            if hasattr(store, "pack_refs"):  # a sweep leaves them packed (a baseline may predate that)
                store.pack_refs(open_repo(repo))
        else:
            repo = recordgen.init_repo(Path(tmp) / "repo")
            recordgen.write(repo, recordgen.synthetic(count))
        client = LanguageClient("bench", "1")
        await client.start_io(sys.executable, "-m", "gitexp", "lsp")
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(repo)), name="repo")]))
        client.initialized(types.InitializedParams())
        start = time.perf_counter()
        first = await client.protocol.send_request_async("gitexp/runs", {"limit": 100})
        cold = (time.perf_counter() - start) * 1000
        assert first.total == count, first.total
        print(f"\n{count} runs: first request (index build included) {cold:.0f} ms")
        print(f"{'request':<22} {'new':>9} {'repeat':>9} {'direct':>9} {'ratio':>6}  goal < {GOAL_MS:.0f} ms")
        for name, params in SHAPES.items():
            first, *repeats = await _time(client, params)
            median = statistics.median(repeats)
            direct = _direct(repo, params)
            verdict = "ok" if first < GOAL_MS else "SLOW (new)" if median < GOAL_MS else "SLOW"
            print(f"{name:<22} {first:>7.1f}ms {median:>7.1f}ms {direct:>7.1f}ms {first / direct:>5.2f}x  {verdict}")
        if heavy:
            await one_run_requests(client)
            await page_through(client, count)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()


PLOT_RUNS, PLOT_POINTS = 100, 1000
PLOT_SETS = 6  # sets of PLOT_RUNS runs: each packed read of its own set is a first read (the server caches)


def _plot_repo(path: Path) -> Path:
    repo = recordgen.init_repo(path)
    recordgen.write(repo, [
        recordgen.Record("long", f"run{i}", {"lr": 0.001 * (i + 1), "seed": i}, {"loss": 1 / (1 + i)},
                         [{"step": s, "key": "loss", "value": (1 + i / 100) / (1 + 0.01 * s), "time": 1.7e9 + s}
                          for s in range(PLOT_POINTS)])
        for i in range(PLOT_RUNS * PLOT_SETS)])
    return repo


def _plot_runs(at: int) -> list[str]:
    return [f"long/run{i}" for i in range(at * PLOT_RUNS, (at + 1) * PLOT_RUNS)]


def _floor_ms(repo: Path) -> float:
    """The 100 series blobs through one `git cat-file --batch`: what any reader must pay."""
    import subprocess

    asks = "".join(f"refs/experiments/long/run{i}:.gitexp/metrics.jsonl\n" for i in range(PLOT_RUNS)).encode()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=asks, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _in_process_ms(repo: Path, checkout: Path | None, packed: bool) -> float:
    """The read alone (no protocol), in a fresh interpreter of `checkout` (default: this one)."""
    import os
    import subprocess

    runs = _plot_runs(0)
    call = (f"inspect.curves(git, {runs!r}, None, time=True, most=2000)" if packed
            else f"inspect.series(git, {runs!r}, None, time=True)")
    code = ("import statistics, time\nfrom gitexp import inspect\nfrom gitexp.record.git import open_repo\n"
            f"git = open_repo({str(repo)!r})\nts = []\nfor _ in range(5):\n"
            f"    s = time.perf_counter(); {call}; ts.append((time.perf_counter() - s) * 1000)\n"
            "print(statistics.median(ts))")
    env = dict(os.environ, PYTHONPATH=f"{checkout}:{checkout}/lsp") if checkout else None
    # cwd: not this checkout, which `-c` would put first on sys.path, before PYTHONPATH
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


async def _plot_server(repo: Path, checkout: Path | None, shapes: dict[str, dict]) -> dict[str, float]:
    import os

    from lsprotocol import types
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    client = LanguageClient("bench", "1")
    env = dict(os.environ, PYTHONPATH=f"{checkout}:{checkout}/lsp") if checkout else None
    await client.start_io(sys.executable, "-m", "gitexp", "lsp", env=env, cwd=repo)  # (cwd: as above)
    await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(repo)), name="repo")]))
    client.initialized(types.InitializedParams())
    await client.protocol.send_request_async("gitexp/runs", {"limit": 1})
    async def median_ms(sets: list[int], extra: dict) -> float:
        times = []
        for at in sets:
            start = time.perf_counter()
            await client.protocol.send_request_async("gitexp/series", {"runs": _plot_runs(at), "keys": [], "time": True, **extra})
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    medians = {}
    for name, extra in shapes.items():
        if extra.get("packed"):  # five sets never read before, then one of them five times again
            medians[name] = await median_ms(list(range(1, PLOT_SETS)), extra)
            medians[f"{name}, again"] = await median_ms([1] * 5, extra)
        else:
            medians[name] = await median_ms([0] * 5, extra)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return medians


def plot(baseline: Path | None) -> None:
    import os

    shapes = {"JSON numbers": {}, "packed": {"packed": True, "most": 2000}}
    with tempfile.TemporaryDirectory(prefix="gitexp-bench-plot-") as tmp:
        repo = _plot_repo(Path(tmp) / "repo")
        print(f"curves of {PLOT_RUNS} runs x {PLOT_POINTS} points (time asked), medians of 5, "
              f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
        floor = _floor_ms(repo)
        print(f"floor: the {PLOT_RUNS} blobs through one git cat-file --batch  {floor:7.1f} ms")
        for label, checkout in [("baseline", baseline), ("this checkout", None)] if baseline else [("this checkout", None)]:
            server = asyncio.run(_plot_server(repo, checkout, shapes if checkout is None else {"JSON numbers": {}}))
            reads = {"JSON numbers": _in_process_ms(repo, checkout, False)}
            if checkout is None:
                reads["packed"] = _in_process_ms(repo, None, True)
            for name, ms in server.items():
                read = (f"read in process {reads[name]:7.1f} ms ({reads[name] / floor:5.1f}x)" if name in reads
                        else "(the server's cache of finished runs' curves)")
                print(f"{label:<14} {name:<20} round trip {ms:7.1f} ms ({ms / floor:5.1f}x floor); {read}")
        print(f"load average after: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


def main() -> None:
    if "--plot" in sys.argv[1:]:
        at = sys.argv.index("--baseline") if "--baseline" in sys.argv else None
        plot(Path(sys.argv[at + 1]).resolve() if at else None)
        return
    heavy = "--heavy" in sys.argv[1:]
    counts = [int(arg) for arg in sys.argv[1:] if arg != "--heavy"] or [10_000]
    for count in counts:
        asyncio.run(bench(count, heavy))


if __name__ == "__main__":
    main()
