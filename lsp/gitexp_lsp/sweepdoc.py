"""What the sweep-file features share: which documents are sweeps, positions, the script, the size.

A document is a sweep when its name matches a configured pattern or its text has a top-level
key only sweep files use (`CMD`, `HPARAMS`, `OVERRIDES`, mlrunner's `template`). The text test
is a line match, not a YAML parse, so a half-written file still counts; once a document has
counted it keeps counting until it is closed, so diagnostics do not vanish mid-edit.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from gitexp.errors import GitexpError
from gitexp_lsp.repos import repo_of_file, uri_to_path

_TOP_KEY = re.compile(r"^(?:cmd|hparams|overrides|template)\s*:", re.IGNORECASE | re.MULTILINE)
_COMMAND = re.compile(r"^(?:cmd|template)\s*:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
_SCRIPT = re.compile(r"[\w./\\-]+\.py\b")


@dataclass(frozen=True)
class Document:
    """One sweep document as it is now (a snapshot: the buffer may change meanwhile)."""

    uri: str
    path: Path
    text: str
    lines: list[str]
    codec: Any  # pygls PositionCodec: code points <-> the client's units
    root: Path | None  # the repository's top folder, when the file is in one
    version: int | None

    def range(self, line: int, col: int, end_line: int, end_col: int) -> types.Range:
        return lsp_range(self.lines, self.codec, line, col, end_line, end_col)


class SweepDocs:
    """Which open documents are sweep files, and a snapshot of one for a feature to read."""

    def __init__(self, server) -> None:
        self.server = server
        self._known: set[str] = set()
        self._roots: dict[Path, Path | None] = {}
        self._lock = threading.Lock()

    def get(self, uri: str) -> Document | None:
        if not uri.startswith("file:"):
            return None
        doc = self.server.workspace.get_text_document(uri)
        path = uri_to_path(uri)
        root = self.root_of(path)
        text = doc.source
        if not self.check(uri, path, text, self.server.options.sweep_files, root):
            return None
        return Document(uri, path, text, text.splitlines(keepends=True), doc.position_codec, root, doc.version)

    def root_of(self, path: Path) -> Path | None:
        with self._lock:
            if path.parent in self._roots:
                return self._roots[path.parent]
        try:
            root: Path | None = repo_of_file(path).root
        except GitexpError:
            root = None
        with self._lock:
            self._roots[path.parent] = root
        return root

    def check(self, uri: str, path: Path, text: str, patterns: tuple[str, ...], root: Path | None) -> bool:
        if uri in self._known:
            return True
        if path.suffix.lower() in (".yml", ".yaml") and _TOP_KEY.search(text) or _matches(path, patterns, root):
            self._known.add(uri)
            return True
        return False

    def forget(self, uri: str) -> None:
        with self._lock:
            self._known.discard(uri)


def _matches(path: Path, patterns: tuple[str, ...], root: Path | None) -> bool:
    if not patterns:
        return False
    names = [path.name, path.as_posix()]
    if root is not None:
        try:
            names.append(path.relative_to(root).as_posix())
        except ValueError:
            pass
    return any(fnmatch.fnmatch(name, pattern) for name in names for pattern in patterns)


def lsp_range(lines: list[str], codec, line: int, col: int, end_line: int, end_col: int) -> types.Range:
    """A 1-based, code-point range (as the sweep module reports) in the client's units."""
    def position(row: int, column: int) -> types.Position:
        row = max(row - 1, 0)
        if row >= len(lines):
            return types.Position(line=row, character=0)
        character = min(max(column - 1, 0), len(lines[row].rstrip("\r\n")))
        return codec.position_to_client_units(lines, types.Position(line=row, character=character))

    return types.Range(start=position(line, col), end=position(end_line, end_col))


def script_path(text: str, path: Path, root: Path | None) -> Path | None:
    """The python script named in CMD (runx) or a template (mlrunner), where it exists on disk."""
    from gitexp.sweep import runx

    match = _COMMAND.search(text)
    if not match:
        return None
    command = match.group(1).strip().strip("'\"")
    script = runx.script_of(command) if command else None
    if script is None:  # an mlrunner template block, or a command with a prefix: first *.py word
        after = text[match.end():match.end() + 2000] if not command or command in ("|", ">") else command
        found = _SCRIPT.search(after)
        script = found.group(0) if found else None
    if script is None:
        return None
    candidates = [Path(script)] if Path(script).is_absolute() else [path.parent / script] + (
        [root / script] if root else [])
    return next((c for c in candidates if c.is_file()), None)


def search_section(lines: list[str], line: int) -> str | None:
    """'search' or 'prune' when 0-based `line` is inside (or is) a SEARCH / PRUNE section, else None."""
    if line >= len(lines):
        return None
    for index in range(line, -1, -1):
        text = lines[index]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        head = re.match(r"^(\w+)\s*:", text)
        if head:  # a top-level key: the section this line belongs to
            name = head.group(1).lower()
            return name if name in ("search", "prune") else None
    return None


def run_count(text: str, path: Path) -> tuple[int | None, str | None]:
    """(number of runs the unsaved buffer expands to, None) or (None, the first error)."""
    from gitexp.errors import GitexpError
    from gitexp.sweep import expand_sweep_text

    try:
        sweep = expand_sweep_text(text, path)
        return (sweep.search.trials if sweep.search is not None else len(sweep.runs)), None  # a search: its trials
    except GitexpError as error:
        return None, str(error)
