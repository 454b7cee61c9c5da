"""Where each key of a sweep file is written: hover, document symbols and completion in the editor."""

from __future__ import annotations

import yaml

from gitexp.sweep.diagnostics import Diagnostics, Fatal
from gitexp.sweep.model import OutlineItem
from gitexp.sweep.yamlfile import Doc, Y, compose


def sweep_outline(text: str, path: str) -> list[OutlineItem]:
    """Top-level keys (sections), params, named commands and overrides; [] on unparsable YAML."""
    diags = Diagnostics()
    doc = Doc(path, diags)
    try:
        roots = [doc.wrap(n) for n in compose(text, path, diags)]
        items: list[OutlineItem] = []
        for index, root in enumerate(roots):
            if root.is_map:
                _walk(doc, root, items, first=index == 0, mlrunner=len(roots) > 1 or _has(root, "template"))
        return items
    except (Fatal, RecursionError):
        return []


def _has(root: Y, key: str) -> bool:
    return isinstance(root.value, dict) and key in root.value


def _item(key: Y, kind: str, values=()) -> OutlineItem:
    s = key.span
    return OutlineItem(str(key.value), kind, s.line, s.col, s.end_line, s.end_col, tuple(values))


def _values(value: Y) -> tuple:
    return tuple(value.value) if isinstance(value.value, list) else (value.value,)


def _walk(doc: Doc, root: Y, items: list, first: bool, mlrunner: bool) -> None:
    for key, value in doc.items(root):
        name = str(key.value)
        if mlrunner and not first:
            items.append(_item(key, "section" if name.startswith("_") else "param", _values(value)))
            continue
        items.append(_item(key, "section"))
        upper = name.upper()
        if value.is_map and upper in ("HPARAMS", "TEMPLATE", "DEFAULT"):
            kind = "command" if upper == "TEMPLATE" else "param"
            items.extend(_item(k, kind, _values(v)) for k, v in doc.items(value))
        elif value.is_seq and upper == "HPARAMS":
            for block in doc.seq(value):
                if block.is_map:
                    items.extend(_item(k, "param", _values(v)) for k, v in doc.items(block))
        elif upper == "OVERRIDES" and value.is_seq:
            for item in doc.seq(value):
                if isinstance(item.node, yaml.ScalarNode) and isinstance(item.value, str):
                    key_text = item.value.split("=", 1)[0].lstrip("+~")
                    values = (item.value.split("=", 1)[1],) if "=" in item.value else ()
                    items.append(OutlineItem(key_text, "override", item.span.line, item.span.col,
                                             item.span.end_line, item.span.end_col, values))
