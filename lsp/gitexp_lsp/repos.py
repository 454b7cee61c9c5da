"""Which git repository a request is about: one per workspace folder, opened on first use.

A folder that is not (yet) a repository is not an error until a request needs it: the user
may run `git init` later, so a failed open is retried on the next request.
"""

from __future__ import annotations

import threading
from pathlib import Path

from gitexp.errors import GitexpError
from gitexp.record.git import Git, open_repo


def uri_to_path(uri: str) -> Path:
    """A `file:` URI (or a plain path) as a filesystem path."""
    from pygls.uris import to_fs_path

    if "://" not in uri and not uri.startswith("file:"):
        return Path(uri)
    path = to_fs_path(uri)
    if path is None:
        raise GitexpError(f"{uri}: not a file URI")
    return Path(path)


class Repos:
    """Workspace folders (URI -> path) and the repository of each."""

    def __init__(self) -> None:
        self._folders: dict[str, Path] = {}
        self._open: dict[str, Git] = {}
        self._lock = threading.Lock()

    def set_folders(self, uris: list[str]) -> None:
        with self._lock:
            self._folders = {uri: uri_to_path(uri) for uri in uris}
            self._open = {uri: git for uri, git in self._open.items() if uri in self._folders}

    def add(self, uri: str) -> None:
        with self._lock:
            self._folders[uri] = uri_to_path(uri)

    def remove(self, uri: str) -> None:
        with self._lock:
            self._folders.pop(uri, None)
            self._open.pop(uri, None)

    @property
    def folders(self) -> list[str]:
        with self._lock:
            return list(self._folders)

    def get(self, folder: str | None = None) -> tuple[str, Git]:
        """(folder URI, repo) for `folder` (a workspace folder URI or any path inside one),
        or the first folder's repo when none is named."""
        with self._lock:
            folders = dict(self._folders)
        if not folders:
            raise GitexpError("no workspace folder is open", hint="open the folder of a git repository")
        uri = self._match(folders, folder) if folder else next(iter(folders))
        with self._lock:
            git = self._open.get(uri)
        if git is None:
            git = open_repo(folders[uri])
            with self._lock:
                self._open[uri] = git
        return uri, git

    def all(self) -> list[tuple[str, Git]]:
        """Every folder whose repository opens (the others are skipped, not fatal)."""
        found = []
        for uri in self.folders:
            try:
                found.append(self.get(uri))
            except GitexpError:
                continue
        return found

    @staticmethod
    def _match(folders: dict[str, Path], folder: str) -> str:
        if folder in folders:
            return folder
        target = uri_to_path(folder).resolve()
        inside = [(uri, path) for uri, path in folders.items()
                  if target == path.resolve() or path.resolve() in target.parents]
        if not inside:
            raise GitexpError(f"{folder}: not inside an open workspace folder")
        return max(inside, key=lambda item: len(item[1].parts))[0]


def repo_of_file(path: Path) -> Git:
    """The repository a document lives in (documents may sit outside every workspace folder)."""
    return open_repo(path.parent)
