"""Code lenses `Run sweep (N runs)` and `Dry run` on a sweep file's command, and the commands
they invoke. The server does not launch runs itself: it answers the exact command line (and
the folder to run it in) so the client runs it in a terminal the user can watch and stop.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from lsprotocol import types

from gitexp.errors import GitexpError
from gitexp_lsp.base import GitexpServer
from gitexp_lsp.repos import uri_to_path
from gitexp_lsp.sweepdoc import SweepDocs, run_count

RUN, DRY_RUN = "gitexp.runSweep", "gitexp.dryRun"
_COMMAND_KEY = re.compile(r"^(?:cmd|template)\s*:", re.IGNORECASE | re.MULTILINE)


class SweepLens:
    def __init__(self, server: GitexpServer, sweeps: SweepDocs):
        self.server = server
        self.sweeps = sweeps

    def lenses(self, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        doc = self.sweeps.get(params.text_document.uri)
        if doc is None:
            return None
        match = _COMMAND_KEY.search(doc.text)
        line = doc.text.count("\n", 0, match.start()) if match else 0
        where = types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=0))
        count, error = run_count(doc.text, doc.path)
        title = f"Run sweep ({count} run{'s' if count != 1 else ''})" if error is None else "Run sweep (has errors)"
        return [types.CodeLens(range=where, command=types.Command(title=title, command=RUN, arguments=[doc.uri])),
                types.CodeLens(range=where, command=types.Command(title="Dry run", command=DRY_RUN,
                                                                  arguments=[doc.uri]))]

    def command_line(self, dry: bool, *arguments: Any) -> dict[str, Any]:
        if len(arguments) != 1 or not isinstance(arguments[0], str):
            raise GitexpError(f"{DRY_RUN if dry else RUN}: expected one argument, the sweep file's URI")
        path = uri_to_path(arguments[0])
        root = self.sweeps.root_of(path)
        shown = path.relative_to(root).as_posix() if root and root in path.parents else str(path)
        return {"command": f"gitexp run {'-n ' if dry else ''}{shlex.quote(shown)}",
                "cwd": str(root or path.parent)}


def setup(server: GitexpServer, sweeps: SweepDocs) -> None:
    feature = SweepLens(server, sweeps)
    server.lsp_request(types.TEXT_DOCUMENT_CODE_LENS, feature.lenses, types.CodeLensOptions(resolve_provider=False))
    server.add_command(RUN, lambda *args: feature.command_line(False, *args))
    server.add_command(DRY_RUN, lambda *args: feature.command_line(True, *args))
