"""What a training script's argparse accepts, read with `ast` (the script is never run).

Only literal `add_argument("--flag", ...)` calls count; a script that builds its parser
dynamically, or has none, yields no flags and therefore no warnings.
"""

from __future__ import annotations

import ast
from pathlib import Path

from gitexp.sweep.model import ArgInfo


def script_arguments(script_path) -> list[ArgInfo]:
    """One ArgInfo per add_argument call, flagged by its first long option string."""
    try:
        tree = ast.parse(Path(script_path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return []
    infos = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if not names:
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        flag = next((n for n in names if n.startswith("--")), names[0])
        action = _literal(kw.get("action"))
        kind = "bool" if action in ("store_true", "store_false") else (
            ast.unparse(kw["type"]) if "type" in kw else None)
        infos.append(ArgInfo(flag, _literal(kw.get("help")), kind, _literal(kw.get("default"))))
        infos.extend(ArgInfo(n, _literal(kw.get("help")), kind, _literal(kw.get("default")))
                     for n in names if n != flag and n.startswith("--"))
    return infos


def _literal(node):
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(node)


def unknown_flags(keys, infos: list[ArgInfo]) -> list[str]:
    """Swept keys the script does not define (argparse also accepts unique prefixes)."""
    flags = [i.flag[2:] for i in infos if i.flag.startswith("--")]
    if not flags:
        return []
    return [k for k in keys if k not in flags and not any(f.startswith(k) for f in flags)]


def locate(script: str, sweep_path: Path | None) -> Path | None:
    """The file a CMD's script names: beside the sweep file, at the work tree's top, or in cwd."""
    folder = (sweep_path.parent if sweep_path else Path(".")).resolve()
    candidates = [Path(script)] if Path(script).is_absolute() else [
        folder / script, *(root / script for root in _repo_roots(folder)), Path.cwd() / script]
    return next((c for c in candidates if c.is_file()), None)


def _repo_roots(folder: Path) -> list[Path]:
    """The enclosing work tree's top folder (CMD paths are often relative to it), if any."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return [candidate]
    return []
