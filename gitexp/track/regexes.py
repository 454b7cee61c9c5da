"""Regexes that cannot hang the scheduler: METRICS patterns run on every line a job prints.

A backtracking engine (Python's `re`) takes exponential time on patterns like `^(a+)+$`, and
the line reader would stall every job's output with it. So a pattern is compiled with RE2
(`google-re2`), whose matching is linear in the line. The few patterns RE2 refuses
(lookarounds, backreferences) use the `regex` module with a time budget per line instead; a
pattern that blows its budget raises `RegexTimeout` and its caller drops it.
"""

from __future__ import annotations

from typing import Any, Iterator

BUDGET_SECONDS = 0.05  # per line, for patterns RE2 cannot run


class RegexTimeout(Exception):
    """A fallback pattern ran past its budget on one line."""


class Pattern:
    """A compiled pattern with `re`'s reading interface: groups, groupindex, finditer."""

    def __init__(self, text: str):
        self.pattern = text
        self._linear = _re2(text)
        if self._linear is not None:
            self._compiled = self._linear
        else:
            import regex

            try:
                self._compiled = regex.compile(text, regex.VERSION0)
            except regex.error as error:
                raise ValueError(str(error)) from None
        self.groups: int = self._compiled.groups
        self.groupindex: dict[str, int] = dict(self._compiled.groupindex)

    @property
    def linear(self) -> bool:
        return self._linear is not None

    def finditer(self, text: str) -> Iterator[Any]:
        if self._linear is not None:
            return self._linear.finditer(text)
        try:
            return iter(list(self._compiled.finditer(text, timeout=BUDGET_SECONDS)))
        except TimeoutError:
            raise RegexTimeout(self.pattern) from None


def _re2(text: str) -> Any:
    """The RE2 form of `text`, or None when RE2 refuses its syntax (or is not installed)."""
    try:
        import re2
    except ImportError:
        return None
    options = re2.Options()
    options.log_errors = False  # a refusal is expected and handled: nothing on stderr
    try:
        return re2.compile(text, options)
    except re2.error:
        return None


def compile(text: str) -> Pattern:  # noqa: A001 - mirrors re.compile
    """Raises ValueError for a pattern no engine accepts."""
    return Pattern(text)
