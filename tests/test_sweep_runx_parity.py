"""`gitexp run -n` against the real runx (the `runx` package, in the dev extra) on the golden runx files.

runx prints `cd <logdir>/code; PYTHONPATH=... [exec] <command> ` per run; gitexp prints
only the command, with its own run folder for LOGDIR, and shell-quotes values the shell would
otherwise split (runx prints `[1, 2]` bare, which a shell passes as two words). Both outputs are
normalised for exactly those differences and must then be equal, line for line.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "sweeps"
RUNX_LINE = re.compile(r"^cd (\S+)/code; PYTHONPATH=\S* +(?:exec )?(.*?) ?$")
OUR_LOGDIR = re.compile(r"\S*/\.git/gitexp/runs/[^/\s']+/[^/\s']+")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("runx") is None,
                                reason="runx is not installed (pip install -e '.[dev]' brings it)")


def runx_lines(folder: Path, sweep: Path) -> list[str]:
    # real runx wants upper-case top-level keys; gitexp also accepts the article's lower-case ones
    text = re.sub(r"^(cmd|hparams):", lambda m: m.group(1).upper() + ":", sweep.read_text(), flags=re.M)
    (folder / sweep.name).write_text(text)
    (folder / ".runx").write_text(f"LOGROOT: {folder / 'logs'}\n")
    proc = subprocess.run([sys.executable, "-m", "runx.runx", sweep.name, "-i", "-n"], cwd=folder,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = []
    for line in proc.stdout.splitlines():
        match = RUNX_LINE.match(line)
        assert match, f"unexpected runx line: {line!r}"
        lines.append(match.group(2).replace(match.group(1), "<LOGDIR>"))
    return lines


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("runx_*.yml")))
def test_dry_run_equals_real_runx(repo, tmp_path, name):
    sweep = GOLDEN / f"{name}.yml"
    theirs = runx_lines(tmp_path, sweep)
    repo.write(sweep.name, sweep.read_text())
    ours = [OUR_LOGDIR.sub("<LOGDIR>", line).replace("'", "")
            for line in repo.gitexp("run", "-n", sweep.name).stdout.splitlines()]
    assert ours == [line.replace("'", "") for line in theirs]
