"""Every problem in a sweep file is reported as FILE:LINE:COL: message (1-based, the exact key
or value), by load_sweep as one SweepError and by check_sweep_text as structured diagnostics."""

from __future__ import annotations

import pytest

from gitexp.errors import SweepError
from gitexp.sweep import check_sweep_text, load_sweep, sweep_outline

CASES = [
    # An unclosed bracket is reported where it opens, not where PyYAML gives up (the file's end).
    ("CMD: a\nHPARAMS:\n  lr: [1, 2\n", "s.yml:3:7: YAML syntax error: unclosed '[' (expected ',' or ']', but got"
                                         " '<stream end>' at line 4)"),
    ("CMD: a\nHPARAMS:\n  lr: {a: 1\n  b: 2\n\nepochs: 3\n",
     "s.yml:3:7: YAML syntax error: unclosed '{' (expected ',' or '}', but got ':' at line 4)"),
    ("CMD: a\nHPARAMS:\n  lr: 'x\n", "s.yml:3:7: YAML syntax error: unclosed quote (found unexpected end of stream"
                                      " at line 4)"),
    ("CMD: a\nHPARAM:\n  lr: 1\n", "s.yml:2:1: unknown top-level key 'HPARAM' (did you mean 'HPARAMS'?)"),
    ("CMD: a\nHPARAMS:\n  lr: []\n", "s.yml:3:7: lr: empty list of values: the sweep would have no runs"),
    ("CMD: a\nHPARAMS: 3\n", "s.yml:2:10: HPARAMS: expected a mapping of params, or a non-empty list of mappings"),
    ("HPARAMS: {lr: 1}\n", "s.yml:1:1: missing CMD: the command each run executes"),
    ("CMD: [a]\nHPARAMS: {lr: 1}\n", "s.yml:1:6: CMD: expected a command string"),
    ("CMD: a\nOVERRIDES:\n  - lr=range(1,x)\n",
     "s.yml:3:8: invalid override 'lr=range(1,x)': range(): expected numbers, got 'x'"),
    ("CMD: a\nOVERRIDES:\n  - 'lr=chioce(1,2)'\n",
     "s.yml:3:9: invalid override 'lr=chioce(1,2)': unknown function 'chioce' (did you mean 'choice'?)"),
    ("template: echo {x} {y}\n---\nx: [1]\n",
     "s.yml:1:11: template 'cmd': placeholder {y} has no value (not in 'default' nor in any choice)"),
    ("template: echo [x]\n---\nx: [[1]]\n", "s.yml:1:11: template 'cmd': [x]: [1] is not a str, int or float"),
    ("template: echo\nresource: [a]\n---\nx: [1]\n",
     "s.yml:2:11: resource: 'a' is not a GPU index list such as 0 or \"0,1\""),
    ("template: echo\ndefualt: {}\n---\nx: [1]\n",
     "s.yml:2:1: unknown key 'defualt' in the first document (did you mean 'default'?)"),
    ("just: text\n", "s.yml:1:1: not a sweep file: expected CMD with HPARAMS (runx) or OVERRIDES (Hydra-style), "
                     "or a 'template' document (mlrunner)"),
    ("", "s.yml:1:1: empty sweep file"),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_error_positions(tmp_path, text, expected):
    path = tmp_path / "s.yml"
    path.write_text(text)
    with pytest.raises(SweepError) as info:
        load_sweep(path)
    assert str(info.value).split(" (and ")[0] == f"{tmp_path}/{expected}"
    diags = check_sweep_text(text, "s.yml")
    assert str([d for d in diags if d.severity == "error"][0]) == expected


def test_all_problems_are_reported_with_ranges():
    text = "cmd: a\nhparams:\n  lr: []\n  bs: []\nextra: 1\n"
    diags = check_sweep_text(text, "s.yml")
    assert [(d.line, d.col, d.end_line, d.end_col, d.severity) for d in diags] == [
        (5, 1, 5, 6, "error"), (3, 7, 3, 9, "error"), (4, 7, 4, 9, "error")]


def test_duplicate_key_is_an_error_at_the_second_key(tmp_path):
    diags = check_sweep_text("CMD: a\nHPARAMS:\n  lr: 1\n  lr: 2\n", "s.yml")
    assert [str(d) for d in diags] == ["s.yml:4:3: duplicate key 'lr': it is already set above"]
    path = tmp_path / "s.yml"
    path.write_text("CMD: python a.py\nHPARAMS:\n  lr: [1]\nCMD: echo b\n")
    with pytest.raises(SweepError, match=r"s.yml:4:1: duplicate key 'CMD'"):
        load_sweep(path)


def test_set_and_sweep_errors_point_into_the_option(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text("CMD: a\nHPARAMS: {lr: 1}\n")
    with pytest.raises(SweepError, match=r"^--set:1:1: expected KEY=VALUE, got 'lr'$"):
        load_sweep(path, sets=["lr"])
    with pytest.raises(SweepError, match=r"^--sweep:1:5: invalid override 'a=1,\(': unexpected '\('"):
        load_sweep(path, sweep_overrides=["a=1,("])


def test_yaml_bomb_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "CMD: a\nHPARAMS:\n" + "\n".join("  " + line for line in lines) + "\n"
    (diag,) = [d for d in check_sweep_text(text, "s.yml") if d.severity == "error"]
    assert "alias bomb" in diag.message


def test_deep_nesting_is_an_error_not_a_crash():
    diags = check_sweep_text("CMD: a\nHPARAMS: {x: " + "[" * 5000 + "]" * 5000 + "}\n", "s.yml")
    assert diags and diags[0].severity == "error"


def test_too_many_runs_is_a_warning_in_the_editor():
    text = "CMD: a\nHPARAMS:\n" + "".join(f"  k{i}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" for i in range(5))
    (diag,) = check_sweep_text(text, "s.yml")
    assert diag.severity == "warning" and "100000 runs" in diag.message


def test_outline_positions():
    text = "CMD: python t.py\nHPARAMS:\n  lr: [1, 2]\nOVERRIDES:\n  - model=a,b\n"
    items = [(i.name, i.kind, i.line, i.col, i.values) for i in sweep_outline(text, "s.yml")]
    assert items == [("CMD", "section", 1, 1, ()), ("HPARAMS", "section", 2, 1, ()),
                     ("lr", "param", 3, 3, (1, 2)), ("OVERRIDES", "section", 4, 1, ()),
                     ("model", "override", 5, 5, ("a,b",))]
    assert sweep_outline("a: [", "s.yml") == []
