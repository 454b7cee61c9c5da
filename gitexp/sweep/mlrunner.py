"""mlrunner sweep files (simtony/mlrunner), expanded as its run.py does.

Document 0 holds `template` (one command string or named commands run in order), `default`,
`resource` (GPU slots such as [0, 1] or ["0,1", "2,3"]; with gitexp it pins placement) and
`alias` (`key: {value: {param: v, ...}}`, or `key: [param, ...]` to copy the value). Every
later document is a "choice": a cross product of its lists (`_title` labels it, `_cmd` picks
named commands). Per combination, as mlrunner does: aliases are resolved, defaults fill the
missing params, an identical resolved spec seen before is skipped; in a template `{p}` becomes
the shell-quoted value and `[p]` becomes `--p v` (`--p` for true, nothing for false).
`{_output}`, `{_name}`, `{_time}` stay in the template until the run is placed.
"""

from __future__ import annotations

import os
import re
import shlex

from gitexp.sweep import metrics
from gitexp.sweep.diagnostics import Diagnostics, did_you_mean
from gitexp.sweep.plan import Axis, Block, Draft, Plan
from gitexp.sweep.yamlfile import Doc, Y

DOC0_KEYS = ("template", "default", "resource", "alias", "metrics", "retries", "timeout", "search", "prune")
META = ("_output", "_name", "_time")
_PLACEHOLDER = re.compile(r"{[\w\-\_]+?}")
_REPLACEMENT = re.compile(r"\[[\w\-\_]+?\]")


def looks_like(docs: list) -> bool:
    first = docs[0] if docs else None
    return len(docs) > 1 or (isinstance(first, dict) and "template" in first)


def _shell(value) -> str:
    if isinstance(value, str):
        return shlex.quote(value)
    if isinstance(value, (int, float)):
        return str(value)
    raise TypeError(f"{value!r} is not a str, int or float")


class MlrunnerBuilder:
    def __init__(self, templates: dict, defaults: dict, aliases: dict, spans: dict):
        self.templates, self.defaults, self.aliases, self.spans = templates, defaults, aliases, spans
        self.seen: set = set()
        self.used: set = set()
        self.params: set = set()

    def build(self, block: Block, combo: dict, diags: Diagnostics) -> Draft | None:
        spec = dict(combo)
        update = {}
        for key in [k for k in spec if k in self.aliases]:
            target = self.aliases[key]
            value = spec.pop(key)
            if isinstance(target, list):
                update.update({name: value for name in target})
            elif _hashable(value) and value in target:
                update.update(target[value])
            else:
                span = next(a.span for a in block.axes if a.key == key)
                diags.error(span, f"{key}: value {value!r} is not one of the alias cases {tuple(target)}")
                return None
        spec.update(update)
        for key, value in self.defaults.items():
            spec.setdefault(key, value)
        chosen = block.meta.get("commands")
        identity = (repr(sorted(spec.items(), key=lambda kv: kv[0])), chosen)
        if identity in self.seen:
            return None  # mlrunner skips a resolved spec it has already queued
        self.seen.add(identity)
        self.params.update(spec)
        commands = []
        for name, template in self.templates.items():
            if chosen and name not in chosen:
                continue
            command = self._fill(name, re.sub(r"\s*\n\s*", " ", template), spec, diags)
            if command is None:
                return None
            commands.append(command.strip())
        return Draft(spec, tuple(commands), dict(block.meta.get("resources", {})), run_name(combo), block)

    def _fill(self, name: str, template: str, spec: dict, diags: Diagnostics) -> str | None:
        span = self.spans[name]
        placeholders = _PLACEHOLDER.findall(template)
        replacements = _REPLACEMENT.findall(template)
        both = {p[1:-1] for p in placeholders} & {r[1:-1] for r in replacements}
        if both:
            diags.error(span, f"template '{name}': {sorted(both)} used both as {{p}} and [p]")
            return None
        ok = True
        for token in placeholders + replacements:
            param = token[1:-1]
            self.used.add(param)
            if param in META and token[0] == "{":
                continue
            if param in self.aliases:
                diags.error(span, f"template '{name}': alias '{param}' cannot appear in a template; "
                                  "use the params it expands to")
                ok = False
            elif param not in spec:
                diags.error(span, f"template '{name}': placeholder {token} has no value "
                                  "(not in 'default' nor in any choice)")
                ok = False
                continue
            value = spec.get(param)
            try:
                if token[0] == "{":
                    text = _shell(value)
                elif isinstance(value, bool):
                    text = f"--{param}" if value else ""
                else:
                    text = f"--{param} " + _shell(value)
            except TypeError as exc:
                diags.error(span, f"template '{name}': {token}: {exc}")
                ok = False
                continue
            template = template.replace(token, text)
        return template if ok else None

    def orphans(self) -> set:
        return self.params - self.used


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def parse(doc: Doc, roots: list[Y], diags: Diagnostics, title: str | None = None) -> Plan:
    config = roots[0]
    options: dict = {"format": "mlrunner"}
    templates, spans, defaults, aliases, resources = {}, {}, {}, {}, {}
    if not config.is_map:
        raise diags.fatal(config.span, "mlrunner: the first document must be a mapping with 'template'")
    top = {}
    for key, value in doc.items(config):
        if key.value not in DOC0_KEYS:
            diags.error(key.span, f"unknown key '{key.value}' in the first document"
                                  f"{did_you_mean(str(key.value), DOC0_KEYS)}")
        top[key.value] = (key, value)
    if "template" not in top:
        raise diags.fatal(config.span.at(0), "mlrunner: missing 'template' in the first document")
    key, value = top["template"]
    if isinstance(value.value, str):
        templates["cmd"], spans["cmd"] = value.value, value.span
    elif value.is_map and value.value:
        for k, v in doc.items(value):
            if not isinstance(v.value, str):
                diags.error(v.span, f"template '{k.value}': expected a command string")
                continue
            templates[str(k.value)], spans[str(k.value)] = v.value, v.span
    else:
        diags.error(value.span, "template: expected a command or a mapping of named commands")
    if "default" in top:
        key, value = top["default"]
        if value.value is not None and not isinstance(value.value, dict):
            diags.error(value.span, "default: expected a mapping of param -> value")
        else:
            defaults = dict(value.value or {})
    if "alias" in top:
        aliases = _aliases(doc, top["alias"][1], diags)
    if "resource" in top:
        resources = _slots(top["resource"][1], diags)
        options["slots"] = resources.get("slot", [])
    for name in ("metrics", "retries", "timeout"):
        if name in top and (name != "metrics" or metrics.check(doc, top[name][1], diags, "metrics")):
            options[name] = top[name][1].value
    from gitexp.sweep import search  # the SEARCH / PRUNE checks shared by every grammar

    options["_search"] = search.read_sections(doc, {n: top[n] for n in ("search", "prune") if n in top}, diags)
    builder = MlrunnerBuilder(templates, defaults, aliases, spans)
    blocks = []
    for root in roots[1:]:
        block = _choice(doc, root, templates, diags, title)
        if block is not None:
            block.meta["resources"] = resources
            blocks.append(block)
    if len(roots) == 1:
        blocks.append(Block([], config.span, {"resources": resources}))  # defaults alone: one run
    if title is not None and not blocks:
        diags.error(config.span.at(0), f"no choice document has _title '{title}'")
    return Plan("mlrunner", blocks, builder, options, "param",
                {str(name).lower(): value.span for name, (_, value) in top.items()})


