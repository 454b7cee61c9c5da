"""Adaptive search (SEARCH / PRUNE): Optuna's samplers and pruners on the real scheduler, every
trial a real process and a real run ref; pruning from every metric channel; resume from the refs."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.errors import SweepError
from gitexp.sweep import check_sweep_text, load_sweep
from gitexp.sweep.search import CommandLine

pytest.importorskip("optuna", reason="the search tests need Optuna (pip install 'gitexp[search]')")

CURVE = """\
import argparse, math, os, time
import gitexp
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--wd", type=float, default=0.0)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--sleep", type=float, default=0.0)
a = p.parse_args()
peak = -(math.log10(a.lr) + 2.5) ** 2 - a.wd - abs(a.layers - 5) / 10
for step in range(1, a.steps + 1):
    gitexp.log({"val_acc": peak * step / a.steps, "loss": -peak}, step=step)
    time.sleep(a.sleep)
"""

SEARCH_YML = """\
CMD: python curve.py
HPARAMS:
  lr: loguniform(1e-4, 1e-1)
  wd: [0.0, 0.5]
  layers: randint(2, 8)
  sleep: {sleep}
SEARCH: {{sampler: {sampler}, trials: {trials}, objective: val_acc, direction: max, seed: 0}}
{prune}"""


def search_file(repo, name="search.yml", sampler="tpe", trials=4, sleep=0.0, prune=""):
    repo.write("curve.py", CURVE)
    return repo.write(name, SEARCH_YML.format(sampler=sampler, trials=trials, sleep=sleep, prune=prune))


def record(repo, ref: str, file: str = "run.json"):
    return json.loads(repo.show(f"{ref}:.gitexp/{file}"))


def series(repo, ref: str) -> list[dict]:
    return [json.loads(line) for line in repo.show(f"{ref}:.gitexp/metrics.jsonl").splitlines()]


# -- the sections, in every grammar ---------------------------------------------------------


def test_search_section_gives_the_space_and_settings(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text(SEARCH_YML.format(sampler="tpe", trials=40, sleep=0, prune="PRUNE: {pruner: asha, "
                                      "metric: val_acc, min_steps: 1, reduction: 3}\n"))
    sweep = load_sweep(path)
    plan = sweep.search
    assert sweep.runs == () and (plan.sampler, plan.trials, plan.objective, plan.direction) == ("tpe", 40, "val_acc", "max")
    assert plan.space["wd"] == (0.0, 0.5) and plan.space["lr"].kind == "loguniform"
    assert (plan.space["layers"].kind, plan.space["layers"].low, plan.space["layers"].high) == ("randint", 2, 8)
    assert plan.fixed == {"sleep": 0} and plan.pruning.pruner == "asha" and plan.pruning.reduction == 3
    spec = plan.make("trial-0003", {"lr": 0.01, "wd": 0.5, "layers": 3})
    assert spec.commands == ("python curve.py --lr 0.01 --wd 0.5 --layers 3 --sleep 0",)


def test_command_line_overrides_and_starts_a_search(tmp_path):
    path = tmp_path / "grid.yml"
    path.write_text("CMD: python curve.py\nHPARAMS:\n  lr: [0.1, 0.01]\n  layers: randint(2, 4)\n")
    plan = load_sweep(path, search=CommandLine("grid", 50, "loss:min")).search
    assert (plan.sampler, plan.objective, plan.direction) == ("grid", "loss", "min")
    assert plan.trials == 6  # the grid has 2 x 3 combinations
    with pytest.raises(SweepError, match="--objective:1:1: SEARCH: missing direction"):
        load_sweep(path, search=CommandLine("tpe", 5, "loss"))


def test_mlrunner_first_document_takes_search_and_prune(tmp_path):
    path = tmp_path / "ml.yml"
    path.write_text("template: python curve.py [lr] [layers]\nsearch: {sampler: random, trials: 3, objective: "
                    "val_acc, direction: max}\nprune: {pruner: median}\n---\nlr: loguniform(1e-3, 1e-1)\n"
                    "layers: [2, 4]\n")
    plan = load_sweep(path).search
    assert plan.sampler == "random" and plan.pruning.pruner == "median" and plan.pruning.metric == "val_acc"
    assert plan.make("t", {"lr": 0.01, "layers": 4}).commands == ("python curve.py --lr 0.01 --layers 4",)


BAD = [
    ("SEARCH: {sampler: tpe, trials: 0, objective: acc, direction: max}", "3:32", "trials: expected a positive"),
    ("SEARCH: {sampler: tpee, trials: 4, objective: acc, direction: max}", "3:19",
     "sampler: unknown sampler 'tpee' (did you mean 'tpe'?)"),
    ("SEARCH: {sampler: tpe, trials: 4, objective: acc, direction: up}", "3:62", "direction: expected max or min"),
    ("PRUNE: {pruner: asha}", "3:1", "PRUNE: pruning needs a SEARCH section"),
    ("SEARCH: {sampler: grid, trials: 4, objective: acc, direction: max}", "2:11",
     "lr: the grid sampler cannot take loguniform()"),
    ("SEARCH: {sampler: tpe, trials: 4, objective: acc, direction: max, budget: 3}", "3:67",
     "SEARCH: unknown key 'budget'"),
    ("SEARCH: {sampler: tpe, trials: 4, objective: acc, direction: max}\nPRUNE: {pruner: ash}", "4:17",
     "pruner: unknown pruner 'ash' (did you mean 'asha'?)"),
]


@pytest.mark.parametrize("section,where,message", BAD, ids=[b[2][:24] for b in BAD])
def test_bad_search_input_is_one_positioned_error_and_exit_2(repo, section, where, message):
    repo.write("curve.py", CURVE)
    repo.write("bad.yml", f"CMD: python curve.py\nHPARAMS: {{lr: 'loguniform(1e-3, 1e-1)'}}\n{section}\n")
    proc = repo.gitexp("run", "bad.yml", check=False)
    assert proc.returncode == 2, proc.stderr
    assert f"bad.yml:{where}: {message}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert repo.refs() == {} and not (repo.path / ".git/gitexp/runs").exists()


def test_the_editor_sees_the_same_problems(tmp_path):
    text = "CMD: python curve.py\nHPARAMS:\n  lr: [0.1, 0.01]\n  mom: uniform(0, 1)\n" \
           "SEARCH: {sampler: cmaes, trials: 4, objective: acc, direction: sideways}\n"
    diags = {(d.line, d.severity, d.message.split(":")[0]) for d in check_sweep_text(text, "s.yml")}
    assert (5, "error", "direction") in diags and (3, "warning", "lr") in diags  # cmaes: lists at random


def test_search_without_optuna_names_the_extra_and_writes_nothing(repo, tmp_path):
    shim = tmp_path / "shim" / "optuna"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('optuna is not installed here')\n")
    search_file(repo)
    proc = repo.gitexp("run", "search.yml", check=False, env={"PYTHONPATH": str(shim.parent)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "gitexp: error: search.yml: SEARCH needs Optuna, which is not installed: " \
                                  "pip install 'gitexp[search]'"
    assert repo.refs() == {} and not (repo.path / ".git/gitexp/runs").exists()


def test_gp_sampler_without_torch_says_what_to_install(repo):
    if importlib.util.find_spec("torch") and importlib.util.find_spec("scipy"):
        pytest.skip("torch and scipy are installed: GPSampler runs (covered by the sampler matrix)")
    search_file(repo, sampler="gp")
    proc = repo.gitexp("run", "search.yml", check=False)
    assert proc.returncode == 2 and "sampler gp needs" in proc.stderr and "pip install torch scipy" in proc.stderr
    assert repo.refs() == {}


# -- every trial a run -----------------------------------------------------------------------


def test_every_trial_is_a_run_with_its_params_trial_number_and_search_block(repo):
    search_file(repo, trials=4)
    proc = repo.gitexp("run", "search.yml", "-j", "2")
    refs = sorted(repo.refs())
    assert refs == [f"refs/experiments/search/trial-{n:04d}" for n in range(4)]
    infos = [record(repo, ref) for ref in refs]
    assert [i["trial"] for i in infos] == [0, 1, 2, 3]
    assert len({i["search"]["study"] for i in infos}) == 1 and all(i["status"] == "completed" for i in infos)
    for info in infos:
        assert 1e-4 <= info["params"]["lr"] <= 1e-1 and info["params"]["wd"] in (0.0, 0.5)
        assert isinstance(info["params"]["layers"], int) and 2 <= info["params"]["layers"] <= 8
        assert info["search"]["sampler"] == "tpe" and info["search"]["objective"] == "val_acc"
    best = max(infos, key=lambda i: record(repo, f"refs/experiments/search/{i['name']}", "metrics.json")["val_acc"])
    assert f"best search/{best['name']}" in proc.stderr
    ranked = repo.gitexp("query", "select name, status from runs where sweep = 'search' order by val_acc desc "
                                  "limit 1", "--format", "csv").stdout
    assert best["name"] in ranked
    assert "trial-0003" in repo.gitexp("ls", "search").stdout
    assert "trial" in repo.gitexp("show", "search/trial-0001").stdout


def test_parallel_trials_fill_every_slot(repo):
    search_file(repo, trials=6, sleep=0.4, name="par.yml")
    repo.gitexp("run", "par.yml", "-j", "3")
    spans = []
    for ref in repo.refs():
        info = record(repo, ref)
        spans.append((info["started"], info["ended"]))
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert len(spans) == 6 and most == 3


@pytest.mark.parametrize("sampler,pruner", [("tpe", "asha"), ("random", "hyperband"), ("grid", "median"),
                                            ("cmaes", "none"), ("gp", "asha")])
def test_each_sampler_and_pruner_runs_a_search(repo, sampler, pruner):
    if sampler == "gp" and not (importlib.util.find_spec("torch") and importlib.util.find_spec("scipy")):
        pytest.skip("GPSampler needs torch and scipy, not installed here")
    repo.write("curve.py", CURVE)
    space = "lr: [0.1, 0.01, 0.001]\n  layers: randint(3, 5)" if sampler == "grid" else \
        "lr: loguniform(1e-4, 1e-1)\n  layers: randint(2, 8)"
    repo.write("m.yml", f"CMD: python curve.py --steps 4\nHPARAMS:\n  {space}\n"
                        f"SEARCH: {{sampler: {sampler}, trials: 5, objective: val_acc, direction: max}}\n"
                        f"PRUNE: {{pruner: {pruner}, min_steps: 1, reduction: 2}}\n")
    repo.gitexp("run", "m.yml", "-j", "2")
    infos = [record(repo, ref) for ref in repo.refs()]
    assert len(infos) == 5 and {i["status"] for i in infos} <= {"completed", "pruned"}
    assert all(i["search"]["sampler"] == sampler for i in infos)
    if sampler == "grid":
        assert len({(i["params"]["lr"], i["params"]["layers"]) for i in infos}) == 5  # no grid point twice


# -- pruning from live metrics, through every channel ------------------------------------------

PRUNED = """\
import os, sys, time
good = os.environ["GITEXP_RUN"].endswith("trial-0000")  # the first trial is good, the rest hopeless
{setup}
for step in range(40):
    value = 1.0 if good else 0.0
    {log}
    time.sleep(0.02 if good else 0.25)
