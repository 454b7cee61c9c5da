"""Hydra's override grammar: the values each override sweeps, as Hydra's BasicSweeper lists them."""

from __future__ import annotations

import pytest

from gitexp.sweep.hydra import Dist, OverrideError, Quoted, Sweep, parse_override, render_arg
from gitexp.sweep.model import hydra_path, hydra_quote


def values(text, groups=None):
    value = parse_override(text, groups).value
    return value.values if isinstance(value, Sweep) else value


@pytest.mark.parametrize("text,expected", [
    ("db=mysql,postgresql", ["mysql", "postgresql"]),
    ("db=choice(mysql,postgresql)", ["mysql", "postgresql"]),
    ("x=1", 1), ("x=1.5", 1.5), ("x=1e3", 1000.0), ("x=true", True), ("x=NULL", None), ("x=", ""),
    ("x=1_000", 1000), ("x=a b", "a b"), ("x=1.0.0", "1.0.0"), ("x=http://h:80/p", "http://h:80/p"),
    ("x='a,b'", "a,b"), ("x=a\\,b", "a,b"), ("x=${oc.env:HOME}", "${oc.env:HOME}"),
    ("x=[1,a,[2]]", [1, "a", [2]]), ("x={a:1,b:[x]}", {"a": 1, "b": ["x"]}),
    ("num=range(0,5)", [0, 1, 2, 3, 4]), ("num=range(0,5,2)", [0, 2, 4]),
    ("num=range(0,10,3.3)", [0.0, 3.3, 6.6, 9.9]), ("num=range(5,0,-2)", [5, 3, 1]),
    ("num=range(0,2.1,0.7)", [0.0, 0.7, 1.4, 2.1]),  # Hydra's binary sums: 2.0999.. < 2.1000..
    ("num=range(0.1,0.4,0.1)", [0.1, 0.2, 0.30000000000000004, 0.4]),
    ("num=range(0,1,0.1)", [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7000000000000001, 0.8, 0.9]),
    ("x='a\\b'", "a\\b"), ("x='it\\'s'", "it's"), ("x='a\\\\'", "a\\"),
    ("x=sort(1,3,2)", [1, 2, 3]), ("x=sort(1,3,2,reverse=true)", [3, 2, 1]),
    ("x=sort([3,1])", [1, 3]), ("x=sort(range(3,0,-1))", [1, 2, 3]), ("x=sort(1)", 1),
    ("x=int(3.14)", 3), ("x=float(range(1,3))", [1.0, 2.0]), ("x=str(10)", "10"), ("x=bool(0)", False),
    ("x=str([1,2])", ["1", "2"]), ("x=tag(log,choice(1,2))", [1, 2]),
])
def test_values(text, expected):
    got = values(text)
    assert got == expected and (type(got) is type(expected) or type(expected) is str and isinstance(got, str))


def test_glob_over_groups():
    groups = {"schema": ["school", "support", "warehouse"]}
    assert values("schema=glob(*)", groups) == ["school", "support", "warehouse"]
    assert values("schema=glob(*,exclude=support)", groups) == ["school", "warehouse"]
    assert values("schema=glob([s*,w*],exclude=school)", groups) == ["support", "warehouse"]
    with pytest.raises(OverrideError, match="list them under GROUPS"):
        parse_override("other=glob(*)", groups)


def test_shuffle_is_a_reproducible_permutation():
    first = values("x=shuffle(1,2,3,4,5,6)")
    assert sorted(first) == [1, 2, 3, 4, 5, 6] and values("x=shuffle(1,2,3,4,5,6)") == first


def test_prefixes_and_distributions():
    assert parse_override("+a.b=1").prefix == "+" and parse_override("++a=1").prefix == "++"
    assert parse_override("~a").value is None
    assert parse_override("lr=loguniform(1e-4,1e-1)").value == Dist("loguniform", 1e-4, 0.1)
    assert parse_override("lr=interval(0,1)").value == Dist("uniform", 0.0, 1.0)


@pytest.mark.parametrize("text,offset", [
    ("=1", 0), ("a", 1), ("a=(", 2), ("a=[1", 4), ("a='x", 2), ("a=foo(1)", 2), ("a=range(1,2,0)", 2),
    ("a=int(x)", 2), ("a=choice()", 2), ("a=1,choice(1,2)", 0), ("a=loguniform(0,1)", 2),
])
def test_errors_carry_offsets(text, offset):
    with pytest.raises(OverrideError) as info:
        parse_override(text)
    assert info.value.offset == offset


def test_render_arg_matches_hydra_and_the_shell():
    assert render_arg("", "lr", 0.1) == "lr=0.1"
    assert render_arg("", "flag", True) == "flag=True"  # Hydra writes str(True)
    assert render_arg("", "x", None) == "x=null"
    assert render_arg("+", "tags", ["a", "b c"]) == "'+tags=[a,b\\ c]'"
    assert render_arg("~", "k", None) == "'~k=null'"  # what BasicSweeper gives a job for `~k`
    assert render_arg("", "name", Quoted("a b")) == "\"name='a b'\""  # quoted as it was written



@pytest.mark.parametrize("text", ["a b", "it's", "a\\", "a\\'b", "\\\\'", "x\\\\", "q\"q", "", "'"])
def test_quoted_strings_are_written_back_as_hydra_writes_them(text):
    pytest.importorskip("hydra")
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Quote, QuotedString

    assert hydra_quote(text) == QuotedString(text, Quote.single).with_quotes()
    assert OverridesParser.create().parse_override(f"x={hydra_quote(text)}").value() == text
    assert values(f"x={hydra_quote(text)}") == text  # and the fallback reads it back the same


@pytest.mark.parametrize("path", ["/tmp/plain/run-1", "/tmp/a, b/run", "/tmp/x=y/[1]", "/tmp/it's/{a:b}",
                                  "/tmp/q\"uote/back\\slash\\", "/tmp/tab\there"])
def test_run_folder_is_one_value_of_hydras_grammar(path):
    pytest.importorskip("hydra")
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_override(f"hydra.run.dir={hydra_path(path)}")
    assert not override.is_sweep_override() and override.value() == path
    assert hydra_path(path) == path or "," in path or " " in path or "=" in path or "[" in path or "'" in path \
        or '"' in path or "\t" in path
