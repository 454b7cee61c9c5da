"""`gitexp run -n` against real Hydra (the `hydra-core` package, in the dev extra).

A tiny Hydra app is run with `-m` and the golden file's overrides; each job prints the overrides
Hydra's BasicSweeper gave it. gitexp's dry run must give the same jobs in the same order, with
each override meaning the same thing to Hydra's own override parser (gitexp writes `name=a\\ b`
where Hydra writes `name='a b'`: the same value).
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

GOLDEN = Path(__file__).parent / "sweeps"
APP = '''\
import json
import hydra
from hydra.core.hydra_config import HydraConfig

@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    print("JOB " + json.dumps(list(HydraConfig.get().overrides.task)), flush=True)

main()
'''

pytestmark = pytest.mark.skipif(importlib.util.find_spec("hydra") is None,
                                reason="hydra-core is not installed (pip install -e '.[dev]' brings it)")


def meaning(overrides: list[str]) -> list[tuple]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return [(o.key_or_group, o.package, o.type.name, o.value()) for o in parsed]


def hydra_jobs(folder: Path, spec: dict) -> list[list[str]]:
    conf = folder / "conf"
    conf.mkdir()
    for group, options in spec.get("GROUPS", {}).items():
        (conf / group).mkdir()
        for option in options:
            (conf / group / f"{option}.yaml").write_text(f"name: {option}\n")
    groups = spec.get("GROUPS", {})
    config = {"defaults": [*({group: options[0]} for group, options in groups.items()), "_self_"]}
    for override in spec["OVERRIDES"]:  # keys the sweep changes must exist in the config
        key = override.split("=", 1)[0]
        if key[0] not in "+~" and key not in groups:
            config[key] = None
    (conf / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "my_app.py").write_text(APP)
    proc = subprocess.run([sys.executable, "my_app.py", "-m", *spec["OVERRIDES"]], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith("JOB ")]


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("hydra_*.yml")))
def test_dry_run_equals_real_hydra(repo, tmp_path, name):
    sweep = GOLDEN / f"{name}.yml"
    spec = yaml.safe_load(sweep.read_text())
    theirs = hydra_jobs(tmp_path, spec)
    repo.write(sweep.name, sweep.read_text())
    prefix = shlex.split(spec["CMD"])
    ours = [shlex.split(line)[len(prefix):] for line in repo.gitexp("run", "-n", sweep.name).stdout.splitlines()]
    assert len(ours) == len(theirs) > 1
    assert [meaning(job) for job in ours] == [meaning(job) for job in theirs]


# -- an app with conf/ groups and no GROUPS: jobs, order, text and values as Hydra's own `-m` --

GROUP_APP = '''\
import json, os
import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    job = {"overrides": list(HydraConfig.get().overrides.task),
           "cfg": OmegaConf.to_container(cfg, resolve=True),
           "choices": dict(HydraConfig.get().runtime.choices)}
    out = os.environ.get("JOBS_OUT") or os.path.join(HydraConfig.get().runtime.output_dir, "job.json")
    with open(out, "a") as f:
        f.write(json.dumps(job) + "\\n")

main()
'''


def group_app(folder: Path, keys: list[str]) -> Path:
    conf = folder / "conf"
    (conf / "db").mkdir(parents=True)
    for option in ("mysql", "postgresql", "sqlite"):
        (conf / "db" / f"{option}.yaml").write_text(f"driver: {option}\n")
    config = {"defaults": [{"db": "mysql"}, "_self_"], **{k: None for k in keys}}
    (conf / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (folder / "my_app.py").write_text(GROUP_APP)
    return folder


def real_multirun(folder: Path, overrides: list[str], check: bool = True):
    """Each job of `python my_app.py -m ...`: its task overrides and its resolved config."""
    out = folder / "jobs.jsonl"
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "my_app.py", "-m", *overrides], cwd=folder, capture_output=True,
                          text=True, timeout=120, env={**__import__("os").environ, "JOBS_OUT": str(out)})
    if not check:
        return proc
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def gitexp_jobs(repo, overrides: list[str]):
    """gitexp's dry run of the same overrides: each job's override arguments and recorded params."""
    from gitexp.sweep import load_sweep

    repo.write("sweep.yml", yaml.safe_dump({"CMD": "python my_app.py", "OVERRIDES": overrides}))
    lines = repo.gitexp("run", "-n", "sweep.yml").stdout.splitlines()
    return _arguments(lines), [spec.params for spec in load_sweep(repo.path / "sweep.yml").runs]


def _arguments(lines: list[str]) -> list[list[str]]:
    return [[a for a in shlex.split(line)[2:] if not a.startswith("hydra.run.dir=")] for line in lines]


def fallback_jobs(repo, monkeypatch):
    """The same sweep expanded by gitexp's own grammar, as without hydra-core."""
    from gitexp.sweep import hydra_core, load_sweep

    with monkeypatch.context() as patch:
        patch.setattr(hydra_core, "available", lambda: False)
        runs = load_sweep(repo.path / "sweep.yml").runs
    return _arguments([c for run in runs for c in run.render("/logs")]), [run.params for run in runs]