"""
CHANNELS = {
    "api": ("import gitexp", "gitexp.log({'score': value}, step=step)", "score", ""),
    "logx": ("from gitexp.logx import logx\nlogx.initialize(logdir=os.environ['LOGDIR'])",
             "logx.metric('val', {'score': value}, step)", "val/score", ""),
    "tensorboard": ("from tensorboard.summary import Writer\nw = Writer(os.path.join(os.environ['LOGDIR'], 'tb'))",
                    "w.add_scalar('score', value, step); w.flush()", "score", ""),
    "stdout": ("", "print(f'step {step} score {value}', flush=True)", "score",
               "METRICS: {score: 'step \\d+ score ([\\d.]+)'}\n"),
}


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_a_hopeless_trial_is_pruned_from_its_live_points(repo, channel):
    setup, log, metric, extra = CHANNELS[channel]
    repo.write("p.py", PRUNED.format(setup=setup, log=log))
    repo.write("p.yml", f"CMD: python p.py\nHPARAMS:\n  x: [1, 2, 3]\n{extra}"
                        f"SEARCH: {{sampler: random, trials: 2, objective: '{metric}', direction: max}}\n"
                        f"PRUNE: {{pruner: median, startup: 1, min_steps: 0}}\n")
    repo.gitexp("run", "p.yml")
    good, bad = record(repo, "refs/experiments/p/trial-0000"), record(repo, "refs/experiments/p/trial-0001")
    assert good["status"] == "completed" and bad["status"] == "pruned", bad
    assert bad["pruned"]["metric"] == metric and bad["pruned"]["step"] < 10
    points = [p for p in series(repo, "refs/experiments/p/trial-0001") if p["key"] == metric]
    assert 1 <= len(points) < 40  # its partial metrics are kept
    assert record(repo, "refs/experiments/p/trial-0001", "metrics.json")[metric] == 0.0
    assert bad["search"]["state"] == "pruned"
    assert "pruned" in repo.gitexp("ls", "p").stdout
    shown = repo.gitexp("query", "select count(*) as n from runs where status = 'pruned'", "-f", "csv").stdout
    assert shown.split() == ["n", "1"]


def test_an_objective_no_trial_logs_warns_once_with_what_it_did_log(repo):
    search_file(repo, trials=3)
    repo.write("search.yml", repo.path.joinpath("search.yml").read_text().replace("objective: val_acc",
                                                                               "objective: val_accuracy"))
    proc = repo.gitexp("run", "search.yml", check=False)
    warnings = [line for line in proc.stderr.splitlines() if "did not log the objective" in line]
    assert len(warnings) == 1 and "'val_accuracy'" in warnings[0] and "loss, val_acc" in warnings[0]


# -- resume and extend, from the refs alone ---------------------------------------------------


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_kill_9_then_resume_rebuilds_the_study_and_reaches_the_budget(repo):
    search_file(repo, trials=4, sleep=0.4)
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", "run", "search.yml"], cwd=repo.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert _wait_for(lambda: "refs/experiments/search/trial-0001" in repo.refs())
        os.kill(proc.pid, signal.SIGKILL)  # the scheduler dies; its trial process is left orphaned
        proc.wait()
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if _group_alive(proc.pid) else None
    before = {ref: record(repo, ref) for ref in repo.refs()}
    study = {i["search"]["study"] for i in before.values()}
    interrupted = record(repo, "refs/experiments/search/trial-0001")
    assert interrupted["status"] in ("queued", "running")
    again = repo.gitexp("run", "search.yml", check=False)
    assert again.returncode == 2 and "--resume continues it" in again.stderr
    repo.gitexp("run", "search.yml", "--resume")
    after = {ref: record(repo, ref) for ref in repo.refs()}
    assert sorted(after) == [f"refs/experiments/search/trial-{n:04d}" for n in range(4)]
    assert {i["search"]["study"] for i in after.values()} == study
    assert all(i["status"] == "completed" for i in after.values())
    rerun = after["refs/experiments/search/trial-0001"]
    assert rerun["params"] == interrupted["params"]  # rerun in place, with the params it had drawn
    extended = repo.gitexp("run", "search.yml", "--trials", "6")
    assert len(repo.refs()) == 6 and "6/6 trials done" in extended.stderr
    finished = repo.gitexp("run", "search.yml", "--resume")
    assert "6/6 trials done" in finished.stderr and len(repo.refs()) == 6


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except OSError:
        return False


def test_two_searches_in_one_repo_keep_their_own_studies(repo):
    search_file(repo, trials=2)
    repo.gitexp("run", "search.yml")
    repo.gitexp("run", "search.yml", "--name", "other", "--trials", "3")
    mine = {record(repo, r)["search"]["study"] for r in repo.refs("refs/experiments/search/")}
    other = {record(repo, r)["search"]["study"] for r in repo.refs("refs/experiments/other/")}
    assert len(mine) == 1 and len(other) == 1 and mine != other
    assert len(repo.refs("refs/experiments/other/")) == 3
    repo.gitexp("run", "search.yml", "--trials", "3")  # extends its own study only
    assert len(repo.refs("refs/experiments/search/")) == 3 and len(repo.refs("refs/experiments/other/")) == 3


def test_dry_run_describes_the_search(repo):
    search_file(repo, trials=4)
    out = repo.gitexp("run", "search.yml", "-n").stdout
    assert "# search: tpe, 4 trials, objective val_acc (max)" in out and "#   lr: loguniform(0.0001, 0.1)" in out
    assert repo.refs() == {}


def test_trials_fill_gpu_slots_too(repo, tmp_path):
    """Simulated GPUs (the sanctioned fake device): one trial per GPU, each placed and recorded."""
    state = tmp_path / "gpu-state"
    state.mkdir()
    gpus = [{"name": "H100", "memory_mib": 16000}, {"name": "H100", "memory_mib": 16000}]
    search_file(repo, name="g.yml", trials=4, sleep=0.3)
    repo.write("g.yml", repo.path.joinpath("g.yml").read_text() + "RESOURCES: {gpu: 1}\n")
    repo.gitexp("run", "g.yml", env={"GITEXP_FAKE_GPUS": json.dumps(gpus), "GITEXP_FAKE_GPU_STATE": str(state)})
    infos = [record(repo, ref) for ref in repo.refs()]
    assert len(infos) == 4 and all(i["status"] == "completed" and len(i["gpus"]) == 1 for i in infos)
    assert {i["gpus"][0] for i in infos} == {0, 1}


def test_files_trials_write_into_the_work_tree_stay_out_of_later_snapshots(repo):
    search_file(repo, trials=2)
    repo.write("curve.py", CURVE + "open(f'results_{a.lr}.csv', 'w').write('acc\\n')\n")
    repo.gitexp("run", "search.yml")
    written = sorted(p.name for p in repo.path.glob("results_*.csv"))
    assert len(written) == 2
    repo.write("plain.yml", "CMD: python -c pass\nHPARAMS:\n  x: [1]\n")
    repo.gitexp("run", "plain.yml")
    snapshot = record(repo, "refs/experiments/plain/x1")["snapshot"]
    files = repo.git("ls-tree", "-r", "--name-only", snapshot).split()
    assert "curve.py" in files and not [f for f in files if f.startswith("results_")], files
