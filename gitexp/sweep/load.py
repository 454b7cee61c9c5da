"""The two entry points: `load_sweep` (raises on the first error) and `check_sweep_text`
(returns every diagnostic, for the editor). Both run the same pipeline:

    YAML (with positions) -> grammar plan -> --set / --sweep -> size check
      -> cross product or sample -> per-run build -> --only / --exclude -> names
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from gitexp.errors import SweepError
from gitexp.record.refs import sanitize
from gitexp.sweep import hydra_app, mlrunner, runx
from gitexp.sweep.diagnostics import Diagnostics, Fatal, Span, text_span
from gitexp.sweep.model import RunSpec, Sweep
from gitexp.sweep.plan import Axis, Draft, Plan, combinations, dist_from_text, name_runs
from gitexp.sweep.scripts import locate, script_arguments, unknown_flags
from gitexp.sweep.yamlfile import Doc, compose, read_input_file

HARD_LIMIT = 1_000_000
MAX_RETRIES = 10  # more needs --yes


def load_sweep(path, *, name=None, sets=(), sweep_overrides=(), sample=None, seed=0, only=(), exclude=(),
               max_runs=10_000, allow_large=False, title=None, search=None) -> Sweep:
    """Expand a sweep file into runs; raises SweepError ('file:line:col: message') on any error."""
    path = Path(path)
    data = read_input_file(path, "sweep file")
    if sample is not None and (type(sample) is not int or sample < 1):
        raise SweepError(f"--sample {sample}: expected a positive number of runs")
    if name is not None and not str(name).strip():
        raise SweepError("--name: the sweep name must not be empty")
    return expand_sweep_text(data.decode("utf-8", errors="replace"), path, name=name, sets=sets,
                             sweep_overrides=sweep_overrides, sample=sample, seed=seed, only=only,
                             exclude=exclude, max_runs=max_runs, allow_large=allow_large, title=title,
                             content_hash=hashlib.sha256(data).hexdigest(), search=search)


def expand_sweep_text(text: str, path, *, name=None, sets=(), sweep_overrides=(), sample=None, seed=0,
                      only=(), exclude=(), max_runs=10_000, allow_large=False, title=None,
                      content_hash=None, search=None) -> Sweep:
    """`load_sweep` for text that is not (or not yet) on disk, e.g. an editor's unsaved buffer.
    `search` is a `gitexp.sweep.search.CommandLine` (--search / --trials / --objective)."""
    path = Path(path)
    diags = Diagnostics()
    sweep = _analyze(text, str(path), path, diags, strict=True, sets=sets, sweep_overrides=sweep_overrides,
                     sample=sample, seed=seed, only=only, exclude=exclude, max_runs=max_runs,
                     allow_large=allow_large, title=title, search=search)
    diags.raise_first()
    digest = content_hash or hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()
    return Sweep(name or default_name(path), path, digest, sweep[0], sweep[1],
                 tuple(d for d in diags.items if d.severity != "error"), sweep[2])


GENERIC_STEMS = {"sweep", "sweeps", "config", "hparams", "experiment", "runx", "grid"}


def default_name(path: Path) -> str:
    """The file's stem; for generic names (`sweep.yml`) the folder's name, which says more."""
    stem = path.stem
    if stem.lower() in GENERIC_STEMS and path.resolve().parent.name:
        stem = path.resolve().parent.name
    return sanitize(stem)


def check_sweep_text(text: str, path: str) -> list:
    """Every problem in `text` (the editor's unsaved buffer for `path`); never raises."""
    diags = Diagnostics()
    _analyze(text, path, Path(path), diags, strict=False)
    return diags.items


def _analyze(text, file, path, diags, *, strict, sets=(), sweep_overrides=(), sample=None, seed=0,
             only=(), exclude=(), max_runs=10_000, allow_large=False, title=None, search=None):
    try:
        plan = _plan(text, file, path, diags, title)
        sections = plan.options.pop("_search", None)
        _apply_sets(plan, sets, diags)
        _apply_sweeps(plan, sweep_overrides, diags)
        _read_dists(plan, diags)
        _check_retries(plan, diags, allow_large, file)
        if isinstance(plan.groups, hydra_app.Groups):
            hydra_app.check_values([a for block in plan.blocks for a in block.axes], plan.groups, diags)
        if sections and (sections.search or sections.prune) or (search and search.given):
            from gitexp.sweep import search as searching

            return (), plan.options, searching.prepare(plan, sections, search, diags)
        if not _size_ok(plan, diags, strict, sample, max_runs, allow_large, file):
            return (), plan.options, None
        drafts = [d for d in (plan.builder.build(block, combo, diags)
                              for block, combo in combinations(plan, diags, sample, seed)) if d is not None]
        drafts = _filter(drafts, only, exclude, diags)
        _check_characters(plan, drafts, diags, file)
        _after(plan, drafts, path, diags, strict, file)
        names = name_runs(drafts)
        runs = tuple(RunSpec(n, d.params, d.commands, d.resources) for n, d in zip(names, drafts))
        return runs, plan.options, None
    except Fatal:
        return (), {}, None
    except RecursionError:
        diags.error(Span(file, 1, 1, 1, 1), "sweep file is nested too deeply")
        return (), {}, None


def _plan(text, file, path, diags, title) -> Plan:
    doc = Doc(file, diags)
    roots = [doc.wrap(node) for node in compose(text, file, diags)]
    if not roots:
        raise diags.fatal(Span(file, 1, 1, 1, 1), "empty sweep file")
    if mlrunner.looks_like([r.value for r in roots]):
        return mlrunner.parse(doc, roots, diags, title)
    root = roots[0]
    if not (root.is_map and runx.looks_like(root.value)):
        raise diags.fatal(root.span.at(0), "not a sweep file: expected CMD with HPARAMS (runx) or OVERRIDES "
                                           "(Hydra-style), or a 'template' document (mlrunner)")
    return runx.parse(doc, root, path, diags)


def _read_dists(plan: Plan, diags: Diagnostics) -> None:
    """A param written as `loguniform(1e-5, 1e-1)` (any grammar, or --set) is a range to draw from."""
    for block in plan.blocks:
        for axis in block.axes:
            if axis.dist is None and len(axis.values) == 1 and isinstance(axis.values[0], str):
                dist = dist_from_text(axis.values[0])
                if isinstance(dist, str):
                    diags.error(axis.span, f"{axis.key}: {dist}")
                elif dist is not None:
                    axis.dist, axis.values = dist, [dist.low]


def _parse_assignment(text: str, where: str, diags: Diagnostics):
    span = text_span(where, text)
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        diags.error(span, f"expected KEY=VALUE, got '{text}'")
        return None
    try:
        doc = Doc(where, diags)
        nodes = compose(raw, where, diags) if raw.strip() else []
        value = doc.wrap(nodes[0]).value if nodes else ""
    except Fatal:
        return None
    return key.strip(), raw, value, span


def _apply_sets(plan: Plan, sets, diags: Diagnostics) -> None:
    """`--set k=v` pins a value, `--set 'k=[a,b]'` sweeps a list: replacing or adding the axis."""
    for text in sets:
        parsed = _parse_assignment(text, "--set", diags)
        if parsed is None:
            continue
        key, raw, value, span = parsed
        values = value if isinstance(value, list) else [value]
        if not values:
            diags.error(span, f"{key}: empty list of values: the sweep would have no runs")
            continue
        _put(plan, Axis(key, values, span, plan.default_style))


def _apply_sweeps(plan: Plan, overrides, diags: Diagnostics) -> None:
    # runx/argparse files take `--key value`; Hydra apps (or files already using overrides) `key=value`
    hydra_like = plan.kind == "hydra" or any(a.style == "hydra" for b in plan.blocks for a in b.axes)
    style = "param" if plan.kind == "mlrunner" else "hydra" if hydra_like else "flag"
    for text in overrides:
        from gitexp.sweep import hydra_core  # Hydra's grammar is loaded only when a sweep uses it

        groups = plan.groups if plan.groups is not None else plan.options.get("groups", {})
        axis = hydra_core.override_axis(text, text_span("--sweep", text), groups, diags, style)
        if axis is not None:
            _put(plan, axis)


def _put(plan: Plan, axis: Axis) -> None:
    for block in plan.blocks:
        for i, old in enumerate(block.axes):
            if old.key == axis.key:
                block.axes[i] = replace(axis, style=old.style if axis.style != "hydra" else axis.style)
                break
        else:
            block.axes.append(replace(axis))


def _size_ok(plan, diags, strict, sample, max_runs, allow_large, file) -> bool:
    size = plan.size if sample is None else min(sample, plan.size) if all(
        a.dist is None for b in plan.blocks for a in b.axes) else sample
    start = Span(file, 1, 1, 1, 1)
    if size > HARD_LIMIT:
        diags.error(start, f"the sweep expands to {size} runs, more than gitexp's limit of {HARD_LIMIT}")
        return False
    if size > max_runs and not allow_large:
        message = f"the sweep expands to {size} runs, more than {max_runs}; pass --yes to launch them all"
        if strict:
            diags.error(start, message)
        else:
            diags.warning(start, message)
        return False
    return True


def _check_retries(plan, diags, allow_large, file) -> None:
    """RETRIES re-runs a failing job that many times; a typo (1000000000) would retry forever."""
    retries = plan.options.get("retries")
    if retries is None:
        return
    span = plan.spans.get("retries", Span(file, 1, 1, 1, 1))
    if type(retries) is not int or retries < 0:
        diags.error(span, "retries: expected a non-negative integer")
    elif retries > MAX_RETRIES and not allow_large:
        diags.error(span, f"retries: {retries} is more than {MAX_RETRIES}; pass --yes to allow it")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _check_characters(plan, drafts: list[Draft], diags: Diagnostics, file) -> None:
    """NUL and other control characters (tab and newline aside) in a param or a command are refused
    here: a NUL cannot reach a process's argv, and failing mid-sweep would lose runs."""
    spans = {a.key: a.span for b in plan.blocks for a in b.axes}
    reported = set()
    for draft in drafts:
        for key, value in draft.params.items():
            bad = _control_in(key) or _control_in(value)
            if bad and key not in reported:
                reported.add(key)
                diags.error(spans.get(key, Span(file, 1, 1, 1, 1)),
                            f"{key}: the value holds the control character {bad}; it cannot be passed to a command")
        for command in draft.commands:
            bad = _control_in(command)
            if bad and not reported:  # a param's own character is already reported at the param
                reported.add("command")
                span = plan.spans.get("cmd") or plan.spans.get("template") or Span(file, 1, 1, 1, 1)
                diags.error(span, f"the command holds the control character {bad}")


def _control_in(value) -> str | None:
    """The first control character in a value (nested lists and mappings included), as U+XXXX."""
    if isinstance(value, str):
        match = _CONTROL.search(value)
        return f"U+{ord(match.group()):04X}" if match else None
    if isinstance(value, dict):
        return next((bad for item in value.items() for bad in map(_control_in, item) if bad), None)
    if isinstance(value, (list, tuple)):
        return next((bad for bad in map(_control_in, value) if bad), None)
    return None


def _filter(drafts: list[Draft], only, exclude, diags: Diagnostics) -> list[Draft]:
    """--only: every filtered key must match one of its values; --exclude: any match drops a run."""
    def parse(texts, where):
        out = []
        for text in texts:
            parsed = _parse_assignment(text, where, diags)
            if parsed is None:
                continue
            key, raw, value, span = parsed
            if drafts and not any(key in d.params for d in drafts):
                known = ", ".join(dict.fromkeys(k for d in drafts for k in d.params))
                diags.error(span, f"no param named '{key}' (params: {known})")
                continue
            out.append((key, raw.strip(), value))
        return out

    def hit(draft, key, raw, value):
        return key in draft.params and (draft.params[key] == value or str(draft.params[key]) == raw)

    keep, drop = parse(only, "--only"), parse(exclude, "--exclude")
    keys = {k for k, _, _ in keep}
    return [d for d in drafts
            if all(any(hit(d, *f) for f in keep if f[0] == k) for k in keys)
            and not any(hit(d, *f) for f in drop)]


def _after(plan: Plan, drafts: list[Draft], path: Path | None, diags: Diagnostics, strict: bool, file) -> None:
    if not drafts and not diags.errors:
        message = "the sweep selects no runs (all skipped, filtered out or deduplicated)"
        (diags.error if strict else diags.warning)(Span(file, 1, 1, 1, 1), message)
    if plan.kind == "mlrunner":
        orphans = plan.builder.orphans()
        for block in plan.blocks:
            for axis in block.axes:
                if axis.key in orphans:
                    diags.warning(axis.span, f"orphan param '{axis.key}': no template uses it "
                                             f"(it only changes the run name)")
        for name, template in plan.builder.templates.items():
            _check_script(template, [t[1:-1] for t in mlrunner._REPLACEMENT.findall(template)],
                          plan.builder.spans[name], path, diags)
        return
    command = getattr(plan.builder, "cmd", "")
    flagged = {}
    for block in plan.blocks:
        for axis in block.axes:
            if axis.style == "flag" and axis.key not in runx.RESERVED:
                flagged.setdefault(axis.key, axis.span)
    _check_script(command, list(flagged), flagged, path, diags)


def _check_script(command: str, keys: list, spans, path: Path | None, diags: Diagnostics) -> None:
    script = runx.script_of(command.strip())
    if not script or not keys:
        return
    found = locate(script, path)
    if found is None:
        return
    for key in unknown_flags(keys, script_arguments(found)):
        span = spans[key] if isinstance(spans, dict) else spans
        diags.warning(span, f"'{key}': {script} defines no --{key} argument (read from its argparse calls)")
