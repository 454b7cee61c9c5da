"""Output that fits a person: a screenful in a terminal (a real pseudo-terminal), a stream when piped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import recordgen
from conftest import GIT_ENV, in_terminal
from recordgen import Record

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COUNT = 60


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = recordgen.init_repo(tmp_path_factory.mktemp("out") / "repo")
    records = []
    for i in range(COUNT):
        params = {"lr": [0.1, 0.01, 0.001][i % 3], "opt": ["sgd", "adam"][i % 2], "seed": i,
                  **{f"fixed{j}": 7 for j in range(12)}}
        metrics = {"acc": i / 100, **{f"metric{j}": 0.5 for j in range(6)}}
        failed = i == 7
        records.append(Record("sw", f"run{i:02d}", params, metrics, status="failed" if failed else "completed",
                              info={"exit_code": 3} if failed else {}))
    recordgen.write(path, records)
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return {**env, **GIT_ENV, "TERM": "xterm", **extra}


def terminal(repo: Path, *args: str, cols: int = 80, rows: int = 24, **env: str) -> str:
    """`gitexp ARGS` attached to a real pseudo-terminal of `cols` x `rows`; its screen, colours removed."""
    screen = in_terminal(repo, list(args), _env(**env), cols, rows)
    return ANSI.sub("", screen).replace("\r\n", "\n")


def piped(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "gitexp", *args], cwd=repo, env=_env(), capture_output=True,
                          text=True, timeout=60)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def test_a_big_result_in_a_terminal_is_one_screen_like_duckdbs_shell(repo):
    screen = terminal(repo, "query", "select * order by acc desc", cols=80)
    lines = screen.rstrip("\n").splitlines()
    assert max(len(line) for line in lines) <= 80
    header = lines[0].split()
    assert header[:2] == ["run", "status"]  # the columns that matter first ...
    assert {"lr", "opt", "seed"} <= set(header) and "fixed0" not in header  # ... params that vary
    assert header[-1] == "…"  # the rest elided
    assert "sw/run59" in lines[2] and "sw/run00" in lines[-2]  # best first, and the last row too
    assert any(set(line.split()) == {"·"} for line in lines)  # the gap between first and last rows
    shown = len(header) - 1
    columns = 10 + 15 + 7 + 3  # fixed columns, params, metrics, the JSON params/metrics/tags
    assert lines[-1].startswith(f"{COUNT} rows x {columns} columns (40 rows, {shown} columns shown)")
    assert len(lines) == 1 + 1 + 40 + 1 + 1


def test_a_result_that_fits_is_shown_whole(repo):
    screen = terminal(repo, "query", "select run, lr, acc order by acc desc limit 3", cols=80)
    assert screen.split("\n")[0].split() == ["run", "lr", "acc"]
    assert "rows x" not in screen and screen.count("sw/run") == 3


def test_all_pages_every_row_and_column(repo):
    screen = terminal(repo, "query", "select * order by acc desc", "--all", cols=80, PAGER="cat")
    assert screen.count("sw/run") >= COUNT and "fixed11" in screen and "rows x" not in screen


def test_piped_every_row_streams_tab_separated(repo):
    lines = piped(repo, "query", "select * order by acc desc").stdout.splitlines()
    assert len(lines) == COUNT + 1
    header = lines[0].split("\t")
    assert header[:2] == ["run", "sweep"] and "fixed11" in header  # every column, in the query's order
    assert lines[1].split("\t")[0] == "sw/run59" and lines[-1].split("\t")[0] == "sw/run00"
    csv_lines = piped(repo, "query", "select run, acc order by acc desc", "-f", "csv").stdout.splitlines()
    assert csv_lines[:2] == ["run,acc", "sw/run59,0.59"] and len(csv_lines) == COUNT + 1


def test_json_gives_params_and_metrics_as_objects(repo):
    data = json.loads(piped(repo, "query", "select run, params, metrics where run = 'sw/run03'", "-f", "json").stdout)
    params, metrics = data["rows"][0][1], data["rows"][0][2]
    assert params["lr"] == 0.1 and params["opt"] == "adam" and metrics["acc"] == 0.03


def test_ls_at_80_columns_keeps_status_and_age_and_shows_exit_codes(repo):
    screen = terminal(repo, "ls", cols=80)
    lines = screen.rstrip("\n").splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split()[:4] == ["sweep", "run", "status", "age"]  # params are cut before these
    assert "failed (exit 3)" in screen
    assert lines[-1].startswith(f"{COUNT} rows x ")


def test_ls_piped_lists_every_run(repo):
    lines = piped(repo, "ls").stdout.splitlines()
    assert len(lines) == COUNT + 1 and lines[0].split("\t")[:4] == ["sweep", "run", "status", "age"]
    failed = [line for line in lines if "\trun07\t" in line]
    assert failed and "failed (exit 3)" in failed[0]
    assert set(lines[0].split("\t")) >= {"lr", "opt", "seed", "acc"} and "fixed0" not in lines[0]


def test_ls_of_an_unknown_sweep_or_an_empty_filter_says_so(repo):
    missing = piped(repo, "ls", "sx", check=False)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip() == "gitexp: error: no sweep 'sx' (did you mean sw)"
    nothing = piped(repo, "ls", "--filter", "nosuchthing")
    assert nothing.stdout == "" and "no run matches --filter 'nosuchthing'" in nothing.stderr
    assert "sweeps: sw" in nothing.stderr and "no runs yet" not in nothing.stderr
    assert piped(repo, "ls", "sx", "--json", check=False).returncode == 2
