"""Completion in sweep files: top-level keys at the start of a line, and inside a mapping the
flags of the script the command runs, read from its argparse calls (the script is never run).
"""

from __future__ import annotations

import re

from lsprotocol import types

from gitexp_lsp.base import GitexpServer
from gitexp_lsp.sweepdoc import SweepDocs, script_path, search_section

_KEY_PREFIX = re.compile(r"^(\s*)([\w.-]*)$")
_MLRUNNER = re.compile(r"^template\s*:", re.MULTILINE)
_DOCS = {
    "CMD": "The command every run executes; swept params are appended as `--key value`.",
    "HPARAMS": "Params to sweep: a list value is swept (cross product), a scalar is fixed. "
               "A list of mappings runs one cross product per mapping.",
    "OVERRIDES": "Hydra-style overrides (`lr=0.1,0.01`, `range(1,4)`) passed as `key=value`.",
    "GROUPS": "Config groups for Hydra-style overrides.",
    "METRICS": "Regexes that read summary metrics from the output of scripts that do not log.",
    "RETRIES": "How often a failed run is started again.",
    "TIMEOUT": "Seconds after which a run is stopped and recorded as failed.",
    "RESOURCES": "What each run needs (GPUs per run).",
    "PYTHONPATH": "Extra PYTHONPATH entries for the command.",
    "LOGROOT": "runx's log folder; gitexp keeps run folders under .git/gitexp/runs instead.",
    "template": "The command template (or named commands); `{p}` is a param's value, `[p]` its flag.",
    "default": "Values used when a choice document does not set a param.",
    "resource": "GPU slots to place runs on, e.g. [0, 1] or [\"0,1\", \"2,3\"].",
    "alias": "Named bundles of params: `key: {value: {param: v}}`.",
    "SEARCH": "An adaptive search instead of a grid: `{sampler: tpe, trials: 40, objective: val_acc, "
              "direction: max, seed: 0}` (Optuna's samplers; `pip install 'gitexp[search]'`).",
    "PRUNE": "Stop hopeless trials early from their live points: `{pruner: asha, metric: val_acc, "
             "min_steps: 1, reduction: 3}`.",
}
_DOCS["search"], _DOCS["prune"] = _DOCS["SEARCH"], _DOCS["PRUNE"]
_VALUE = re.compile(r"^\s*(?:[\w.-]+\s*:\s*\{[^}]*?[{,]\s*)?(sampler|pruner|direction)\s*:\s*([\w-]*)$")
_FLOW_KEY = re.compile(r"^\s*[\w.-]+\s*:\s*\{(?:[^}]*,)?\s*([\w]*)$")


class SweepCompletion:
    def __init__(self, server: GitexpServer, sweeps: SweepDocs):
        self.server = server
        self.sweeps = sweeps

    def complete(self, params: types.CompletionParams) -> types.CompletionList | None:
        doc = self.sweeps.get(params.text_document.uri)
        if doc is None:
            return None
        where = doc.codec.position_from_client_units(doc.lines, params.position)
        line = doc.lines[where.line] if where.line < len(doc.lines) else ""
        section = search_section(doc.lines, where.line)
        if section:
            items = _search_items(section, line[:where.character])
            if items is not None:
                return types.CompletionList(is_incomplete=False, items=items)
        match = _KEY_PREFIX.match(line[:where.character])
        if not match:
            return None  # after a ':' or inside a value
        if not match.group(1):
            items = self._top_keys(doc.text)
        else:
            present = sibling_keys(doc.lines, where.line, len(match.group(1)))
            items = [item for item in self._flags(doc) if item.label not in present]
        return types.CompletionList(is_incomplete=False, items=items)

    def _top_keys(self, text: str) -> list[types.CompletionItem]:
        from gitexp.sweep import mlrunner, runx

        keys = mlrunner.DOC0_KEYS if _MLRUNNER.search(text) else runx.TOP_KEYS
        present = {m.lower() for m in re.findall(r"^([\w.-]+)\s*:", text, re.MULTILINE)}
        return [types.CompletionItem(label=key, kind=types.CompletionItemKind.Keyword, insert_text=f"{key}: ",
                                     documentation=_DOCS.get(key))
                for key in keys if key.lower() not in present]

    def _flags(self, doc) -> list[types.CompletionItem]:
        from gitexp.sweep import script_arguments

        script = script_path(doc.text, doc.path, doc.root)
        if script is None:
            return []
        items, seen = [], set()
        for arg in script_arguments(script):
            name = arg.flag.lstrip("-")
            if not arg.flag.startswith("-") or name in seen:
                continue  # positionals are not flags
            seen.add(name)
            detail = " ".join(part for part in (
                arg.type and f"{arg.type}", arg.default is not None and f"default {arg.default!r}") if part)
            items.append(types.CompletionItem(
                label=name, kind=types.CompletionItemKind.Property, insert_text=f"{name}: ",
                detail=f"{arg.flag} {detail}".strip() + f" ({script.name})",
                documentation=arg.help or None))
        return items


def _search_items(section: str, before: str) -> list[types.CompletionItem] | None:
    """Inside SEARCH / PRUNE: its keys, or the values a sampler / pruner / direction may take."""
    from gitexp.sweep import search

    value = _VALUE.match(before)
    if value:
        choices = {"sampler": search.SAMPLERS, "pruner": search.PRUNERS,
                   "direction": {"max": "maximise the objective", "min": "minimise the objective"}}[value.group(1)]
        return [types.CompletionItem(label=name, kind=types.CompletionItemKind.EnumMember, documentation=doc)
                for name, doc in choices.items()]
    if _KEY_PREFIX.match(before) and before[:1].isspace() or _FLOW_KEY.match(before):
        keys = search.SEARCH_KEYS if section == "search" else search.PRUNE_KEYS
        return [types.CompletionItem(label=key, kind=types.CompletionItemKind.Property, insert_text=f"{key}: ",
                                     documentation=doc) for key, doc in keys.items()]
    return None


_KEY_LINE = re.compile(r"^(\s*)([\w.-]+)\s*:")


def sibling_keys(lines: list[str], line: int, indent: int) -> set[str]:
    """Keys already set in the mapping the cursor's line belongs to (same indentation, up to
    the lines that open or close that block), so completion offers only flags not yet set."""
    keys: set[str] = set()
    for step in (-1, 1):
        index = line + step
        while 0 <= index < len(lines):
            text = lines[index]
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                depth = len(text) - len(text.lstrip())
                if depth < indent:
                    break
                match = _KEY_LINE.match(text)
                if depth == indent and match:
                    keys.add(match.group(2))
            index += step
    return keys


def setup(server: GitexpServer, sweeps: SweepDocs) -> None:
    feature = SweepCompletion(server, sweeps)
    server.lsp_request(types.TEXT_DOCUMENT_COMPLETION, feature.complete,
                       types.CompletionOptions(trigger_characters=[]))
