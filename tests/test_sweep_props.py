"""Property tests: valid sweeps expand to the product of their list lengths; arbitrary input
never raises anything but SweepError (load) and never raises at all (editor check)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitexp.errors import SweepError
from gitexp.sweep import check_sweep_text, load_sweep
from gitexp.sweep.hydra import OverrideError, parse_override

KEY = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
SCALAR = st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(),
                   st.floats(allow_nan=False, allow_infinity=False, width=32),
                   st.text("abcxyz_-./", min_size=1, max_size=6))
PARAMS = st.dictionaries(KEY, st.one_of(SCALAR, st.lists(SCALAR, min_size=1, max_size=4)), max_size=5)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(text: str, **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yml"
        path.write_text(text)
        return load_sweep(path, **kwargs)


@SETTINGS
@given(PARAMS)
def test_runx_expands_to_the_product(params):
    sweep = _load(yaml.safe_dump({"CMD": "run", "HPARAMS": params}, sort_keys=False))
    expected = math.prod(len(v) if isinstance(v, list) else 1 for v in params.values())
    assert len(sweep.runs) == expected
    assert len({r.name for r in sweep.runs}) == expected
    if sweep.runs:
        assert list(sweep.runs[0].params) == list(params)


@SETTINGS
@given(st.lists(PARAMS, min_size=1, max_size=3))
def test_runx_inheritance_sums_block_products(blocks):
    first = blocks[0]
    expected = sum(math.prod(len(v) if isinstance(v, list) else 1 for v in {**first, **b}.values()) for b in blocks)
    sweep = _load(yaml.safe_dump({"CMD": "run", "HPARAMS": blocks}, sort_keys=False))
    assert len(sweep.runs) == expected


@SETTINGS
@given(st.dictionaries(KEY, st.lists(st.integers(0, 50), min_size=1, max_size=3, unique=True), max_size=4))
def test_hydra_expands_to_the_product(params):
    overrides = [f"{k}=" + ",".join(map(str, v)) if len(v) > 1 else f"{k}={v[0]}" for k, v in params.items()]
    sweep = _load(yaml.safe_dump({"CMD": "run", "OVERRIDES": overrides or ["a=1"]}))
    assert len(sweep.runs) == max(1, math.prod(len(v) for v in params.values()))


NOISE = st.text(st.sampled_from(list("CMDHPARMSOVERID:-[]{}&*!|>'\",=()# \n\tabcLOGDIR.0123456789_%@`\\")),
                max_size=120)
VARIANTS = st.one_of(
    NOISE,
    st.builds(lambda body: "CMD: run\nHPARAMS:\n" + body, NOISE),
    st.builds(lambda body: "CMD: run\nOVERRIDES:\n  - " + body, NOISE),
    st.builds(lambda body: "template: echo {x} [y]\n---\n" + body, NOISE),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VARIANTS, st.lists(NOISE, max_size=2), st.lists(NOISE, max_size=2))
def test_invalid_input_only_raises_sweep_error(text, sets, sweeps):
    try:
        _load(text, sets=sets, sweep_overrides=sweeps, max_runs=500)
    except SweepError:
        pass
    diags = check_sweep_text(text, "s.yml")
    assert all(d.line >= 1 and d.col >= 1 and d.severity in ("error", "warning", "info") for d in diags)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab=,()[]{}:'\"\\ ~+.$-1.5choicerangeglobsortshuffleint")), max_size=40))
def test_override_parser_only_raises_override_error(text):
    try:
        parse_override(text, {"a": ["x", "y"]})
    except OverrideError as exc:
        assert 0 <= exc.offset <= len(text)
