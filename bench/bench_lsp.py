"""Language server benchmark: `gitexp/runs` response times over stdio at 10k runs, warm.

    python bench/bench_lsp.py            # 10k runs
    python bench/bench_lsp.py 1000 10000

Records are written with `git fast-import` in the documented format (tests/recordgen.py:
10 sweeps, 5 params, 2 metrics each). A real `gitexp lsp` process is driven by a pygls
client; the first request (which builds the index) is reported as cold, then each request
shape below is timed REPEAT times, round trip included: `new` is its first (uncached) time,
`repeat` the median of the rest (answered from the server's cache until runs change).
Goal: warm `gitexp/runs` < 200 ms. The ratio is `new` against the in-process
`index.list_runs` + `list_sweeps` calls it wraps, i.e. what the protocol adds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import recordgen  # noqa: E402

REPEAT = 20
GOAL_MS = 200.0
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


async def bench(count: int) -> None:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    with tempfile.TemporaryDirectory(prefix="gitexp-bench-lsp-") as tmp:
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
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()


def main() -> None:
    counts = [int(arg) for arg in sys.argv[1:]] or [10_000]
    for count in counts:
        asyncio.run(bench(count))


if __name__ == "__main__":
    main()
