"""Diagnostics for sweep files, recomputed as the user types.

Each change (re)starts a short timer per document; when it fires, the sweep module checks a
snapshot of the buffer in the pool, and the result is published only if the document has not
changed since (an older, slower check never overwrites a newer one).
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from gitexp_lsp.base import GitexpServer
from gitexp_lsp.sweepdoc import Document, SweepDocs

log = logging.getLogger(__name__)

_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "info": types.DiagnosticSeverity.Information}


def to_lsp(doc: Document, items) -> list[types.Diagnostic]:
    return [types.Diagnostic(range=doc.range(d.line, d.col, d.end_line, d.end_col), message=d.message,
                             severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error), source="gitexp")
            for d in items]


class SweepDiagnostics:
    def __init__(self, server: GitexpServer, sweeps: SweepDocs):
        self.server = server
        self.sweeps = sweeps
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._published: set[str] = set()

    def changed(self, params) -> None:
        uri = params.text_document.uri
        old = self._timers.pop(uri, None)
        if old:
            old.cancel()
        delay = 0 if isinstance(params, types.DidOpenTextDocumentParams) else self.server.options.diagnostics_delay
        loop = asyncio.get_running_loop()
        self._timers[uri] = loop.call_later(delay, lambda: asyncio.ensure_future(self._check(uri)))

    def closed(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        timer = self._timers.pop(uri, None)
        if timer:
            timer.cancel()
        self.sweeps.forget(uri)
        if uri in self._published:
            self._published.discard(uri)
            self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    async def _check(self, uri: str) -> None:
        self._timers.pop(uri, None)
        try:
            result = await self.server.off_loop(self._compute, uri)
        except Exception:
            log.exception("checking %s failed", uri)
            return
        if result is None:
            return
        doc, diagnostics = result
        current = self.server.workspace.text_documents.get(uri)
        if current is None or current.version != doc.version:
            return  # closed or edited meanwhile: the newer check publishes
        self._published.add(uri)
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version))

    def _compute(self, uri: str) -> tuple[Document, list[types.Diagnostic]] | None:
        from gitexp.sweep import check_sweep_text

        doc = self.sweeps.get(uri)
        if doc is None:
            return None
        return doc, to_lsp(doc, check_sweep_text(doc.text, str(doc.path)))


def setup(server: GitexpServer, sweeps: SweepDocs) -> None:
    feature = SweepDiagnostics(server, sweeps)
    server.listen(types.TEXT_DOCUMENT_DID_OPEN, feature.changed)
    server.listen(types.TEXT_DOCUMENT_DID_CHANGE, feature.changed)
    server.listen(types.TEXT_DOCUMENT_DID_SAVE, feature.changed)
    server.listen(types.TEXT_DOCUMENT_DID_CLOSE, feature.closed)
