"""Cost of looking for a run's stray TensorBoard event files in a 20k-file workspace.

While a run lives, every `tensorboard.POLL_SECONDS` the scheduler looks below the run's working
directory for event files its writer created there (`SummaryWriter()` writes to `./runs/`).
The floor is a bare `os.scandir` of every folder of the work tree (what any full listing
costs); the old scan was a full `os.walk` each poll; `WorkspaceScan` stats each folder and
lists again only those whose mtime changed. Its first poll lists every folder when it does
not know when the run started, and, as a launch calls it (with the run's start), skips the
leaf folders untouched since then (find's leaf optimisation: a stat each). Printed: median
seconds per poll and the ratio to the floor, measured side by side in this run.

  python bench/bench_tb_scan.py [--files 20000] [--repeat 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from bench_launch import make_repo  # noqa: E402  the same 20k-file repository as the launch bench

from gitexp.track.tensorboard import WorkspaceScan, _SKIP_DIRS  # noqa: E402


def bare_scandir(root: str) -> int:
    """Every folder listed once with os.scandir: the least a full listing costs."""
    count, stack = 0, [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                count += 1
                if entry.is_dir(follow_symlinks=False) and entry.name not in _SKIP_DIRS \
                        and not entry.name.startswith("."):
                    stack.append(entry.path)
    return count


def old_walk(root: str) -> list[str]:
    """The scan before: os.walk of the work tree, a stat per event file."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        found += [os.path.join(folder, n) for n in names if "tfevents" in n]
    return found


def median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "repo"
        if not root.exists():
            make_repo(root, args.files, 1)
        events = root / "runs" / "Dec01_host"
        events.mkdir(parents=True, exist_ok=True)
        (events / "events.out.tfevents.1.host.4242.0").write_bytes(b"")
        scan = WorkspaceScan(root)
        scan.RACY_NS = 0  # steady state: the folders here were written before the poll
        scan.files()
        folders = len(scan._folders)
        floor = median(lambda: bare_scandir(str(root)), args.repeat)
        walked = median(lambda: old_walk(str(root)), args.repeat)
        polled = median(scan.files, args.repeat)
        first = median(lambda: WorkspaceScan(root).files(), max(3, args.repeat // 4))
        started = time.time() + 2  # a run starting now: every folder made above is older than it
        launched = median(lambda: WorkspaceScan(root, since=started).files(), max(3, args.repeat // 4))
    print(f"stray event-file scan, {args.files} files in {folders} scanned folders (median of {args.repeat})")
    print(f"{'what':<36} {'s/poll':>9} {'vs scandir':>11}")
    for name, value in (("bare os.scandir (floor)", floor), ("old: os.walk every poll", walked),
                        ("WorkspaceScan, first poll", first), ("  first poll, given the run's start", launched),
                        ("WorkspaceScan, steady poll", polled)):
        print(f"{name:<36} {value:>9.5f} {value / floor:>10.3f}x")


if __name__ == "__main__":
    main()
