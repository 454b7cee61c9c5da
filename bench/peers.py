"""Throwaway virtual environments for the peers the benchmarks measure gitexp against, and the
few conventions the index benchmark and its peer modules share.

DVC and MLflow pull in hundreds of packages that must not leak into gitexp's own environment,
so each peer gets its own venv, built once and kept under ${TMPDIR:-/tmp}/gitexp-bench-peers/<name>
for later runs. Without a network (or with a broken index) a peer is skipped with one line on
stderr, never a failed benchmark.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTALL_TIMEOUT_S = 600


def peer_venv(name: str, packages: list[str], timeout: float = INSTALL_TIMEOUT_S) -> Path | None:
    """The bin folder of a venv holding `packages`, or None (reason on stderr) when it can't be built."""
    root = Path(tempfile.gettempdir()) / "gitexp-bench-peers" / name
    bin_dir = root / "bin"
    done = root / "installed.txt"  # written last, so an interrupted install is rebuilt, not reused
    wanted = "\n".join(packages) + "\n"
    if done.exists() and done.read_text() == wanted:
        return bin_dir
    shutil.rmtree(root, ignore_errors=True)
    # "generating"/"  done in" lines are the progress chatter bench/run_all keeps out of benchmarks.md
    print(f"generating peer venv {root} (pip install {' '.join(packages)}) ...", file=sys.stderr)
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True, text=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", *packages],
                       check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        reason = f"pip install timed out after {timeout:.0f} s"
    except subprocess.CalledProcessError as err:
        # pip's last error line says why (no network, no such package); its WARNINGs do not
        lines = [line for line in err.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        reason = lines[-1].strip() if lines else f"exit status {err.returncode}"
    else:
        done.write_text(wanted)
        print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return bin_dir
    shutil.rmtree(root, ignore_errors=True)
    print(f"peer {name} skipped: {reason}", file=sys.stderr)
    return None


def repeats(count: int) -> int:
    """How many timed repeats a size gets: 3 up to 10k runs, 1 above (100k-run steps take minutes)."""
    return 3 if count <= 10_000 else 1


def rows_label(limit: int) -> str:
    return f"top {limit}" if limit else "all rows"
