"""Collecting problems with positions, so one pass can report them all (the editor wants all)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from gitexp.errors import SweepError
from gitexp.sweep.model import Diagnostic


@dataclass(frozen=True)
class Span:
    """A 1-based range inside one file (or inside a command-line string such as `--set`)."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def at(self, offset: int, length: int = 1) -> "Span":
        """A sub-range `offset` characters into a single-line value."""
        col = self.col + offset
        return Span(self.file, self.line, col, self.line, col + max(length, 1))


def node_span(file: str, node) -> Span:
    """The range of a PyYAML node (its marks are 0-based)."""
    start, end = node.start_mark, node.end_mark
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def text_span(file: str, text: str) -> Span:
    """A whole command-line string, reported as `--set:1:1`."""
    return Span(file, 1, 1, 1, len(text) + 1)


class Fatal(Exception):
    """Stops analysis of a file after an error that makes the rest meaningless."""


class Diagnostics:
    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self._seen: set = set()

    def add(self, span: Span, severity: str, message: str) -> None:
        diag = Diagnostic(span.file, span.line, span.col, span.end_line, span.end_col, severity, message)
        key = (diag.file, diag.line, diag.col, diag.message)
        if key not in self._seen:  # one message per place, even when many runs hit it
            self._seen.add(key)
            self.items.append(diag)

    def error(self, span: Span, message: str) -> None:
        self.add(span, "error", message)

    def warning(self, span: Span, message: str) -> None:
        self.add(span, "warning", message)

    def info(self, span: Span, message: str) -> None:
        self.add(span, "info", message)

    def fatal(self, span: Span, message: str) -> "Fatal":
        self.error(span, message)
        return Fatal(message)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_first(self) -> None:
        errors = self.errors
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise SweepError(f"{errors[0]}{more}")


def did_you_mean(word: str, choices) -> str:
    """` (did you mean 'X'?)` when a close match exists, else ''."""
    by_upper = {c.upper(): c for c in choices}
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=0.6)
    return f" (did you mean '{by_upper[close[0]]}'?)" if close else ""
