"""Hostile and careless inputs: each is one line on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import GIT_ENV

ONE = "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n"


def refused(repo, *args, expect: str) -> str:
    before = repo.refs()
    proc = repo.gitexp(*args, check=False, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0], proc.stderr
    assert repo.refs() == before  # nothing written
    return lines[0]


@pytest.mark.parametrize("override, count", [
    ("x=range(0,1000000000000)", "1,000,000,000,000"),
    ("x=range(0,100000000,0.5)", "200,000,000"),
])
def test_huge_ranges_are_counted_not_built(repo, override, count):
    repo.write("big.yml", f"CMD: python train.py\nOVERRIDES:\n  - {override}\n")
    refused(repo, "run", "big.yml", expect=f"big.yml:3:7: invalid override '{override}': range(): range has {count} "
                                          "values, more than gitexp's limit of 1,000,000")
    refused(repo, "run", "-n", "big.yml", expect="more than gitexp's limit")


def test_sweep_file_must_be_a_regular_file_of_bounded_size(repo, tmp_path):
    refused(repo, "run", "-n", "/dev/zero", expect="/dev/zero: sweep file is not a regular file")
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    refused(repo, "run", str(fifo), expect="fifo.yml: sweep file is not a regular file")
    repo.write("huge.yml", ONE + "#" * (3 * 1024 * 1024) + "\n")
    refused(repo, "run", "huge.yml", expect="huge.yml: sweep file is larger than 2048 KiB")
    refused(repo, "run", "missing.yml", expect="missing.yml: cannot read sweep file: No such file")


def test_duplicate_keys_are_an_error_at_the_second(repo):
    repo.write("dup.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\nCMD: echo other\n")
    refused(repo, "run", "dup.yml", expect="dup.yml:4:1: duplicate key 'CMD': it is already set above")


def test_retries_are_bounded_unless_forced(repo):
    repo.write("r.yml", "CMD: python train.py --fail\nRETRIES: 1000000000\nHPARAMS:\n  lr: [0.1]\n")
    refused(repo, "run", "r.yml", expect="r.yml:2:10: retries: 1000000000 is more than 10; pass --yes")
    assert repo.gitexp("run", "-n", "-y", "r.yml").stdout.startswith("python train.py")
    repo.write("m.yml", "template: python train.py --lr {lr}\nretries: 11\n---\nlr: [0.1]\n")
    refused(repo, "run", "m.yml", expect="m.yml:2:10: retries: 11 is more than 10")


@pytest.mark.parametrize("sweep, args", [
    ('CMD: python train.py\nHPARAMS:\n  lr: ["x\\0y", 0.2]\n', ()),
    ('CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n', ("--set", 'tag="a\\x1bb"')),
    ('CMD: "python train.py\\0"\nHPARAMS:\n  lr: [0.1]\n', ()),
])
def test_control_characters_are_refused_at_check_time(repo, sweep, args):
    repo.write("c.yml", sweep)
    refused(repo, "run", "c.yml", *args, expect="control character U+00")


def test_bad_options_are_one_line(repo):
    repo.write("s.yml", ONE)
    refused(repo, "run", "s.yml", "--sample", "-1", expect="--sample -1: expected a positive number of runs")
    refused(repo, "run", "s.yml", "--name", "", expect="--name: the sweep name must not be empty")
    for value in ("0", "-1", "nan"):
        refused(repo, "run", "s.yml", f"--live-interval={value}", expect="--live-interval")
    refused(repo, "run", "s.yml", "--gpus", "garbage", expect="'garbage' is not a GPU")
    refused(repo, "ls", "--limit", "-5", expect="--limit -5: expected 0 or more rows")
    refused(repo, "query", "select 1", "--limit", "-1", expect="--limit -1: expected 0 or more rows")
    refused(repo, "query", "select 1", "--timeout", "0", expect="--timeout")


def test_ray_address_nobody_answers_on_is_one_line(repo):
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    repo.write("s.yml", ONE)
    refused(repo, "run", "s.yml", "--backend", "ray", "--address", f"127.0.0.1:{port}",
            expect=f"--address 127.0.0.1:{port}: cannot reach the Ray cluster")
    refused(repo, "run", "s.yml", "--backend", "ray", "--address", "nonsense", expect="expected HOST:PORT")


def test_query_has_a_time_limit(repo):
    proc = repo.gitexp("query", "select count(*) from range(1000000000000)", "--timeout", "1",
                       check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "gitexp: error: the query ran longer than 1 s and was stopped (raise --timeout)"


def test_query_stops_on_ctrl_c_with_one_line(repo):
    repo.write("s.yml", ONE)
    repo.gitexp("run", "s.yml")
    repo.gitexp("query", "select 1")  # the index is built: the next query goes straight to DuckDB
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "query", "select count(*) from runs, range(1000000000000)"],
                            cwd=repo.path, env={**os.environ, **GIT_ENV}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # past start-up: DuckDB's worker threads exist
    while _threads(proc.pid) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    assert proc.poll() is None  # still counting
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)  # the bound is the test's; the bench measures the delay
    assert proc.returncode == 130 and err.strip() in ("gitexp: error: query interrupted (Ctrl-C)",
                                                      "gitexp: interrupted"), err  # in the query, or just before


def _threads(pid: int) -> int:
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_index_path_that_is_not_a_file_is_one_line(repo, kind):
    index = repo.path / ".git/gitexp/index.duckdb"
    index.parent.mkdir(parents=True, exist_ok=True)
    index.mkdir() if kind == "folder" else os.mkfifo(index)
    line = refused(repo, "query", "select 1", expect="index.duckdb is ")
    assert "remove it and it is rebuilt" in line
    refused(repo, "ls", expect="index.duckdb is ")


def test_branch_refuses_a_full_ref_name(repo):
    repo.write("s.yml", ONE)
    repo.gitexp("run", "s.yml")
    refused(repo, "branch", "s/lr0.1", "refs/heads/x", expect="'refs/heads/x' is a ref, not a branch name "
                                                            "(pass the branch name: x)")
    assert "refs/heads/refs/heads/x" not in repo.git("for-each-ref")