PARITY = {
    "float_ranges": ["lr=range(0.5,1,0.1)", "t=range(0,2.1,0.7)"],  # 0.7999999999999999, 2.1
    "glob_and_quotes": ["db=glob(*,exclude=sqlite)", "name='a,b',\"c d\",plain", "note=", "tag='x,y'"],
    "casts_and_repeats": ["q=str(1),2", "seed=range(2)", "seed=5,6,7", "flag=true,False", "+extra=[1,'a b']"],
}


@pytest.mark.parametrize("case", sorted(PARITY))
def test_jobs_order_text_and_values_equal_real_hydra_multirun(repo, case, monkeypatch):
    overrides = PARITY[case]
    keys = sorted({o.split("=", 1)[0] for o in overrides if o[0] not in "+~"} - {"db"})
    group_app(repo.path, keys)
    theirs = real_multirun(repo.path, overrides)
    ours, params = gitexp_jobs(repo, overrides)
    assert len(ours) == len(theirs) > 1
    assert ours == [job["overrides"] for job in theirs]  # the same text, job for job, in order
    assert_read_by_jobs(params, theirs)
    jobs, values = fallback_jobs(repo, monkeypatch)  # without hydra-core: the same text, and the
    assert jobs == ours  # same values but where a value's text reads back as another type
    assert [{k: v for k, v in p.items() if k != "q"} for p in values] == [{k: v for k, v in p.items() if k != "q"}
                                                                          for p in params]
    if case == "casts_and_repeats":  # str(1): the job reads the int 1; the fallback records '1'
        assert {type(p["q"]) for p in values} == {str, int} and {type(p["q"]) for p in params} == {int}


def assert_read_by_jobs(params: list[dict], theirs: list[dict]) -> None:
    for mine, job in zip(params, theirs):  # the recorded values are what each job read
        for key, value in mine.items():
            got = job["choices"][key] if key in job["choices"] else job["cfg"]
            for part in [] if key in job["choices"] else key.lstrip("+").split("."):
                got = got[part]
            assert value == got and type(value) is type(got), (key, value, got)


def test_float_ranges_are_hydras_binary_sums(repo):
    group_app(repo.path, ["lr"])
    theirs = real_multirun(repo.path, ["lr=range(0.1,0.4,0.1)"])
    assert [job["cfg"]["lr"] for job in theirs] == [0.1, 0.2, 0.30000000000000004, 0.4]
    ours, params = gitexp_jobs(repo, ["lr=range(0.1,0.4,0.1)"])
    assert [p["lr"] for p in params] == [0.1, 0.2, 0.30000000000000004, 0.4]


def test_glob_reads_the_apps_conf_groups(repo):
    group_app(repo.path, [])
    theirs = real_multirun(repo.path, ["db=glob(*)"])
    ours, _ = gitexp_jobs(repo, ["db=glob(*)"])
    assert ours == [job["overrides"] for job in theirs] == [["db=mysql"], ["db=postgresql"], ["db=sqlite"]]


def test_shuffle_runs_the_same_jobs_in_a_fixed_order(repo):
    overrides = ["seed=shuffle(range(6))", "name=shuffle(a,b,'c d')"]
    group_app(repo.path, ["seed", "name"])
    theirs = real_multirun(repo.path, overrides)  # Hydra's order changes from run to run
    ours, _ = gitexp_jobs(repo, overrides)
    assert len(ours) == len(theirs) == 18
    assert sorted(map(tuple, ours)) == sorted(tuple(job["overrides"]) for job in theirs)
    assert gitexp_jobs(repo, overrides)[0] == ours  # gitexp's: the same in every dry run and run


def test_interval_without_a_sampler_is_refused_as_hydra_refuses_it(repo):
    group_app(repo.path, ["lr"])
    proc = real_multirun(repo.path, ["lr=interval(0,1)"], check=False)
    assert proc.returncode != 0 and "does not support sweep type : INTERVAL_SWEEP" in proc.stderr
    repo.write("sweep.yml", yaml.safe_dump({"CMD": "python my_app.py", "OVERRIDES": ["lr=interval(0,1)"]}))
    ours = repo.gitexp("run", "-n", "sweep.yml", check=False)
    assert ours.returncode == 2 and ours.stdout == ""
    line, = ours.stderr.strip().splitlines()
    assert "error: sweep.yml:3:3: lr: " in line and "does not support sweep type : INTERVAL_SWEEP" in line
