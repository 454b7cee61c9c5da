"""METRICS regexes: printed lines become points, alone or beside the other channels."""

from __future__ import annotations

import json

import pytest

from gitexp.errors import SweepError
from gitexp.record import model as record
from gitexp.track.stdout_metrics import StdoutMetrics, compile_patterns, line_hook

# The lines pytorch/examples word_language_model/main.py prints.
WORD_LM = [
    "| epoch   1 |   200/ 2983 batches | lr 20.00 | ms/batch 10.45 | loss  7.63 | ppl  2050.37\n",
    "-" * 89 + "\n",
    "| end of epoch   1 | time: 33.41s | valid loss  5.80 | valid ppl   330.01\n",
    "| end of epoch   2 | time: 33.02s | valid loss  5.51 | valid ppl   247.09\n",
    "=" * 89 + "\n",
    "| End of training | test loss  5.43 | test ppl   228.98\n",
]
PATTERNS = {"valid_loss": r"valid loss\s+([0-9.]+)", "valid_ppl": r"valid ppl\s+([0-9.]+)",
            "train_loss": r"\| loss\s+([0-9.]+)", "test_ppl": r"test ppl\s+([0-9.]+)"}


def test_word_language_model_lines(tmp_path):
    series = tmp_path / "metrics.jsonl"
    metrics = StdoutMetrics(PATTERNS, series)
    for line in WORD_LM:
        metrics.feed(line.encode())
    got = [(p["key"], p["step"], p["value"]) for p in record.read_series(series)]
    assert got == [("train_loss", 0, 7.63), ("valid_loss", 0, 5.80), ("valid_ppl", 0, 330.01),
                   ("valid_loss", 1, 5.51), ("valid_ppl", 1, 247.09), ("test_ppl", 0, 228.98)]


def test_list_form_named_groups_and_progress_bars(tmp_path):
    series = tmp_path / "metrics.jsonl"
    metrics = StdoutMetrics([r"acc=(?P<acc>[0-9.]+)%", r"valid ppl\s+([0-9.]+)", r"loss: (nan|[0-9.e+-]+)"], series)
    metrics.feed(b"step 1 acc=50.5%\rstep 2 acc=61%\r\n")
    metrics.feed(b"| valid ppl 12.5 | loss: nan | loss: not-a-number\n")
    got = [(p["key"], p["step"], p["value"]) for p in record.read_series(series)]
    assert got == [("acc", 0, 50.5), ("acc", 1, 61.0), ("valid_ppl", 0, 12.5), ("loss", 0, "nan")]


@pytest.mark.parametrize("patterns, message", [
    ({"loss": "loss ([0-9.]+"}, "METRICS: loss: invalid regex"),
    ({"loss": r"loss \d+"}, "needs a group around the number"),
    ("loss", "expected a mapping name -> regex, or a list"),
])
def test_bad_metrics_are_sweep_errors(patterns, message):
    with pytest.raises(SweepError, match=message):
        compile_patterns(patterns)


def test_line_hook_passes_lines_on(tmp_path):
    seen = []
    files = record.RunFiles(tmp_path)
    files.create()
    hook = line_hook({"x": r"x=(\d+)"}, files, seen.append)
    hook(b"x=3\n")
    assert seen == [b"x=3\n"] and record.read_series(files.series)[0]["value"] == 3.0
    assert line_hook(None, files, seen.append) == seen.append


PRINTS = """\
import argparse, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
a = p.parse_args()
for epoch in range(1, 4):
    print(f"| end of epoch {epoch:3d} | time: 1.00s | valid loss {5.8 - epoch * a.lr:5.2f} | valid ppl {330.01 / epoch:8.2f}")
"""


def test_a_script_that_only_prints_gets_metrics_through_gitexp_run(repo):
    repo.write("prints.py", PRINTS)
    repo.write("exp.yml", "CMD: python prints.py\nHPARAMS:\n  lr: [0.1]\n"
               "METRICS:\n  valid_loss: 'valid loss\\s+([0-9.]+)'\n  valid_ppl: 'valid ppl\\s+([0-9.]+)'\n")
    repo.gitexp("run", "exp.yml")
    ref = "refs/experiments/exp/lr0.1"
    assert json.loads(repo.show(f"{ref}:.gitexp/metrics.json")) == {"valid_loss": 5.5, "valid_ppl": 110.0}
    steps = [json.loads(line)["step"] for line in repo.show(f"{ref}:.gitexp/metrics.jsonl").splitlines()]
    assert steps == [0, 0, 1, 1, 2, 2]


def test_a_bad_metrics_regex_stops_the_launch_before_anything_is_written(repo):
    repo.write("exp.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\nMETRICS:\n  loss: 'loss \\d+'\n")
    proc = repo.gitexp("run", "exp.yml", check=False)
    assert proc.returncode == 2 and "METRICS: loss" in proc.stderr
    assert repo.refs() == {}
