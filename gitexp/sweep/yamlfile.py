"""YAML -> values that remember where they were written.

PyYAML's compose API gives every node a start/end mark; we keep the node next to the value
built from it so any later check can point at the exact key or value. The same pass defends
against hostile input: a size cap on the text and a cap on nodes visited with aliases expanded
(a "billion laughs" file references one anchor exponentially often).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from gitexp.errors import SweepError
from gitexp.sweep.diagnostics import Diagnostics, Span, node_span

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000


@dataclass
class Y:
    """A YAML node plus the plain Python value it stands for."""

    node: yaml.Node
    span: Span
    value: object

    @property
    def is_map(self) -> bool:
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def quoted(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.style in ("'", '"')


class Doc:
    """Builds `Y`s for one file; shares the constructor so anchors resolve once."""

    def __init__(self, file: str, diags: Diagnostics):
        self.file = file
        self.diags = diags
        self._constructor = SafeConstructor()

    def wrap(self, node: yaml.Node) -> Y:
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError, TypeError) as exc:
            message = getattr(exc, "problem", None) or str(exc)
            raise self.diags.fatal(node_span(self.file, node), f"invalid YAML value: {message}") from None
        return Y(node, node_span(self.file, node), value)

    def items(self, y: Y) -> list[tuple[Y, Y]]:
        """Key/value pairs of a mapping. A duplicate key is an error at the second one: YAML would
        silently keep the last value (a second `CMD` would run instead of the first)."""
        self._constructor.flatten_mapping(y.node)
        pairs, seen = [], set()
        for key_node, value_node in y.node.value:
            key = self.wrap(key_node)
            try:
                duplicate = key.value in seen
                seen.add(key.value)
            except TypeError:  # unhashable key: the constructor already refused it
                duplicate = False
            if duplicate:
                self.diags.error(key.span, f"duplicate key '{key.value}': it is already set above")
            pairs.append((key, self.wrap(value_node)))
        return pairs

    def seq(self, y: Y) -> list[Y]:
        return [self.wrap(n) for n in y.node.value]


def read_input_file(path: Path, what: str, cap: int = MAX_BYTES) -> bytes:
    """A file gitexp reads as input: a regular file of at most `cap` bytes. A FIFO or a device
    (`/dev/zero`) is refused before it is opened, so reading can neither hang nor fill memory."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise SweepError(f"{path}: {what} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except OSError as exc:
        raise SweepError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > cap:
        raise SweepError(f"{path}: {what} is larger than {cap // 1024} KiB")
    return data


def compose(text: str, file: str, diags: Diagnostics) -> list[yaml.Node]:
    """All documents of `text` as nodes; YAML errors become diagnostics at their mark."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise diags.fatal(Span(file, 1, 1, 1, 1), f"sweep file is larger than {MAX_BYTES // 1024} KiB")
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        opener = _unclosed(exc)
        if opener:  # PyYAML notices a missing bracket or quote lines later: point at the opener
            where = f"line {mark.line + 1}" if mark else "the end"
            mark, problem, context = exc.context_mark, f"unclosed {opener}", f" ({exc.problem} at {where})"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise diags.fatal(Span(file, line, col, line, col + 1), f"YAML syntax error: {problem}{context}") from None
    except yaml.reader.ReaderError as exc:  # a control or NUL character: binary junk
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise diags.fatal(Span(file, line, col, line, col + 1),
                          f"YAML error: unacceptable character #x{exc.character:04x} (binary file?)") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise diags.fatal(Span(file, 1, 1, 1, 1), f"YAML error: {first}") from None
    except RecursionError:
        raise diags.fatal(Span(file, 1, 1, 1, 1), "YAML is nested too deeply") from None
    for node in nodes:
        _check_size(node, file, diags)
    return nodes


_OPENERS = {"while parsing a flow mapping": "'{'", "while parsing a flow sequence": "'['",
            "while scanning a quoted scalar": "quote"}


def _unclosed(exc: yaml.MarkedYAMLError) -> str | None:
    """What was left open when the error is a bracket or quote that never closes."""
    opener = _OPENERS.get(exc.context or "")
    mark, start = exc.problem_mark, exc.context_mark
    if opener and start is not None and (mark is None or mark.line > start.line):
        return opener
    return None


def _check_size(root: yaml.Node, file: str, diags: Diagnostics) -> None:
    stack, count = [root], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise diags.fatal(node_span(file, root),
                              f"YAML expands to more than {MAX_NODES} values (alias bomb?)")
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
