"""Small promises of the command line and the package: version, completion, honest messages."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import gitexp

ROOT = Path(__file__).resolve().parent.parent


def _gitexp(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gitexp", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def test_version_is_the_installed_one():
    proc = _gitexp("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"gitexp {gitexp.__version__}\n"
    assert gitexp.__version__ == metadata.version("gitexp")


def test_shell_completion_is_typers_own():
    # Typer finds the shell among the command's ancestors (shellingham), so it runs from bash, as
    # a user types it: the `; exit` keeps bash from exec-ing it (no bash ancestor under xdist)
    script = subprocess.run(["bash", "-c", f"'{sys.executable}' -m gitexp --show-completion; exit $?"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "_GITEXP_COMPLETE=complete_bash" in script.stdout, script.stderr
    assert "--install-completion" in _gitexp("--help").stdout
    words = _gitexp(env={"_GITEXP_COMPLETE": "complete_bash", "COMP_WORDS": "gitexp sh", "COMP_CWORD": "1"})
    assert words.stdout.split() == ["show"]


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    requires = " ".join(project["build-system"]["requires"])
    minimum = re.search(r"setuptools>=(\d+)", requires)
    assert minimum and int(minimum.group(1)) >= 77  # PEP 639 license expressions
    assert metadata.metadata("gitexp")["License-Expression"] == "Apache-2.0"


def test_readme_cites_only_files_that_exist():
    text = (ROOT / "README.md").read_text()
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    cited = set(re.findall(r"\]\(([^)#\s]+)", text))  # markdown links
    for token in re.findall(r"`([^`\s]+)`", text) + re.findall(r"(?<![\w/.<-])((?:[\w-]+/)+[\w.-]+)", text):
        first = token.split("/")[0]
        if token.endswith(".md") or (first in tops and (token.endswith("/") or "." in token.split("/")[-1])):
            cited.add(token)
    cited = {c for c in cited if "://" not in c and not any(ch in c for ch in "<>*")}
    missing = sorted(c for c in cited if not (ROOT / c).exists())
    assert not missing, f"README.md cites files that are not in the repository: {missing}"
    assert "bench/bench_index.py" in cited  # the check does see real citations


def test_no_deprecation_warning_opens_a_pytest_run():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/test_docs.py"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Warning" not in proc.stdout + proc.stderr


SWEEP = "CMD: python train.py\nHPARAMS:\n  lr: [0.1, 0.01, 0.001]\n  logdir: LOGDIR\n"


@pytest.fixture
def ran(repo):
    repo.write("lr.yml", SWEEP)
    repo.gitexp("run", "lr.yml")
    repo.write("boom.yml", "CMD: python train.py\nHPARAMS:\n  fail: true\n")
    assert repo.gitexp("run", "boom.yml", check=False).returncode == 1
    return repo


def test_show_prints_the_real_log_folder(ran):
    text = ran.gitexp("show", "lr/lr0.1").stdout.split("code changes")[0]  # the patch holds lr.yml itself
    folder = str(ran.path / ".git" / "gitexp" / "runs" / "lr" / "lr0.1")
    assert re.search(r"^logdir\s+" + re.escape(folder) + "$", text, re.M)
    assert f"logdir = {folder}\n" in text and "LOGDIR" not in text


def test_diff_takes_two_or_more_runs(ran):
    ids = sorted(ref.removeprefix("refs/experiments/") for ref in ran.refs() if "/lr/" in ref)
    text = ran.gitexp("diff", *ids).stdout
    header = next(line for line in text.splitlines() if line.strip().startswith("key"))
    assert header.split() == ["key", *ids]
    assert text.count(f"against {ids[0]}") == 2
    data = json.loads(ran.gitexp("diff", *ids, "--json").stdout)
    lr = next(row for row in data["params"] if row["key"] == "lr")
    assert data["runs"] == ids and lr["changed"] and sorted(lr["values"]) == [0.001, 0.01, 0.1]
    one = ran.gitexp("diff", ids[0], check=False)
    assert one.returncode == 2 and "two or more runs" in one.stderr


def test_show_and_diff_print_a_param_to_its_last_digit(repo):
    repo.write("f.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.3, 0.30000000000000004]\n")  # Hydra's range() gives both
    repo.gitexp("run", "f.yml")
    ids = sorted(ref.removeprefix("refs/experiments/") for ref in repo.refs() if "/f/" in ref)
    shown = {run: repo.gitexp("show", run).stdout.split("metrics")[0] for run in ids}
    assert sorted(line.strip() for text in shown.values() for line in text.splitlines() if line.strip().startswith("lr ="))\
        == ["lr = 0.3", "lr = 0.30000000000000004"]
    row = next(line for line in repo.gitexp("diff", *ids).stdout.splitlines() if line.split()[:1] == ["lr"])
    assert sorted(row.split()[1:]) == ["0.3", "0.30000000000000004"]  # a change, and it shows


def test_failed_runs_show_their_exit_code_in_ls(ran):
    line = next(line for line in ran.gitexp("ls").stdout.splitlines() if line.startswith("boom\t"))
    assert "failed (exit 3)" in line.split("\t")
