"""`gitexp run -n` against the real mlrunner (the `mlrunner` package, in the dev extra).

mlrunner's `--dry-run` prints, per task and command, `CUDA_VISIBLE_DEVICES=<slot> <command>
> <output>/log.<command>.<time> 2>&1`; gitexp prints one line per run with the task's commands
joined by ` && ` and captures the output itself. After removing exactly those differences and
putting one placeholder for each task's output folder, the tasks (named as mlrunner names
them), their commands and their order must be equal.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "sweeps"
START = re.compile(r"^START +gpu: \S+, (\S+) *: *\d+/ *\d+, (\S+)$")
SCRIPT = re.compile(r"^CUDA_VISIBLE_DEVICES=\S+ (.*?) +> \S+ 2>&1$")
OUR_OUTPUT = re.compile(r"\S*/\.git/gitexp/runs/[^/\s']+/([^/\s']+)")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlrunner") is None,
                                reason="mlrunner is not installed (pip install -e '.[dev]' brings it)")


def mlrunner_tasks(folder: Path, sweep: Path) -> dict[str, list[str]]:
    # mlrunner wants named commands and a resource list; gitexp also takes a single template string
    copy = folder / sweep.name
    text = re.sub(r"^template: (.+)$", r"template:\n  run: \1", sweep.read_text(), flags=re.M)
    if not re.search(r"^resource:", text, flags=re.M):
        text = "resource: [0]\n" + text  # mlrunner requires it; gitexp does not (`-r 0` wins anyway)
    copy.write_text(text)
    out = folder / "out"
    proc = subprocess.run([sys.executable, "-c", "from mlrunner.run import main; main()", "--dry-run",
                           "-y", str(copy), "-o", str(out), "-r", "0"], cwd=folder, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    tasks: dict[str, list[str]] = {}
    lines = proc.stdout.splitlines()
    for start, script in zip(lines, lines[1:]):
        match = START.match(start)
        if not match:
            continue
        output = match.group(2)
        command = SCRIPT.match(script)
        assert command, f"unexpected mlrunner line: {script!r}"
        tasks.setdefault(Path(output).name, []).append(command.group(1).replace(output, "<OUT>"))
    return tasks


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("mlrunner_*.yml")))
def test_dry_run_equals_real_mlrunner(repo, tmp_path, name):
    sweep = GOLDEN / f"{name}.yml"
    theirs = mlrunner_tasks(tmp_path, sweep)
    repo.write(sweep.name, sweep.read_text())
    ours: dict[str, list[str]] = {}
    for line in repo.gitexp("run", "-n", sweep.name).stdout.splitlines():
        task = OUR_OUTPUT.search(line).group(1)
        ours[task] = [OUR_OUTPUT.sub("<OUT>", command) for command in line.split(" && ")]
    assert ours == theirs
    assert list(ours) == list(theirs)  # same tasks in the same order
