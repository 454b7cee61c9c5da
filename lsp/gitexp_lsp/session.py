"""The session: options and workspace folders at start, the run watcher while the client is
connected, and `gitexp/runsChanged` when runs change.

Before a change is announced the index is brought up to date in the watcher's thread, so the
client's refresh that follows is answered from a warm index.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from gitexp.errors import GitexpError
from gitexp_lsp.base import GitexpServer
from gitexp_lsp.options import parse_options
from gitexp_lsp.watch import Watcher

log = logging.getLogger(__name__)

RUNS_CHANGED = "gitexp/runsChanged"


class Session:
    def __init__(self, server: GitexpServer):
        self.server = server
        self.watcher: Watcher | None = None
        self._notices: list[str] = []

    def initialize(self, params: types.InitializeParams) -> None:
        self.server.loop = asyncio.get_running_loop()
        self.server.options, self._notices = parse_options(params.initialization_options)
        folders = [f.uri for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [params.root_uri]
        self.server.repos.set_folders(folders)

    def initialized(self, params: types.InitializedParams) -> None:
        for notice in self._notices:
            self.server.notice(notice)
        options = self.server.options
        self.watcher = Watcher(self._repos, self._changed, options.watch_interval, options.debounce,
                               options.max_delay)
        self.watcher.start()
        self.server.pool.submit(self._warm)

    def folders_changed(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.removed:
            self.server.repos.remove(folder.uri)
        for folder in params.event.added:
            self.server.repos.add(folder.uri)
        self.server.pool.submit(self._warm)

    def shutdown(self, params: None) -> None:
        if self.watcher:
            self.watcher.stop()

    def _repos(self):
        return [(uri, git.common_dir) for uri, git in self.server.repos.all()]

    def _warm(self) -> None:
        """Build or refresh every folder's index in the background, so the first request is fast."""
        from gitexp import index

        for uri, git in self.server.repos.all():
            try:
                index.list_runs(git, limit=1)
            except GitexpError as error:
                log.warning("%s: index not ready: %s", uri, error)
                continue
            if uri not in self.server.warm:
                # Answers given from the refs alone (quick sweeps) lacked running counts.
                self.server.warm.add(uri)
                self.server.runs_changed(uri)
                self.server.send_from_thread(self.server.protocol.notify, RUNS_CHANGED, {"runs": [], "folder": uri})

    def _changed(self, uri: str, runs: list[str]) -> None:
        from gitexp import index

        self.server.runs_changed(uri)
        try:
            index.list_runs(self.server.repos.get(uri)[1], limit=1)
        except GitexpError as error:
            log.warning("%s: index refresh failed: %s", uri, error)
        self.server.send_from_thread(self.server.protocol.notify, RUNS_CHANGED, {"runs": runs, "folder": uri})


def setup(server: GitexpServer) -> Session:
    session = Session(server)
    server.listen(types.INITIALIZE, session.initialize)
    server.listen(types.INITIALIZED, session.initialized)
    server.listen(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, session.folders_changed)
    server.listen(types.SHUTDOWN, session.shutdown)
    return session
