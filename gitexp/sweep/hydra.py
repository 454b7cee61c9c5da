"""Hydra's override grammar (`key=value` strings), parsed and expanded the way Hydra's
basic sweeper does, without needing Hydra installed: the fallback for `hydra_core`, which runs
hydra-core's own parser and sweeper whenever hydra-core is importable (see `hydra_core.override_axis`).

Supported: `k=v`, `+k=v`, `++k=v`, `~k`; simple sweeps `k=a,b,c`; `choice()`, `range([start,]
stop[,step])`, `glob(include[,exclude])` over the app's config group options (`hydra_app`), `sort()`,
`shuffle()`, `tag()`, the casts `int() float() str() bool()`, quoted strings, `[lists]`,
`{dicts}`, `\\`-escapes and `${...}` interpolations; plus `uniform(a,b)`, `loguniform(a,b)`,
`randint(a,b)` (a <= n <= b; not Hydra's) and Hydra's `interval(a,b)` for random search. Primitive typing follows Hydra's lexer:
one INT / FLOAT / BOOL / NULL token is typed, anything else is a string.

Float ranges step as Hydra's FloatRange does (the binary floats converted to Decimal and
added up: `range(0,1,0.1)` has 0.30000000000000004), quoted strings are written back quoted,
as Hydra writes them. One deliberate difference, the same with hydra-core: `shuffle()` is
seeded by the override's text, so a dry run lists the order the real run uses.
"""

from __future__ import annotations

import math
import random
import re
import shlex
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gitexp.sweep.diagnostics import Diagnostics, Span, did_you_mean
from gitexp.sweep.model import hydra_quote, shell_word
from gitexp.sweep.plan import Axis, Dist

_ESC = "\\()[]{}:=, \t"
_INT = re.compile(r"[+-]?(0|[1-9](_?[0-9])*)")
_FLOAT = re.compile(r"[+-]?((([0-9](_?[0-9])*)?\.[0-9](_?[0-9])*|[0-9](_?[0-9])*\.)([eE][+-]?[0-9]+)?"
                    r"|[0-9](_?[0-9])*[eE][+-]?[0-9]+|[Ii][Nn][Ff]|[Nn][Aa][Nn])")
_BACKSLASHES = re.compile(r"\\*")
_KEY = re.compile(r"[\w$][\w$./@-]*")
_FUNC = re.compile(r"([A-Za-z_][\w]*)\s*\(")
_ARGNAME = re.compile(r"\s*([A-Za-z_][\w]*)\s*=(?!=)")
FUNCTIONS = ("choice", "range", "glob", "sort", "shuffle", "tag", "int", "float", "str", "bool",
             "uniform", "loguniform", "interval", "randint")


class OverrideError(Exception):
    def __init__(self, message: str, offset: int, length: int = 1):
        super().__init__(message)
        self.offset, self.length = offset, length


@dataclass
class Sweep:
    values: list


class Quoted(str):
    """A string that was quoted in the override: Hydra writes it back quoted (`'a b'`)."""

    quote = "'"

    def __new__(cls, text: str, quote: str = "'"):
        self = super().__new__(cls, text)
        self.quote = quote
        return self


@dataclass
class Override:
    prefix: str  # "", "+", "++" or "~"
    key: str
    value: object  # an element, a Sweep or a Dist (None for a bare `~key`)


def parse_override(text: str, groups: dict | None = None) -> Override:
    """Parse one override string; raises OverrideError with the offset of the problem."""
    match = re.match(r"\s*(~|\+\+|\+)?", text)
    prefix, i = match.group(1) or "", match.end()
    key = _KEY.match(text, i)
    if not key:
        raise OverrideError("expected a key such as 'lr' or 'model.depth'", i)
    j = key.end()
    if j == len(text.rstrip()) and prefix == "~":
        return Override(prefix, key.group(), None)
    if j >= len(text) or text[j] != "=":
        raise OverrideError(f"expected '=' after '{key.group()}'", j)
    parser = _Parser(text, j + 1, key.group(), groups or {})
    value = parser.top()
    return Override(prefix, key.group(), value)


