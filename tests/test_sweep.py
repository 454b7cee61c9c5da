"""Golden tests: tests/sweeps/NAME.yml expands to exactly the lines of NAME.expected.

Each .yml documents in its comments which behaviour of the real tool it pins. The expected
lines were derived from the tools' own code (NVIDIA/runx runx.py: expand_hparams, get_tag,
cross_product_hparams, HPARAMS list inheritance; simtony/mlrunner run.py/misc.py: sweep,
map_alias, add_default, uniq_entries, map_placeholder, map_replacement; Hydra's
BasicSweeper and Override._get_value_element_as_str). runx -i -n prints
`cd LOGDIR/code; PYTHONPATH=... <CMD> --k v ` for each run: gitexp prints the part after
the prefix, without runx's trailing space. Here LOGDIR is rendered as /logs/<run name>.
The runx, mlrunner and Hydra files are also checked against the real tools, run side by side:
tests/test_sweep_runx_parity.py, test_sweep_mlrunner_parity.py and test_sweep_hydra_parity.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gitexp.errors import SweepError
from gitexp.sweep import RunSpec, load_sweep, script_arguments

GOLDEN = Path(__file__).parent / "sweeps"


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("*.yml")))
def test_golden(case):
    sweep = load_sweep(GOLDEN / f"{case}.yml")
    lines = [c for run in sweep.runs for c in run.render(f"/logs/{run.name}", time="T")]
    assert lines == (GOLDEN / f"{case}.expected").read_text().splitlines()
    assert len({r.name for r in sweep.runs}) == len(sweep.runs)


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("hydra_*.yml")))
def test_golden_hydra_without_hydra_core(case, monkeypatch):
    """gitexp's own grammar (used when hydra-core is absent) writes the same lines as hydra-core."""
    from gitexp.sweep import hydra_core

    monkeypatch.setattr(hydra_core, "available", lambda: False)
    sweep = load_sweep(GOLDEN / f"{case}.yml")
    lines = [c for run in sweep.runs for c in run.render(f"/logs/{run.name}", time="T")]
    assert lines == (GOLDEN / f"{case}.expected").read_text().splitlines()


