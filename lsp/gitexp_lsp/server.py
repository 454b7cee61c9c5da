"""Wiring only: build the server and let each feature register itself."""

from __future__ import annotations

from gitexp import __version__
from gitexp_lsp import browse, completion, diagnostics, hover, lens, manage, session, symbols
from gitexp_lsp.base import GitexpServer
from gitexp_lsp.sweepdoc import SweepDocs


def create_server() -> GitexpServer:
    server = GitexpServer("gitexp", __version__)
    session.setup(server)
    browse.setup(server)
    manage.setup(server)
    sweeps = SweepDocs(server)
    for feature in (diagnostics, hover, completion, lens, symbols):
        feature.setup(server, sweeps)
    return server