GITEXP_ONLY = re.compile(r"\b(uniform|loguniform|randint)\s*\(")  # ranges Hydra does not know


def override_axis(text: str, start: Span, groups: dict, diags: Diagnostics, style: str = "hydra") -> Axis | None:
    """An Axis for one override string, or a diagnostic pointing into the string (callers go
    through `hydra_core.override_axis`, which uses hydra-core itself where it can)."""
    try:
        override = parse_override(text, groups)
    except OverrideError as exc:
        diags.error(start.at(exc.offset, exc.length), f"invalid override '{text}': {exc}")
        return None
    value = override.value
    span = start.at(0, len(text))
    if isinstance(value, Dist):
        return Axis(override.key, [value.low], span, style, dist=value, prefix=override.prefix)
    values = value.values if isinstance(value, Sweep) else [value]
    if not values:
        diags.error(span, f"{override.key}: the sweep selects no values")
        return None
    return Axis(override.key, list(values), span, style, prefix=override.prefix)


def value_str(value) -> str:
    """Hydra's Override._get_value_element_as_str: how a value is written back as text."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ",".join(value_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{value_str(k)}:{value_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Quoted):
        return hydra_quote(value, value.quote)
    if isinstance(value, str):
        out = value.replace("\\", "\\\\")
        for char in _ESC[1:]:
            out = out.replace(char, "\\" + char)
        return out
    return str(value)


def value_key(value) -> tuple:
    """How `Axis.texts` finds a value's text: equal values of different types (1, 1.0, True) differ."""
    return type(value).__name__, repr(value)


def render_arg(prefix: str, key: str, value, texts: dict | None = None) -> str:
    """One `key=value` argument for a Hydra app, quoted for the shell when needed: the text
    BasicSweeper gives the job (`~k` becomes `~k=null`, as in Hydra's `-m`)."""
    text = (texts or {}).get(value_key(value))
    return shell_word(f"{prefix}{key}={value_str(value) if text is None else text}")


