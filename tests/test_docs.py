"""The README stays true: every command is documented there and has help text."""

from __future__ import annotations

from pathlib import Path

import typer.main

from gitexp.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _commands():
    group = typer.main.get_command(app)
    return sorted(group.commands.items())


def test_every_command_is_in_the_readme_with_help_text():
    missing = [name for name, _ in _commands() if f"gitexp {name}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"
    undocumented = [name for name, command in _commands() if not (command.help or "").strip()]
    assert not undocumented, f"commands without help text: {undocumented}"


def test_readme_quickstart_names_the_bundled_example_and_the_test_command():
    assert "gitexp run examples/quickstart/sweep.yml" in README
    assert "python -m pytest" in README
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci
