"""Hover in sweep files: on a param, what past runs of this sweep tried and how well each did;
on `CMD` / `template`, how many runs the file expands to.

"Best" needs a direction: a metric named in the `metricGoals` option uses it, otherwise names
that read as costs (loss, error, perplexity, time, ...) are minimised and the rest maximised.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lsprotocol import types

from gitexp_lsp.base import GitexpServer
from gitexp_lsp.sweepdoc import Document, SweepDocs, run_count, search_section

_COST = re.compile(r"loss|err|perplexity|ppl|mse|mae|rmse|nll|time|latency|wer|cer", re.IGNORECASE)


def goal(metric: str, goals: dict[str, str]) -> str:
    return goals.get(metric) or ("min" if _COST.search(metric) else "max")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def tried_values(key: str, rows: list[dict[str, Any]], goals: dict[str, str]) -> str | None:
    """A markdown table: each value of `key` in `rows` (index rows), its run count and best metric."""
    used = [r for r in rows if key in (r.get("params") or {})]
    if not used:
        return None
    metrics: list[str] = []
    for row in used:
        metrics += [k for k, v in (row.get("metrics") or {}).items() if k not in metrics and _number(v) is not None]
    metric = next((m for m in goals if m in metrics), metrics[0] if metrics else None)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in used:
        groups.setdefault(json.dumps(row["params"][key], default=str), []).append(row)
    direction = goal(metric, goals) if metric else "max"
    arrow = "↓" if direction == "min" else "↑"
    lines = [f"**{key}**: {len(groups)} value(s) tried in {len(used)} run(s) of this sweep", "",
             f"| {key} | runs |" + (f" best {metric} {arrow} |" if metric else ""),
             "|---|---|" + ("---|" if metric else "")]
    for value, group in groups.items():
        cell = ""
        if metric:
            scored = [(_number((r.get("metrics") or {}).get(metric)), r) for r in group]
            scored = [(v, r) for v, r in scored if v is not None]
            if scored:
                best = (min if direction == "min" else max)(scored, key=lambda item: item[0])
                cell = f" {best[0]:.6g} (`{best[1]['name']}`) |"
            else:
                cell = " - |"
        lines.append(f"| `{value}` | {len(group)} |{cell}")
    return "\n".join(lines)


class SweepHover:
    def __init__(self, server: GitexpServer, sweeps: SweepDocs):
        self.server = server
        self.sweeps = sweeps

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        from gitexp.sweep import sweep_outline

        doc = self.sweeps.get(params.text_document.uri)
        if doc is None:
            return None
        where = doc.codec.position_from_client_units(doc.lines, params.position)
        line, col = where.line + 1, where.character + 1
        for item in sweep_outline(doc.text, str(doc.path)):
            if (item.line, item.col) <= (line, col) <= (item.end_line, item.end_col):
                content = self._content(doc, item)
                if content:
                    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=content),
                                       range=doc.range(item.line, item.col, item.end_line, item.end_col))
        return self._search_word(doc, where.line, where.character)

    def _search_word(self, doc: Document, line: int, char: int) -> types.Hover | None:
        """Inside SEARCH / PRUNE: what the key, sampler or pruner under the cursor means."""
        from gitexp.sweep import search

        section = search_section(doc.lines, line)
        text = doc.lines[line] if section and line < len(doc.lines) else ""
        for match in re.finditer(r"[\w-]+", text):
            if match.start() <= char <= match.end():
                word = match.group()
                keys = search.SEARCH_KEYS if section == "search" else search.PRUNE_KEYS
                docs = {**keys, **search.SAMPLERS, **search.PRUNERS} if word not in ("search", "prune") else {}
                if word.lower() in docs:
                    kind = "key" if word.lower() in keys else "sampler" if word.lower() in search.SAMPLERS else "pruner"
                    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                                    value=f"**{word}** ({kind}): {docs[word.lower()]}"),
                                       range=doc.range(line + 1, match.start() + 1, line + 1, match.end() + 1))
        return None

    def _content(self, doc: Document, item) -> str | None:
        if item.kind == "section" and item.name.upper() in ("CMD", "TEMPLATE"):
            count, error = run_count(doc.text, doc.path)
            if error:
                return f"The sweep does not expand yet: {error}"
            return f"**{count} run(s)** when launched (`gitexp run {doc.path.name}`)"
        if item.kind in ("param", "override"):
            return self._history(doc, item.name)
        if item.kind == "section" and item.name.upper() in ("SEARCH", "PRUNE"):
            from gitexp.sweep import search

            keys = search.SEARCH_KEYS if item.name.upper() == "SEARCH" else search.PRUNE_KEYS
            title = "adaptive search (Optuna)" if item.name.upper() == "SEARCH" else "early stopping (Optuna pruners)"
            return f"**{item.name}**: {title}\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in keys.items())
        return None

    def _history(self, doc: Document, key: str) -> str:
        from gitexp import index
        from gitexp.record.git import open_repo
        from gitexp.record.refs import sanitize

        sweep = sanitize(doc.path.stem)
        if doc.root is None:
            return f"**{key}**: not in a git repository, so no past runs"
        _, rows = index.list_runs(open_repo(doc.root), sweep=sweep)
        table = tried_values(key, rows, self.server.options.metric_goals)
        return table or f"**{key}**: no past run of sweep `{sweep}` set it yet"


def setup(server: GitexpServer, sweeps: SweepDocs) -> None:
    server.lsp_request(types.TEXT_DOCUMENT_HOVER, SweepHover(server, sweeps).hover)
