"""Grammar-agnostic expansion: blocks of axes -> cross product (or a seeded sample) -> runs.

Each grammar parses its file into a `Plan`: ordered `Block`s (a runx HPARAMS dict, one
mlrunner choice document) of `Axis`es. A block expands to the cross product of its axes with
the first axis varying slowest (itertools.product order, which runx and mlrunner both use);
blocks follow one another. The grammar's `Builder` turns each combination into a `Draft`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass, field

from gitexp.record.refs import sanitize
from gitexp.sweep.diagnostics import Diagnostics, Span


@dataclass(frozen=True)
class Dist:
    """A range to draw from, only meaningful for random search (`--sample N`) or a `SEARCH`."""

    kind: str  # "uniform" | "loguniform" | "randint" (both ends included, as random.randint)
    low: float
    high: float
    interval: bool = field(default=False, compare=False)  # written as Hydra's interval()

    def draw(self, rng: random.Random) -> float:
        if self.kind == "randint":
            return rng.randint(int(self.low), int(self.high))
        if self.kind == "loguniform":
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)


DIST_KINDS = ("uniform", "loguniform", "randint")
_DIST_TEXT = re.compile(r"\s*(uniform|loguniform|randint)\s*\((.*)\)\s*", re.S)


def dist_from_text(text: str) -> Dist | str | None:
    """`loguniform(1e-5, 1e-1)` written as a param's value -> a Dist; an error message for a
    malformed one; None for any other string (a plain value, as before)."""
    match = _DIST_TEXT.fullmatch(text)
    if not match:
        return None
    kind, parts = match.group(1), [p.strip() for p in match.group(2).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = (int(p) for p in parts) if kind == "randint" else (float(p) for p in parts)
    except ValueError:
        number = "integers" if kind == "randint" else "numbers"
        return f"{kind}(low, high): expected two {number}, got '{match.group(2).strip()}'"
    if not low < high:
        return f"{kind}({low}, {high}): expected low < high"
    if kind == "loguniform" and low <= 0:
        return f"loguniform({low}, {high}): needs positive bounds"
    return Dist(kind, low, high)


@dataclass
class Axis:
    key: str
    values: list
    span: Span
    style: str = "flag"  # "flag": --k v (runx) | "hydra": k=v | "param": filled by a template
    dist: Dist | None = None
    prefix: str = ""  # Hydra's +, ++ or ~ in front of the key
    texts: dict | None = None  # hydra.value_key(value) -> the exact text Hydra's sweeper gives the job


@dataclass
class Block:
    axes: list[Axis]
    span: Span
    meta: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return math.prod(len(a.values) for a in self.axes if a.dist is None)

    def combo(self, index: int) -> dict:
        """The `index`-th combination in product order (first axis slowest)."""
        values = {}
        for axis in reversed(self.axes):
            index, i = divmod(index, len(axis.values))
            values[axis.key] = axis.values[i]
        return {a.key: values[a.key] for a in self.axes}


@dataclass
class Draft:
    """A run before naming: what a grammar's builder makes of one combination."""

    params: dict
    commands: tuple[str, ...]
    resources: dict
    tag: str | None = None
    block: Block | None = None


@dataclass
class Plan:
    kind: str  # "runx" | "hydra" | "mlrunner"
    blocks: list[Block]
    builder: object  # .build(block, combo, diags) -> Draft | None (None: skipped)
    options: dict
    default_style: str = "flag"
    spans: dict = field(default_factory=dict)  # top-level key -> Span of its value, for later checks
    groups: object = None  # config group -> options, for Hydra's glob() (hydra_app.Groups or a dict)

    @property
    def size(self) -> int:
        return sum(b.size for b in self.blocks)


def combinations(plan: Plan, diags: Diagnostics, sample: int | None, seed: int):
    """(block, combo) pairs in expansion order, or a reproducible random subset."""
    continuous = [a for b in plan.blocks for a in b.axes if a.dist is not None]
    if sample is None:
        for axis in continuous:
            name = "interval" if axis.dist.interval else axis.dist.kind
            hydra = "; Hydra's -m: BasicSweeper does not support sweep type : INTERVAL_SWEEP" \
                if axis.dist.interval else ""
            diags.error(axis.span, f"{axis.key}: {name}() needs random search (--sample N) "
                                   f"or a SEARCH section{hydra}")
        if continuous:
            return
        for block in plan.blocks:
            for values in itertools.product(*(a.values for a in block.axes)):
                yield block, dict(zip((a.key for a in block.axes), values))
        return
    rng = random.Random(seed)
    if not continuous:  # distinct picks, kept in expansion order
        total = plan.size
        for index in sorted(rng.sample(range(total), min(sample, total))):
            for block in plan.blocks:
                if index < block.size:
                    yield block, block.combo(index)
                    break
                index -= block.size
        return
    weights = [b.size for b in plan.blocks]
    for _ in range(sample):
        block = rng.choices(plan.blocks, weights=weights)[0]
        yield block, {a.key: a.dist.draw(rng) if a.dist else a.values[rng.randrange(len(a.values))]
                      for a in block.axes}


def _name_part(key: str, value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{key}{value}"
    return f"{key}_{value}"


def name_runs(drafts: list[Draft]) -> list[str]:
    """Readable, unique names: the tag, else the params that vary across the sweep."""
    keys = list(dict.fromkeys(k for d in drafts for k in d.params))
    marker = object()
    varying = [k for k in keys if len({repr(d.params.get(k, marker)) for d in drafts}) > 1]
    names, taken = [], set()
    for draft in drafts:
        if draft.tag:
            base = sanitize(draft.tag)
        else:
            shown = [k for k in (varying or keys) if k in draft.params
                     and "LOGDIR" not in str(draft.params[k])]  # a path placeholder names nothing
            base = sanitize("-".join(_name_part(k, draft.params[k]) for k in shown)) if shown else "run"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        names.append(name)
    return names
