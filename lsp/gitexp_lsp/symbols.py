"""Document symbols (outline view) of a sweep file: sections with their params nested inside.

The sweep module reports keys in file order with their ranges; a key indented deeper than
the last section belongs to it.
"""

from __future__ import annotations

from lsprotocol import types

from gitexp_lsp.base import GitexpServer
from gitexp_lsp.sweepdoc import SweepDocs

_KIND = {"section": types.SymbolKind.Namespace, "param": types.SymbolKind.Variable,
         "command": types.SymbolKind.Function, "override": types.SymbolKind.Property}


def _detail(values: tuple) -> str:
    shown = ", ".join(str(v) for v in values[:6]) + (", ..." if len(values) > 6 else "")
    return f"[{shown}]" if len(values) > 1 else shown


class SweepSymbols:
    def __init__(self, server: GitexpServer, sweeps: SweepDocs):
        self.server = server
        self.sweeps = sweeps

    def symbols(self, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        from gitexp.sweep import sweep_outline

        doc = self.sweeps.get(params.text_document.uri)
        if doc is None:
            return None
        top: list[types.DocumentSymbol] = []
        section, section_col = None, 0
        for item in sweep_outline(doc.text, str(doc.path)):
            where = doc.range(item.line, item.col, item.end_line, item.end_col)
            symbol = types.DocumentSymbol(name=item.name, kind=_KIND.get(item.kind, types.SymbolKind.Key),
                                          range=where, selection_range=where, detail=_detail(item.values) or None,
                                          children=[] if item.kind == "section" else None)
            if item.kind != "section" and section is not None and item.col > section_col:
                section.children.append(symbol)
                section.range = types.Range(start=section.range.start, end=where.end)
                continue
            top.append(symbol)
            section, section_col = (symbol, item.col) if item.kind == "section" else (None, 0)
        return top


def setup(server: GitexpServer, sweeps: SweepDocs) -> None:
    server.lsp_request(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, SweepSymbols(server, sweeps).symbols)
