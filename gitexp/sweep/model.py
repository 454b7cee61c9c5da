"""The values a sweep file turns into: what the scheduler, the CLI and the language server consume.

Everything here is frozen and grammar-agnostic: runx, mlrunner and Hydra-style files all end
up as one `Sweep` holding `RunSpec`s, so nothing downstream needs to know which tool the user
came from.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Placeholders a command template may still hold; `RunSpec.render` fills them per run.
LOGDIR = "LOGDIR"  # runx: replaced verbatim; gitexp quotes only a path that needs it
RESERVED = ("{_output}", "{_name}", "{_time}")  # mlrunner: replaced shell-quoted, as mlrunner does
HYDRA_LOGDIR = "{_hydra_logdir}"  # the run folder as a value of Hydra's grammar (`hydra.run.dir=...`)


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a sweep file; 1-based positions, exactly as printed."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    severity: str  # "error" | "warning" | "info"
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


_HYDRA_SPECIAL = re.compile(r"[\\()\[\]{}:=,\s'\"]")


def hydra_path(path: str) -> str:
    """A path as one value of Hydra's override grammar: as is when it can be, else quoted as
    Hydra quotes (`'/tmp/a, b'`: a bare comma would make a sweep, a space or `=` an error)."""
    if not _HYDRA_SPECIAL.search(path):
        return path
    return hydra_quote(path)


def hydra_quote(text: str, quote: str = "'") -> str:
    """Hydra's QuotedString.with_quotes: backslashes before a quote (the closing one included)
    are doubled, the quote itself escaped; any other backslash stays as it is."""
    body = re.sub(r"(\\*)" + quote, lambda m: m.group(1) * 2 + "\\" + quote, text)
    trailing = len(body) - len(body.rstrip("\\"))
    return quote + body + "\\" * trailing + quote


def shell_word(text: str) -> str:
    """shlex.quote, but `"name='a b'"` rather than `'name='"'"'a b'"'"''` where that is safe."""
    if "'" in text and not any(c in text for c in '"$`\\!'):
        return f'"{text}"'
    return shlex.quote(text)


_LOGDIR_TOKEN = re.compile(r"(?<![\w${])" + LOGDIR + r"(?![\w}])")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its name, resolved params, and command templates."""

    name: str
    params: dict
    commands: tuple[str, ...]
    resources: dict = field(default_factory=dict)

    def render(self, logdir: str, name: str | None = None, time: str | None = None) -> tuple[str, ...]:
        """Commands with LOGDIR/{_output} -> `logdir`, {_name} -> name, {_time} -> a timestamp."""
        stamp = time or datetime.now().strftime("%Y%m%d.%H%M%S")
        fills = {"{_output}": logdir, "{_name}": name or self.name, "{_time}": stamp}
        out = []
        for command in self.commands:
            for placeholder, value in fills.items():
                command = command.replace(placeholder, shlex.quote(value))
            if HYDRA_LOGDIR in command:  # quoted for Hydra's grammar first: a comma would make a sweep
                command = command.replace(HYDRA_LOGDIR, shell_word(hydra_path(logdir)))
            # the LOGDIR token only (not $LOGDIR or MYLOGDIR); quoted when the path needs it
            out.append(_LOGDIR_TOKEN.sub(lambda _: shlex.quote(logdir), command))
        return tuple(out)


@dataclass(frozen=True)
class Sweep:
    name: str
    path: Path | None
    content_hash: str
    runs: tuple[RunSpec, ...]
    options: dict
    warnings: tuple[Diagnostic, ...] = ()
    search: Any = None  # a gitexp.sweep.search.SearchPlan when the file has SEARCH: trials come from it


@dataclass(frozen=True)
class ArgInfo:
    """One option an argparse script declares (read statically, never by running it)."""

    flag: str
    help: str | None
    type: str | None
    default: object


@dataclass(frozen=True)
class OutlineItem:
    """A key of a sweep file with its range: feeds hover and document symbols in the editor."""

    name: str
    kind: str  # "section" | "param" | "command" | "override"
    line: int
    col: int
    end_line: int
    end_col: int
    values: tuple = ()
