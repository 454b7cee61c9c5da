"""runx sweep files (CMD + HPARAMS), optionally with Hydra OVERRIDES, expanded as runx does.

Facts taken from NVIDIA/runx (runx/runx.py, runx/utils.py) and kept bit for bit:
- HPARAMS is a dict, or a list of dicts that each start from a copy of the first one
  (`first.copy().update(item)`: the first dict's key order, new keys appended);
- the cross product varies the first key slowest (itertools.product);
- each value renders as `--k v ` with `str(v)`: `true` -> `--k`, `false` and the *string*
  'None' -> nothing, YAML null -> `--k None`; the command is `CMD + ' ' + args` (runx's
  trailing space is dropped; runx -i also prefixes `cd LOGDIR/code; PYTHONPATH=...`, which
  gitexp does not need since it never copies code);
- `RUNX.TAG` names the run after `{key}` substitution and is never passed to the script;
  runx keeps the last tag in a global for later runs without one - we do not;
- a truthy `RUNX.SKIP` drops the run; `SUBMIT_JOB.NODES` / `SUBMIT_JOB.PARTITION` are
  resources, not script arguments; `LOGDIR` inside a value becomes the run's folder.
Top-level keys are matched case-insensitively (the runx article writes `cmd:`/`hparams:`).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from gitexp.errors import SweepError
from gitexp.sweep import metrics
from gitexp.sweep.diagnostics import Diagnostics, Span, did_you_mean
from gitexp.sweep.hydra_app import Groups, find_app
from gitexp.sweep.model import HYDRA_LOGDIR
from gitexp.sweep.scripts import locate
from gitexp.sweep.plan import Axis, Block, Draft, Plan
from gitexp.sweep.yamlfile import Doc, Y, compose, read_input_file

RUNX_KEYS = ("CMD", "HPARAMS", "PYTHONPATH", "RESOURCES", "LOGROOT", "FARM", "SUBMIT_CMD",
             "CODE_IGNORE_PATTERNS")
GITEXP_KEYS = ("OVERRIDES", "GROUPS", "METRICS", "RETRIES", "TIMEOUT", "SEARCH", "PRUNE")
TOP_KEYS = RUNX_KEYS + GITEXP_KEYS
TAG, SKIP, NODES, PARTITION = "RUNX.TAG", "RUNX.SKIP", "SUBMIT_JOB.NODES", "SUBMIT_JOB.PARTITION"
RESERVED = (TAG, SKIP, NODES, PARTITION)
GPU_KEYS = ("gpu", "gpus", "ngpu", "num_gpus")
NOT_USED = {
    "FARM": "used only with `gitexp run --backend farm`",
    "SUBMIT_CMD": "used only with `gitexp run --backend farm`",
    "CODE_IGNORE_PATTERNS": "ignored: gitexp never copies code (the git snapshot already holds it)",
}


def looks_like(top: dict) -> bool:
    return any(str(k).upper() in ("CMD", "HPARAMS", "OVERRIDES") for k in top)


def render_flags(hparams: dict) -> str:
    """runx's expand_hparams: `--k v ` per value, bools as switches, the string 'None' dropped.
    Unlike runx, flags and values are shell-quoted: a value reaches the script as one argument
    and is never interpreted by the shell (`$(...)`, `;`)."""
    out = ""
    for field, val in hparams.items():
        if type(val) is bool:
            if val is True:
                out += f"{shlex.quote(f'--{field}')} "
        elif val != "None":
            out += f"{shlex.quote(f'--{field}')} {shlex.quote(str(val))} "
    return out


class RunxBuilder:
    def __init__(self, cmd: str, resources: dict):
        self.cmd = cmd
        self.resources = resources
        self.hydra_run_dir = False  # a Hydra app: each job's .hydra/ and log go to its run folder

    def build(self, block: Block, combo: dict, diags: Diagnostics) -> Draft | None:
        hparams = dict(combo)
        if hparams.get(SKIP):
            return None
        tag = None
        if TAG in hparams:
            tag = str(hparams[TAG])
            for key, value in hparams.items():
                tag = tag.replace("{" + str(key) + "}", str(value))
        resources = dict(self.resources)
        if NODES in hparams:
            resources["nodes"] = hparams[NODES]
        if PARTITION in hparams:
            resources["partition"] = hparams[PARTITION]
        styles = {a.key: a for a in block.axes}
        flags, args, params = {}, "", {}
        for key, value in hparams.items():
            if key in RESERVED:
                continue
            params[key] = value
            axis = styles.get(key)
            if axis is not None and axis.style == "hydra":
                from gitexp.sweep import hydra  # only Hydra-style sweeps need its grammar

                args += render_flags(flags) + hydra.render_arg(axis.prefix, key, value, axis.texts) + " "
                flags = {}
            else:
                flags[key] = value
        args += render_flags(flags)
        if self.hydra_run_dir:
            args += "hydra.run.dir=" + HYDRA_LOGDIR
        return Draft(params, ((self.cmd + " " + args).rstrip(),), resources, tag, block)


def parse(doc: Doc, root: Y, path: Path | None, diags: Diagnostics) -> Plan:
    top: dict[str, tuple[Y, Y]] = {}
    for key, value in doc.items(root):
        name = str(key.value).upper()
        if name not in TOP_KEYS:
            diags.error(key.span, f"unknown top-level key '{key.value}'{did_you_mean(str(key.value), TOP_KEYS)}")
            continue
        top[name] = (key, value)
    options = {"format": "runx"}
    from gitexp.sweep import search  # the SEARCH / PRUNE checks shared by every grammar

    options["_search"] = search.read_sections(doc, {n.lower(): top[n] for n in ("SEARCH", "PRUNE") if n in top},
                                              diags)
    resources = _dotrunx(path, options, diags)
    _settings(doc, top, options, resources, diags)
    cmd = _cmd(top, root, diags)
    listed = _groups(doc, top, diags)
    if listed:
        options["groups"] = listed
    app = _hydra_app(cmd, path)
    groups = Groups(listed, app)
    blocks = _hparams(doc, top, diags)
    if "OVERRIDES" in top:
        key, value = top["OVERRIDES"]
        axes = [o for o in _overrides(doc, value, groups, diags)]
        if not blocks:
            options["format"] = "hydra"
            blocks = [Block([], value.span)]
        for block in blocks:
            block.axes = [a for a in block.axes if a.key not in {o.key for o in axes}] + list(axes)
    elif "HPARAMS" not in top:
        diags.error(root.span.at(0), "missing HPARAMS (runx) or OVERRIDES (Hydra-style sweep)")
    default_style = "hydra" if options["format"] == "hydra" else "flag"
    builder = RunxBuilder(cmd, resources)
    builder.hydra_run_dir = app is not None and "hydra.run.dir" not in cmd and not any(
        a.key == "hydra.run.dir" for block in blocks for a in block.axes)
    return Plan(options["format"], blocks, builder, options, default_style,
                {name.lower(): value.span for name, (_, value) in top.items()}, groups)


def _hydra_app(cmd: str, path: Path | None):
    """The Hydra app CMD runs (its `@hydra.main`), when the script can be read."""
    script = script_of(cmd.strip()) if cmd else None
    found = locate(script, path) if script else None
    return find_app(found) if found else None


def _cmd(top, root: Y, diags: Diagnostics) -> str:
    if "CMD" not in top:
        diags.error(root.span.at(0), "missing CMD: the command each run executes")
        return ""
    key, value = top["CMD"]
    if not isinstance(value.value, str) or not value.value.strip():
        diags.error(value.span, "CMD: expected a command string")
        return ""
    return value.value


def _hparams(doc: Doc, top, diags: Diagnostics) -> list[Block]:
    if "HPARAMS" not in top:
        return []
    key, value = top["HPARAMS"]
    if value.value is None or value.value == {}:
        return [Block([], value.span)]
    if value.is_map:
        return [Block(_axes(doc, value, diags), value.span)]
    if not value.is_seq or not value.value:
        diags.error(value.span, "HPARAMS: expected a mapping of params, or a non-empty list of mappings")
        return []
    blocks, first = [], None
    for item in doc.seq(value):
        if not item.is_map:
            diags.error(item.span, "HPARAMS: each list item must be a mapping of params")
            continue
        axes = {a.key: a for a in _axes(doc, item, diags)}
        if first is None:
            first = dict(axes)
        merged = dict(first)
        merged.update(axes)  # runx: first.copy().update(item) - first's order, new keys last
        blocks.append(Block(list(merged.values()), item.span))
    return blocks


def _axes(doc: Doc, mapping: Y, diags: Diagnostics) -> list[Axis]:
    axes = []
    for key, value in doc.items(mapping):
        if isinstance(key.value, (dict, list)):
            diags.error(key.span, "param names must be scalars")
            continue
        name = str(key.value)
        if isinstance(value.value, str) and _DIST_CALL.match(value.value):
            axis = _distribution(name, value, key.span, diags)
            if axis is not None:
                axes.append(axis)
            continue
        values = value.value if isinstance(value.value, list) else [value.value]
        if not values:
            diags.error(value.span, f"{name}: empty list of values: the sweep would have no runs")
            continue
        axes.append(Axis(name, list(values), key.span))
    return axes


_DIST_CALL = re.compile(r"\s*(uniform|loguniform|randint|interval|choice)\s*\(.*\)\s*$", re.S)


def _distribution(name: str, value: Y, span, diags: Diagnostics) -> Axis | None:
    """`lr: loguniform(1e-4,1e-1)` in HPARAMS: a search space, drawn by --sample, passed as a number."""
    from gitexp.sweep import hydra

    # parsed as the override `name=text`, positioned so that errors point inside the value
    start = value.span.at((1 if value.quoted else 0) - len(name) - 1)
    axis = hydra.override_axis(f"{name}={value.value}", start, {}, diags, style="flag")
    if axis is None:
        return None
    return Axis(name, axis.values, span, "flag", axis.dist)


def _groups(doc: Doc, top, diags: Diagnostics) -> dict:
    if "GROUPS" not in top:
        return {}
    key, value = top["GROUPS"]
    groups = {}
    if not value.is_map:
        diags.error(value.span, "GROUPS: expected a mapping of config group -> list of options")
        return groups
    for k, v in doc.items(value):
        if not (isinstance(v.value, list) and all(isinstance(x, str) for x in v.value)):
            diags.error(v.span, f"GROUPS.{k.value}: expected a list of option names")
            continue
        groups[str(k.value)] = v.value
    return groups


def _overrides(doc: Doc, value: Y, groups: dict, diags: Diagnostics) -> list[Axis]:
    items = [value] if isinstance(value.value, str) else doc.seq(value) if value.is_seq else None
    if items is None:
        diags.error(value.span, "OVERRIDES: expected a list of Hydra override strings")
        return []
    axes = []
    for item in items:
        if not isinstance(item.value, str):
            diags.error(item.span, "OVERRIDES: each item must be a string such as 'lr=0.1,0.01'")
            continue
        start = item.span.at(1 if item.quoted else 0)
        from gitexp.sweep import hydra_core

        axis = hydra_core.override_axis(item.value, start, groups, diags)
        if axis is not None:
            axes.append(axis)
    return _last_wins(axes)


def _last_wins(axes: list[Axis]) -> list[Axis]:
    """BasicSweeper keeps overrides in an ordered dict by `prefix+key`: a repeated key keeps
    its first place and takes its last value (one job for `a=1,2 a=3`, not two alike)."""
    merged: dict[str, Axis] = {}
    for axis in axes:
        merged[axis.prefix + axis.key] = axis
    return list(merged.values())


def _settings(doc: Doc, top, options: dict, resources: dict, diags: Diagnostics) -> None:
    for name in ("PYTHONPATH", "LOGROOT", "FARM", "SUBMIT_CMD", "CODE_IGNORE_PATTERNS",
                 "METRICS", "RETRIES", "TIMEOUT"):
        if name not in top:
            continue
        key, value = top[name]
        if name in NOT_USED:
            diags.info(key.span, f"{name}: {NOT_USED[name]}")
        if name == "RETRIES" and (type(value.value) is not int or value.value < 0):
            diags.error(value.span, "RETRIES: expected a non-negative integer")
            continue
        if name == "TIMEOUT" and (isinstance(value.value, bool) or not isinstance(value.value, (int, float))
                                  or value.value <= 0):
            diags.error(value.span, "TIMEOUT: expected a positive number of seconds")
            continue
        if name == "METRICS" and not metrics.check(doc, value, diags):
            continue
        options[name.lower()] = value.value
    if "RESOURCES" in top:
        key, value = top["RESOURCES"]
        if not value.is_map:
            diags.error(value.span, "RESOURCES: expected a mapping such as {gpu: 1}")
        else:
            resources.update(_resources(value.value))


def _resources(raw: dict) -> dict:
    out = {}
    for key, value in raw.items():
        name = str(key).lower()
        out["gpus" if name in GPU_KEYS else name] = value
    return out


def _dotrunx(path: Path | None, options: dict, diags: Diagnostics) -> dict:
    """Read `.runx` beside the sweep file: runx's global config, a farm section dereferenced."""
    if path is None or not (path.parent / ".runx").is_file():
        return {}
    file = path.parent / ".runx"
    doc = Doc(str(file), diags)
    try:
        text = read_input_file(file, ".runx file").decode("utf-8", errors="replace")
    except SweepError as error:
        diags.error(Span(str(file), 1, 1, 1, 1), str(error))
        return {}
    nodes = compose(text, str(file), diags)
    if not nodes:
        return {}
    root = doc.wrap(nodes[0])
    if not root.is_map:
        diags.error(root.span, ".runx: expected a mapping")
        return {}
    config = {str(k.value): (k, v) for k, v in doc.items(root)}
    farm = config.get("FARM")
    if farm and isinstance(farm[1].value, str) and farm[1].value in config:
        section = config[farm[1].value][1]
        if section.is_map:
            config.update({str(k.value): (k, v) for k, v in doc.items(section)})
    resources = {}
    for name, (key, value) in config.items():
        if name in ("LOGROOT", "PYTHONPATH"):
            options[name.lower()] = value.value
        elif name == "RESOURCES" and isinstance(value.value, dict):
            resources = _resources(value.value)
        elif name in NOT_USED:
            options[name.lower()] = value.value
            diags.info(key.span, f"{name}: {NOT_USED[name]}")
    return resources


def script_of(cmd: str) -> str | None:
    """The python script CMD runs (`python train.py ...` -> 'train.py'), if any."""
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    for word in words:
        if word.endswith(".py"):
            return word
        if "=" in word or Path(word).name.startswith("python") or word in ("-u", "-O", "-B"):
            continue
        return None
    return None