class _Parser:
    def __init__(self, text: str, i: int, key: str, groups: dict):
        self.s, self.i, self.key, self.groups = text, i, key, groups

    def fail(self, message: str, at: int | None = None, length: int = 1):
        raise OverrideError(message, self.i if at is None else at, length)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1

    def top(self):
        if self.s[self.i:].strip() == "":
            return ""  # `key=` is the empty string
        first = self.element(",")
        items = [first]
        while self.peek() == ",":
            self.i += 1
            items.append(self.element(","))
        if self.i < len(self.s):
            self.fail(f"unexpected '{self.peek()}'")
        if len(items) > 1:
            for item in items:
                if isinstance(item, (Sweep, Dist)):
                    self.fail("a sweep cannot be nested inside a comma list", 0)
            return Sweep(items)
        return first

    def element(self, stops: str):
        self.skip_ws()
        char = self.peek()
        if char in ("'", '"'):
            value = self.quoted(char)
        elif char == "[":
            value = self.listing()
        elif char == "{":
            value = self.mapping()
        else:
            func = _FUNC.match(self.s, self.i)
            value = self.call(func) if func else self.primitive(stops)
        self.skip_ws()
        return value

    def quoted(self, quote: str) -> str:
        """Hydra's quoted strings: only backslashes in front of a quote escape (half of them
        stay; an odd one escapes the quote), every other backslash is literal."""
        start, self.i = self.i, self.i + 1
        out = []
        while self.i < len(self.s):
            run = _BACKSLASHES.match(self.s, self.i).end() - self.i
            after = self.s[self.i + run:self.i + run + 1]
            if run and after != quote:
                out.append(self.s[self.i:self.i + run])
                self.i += run
                continue
            if after == quote:
                out.append("\\" * (run // 2))
                self.i += run + 1
                if run % 2:
                    out.append(quote)
                    continue
                return Quoted("".join(out), quote)
            out.append(self.s[self.i])
            self.i += 1
        self.fail("unterminated quoted string", start, len(self.s) - start)

    def listing(self) -> list:
        self.i += 1
        items = []
        self.skip_ws()
        while self.peek() != "]":
            if not self.peek():
                self.fail("missing ']'")
            items.append(self.plain(self.element(",]"), "a list"))
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "]":
                self.fail("expected ',' or ']'")
        self.i += 1
        return items

    def mapping(self) -> dict:
        self.i += 1
        out = {}
        self.skip_ws()
        while self.peek() != "}":
            if not self.peek():
                self.fail("missing '}'")
            at = self.i
            key = self.element(":,}")
            if self.peek() != ":":
                self.fail("expected ':' after a dict key")
            self.i += 1
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self.fail("dict keys must be simple values", at)
            out[key] = self.plain(self.element(",}"), "a dict")
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "}":
                self.fail("expected ',' or '}'")
        self.i += 1
        return out

    def plain(self, value, where: str):
        if isinstance(value, (Sweep, Dist)):
            self.fail(f"a sweep cannot be nested inside {where}")
        return value

    def primitive(self, stops: str):
        start, out, escaped = self.i, [], False
        while self.i < len(self.s):
            char = self.s[self.i]
            if char == "\\" and self.i + 1 < len(self.s) and self.s[self.i + 1] in _ESC:
                out.append(self.s[self.i + 1])
                escaped = True
                self.i += 2
                continue
            if char == "$" and self.s.startswith("${", self.i):
                end = self.s.find("}", self.i)
                if end < 0:
                    self.fail("unterminated ${...} interpolation")
                out.append(self.s[self.i:end + 1])
                self.i = end + 1
                continue
            if char in stops or (char == ":" and ":" in stops):
                break
            if char in "()[]{}=,'\"":
                self.fail(f"unexpected '{char}' (escape it with a backslash or quote the value)")
            out.append(char)
            self.i += 1
        text = "".join(out).strip(" \t")
        if not text and not escaped:
            self.fail("expected a value", start)
        return text if escaped else typed(text)

    def call(self, func: re.Match):
        name, at = func.group(1), self.i
        if name not in FUNCTIONS:
            self.fail(f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}", at, len(name))
        self.i = func.end()
        args, kwargs = [], {}
        self.skip_ws()
        while self.peek() != ")":
            if not self.peek():
                self.fail(f"missing ')' for {name}(")
            argname = _ARGNAME.match(self.s, self.i)
            if argname:
                self.i = argname.end()
                kwargs[argname.group(1)] = self.element(",)")
            elif kwargs:
                self.fail("positional argument after a named one")
            else:
                args.append(self.element(",)"))
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != ")":
                self.fail("expected ',' or ')'")
        self.i += 1
        try:
            return _call(name, args, kwargs, self)
        except (TypeError, ValueError, ArithmeticError, InvalidOperation) as exc:
            self.fail(f"{name}(): {exc}", at, self.i - at)


def typed(text: str):
    """Hydra's primitive typing: a lone INT/FLOAT/BOOL/NULL token is typed, else a string."""
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text):
        return float(text.replace("_", ""))
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    return text


def _numbers(*values):
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"expected numbers, got {value_str(v)!r}")


def _range(start, stop=None, step=1) -> Sweep:
    if stop is None:  # Hydra: range(stop) counts from 0
        start, stop = 0, start
    _numbers(start, stop, step)
    if step == 0:
        raise ValueError("step must not be zero")
    if all(isinstance(v, int) for v in (start, stop, step)):
        values = range(start, stop, step)
        check_range_size(len(values))  # counted before anything is built
        return Sweep(list(values))
    cur, end, inc = (Decimal(float(v)) for v in (start, stop, step))  # Hydra's FloatRange
    check_range_size(max(0, math.ceil((end - cur) / inc)))
    out = []
    while (cur < end) if inc > 0 else (cur > end):
        out.append(float(cur))
        cur += inc
    return Sweep(out)


MAX_RANGE = 1_000_000  # the most runs any sweep may have (load.HARD_LIMIT)