def _choice(doc: Doc, root: Y, templates: dict, diags: Diagnostics, title) -> Block | None:
    if root.value is None:
        return None
    if not root.is_map:
        diags.error(root.span, "a choice document must be a mapping of param -> list of values")
        return None
    axes, meta = [], {}
    for key, value in doc.items(root):
        name = str(key.value)
        if name == "_title":
            meta["title"] = value.value
            continue
        if name == "_cmd":
            chosen = value.value if isinstance(value.value, list) else [value.value]
            for c in chosen:
                if c not in templates:
                    diags.error(value.span, f"_cmd: no template named '{c}'{did_you_mean(str(c), templates)}")
            meta["commands"] = tuple(chosen)
            continue
        values = value.value if isinstance(value.value, (list, tuple)) else [value.value]
        if not values:
            diags.error(value.span, f"{name}: empty list of values: the sweep would have no runs")
            continue
        axes.append(Axis(name, list(values), key.span, "param"))
    if title is not None and meta.get("title") != title:
        return None
    return Block(axes, root.span, meta)


def _aliases(doc: Doc, value: Y, diags: Diagnostics) -> dict:
    if not value.is_map:
        diags.error(value.span, "alias: expected a mapping")
        return {}
    out = {}
    for key, target in doc.items(value):
        if isinstance(target.value, list) and all(isinstance(t, str) for t in target.value) and target.value:
            out[key.value] = target.value
        elif isinstance(target.value, dict) and target.value and all(
                isinstance(case, dict) and case for case in target.value.values()):
            keysets = {frozenset(case) for case in target.value.values()}
            if len(keysets) > 1:
                diags.error(target.span, f"alias[{key.value}]: every case must set the same params")
            out[key.value] = target.value
        else:
            diags.error(target.span, f"alias[{key.value}]: expected {{value: {{param: v}}}} "
                                     "or a list of param names")
    return out


def _slots(value: Y, diags: Diagnostics) -> dict:
    raw = value.value if isinstance(value.value, list) else None
    slots = []
    for item in raw or []:
        text = str(item).replace(" ", "")
        if isinstance(item, bool) or not re.fullmatch(r"\d+(,\d+)*", text):
            diags.error(value.span, f"resource: {item!r} is not a GPU index list such as 0 or \"0,1\"")
            return {}
        slots.append(text)
    if raw is None or not slots:
        diags.error(value.span, "resource: expected a non-empty list of GPU slots, e.g. [0, 1] or [\"0,1\"]")
        return {}
    return {"slot": slots, "gpus": max(len(s.split(",")) for s in slots)}


def run_name(choice: dict) -> str:
    """mlrunner's own name for a choice (its `spec2name`), so `{_name}`, `{_output}` and the run
    names are the ones mlrunner users know: `Norm_new-Moment_0.1`, `EaStop_T`."""
    return "-".join(f"{_camel(key)}_{_name_value(value)}" for key, value in choice.items())


def _camel(key: str) -> str:
    parts = key.split("-")
    if len(parts) == 1:
        parts = parts[0].split("_")
    return "".join(p[:2].title() if len(p) > 2 else p for p in parts[:-1]) + parts[-1].title()


def _name_value(value) -> str:
    if isinstance(value, str):
        if os.path.exists(value):
            return os.path.basename(value)
        return re.sub("^[/.]*", "", value).replace("/", "_")[-100:]
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (int, float)):
        return "%g" % value
    return str(value)
