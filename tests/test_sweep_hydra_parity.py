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
