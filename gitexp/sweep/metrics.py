"""A sweep's METRICS regexes, checked where they are written: an error points at the character.

The run compiles them again (`track.stdout_metrics`); checking here gives the user the file,
line and column of the problem before anything starts, as for every other sweep error.
"""

from __future__ import annotations

import re

from gitexp.sweep.diagnostics import Diagnostics
from gitexp.sweep.yamlfile import Doc, Y


def check(doc: Doc, value: Y, diags: Diagnostics, key: str = "METRICS") -> bool:
    """False (with a diagnostic) when METRICS is malformed or holds a regex that cannot work."""
    if value.is_map:
        items = [(str(k.value), v) for k, v in doc.items(value)]
    elif value.is_seq:
        items = [(None, v) for v in doc.seq(value)]
    else:
        diags.error(value.span, f"{key}: expected a list of regexes or a mapping name -> regex")
        return False
    ok = True
    for name, item in items:
        if not isinstance(item.value, str):
            diags.error(item.span, f"{key}: expected a regex string")
            ok = False
            continue
        ok = _one(key, name, item, diags) and ok
    return ok


def _one(key: str, name: str | None, item: Y, diags: Diagnostics) -> bool:
    text = item.value
    label = f"{key}: {name}: " if name else f"{key}: "
    try:
        pattern = re.compile(text)
    except re.error as error:
        at = (error.pos or 0) + (1 if item.quoted else 0)
        diags.error(item.span.at(at) if item.span.line == item.span.end_line else item.span,
                    f"{label}invalid regex: {error.msg}")
        return False
    if pattern.groups < 1:
        diags.error(item.span, f"{label}the regex needs a group around the number, e.g. 'loss ([0-9.]+)'")
        return False
    return True
