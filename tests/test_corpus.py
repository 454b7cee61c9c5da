"""The bad-input corpus (tests/corpus/): hostile sweep files, broken records, escaping SQL.

Every case goes through the real CLI and must end with its documented one-line error and exit
code 2 (or be tolerated and shown as broken) - never a traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitexp.sweep import check_sweep_text

CORPUS = Path(__file__).parent / "corpus"
SWEEPS = CORPUS / "sweeps"

# file -> the documented error (a substring of the one line); None: a valid file
SWEEP_ERRORS = {
    "alias_in_hparams.yml": "more than gitexp's limit of 1000000",
    "bad_override.yml": "3:16: invalid override 'lr=range(1,': missing ')'",
    "binary.yml": "1:1: YAML error: unacceptable character #x0000",
    "cmd_not_string.yml": "1:6: CMD: expected a command string",
    "deep_mapping.yml": "nested too deeply",
    "deep_nesting.yml": "nested too deeply",
    "empty.yml": "empty sweep file",
    "empty_list.yml": "3:7: lr: empty list of values",
    "invalid_utf8.yml": None,
    "million_runs.yml": "expands to 1000000 runs, more than 10000; pass --yes",
    "mlrunner_missing_value.yml": "placeholder {wd} has no value",
    "nul_bytes.yml": "1:21: YAML error: unacceptable character #x0000",
    "only_comments.yml": "empty sweep file",
    "over_hard_limit.yml": "expands to 10000000 runs, more than gitexp's limit of 1000000",
    "python_tag.yml": "could not determine a constructor for the tag",
    "regex_metric.yml": "regex_metric.yml:5:13: METRICS: acc: invalid regex: missing ), unterminated subpattern",
    "scalar_document.yml": "not a sweep file",
    "tabs.yml": "3:1: YAML syntax error: found character '\\t'",
    "timeout_wrong_type.yml": "4:10: TIMEOUT: expected a positive number of seconds",
    "top_level_list.yml": "not a sweep file",
    "unclosed_bracket.yml": "3:7: YAML syntax error: unclosed '[' (expected ',' or ']'",
    "unicode_key.yml": "unknown top-level key 'HPÄRAMS' (did you mean 'HPARAMS'?)",
    "unicode_values.yml": None,
    "unknown_key.yml": "unknown top-level key 'HPARAMZ'",
    "yaml_bomb.yml": "more than 200000 values (alias bomb?)",
}


def one_line_error(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitexp: error: "), proc.stderr
    assert expected in lines[0]


def test_corpus_is_complete():
    assert sorted(p.name for p in SWEEPS.iterdir()) == sorted(SWEEP_ERRORS)


@pytest.mark.parametrize("name", sorted(SWEEP_ERRORS))
def test_sweep_file_cli(repo, name):
    proc = repo.gitexp("run", "-n", str(SWEEPS / name), check=False, timeout=60)
    expected = SWEEP_ERRORS[name]
    if expected is None:
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    else:
        one_line_error(proc, expected)
    assert not repo.refs() and not (repo.path / "pwned").exists()


@pytest.mark.parametrize("name", sorted(SWEEP_ERRORS))
def test_sweep_file_editor_check_never_raises(name):
    text = (SWEEPS / name).read_bytes().decode("utf-8", errors="replace")
    diags = check_sweep_text(text, str(SWEEPS / name))
    errors = [d for d in diags if d.severity == "error"]
    # the editor warns about a sweep that needs --yes
    assert bool(errors) == (SWEEP_ERRORS[name] is not None and name != "million_runs.yml")


def test_huge_file_refused(repo):
    big = repo.write("big.yml", "CMD: python train.py\nHPARAMS:\n  lr: [" + "0.1, " * 600_000 + "0.2]\n")
    one_line_error(repo.gitexp("run", "-n", str(big), check=False), "larger than 2048 KiB")
    assert check_sweep_text(big.read_text(), str(big))


def test_large_sweep_needs_yes(repo):
    repo.write("large.yml", "CMD: python train.py\nHPARAMS:\n  a: [" + ", ".join(map(str, range(101))) +
               "]\n  b: [" + ", ".join(map(str, range(100))) + "]\n")
    one_line_error(repo.gitexp("run", "-n", "large.yml", check=False), "pass --yes")
    proc = repo.gitexp("run", "-n", "--yes", "large.yml")
    assert len(proc.stdout.splitlines()) == 10_100


# -- broken records in refs -----------------------------------------------------------


def _record_commit(repo, content: bytes) -> str:
    """A commit on HEAD whose tree is only `.gitexp/run.json` = content."""
    tree = _mktree(repo, f"100644 blob {_hash(repo, content)}\trun.json\n")
    top = _mktree(repo, f"040000 tree {tree}\t.gitexp\n")
    return subprocess.run(["git", "commit-tree", top, "-p", "HEAD", "-m", "x"], cwd=repo.path,
                          capture_output=True, text=True, check=True).stdout.strip()


def _hash(repo, content: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=content,
                          capture_output=True, check=True).stdout.decode().strip()


def _mktree(repo, listing: str) -> str:
    return subprocess.run(["git", "mktree", "--missing"], cwd=repo.path, input=listing, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.fixture
def broken(repo):
    for path in sorted((CORPUS / "records").iterdir()):
        repo.git("update-ref", f"refs/experiments/broken/{path.stem}", _record_commit(repo, path.read_bytes()))
    repo.git("update-ref", "refs/experiments/broken/blob", _hash(repo, b"not a commit\n"))
    repo.git("update-ref", "refs/experiments/broken/nogitexp", "HEAD")
    repo.git("update-ref", "refs/experiments/broken/tree", "HEAD^{tree}")
    repo.gitexp("run", "-n", "--yes", str(SWEEPS / "unicode_values.yml"))
    return repo


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_broken_records_are_listed_as_broken(broken):
    names = {"blob", "empty", "list", "nogitexp", "not_json", "tree", "wrong_types"}
    listed = json.loads(_no_traceback(broken.gitexp("ls", "--json")).stdout)
    assert {r["name"]: r["status"] for r in listed} == {n: "unknown" for n in names}
    rows = _no_traceback(broken.gitexp("query", "select name, status order by name", "--format", "csv")).stdout
    assert rows.split() == ["name,status"] + [f"{n},unknown" for n in sorted(names)]
    for args in (("ls", "broken", "--sort", "status"), ("ps",), ("tensorboard", "--export", "tb")):
        assert _no_traceback(broken.gitexp(*args, check=False)).returncode in (0, 2)


@pytest.mark.parametrize("name", ["empty", "list", "not_json", "wrong_types"])
def test_show_a_broken_record(broken, name):
    proc = _no_traceback(broken.gitexp("show", f"broken/{name}", "--json"))
    record = json.loads(proc.stdout)
    assert record["status"] == "unknown" and record["record"]["error"]


@pytest.mark.parametrize("name", ["blob", "nogitexp", "tree"])
def test_show_a_ref_that_is_no_record(broken, name):
    one_line_error(broken.gitexp("show", f"broken/{name}", check=False), f"broken/{name}: not a run record")
    one_line_error(broken.gitexp("diff", "broken/list", f"broken/{name}", check=False), "not a run record")


# -- SQL that tries to escape ----------------------------------------------------------

ESCAPES = [line for line in (CORPUS / "escape.sql").read_text().splitlines() if line.strip()]
HARMLESS = {"ATTACH ':memory:' AS m", "CHECKPOINT", "VACUUM", "USE memory"}  # in-memory only


@pytest.mark.slow
@pytest.mark.timeout(600)  # one gitexp process per escape: over 2 minutes on a loaded 2-core box
def test_sql_escapes_are_refused(repo):
    before = sorted(p.relative_to(repo.path) for p in repo.path.rglob("*") if ".git" not in p.parts)
    for sql in ESCAPES:
        proc = _no_traceback(repo.gitexp("query", sql, check=False))
        if sql in HARMLESS:
            assert proc.returncode in (0, 2), proc.stderr
            continue
        assert proc.returncode == 2, (sql, proc.stdout)
        assert proc.stderr.startswith("gitexp: error: "), sql
    after = sorted(p.relative_to(repo.path) for p in repo.path.rglob("*") if ".git" not in p.parts)
    assert after == before
    assert not list(repo.path.rglob("pwned*"))