def check_range_size(count: int) -> None:
    if count > MAX_RANGE:
        raise ValueError(f"range has {count:,} values, more than gitexp's limit of {MAX_RANGE:,}")


def _glob(parser: _Parser, include, exclude=()):
    import fnmatch

    options = parser.groups.get(parser.key)
    if options is None:
        missing = getattr(parser.groups, "missing", None)
        raise ValueError(missing(parser.key) if missing else
                         f"no options known for config group '{parser.key}': list them under GROUPS")
    options = sorted(options)  # Hydra's Glob filters the group's options sorted by name
    include = include if isinstance(include, list) else [include]
    exclude = exclude if isinstance(exclude, list) else [exclude]
    return Sweep([o for o in options if any(fnmatch.fnmatch(o, str(g)) for g in include)
                  and not any(fnmatch.fnmatch(o, str(g)) for g in exclude)])


def _reorder(name: str, args, kwargs, parser: _Parser):
    sweep, lst = kwargs.pop("sweep", None), kwargs.pop("list", None)
    reverse = kwargs.pop("reverse", False) if name == "sort" else False
    if kwargs:
        raise TypeError(f"unexpected argument '{next(iter(kwargs))}'")
    source = sweep if sweep is not None else lst if lst is not None else None
    if source is None:
        if len(args) == 1:
            source = args[0]
        elif args:
            source = Sweep(list(args))
        else:
            raise TypeError("expected values to reorder")
    values = source.values if isinstance(source, Sweep) else source
    if not isinstance(values, list):
        return values  # a single value is returned as is
    values = list(values)
    if name == "sort":
        values.sort(reverse=bool(reverse))
    else:
        random.Random(parser.s).shuffle(values)
    return Sweep(values) if isinstance(source, Sweep) else values


def _cast(kind: str, value):
    if isinstance(value, Sweep):
        return Sweep([_cast(kind, v) for v in value.values])
    if isinstance(value, list):
        return [_cast(kind, v) for v in value]
    if isinstance(value, dict):
        return {k: _cast(kind, v) for k, v in value.items()}
    if kind == "str":
        return value_str(value) if not isinstance(value, str) else value
    if kind == "bool":
        if isinstance(value, str):
            if value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise ValueError(f"cannot cast '{value}' to bool")
        return bool(value)
    if value is None:
        raise ValueError(f"cannot cast null to {kind}")
    if kind == "int":
        if isinstance(value, str) and not _INT.fullmatch(value.strip()):
            raise ValueError(f"cannot cast '{value}' to int")
        return int(value)
    return float(value)


def _call(name: str, args: list, kwargs: dict, parser: _Parser):
    if name == "choice":
        if kwargs or not args:
            raise TypeError("expected one or more values")
        values = []
        for arg in args:
            values.extend(arg.values if isinstance(arg, Sweep) else [arg])
        return Sweep(values)
    if name == "range":
        return _range(*args, **kwargs)
    if name == "glob":
        return _glob(parser, *args, **kwargs)
    if name in ("sort", "shuffle"):
        return _reorder(name, args, kwargs, parser)
    if name == "tag":
        sweep = kwargs.pop("sweep", None) or next((a for a in args if isinstance(a, (Sweep, Dist))), None)
        if sweep is None:
            raise TypeError("expected a sweep to tag")
        return sweep
    if name in ("int", "float", "str", "bool"):
        if len(args) + len(kwargs) != 1:
            raise TypeError("expected exactly one value")
        return _cast(name, args[0] if args else next(iter(kwargs.values())))
    low, high = (list(args) + [kwargs.get(k) for k in ("start", "end")[len(args):]])[:2]
    _numbers(low, high)
    if not low < high:
        raise ValueError("expected low < high")
    if name == "randint":
        if not (isinstance(low, int) and isinstance(high, int)):
            raise TypeError("expected integer bounds")
        return Dist("randint", low, high)
    if name == "loguniform" and low <= 0:
        raise ValueError("loguniform needs positive bounds")
    return Dist("loguniform" if name == "loguniform" else "uniform", float(low), float(high), name == "interval")
