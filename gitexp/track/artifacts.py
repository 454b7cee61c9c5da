"""Artifacts (checkpoints, large outputs): files beside the record, never inside git.

The record keeps a pointer per file, `{"path", "size", "sha256", ...}`, in run.json
["artifacts"]. While a run is live the script keeps those pointers in `.gitexp/artifacts.json`
(run.json belongs to the scheduler); each record commit copies them over. Files live in the
run folder, or under an artifact root (`$GITEXP_ARTIFACT_ROOT`, else git config
`gitexp.artifactRoot`) as `<root>/<sweep>/<run>/`, which is also how `gitexp gc` finds the
artifacts of removed runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import shutil
import threading
from pathlib import Path
from typing import Any

from gitexp.errors import GitexpError
from gitexp.record import model as record
from gitexp.record.git import config_value

MANIFEST = "artifacts.json"
ENV_ROOT = "GITEXP_ARTIFACT_ROOT"
_lock = threading.Lock()


def configured_root(cwd: Path | None = None) -> Path | None:
    """$GITEXP_ARTIFACT_ROOT, else `git config gitexp.artifactRoot`, else None (the run folder)."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    value = config_value("gitexp.artifactRoot", cwd, kind="path")
    return Path(value).expanduser() if value else None


def artifact_dir(run_dir: Path, run_id: str) -> Path:
    root = configured_root()
    folder = root / run_id if root and run_id else run_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe(path: Path, **extra: Any) -> dict[str, Any]:
    path = Path(path).resolve()
    return {"path": str(path), "size": path.stat().st_size, "sha256": sha256_of(path),
            "time": record.now_iso(), **{k: record.clean_number(v) for k, v in extra.items() if v is not None}}


def save_object(state: Any, dest: Path) -> Path:
    """torch.save when torch is installed, else pickle; written beside and renamed into place."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.save(state, tmp)
    else:
        with open(tmp, "wb") as handle:
            pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, dest)
    return dest


def copy(src: Path, dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def _manifest_path(run_dir: Path) -> Path:
    return Path(run_dir) / record.RECORD_DIR / MANIFEST


def read_manifest(run_dir: Path) -> list[dict[str, Any]]:
    data = record.read_json(_manifest_path(run_dir), [])
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def register(run_dir: Path, path: Path, **extra: Any) -> dict[str, Any]:
    """Hash `path` and add (or refresh) its pointer in the live manifest."""
    path = Path(path)
    if not path.is_file():
        raise GitexpError(f"artifact {path}: no such file")
    entry = describe(path, **extra)
    with _lock:
        items = [item for item in read_manifest(run_dir) if item.get("path") != entry["path"]]
        items.append(entry)
        _manifest_path(run_dir).parent.mkdir(parents=True, exist_ok=True)
        record.write_json_atomic(_manifest_path(run_dir), items)
    return entry


def unregister(run_dir: Path, path: Path) -> None:
    """Drop the pointer of a file the run deleted (runx deletes superseded checkpoints)."""
    gone = str(Path(path).resolve())
    with _lock:
        items = read_manifest(run_dir)
        if any(item.get("path") == gone for item in items):
            record.write_json_atomic(_manifest_path(run_dir), [i for i in items if i.get("path") != gone])


def find(run_dir: Path, path: Path) -> dict[str, Any] | None:
    wanted = str(Path(path).resolve())
    return next((item for item in read_manifest(run_dir) if item.get("path") == wanted), None)


def verify(entry: dict[str, Any]) -> bool:
    """Does the file still hold exactly the bytes the record points at?"""
    path = Path(str(entry.get("path")))
    try:
        return path.stat().st_size == entry.get("size") and sha256_of(path) == entry.get("sha256")
    except OSError:
        return False


def remove_orphans(root: Path | None, keep: set[str]) -> tuple[list[str], int]:
    """Delete `<root>/<sweep>/<run>/` folders whose run id is not in `keep`; for `gitexp gc`.

    Returns the removed run ids and the bytes freed. Folders that do not look like gitexp's
    two-level layout are left alone.
    """
    removed, freed = [], 0
    if root is None or not root.is_dir():
        return removed, freed
    for sweep_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for run_dir in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.is_symlink()):
            run_id = f"{sweep_dir.name}/{run_dir.name}"
            if run_id in keep:
                continue
            freed += sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file() and not f.is_symlink())
            shutil.rmtree(run_dir, ignore_errors=True)
            removed.append(run_id)
        if not any(sweep_dir.iterdir()):
            sweep_dir.rmdir()
    return removed, freed

