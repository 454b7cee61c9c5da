"""Metrics from printed lines: a sweep's `METRICS: {name: 'regex with one group'}`.

For the many scripts that only print (and mlrunner's `metrics` users): every line the run
writes is matched against each regex, and every match appends a point to the run's series
whose step counts that metric's matches (0, 1, 2, ...). Carriage returns split a line too,
so progress bars that redraw in place are read segment by segment.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from gitexp.errors import SweepError
from gitexp.record import model as record
from gitexp.track import regexes

log = logging.getLogger(__name__)
MAX_UNWRITTEN = 10_000  # points kept while the disk is full

_NUMBER = re.compile(r"^[-+]?(\d[\d_,]*\.?\d*|\.\d+)([eE][-+]?\d+)?%?$|^[-+]?(nan|inf|infinity)$", re.I)


def _name_from(text: str, index: int) -> str:
    """A list entry without named groups is named by its literal lead: 'valid ppl\\s+(...)' -> valid_ppl."""
    lead = re.sub(r"\\[A-Za-z]|[^A-Za-z0-9]+", "_", text.split("(", 1)[0]).strip("_").lower()
    return lead or f"metric{index}"


def compile_patterns(patterns: Any) -> list[tuple[str, regexes.Pattern, int | str]]:
    """METRICS as (name, regex, group) triples.

    A mapping is `name: regex` with the number in group 1. A list holds regexes whose named
    groups are the metrics (`(?P<ppl>[0-9.]+)`), or with one plain group, named by the text
    in front of it.
    """
    if isinstance(patterns, Mapping):
        items = [(str(name), str(text)) for name, text in patterns.items()]
    elif isinstance(patterns, (list, tuple)):
        items = [(None, str(text)) for text in patterns]
    else:
        raise SweepError("METRICS: expected a mapping name -> regex, or a list of regexes")
    compiled = []
    for index, (name, text) in enumerate(items):
        label = name or text
        try:
            pattern = regexes.compile(text)
        except ValueError as error:
            raise SweepError(f"METRICS: {label}: invalid regex {text!r}: {error}") from None
        if pattern.groups < 1:
            raise SweepError(f"METRICS: {label}: regex {text!r} needs a group around the number, "
                             "e.g. 'loss ([0-9.]+)'")
        if name is None and pattern.groupindex:
            compiled += [(group, pattern, group) for group in pattern.groupindex]
        else:
            compiled.append((name or _name_from(text, index), pattern, 1))
    return compiled


def to_number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return float(text.rstrip("%").replace(",", "").replace("_", ""))


class StdoutMetrics:
    """Turns output lines into points appended to one run's metrics.jsonl."""

    def __init__(self, patterns: Any, series: Path):
        self.patterns = compile_patterns(patterns)
        self.series = series
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._unwritten: list[str] = []  # points a full disk refused, written with the next ones

    def points(self, line: str) -> list[tuple[int, str, float]]:
        found = []
        for segment in line.split("\r"):
            for name, pattern, group in list(self.patterns):
                try:
                    matches = pattern.finditer(segment)
                except regexes.RegexTimeout:
                    self._drop(pattern)
                    continue
                for match in matches:
                    value = to_number(match.group(group) or "")
                    if value is None:
                        continue
                    step = self.counts.get(name, -1) + 1
                    self.counts[name] = step
                    found.append((step, name, value))
        return found

    def _drop(self, pattern: regexes.Pattern) -> None:
        """A pattern that ran past its time budget is said once and matched no more."""
        if any(p is pattern for _, p, _ in self.patterns):
            self.patterns = [t for t in self.patterns if t[1] is not pattern]
            log.warning("METRICS regex %r took longer than %g s on one line of %s; it is no longer matched",
                        pattern.pattern, regexes.BUDGET_SECONDS, self.series.parent.parent.name)

    def feed(self, line: bytes) -> None:
        from gitexp.track.points import append_lines, point_line

        with self._lock:
            found = self.points(line.decode(errors="replace"))
            if not found and not self._unwritten:
                return
            now = time.time()
            lines = self._unwritten + [point_line(step, name, value, now) for step, name, value in found]
            try:
                append_lines(self.series, lines)
                self._unwritten = []
            except OSError as error:  # disk full: keep them for the next line, say it once
                if not self._unwritten:
                    log.warning("%s: could not write METRICS points (will retry): %s",
                                self.series.parent.parent.name, error)
                self._unwritten = lines[-MAX_UNWRITTEN:]


def line_hook(patterns: Any, files: record.RunFiles,
              then: Callable[[bytes], None] | None) -> Callable[[bytes], None] | None:
    """The executor's `on_line` for one run: regex metrics (when declared), then `then` (echo)."""
    if not patterns:
        return then
    metrics = StdoutMetrics(patterns, files.series)
    if then is None:
        return metrics.feed

    def both(line: bytes) -> None:
        metrics.feed(line)
        then(line)

    return both
