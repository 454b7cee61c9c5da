"""The floor plan stays true: imports flow one way between the wings, and no module imports
itself back through others. Every import counts, function-level ones included, so a circle
cannot hide behind a lazy import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"gitexp": ROOT / "gitexp", "gitexp_lsp": ROOT / "lsp" / "gitexp_lsp"}

# What each wing may import (besides itself). The faces (cli, lsp) and the top-level verbs sit
# above the wings; `errors` sits below everything.
ALLOWED = {
    "errors": set(),
    "record": {"errors"},
    "sweep": {"errors", "record"},
    "track": {"errors", "record"},
    "index": {"errors", "record"},
    "run": {"errors", "record", "sweep", "track"},
    "top": {"errors", "record", "sweep", "track", "index", "run"},
    "lsp": {"errors", "record", "sweep", "track", "index", "run", "top"},
    "cli": {"errors", "record", "sweep", "track", "index", "run", "top", "lsp"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def wing(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "gitexp_lsp":
        return "lsp"
    if len(parts) > 1 and parts[1] in ("record", "sweep", "track", "index", "run"):
        return parts[1]
    if module in ("gitexp.errors", "gitexp.cli"):
        return parts[1]
    if module == "gitexp.__main__":
        return "cli"  # `python -m gitexp` is the CLI
    return "top"  # the package's public API and the verbs beside the CLI (inspect, manage, logx)


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `module` imports anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one, else the package
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known and name != module)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {module: imports_of(module, path, known) for module, path in known.items()}


def test_imports_follow_the_wings():
    wrong = [f"{module} ({wing(module)}) imports {target} ({wing(target)})"
             for module, targets in sorted(graph().items()) for target in sorted(targets)
             if wing(target) != wing(module) and wing(target) not in ALLOWED[wing(module)]]
    assert not wrong, "imports against the wing order:\n" + "\n".join(wrong)


def test_nothing_but_the_entry_points_imports_the_cli():
    users = sorted(m for m, targets in graph().items() if "gitexp.cli" in targets and m != "gitexp.__main__")
    assert not users


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle():
    assert circles(graph()) == []


def test_the_circle_finder_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("statement", [
    "import gitexp; gitexp.log, gitexp.summary, gitexp.config, gitexp.init, gitexp.save_checkpoint, gitexp.flush",
    "from gitexp import log, summary, init, save_checkpoint, flush, __version__",
    "from gitexp.logx import logx; logx.initialize, logx.metric, logx.msg",
    "from gitexp import logx; logx.initialize, logx.add_scalar",
    "import gitexp.cli; gitexp.cli.main",
])
def test_public_import_paths(statement):
    subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)


def test_entry_points_start():
    for command in ([sys.executable, "-m", "gitexp", "--help"], [str(Path(sys.executable).with_name("gitexp")), "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0 and "gitexp" in done.stdout, done.stderr


def test_import_gitexp_stays_light():
    heavy = ("torch", "tensorboard", "numpy", "duckdb", "pygls", "pandas", "optuna", "pynvml", "rich", "typer")
    code = ("import sys, gitexp; print(' '.join(m for m in " + repr(heavy)
            + " if any(k == m or k.startswith(m + '.') for k in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == ""
