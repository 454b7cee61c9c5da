"""Hydra overrides parsed and expanded by hydra-core itself, whenever it is importable.

`python app.py -m OVERRIDES` parses each override with hydra-core's `OverridesParser`, and
its `BasicSweeper.split_arguments` lists each sweep's values with `Override.sweep_iterator`
and writes each as `key=<Transformer.str(value)>`: the text the job receives and parses again
when it composes its config. This module does the same, so the values, their order and each
job's command-line text are Hydra's own (float ranges with their binary sums, quoted strings
kept quoted, `~key` as `~key=null`). Each value is recorded as the job will read it (its text
parsed again by Hydra: `str(1)` reaches the job as the int 1).

Three things are gitexp's: `glob()` asks `hydra_app.Groups` (the app's config search path, or
`GROUPS`); `shuffle()` is seeded by the override's text (Hydra's changes every run) so a dry
run shows the order the real run uses; `interval()` (and `tag(log, interval())`) is a range for
`--sample N` or `SEARCH`, which the basic sweeper itself rejects. A bad override is reported
with gitexp's own message where its fallback grammar (`hydra.py`) also rejects it, else with
Hydra's first line, both at the position in the sweep file.
"""

from __future__ import annotations

import importlib.util
import math
import random
from contextlib import contextmanager
from functools import lru_cache

from gitexp.sweep.diagnostics import Diagnostics, Span
from gitexp.sweep.plan import Axis, Dist


def available() -> bool:
    """Asked each time (a find_spec is cheap), never cached: true to the moment."""
    return importlib.util.find_spec("hydra") is not None


class _GroupMissing(Exception):
    pass


class _Loader:
    """The one question Hydra's `Glob` asks a config loader: a group's options."""

    def __init__(self, groups):
        self.groups = groups

    def get_group_options(self, group, results_filter=None, config_name=None, overrides=None):
        options = self.groups.get(group) if self.groups is not None else None
        if options is None:
            missing = getattr(self.groups, "missing", None)
            raise _GroupMissing(missing(group) if missing else
                                f"no options known for config group '{group}': list them under GROUPS")
        return sorted(options)


@lru_cache(maxsize=1)
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@contextmanager
def _seeded(text: str):
    """Hydra shuffles with the `random` module's global generator: seed it, then restore it."""
    state = random.getstate()
    random.seed(text)
    try:
        yield
    finally:
        random.setstate(state)


def override_axis(text: str, start: Span, groups, diags: Diagnostics, style: str = "hydra") -> Axis | None:
    """An Axis for one override, or a diagnostic pointing into it: hydra-core's for a Hydra
    app's override when it is installed; gitexp's grammar for the rest (no hydra-core, gitexp's
    own `uniform()`-style ranges, Hydra-style values on runx / argparse files)."""
    from gitexp.sweep import hydra

    if style != "hydra" or hydra.GITEXP_ONLY.search(text) or not available():
        return hydra.override_axis(text, start, groups, diags, style)
    return _hydra_axis(text, start, groups, diags, style)


def _hydra_axis(text: str, start: Span, groups, diags: Diagnostics, style: str) -> Axis | None:
    from hydra.core.override_parser.types import Transformer
    from hydra.errors import HydraException

    try:
        override = _parser().parse_rule(text, "override")
    except HydraException as exc:
        _report(text, start, groups, diags, exc)
        return None
    override.config_loader = _Loader(groups)
    key = override.key_or_group + (f"@{override.package}" if override.package is not None else "")
    prefix = "~" if override.is_delete() else "+" if override.is_add() else "++" if override.is_force_add() else ""
    span = start.at(0, len(text))
    value_at = start.at(text.index("=") + 1 if "=" in text else 0, len(text) - text.find("=") - 1)
    if override.is_interval_sweep():
        return _interval(key, override, span, style, prefix, diags)
    try:
        _count_range(override)
        if override.is_sweep_override():
            with _seeded(text):
                elements = list(override.sweep_iterator())
        else:
            elements = [override._value]  # what split_arguments writes with get_value_element_as_str
    except _GroupMissing as exc:
        diags.error(value_at, f"invalid override '{text}': {exc}")
        return None
    except ValueError as exc:
        diags.error(value_at, f"invalid override '{text}': range(): {exc}")
        return None
    except HydraException as exc:
        diags.error(span, f"invalid override '{text}': {_first_line(exc)}")
        return None
    if not elements:
        diags.error(span, f"{key}: the sweep selects no values")
        return None
    from gitexp.sweep.hydra import value_key

    values, texts = [], {}
    for element in elements:
        shown = Transformer.str(element)
        value = _as_job_reads(shown, element)
        values.append(value)
        texts[value_key(value)] = shown
    return Axis(key, values, span, style, prefix=prefix, texts=texts)


def _count_range(override) -> None:
    """A range is counted before Hydra lists it: `range(0,1e12)` must not fill the memory."""
    from hydra.core.override_parser.types import RangeSweep

    from gitexp.sweep.hydra import check_range_size

    sweep = override._value
    if isinstance(sweep, RangeSweep):
        values = sweep.range()
        if isinstance(values, range):
            check_range_size(len(values))
        elif values.step != 0:
            check_range_size(max(0, math.ceil((values.stop - values.start) / values.step)))


def _as_job_reads(text: str, element):
    """The value a job composes from `key=text`: Hydra parses the text again."""
    if element is None or type(element) in (int, float, bool):
        return element  # str() of these parses back to the same value
    return _reparse(text)


@lru_cache(maxsize=4096)
def _reparse(text: str):
    return _parser().parse_rule(f"k={text}", "override").value()


def _interval(key, override, span, style, prefix, diags) -> Axis | None:
    sweep = override.value()
    low, high = sweep.start, sweep.end
    if not low < high:
        diags.error(span, f"invalid override '{override.input_line}': interval(): expected low < high")
        return None
    kind = "loguniform" if "log" in sweep.tags else "uniform"
    if kind == "loguniform" and low <= 0:
        diags.error(span, f"invalid override '{override.input_line}': a log interval needs positive bounds")
        return None
    return Axis(key, [float(low)], span, style, dist=Dist(kind, float(low), float(high), interval=True),
                prefix=prefix)


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _report(text: str, start: Span, groups, diags: Diagnostics, exc: Exception) -> None:
    """gitexp's own message where its grammar also rejects the text (it names the fix), else
    Hydra's first line at the character Hydra's lexer or parser stopped on."""
    from gitexp.sweep import hydra

    try:
        hydra.parse_override(text, groups)
    except hydra.OverrideError as ours:
        diags.error(start.at(ours.offset, ours.length), f"invalid override '{text}': {ours}")
        return
    cause, offset = exc.__cause__, 0
    if hasattr(cause, "startIndex"):  # LexerNoViableAltException
        offset = cause.startIndex
    elif getattr(cause, "offendingToken", None) is not None:
        offset = max(0, cause.offendingToken.start)
    diags.error(start.at(min(offset, max(0, len(text) - 1))), f"invalid override '{text}': {_first_line(exc)} (Hydra)")
