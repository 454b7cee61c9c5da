"""The Hydra app a sweep's CMD runs: where its configs live and which options each group has.

`glob(*)` must choose from the same options Hydra's own `-m` sees, so they are read the way
Hydra reads them: the `@hydra.main(config_path=..., config_name=...)` of the script (found with
`ast`; the script is never run) gives the primary config folder, and hydra-core itself builds
the config search path (its plugins and the primary config's `hydra.searchpath` included) and
lists each group's options, sorted, as `Glob` sees them. A sweep's `GROUPS` overrides a group.
Without hydra-core only `GROUPS` is known, and the error says so.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

HYDRA_MISSING = "reading the app's config groups needs hydra-core (pip install hydra-core), or list them under GROUPS"


@dataclass(frozen=True)
class App:
    script: Path
    config_dir: str | None  # an absolute folder or pkg:// path, as Hydra computes it
    config_name: str | None


def find_app(script: Path) -> App | None:
    """The script's `@hydra.main(...)`, if it has one with literal arguments."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and _is_hydra_main(deco.func):
                kw = {k.arg: k.value for k in deco.keywords if k.arg}
                positional = dict(zip(("config_path", "config_name"), deco.args))
                kw = {**positional, **kw}
                path, name = _literal(kw.get("config_path")), _literal(kw.get("config_name"))
                return App(script, _search_dir(script, path), name)
    return None


def _is_hydra_main(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "main" and isinstance(func.value, ast.Name) and func.value.id == "hydra"
    return isinstance(func, ast.Name) and func.id == "hydra_main"


def _literal(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _search_dir(script: Path, config_path: str | None) -> str | None:
    """Hydra's compute_search_path_dir for a script file."""
    if config_path is None:
        return None
    if os.path.isabs(config_path) or config_path.startswith("pkg://"):
        return config_path
    return os.path.normpath(os.path.join(os.path.realpath(script.parent), config_path))


class Groups:
    """Group options for `glob()` and checks: GROUPS first, then the app's config search path."""

    def __init__(self, listed: dict, app: App | None):
        self.listed = listed
        self.app = app
        self._repo = None
        self._searched: list[str] = []
        self._cache: dict[str, list[str]] = {}

    def get(self, group: str, default=None):
        if group in self.listed:
            return sorted(self.listed[group])  # Hydra's Glob sees options sorted by name
        options = self._from_hydra(group)
        return options if options else default

    def __contains__(self, group: str) -> bool:
        return self.get(group) is not None

    def missing(self, group: str) -> str:
        """The one-line reason `group` has no options: where we looked, what groups exist."""
        if self.app is None:
            return f"no options known for config group '{group}': list them under GROUPS"
        if importlib.util.find_spec("hydra") is None:
            return f"no options known for config group '{group}': {HYDRA_MISSING}"
        self._from_hydra(group)
        found = sorted(set(self.listed) | set(self._top_groups()))
        return (f"no config group '{group}' (searched {', '.join(self._searched) or 'nothing'}; "
                f"groups found: {', '.join(found) or 'none'})")

    def _open(self):
        if self._repo is None and self.app is not None and importlib.util.find_spec("hydra") is not None:
            from hydra._internal.config_loader_impl import ConfigLoaderImpl
            from hydra._internal.utils import create_config_search_path

            search_path = create_config_search_path(self.app.config_dir)
            self._searched = [_shown(e.path) for e in search_path.get_path()
                              if e.provider not in ("hydra", "schema")]
            self._repo = ConfigLoaderImpl(config_search_path=search_path)
        return self._repo

    def _from_hydra(self, group: str) -> list[str]:
        if group in self._cache:
            return self._cache[group]
        loader = self._open()
        if loader is None:
            return []
        from hydra.core.object_type import ObjectType

        try:
            found = loader.get_group_options(group, results_filter=ObjectType.CONFIG,
                                             config_name=self.app.config_name, overrides=[])
        except Exception:  # a broken primary config: Hydra's plain search path still answers
            found = loader.repository.get_group_options(group, results_filter=ObjectType.CONFIG)
        self._cache[group] = found
        return found

    def _top_groups(self) -> list[str]:
        loader = self._open()
        if loader is None:
            return []
        from hydra.core.object_type import ObjectType

        return [g for source in loader.repository.get_sources() if source.provider not in ("hydra", "schema")
                for g in source.list("", results_filter=ObjectType.GROUP)]


def _shown(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def check_values(axes, groups, diags) -> None:
    """A value given to a config group must be one of its options (Hydra would fail every job)."""
    seen = set()
    for axis in axes:
        if axis.style != "hydra" or axis.prefix == "~" or axis.dist is not None or id(axis) in seen:
            continue
        seen.add(id(axis))
        options = groups.get(axis.key)
        if not options:
            continue
        for value in axis.values:
            if isinstance(value, str) and "/" not in value and value not in options:
                diags.error(axis.span, f"{axis.key}: no option '{value}' in config group {axis.key} "
                                       f"(options: {', '.join(options)})")
                break