def write(tmp_path: Path, text: str, name: str = "sweep.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sweep_metadata(tmp_path):
    path = write(tmp_path, "CMD: python t.py\nHPARAMS: {lr: [1, 2]}\n", "My Sweep.yml")
    sweep = load_sweep(path)
    assert sweep.name == "My_Sweep"
    assert sweep.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [r.name for r in sweep.runs] == ["lr1", "lr2"]
    assert load_sweep(path, name="other").name == "other"


def test_names_when_nothing_varies(tmp_path):
    assert [r.name for r in load_sweep(write(tmp_path, "CMD: a\nHPARAMS: {x: s, n: 3}\n")).runs] == ["x_s-n3"]
    assert [r.name for r in load_sweep(write(tmp_path, "CMD: a\nHPARAMS: {}\n")).runs] == ["run"]


def test_tag_does_not_leak_into_later_blocks(tmp_path):
    text = "CMD: a\nHPARAMS:\n  - {x: 1}\n  - {x: 2, RUNX.TAG: 'two{x}'}\n  - {x: 3}\n"
    assert [r.name for r in load_sweep(write(tmp_path, text)).runs] == ["x1", "two2", "x3"]


def test_submit_job_resources_and_dotrunx(tmp_path):
    write(tmp_path, "LOGROOT: /big/logs\nFARM: bigfarm\nbigfarm:\n  SUBMIT_CMD: submit_job\n"
                    "  RESOURCES: {gpu: 2, cpu: 16}\n", ".runx")
    sweep = load_sweep(write(tmp_path, "CMD: a\nHPARAMS:\n  SUBMIT_JOB.NODES: 2\n"
                                       "  SUBMIT_JOB.PARTITION: batch\n  x: 1\n"))
    (run,) = sweep.runs
    assert run.commands == ("a --x 1",)
    assert run.params == {"x": 1}
    assert run.resources == {"gpus": 2, "cpu": 16, "nodes": 2, "partition": "batch"}
    assert sweep.options["logroot"] == "/big/logs"
    assert any("SUBMIT_CMD" in w.message and w.severity == "info" for w in sweep.warnings)


def test_render_fills_reserved_placeholders():
    run = RunSpec("r", {}, ("x --out LOGDIR/a", "y {_output} {_name} {_time}"), {})
    assert run.render("/o d", time="T") == ("x --out '/o d'/a", "y '/o d' r T")  # a path with a space stays one word
    assert run.render("/o", time="T")[0] == "x --out /o/a"  # as runx: verbatim when no quoting is needed
    assert run.render("/o", name="n", time="T")[1] == "y /o n T"


def test_sets_override_and_extend(tmp_path):
    path = write(tmp_path, "CMD: a\nHPARAMS: {lr: [1, 2], bs: 8}\n")
    sweep = load_sweep(path, sets=["lr=0.5", "bs=[32,64]", "new=x"])
    assert [r.commands[0] for r in sweep.runs] == ["a --lr 0.5 --bs 32 --new x", "a --lr 0.5 --bs 64 --new x"]


def test_sweep_overrides_on_runx_file_are_flags(tmp_path):
    # Hydra's grammar chooses the values; a runx (argparse) script still takes --key value
    sweep = load_sweep(write(tmp_path, "CMD: a\nHPARAMS: {lr: 1}\n"), sweep_overrides=["model=x,y", "n=range(2)"])
    assert [r.commands[0] for r in sweep.runs] == ["a --lr 1 --model x --n 0", "a --lr 1 --model x --n 1",
                                                  "a --lr 1 --model y --n 0", "a --lr 1 --model y --n 1"]


def test_only_and_exclude(tmp_path):
    path = write(tmp_path, "CMD: a\nHPARAMS: {lr: [0.1, 0.2], opt: [sgd, adam]}\n")
    assert [r.name for r in load_sweep(path, only=["lr=0.1"]).runs] == ["opt_sgd", "opt_adam"]
    assert [r.name for r in load_sweep(path, exclude=["opt=adam"]).runs] == ["lr0.1", "lr0.2"]
    with pytest.raises(SweepError, match="no param named 'lrr'"):
        load_sweep(path, only=["lrr=1"])


def test_sample_is_seeded_and_distinct(tmp_path):
    path = write(tmp_path, "CMD: a\nHPARAMS: {x: [1, 2, 3, 4, 5], y: [1, 2, 3, 4]}\n")
    first = load_sweep(path, sample=5, seed=3)
    assert [r.params for r in first.runs] == [r.params for r in load_sweep(path, sample=5, seed=3).runs]
    assert len({repr(r.params) for r in first.runs}) == 5
    assert len(load_sweep(path, sample=50).runs) == 20


def test_sample_continuous_distributions(tmp_path):
    path = write(tmp_path, "CMD: a\nOVERRIDES: ['lr=loguniform(0.0001,0.1)', 'wd=uniform(0,1)']\n")
    sweep = load_sweep(path, sample=4, seed=1)
    assert len(sweep.runs) == 4
    assert all(1e-4 <= r.params["lr"] <= 0.1 and 0 <= r.params["wd"] <= 1 for r in sweep.runs)
    with pytest.raises(SweepError, match=r"sweep.yml:2:14: lr: loguniform\(\) needs random search"):
        load_sweep(path)


def test_max_runs(tmp_path):
    path = write(tmp_path, "CMD: a\nHPARAMS: {x: [1, 2, 3], y: [1, 2, 3]}\n")
    with pytest.raises(SweepError, match="9 runs, more than 5; pass --yes"):
        load_sweep(path, max_runs=5)
    assert len(load_sweep(path, max_runs=5, allow_large=True).runs) == 9


def test_mlrunner_title_and_cmd(tmp_path):
    text = ("template: {a: 'echo a {x}', b: 'echo b {x}'}\n---\n_title: one\nx: [1]\n"
            "---\n_title: two\n_cmd: b\nx: [2, 3]\n")
    path = write(tmp_path, text)
    assert [r.commands for r in load_sweep(path).runs] == [("echo a 1", "echo b 1"), ("echo b 2",), ("echo b 3",)]
    assert [r.commands for r in load_sweep(path, title="two").runs] == [("echo b 2",), ("echo b 3",)]


def test_mlrunner_orphans_warn(tmp_path):
    sweep = load_sweep(write(tmp_path, "template: echo {x}\n---\nx: [1, 2]\nseed: [1]\n"))
    assert [str(w) for w in sweep.warnings if w.severity == "warning"] == [
        f"{tmp_path}/sweep.yml:4:1: orphan param 'seed': no template uses it (it only changes the run name)"]


def test_script_arguments_reads_argparse_statically(tmp_path):
    script = write(tmp_path, "import argparse, sys\nsys.exit('never run me')\np = argparse.ArgumentParser()\n"
                             "p.add_argument('--lr', '--learning-rate', type=float, default=0.1, help='step')\n"
                             "p.add_argument('-v', '--verbose', action='store_true')\n", "train.py")
    infos = script_arguments(script)
    assert [(i.flag, i.type, i.default, i.help) for i in infos] == [
        ("--lr", "float", 0.1, "step"), ("--learning-rate", "float", 0.1, "step"),
        ("--verbose", "bool", None, None)]
    sweep = load_sweep(write(tmp_path, "CMD: python train.py\nHPARAMS:\n  lr: 1\n  verb: true\n  bs: 2\n"))
    assert [str(w) for w in sweep.warnings] == [
        f"{tmp_path}/sweep.yml:5:3: 'bs': train.py defines no --bs argument (read from its argparse calls)"]
    assert script_arguments(tmp_path / "missing.py") == []
