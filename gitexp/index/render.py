"""Show a QueryResult: a terminal table, CSV, JSON or Markdown.

The terminal table must stay readable however wide the result is: when the columns do not
fit the terminal, each row is shown as a block of `column  value` lines instead (like
psql's expanded display) rather than squeezing every column to a sliver.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from typing import Any

from gitexp.errors import GitexpError
from gitexp.index.query import QueryResult

FORMATS = ("table", "csv", "json", "markdown")
_CELL_MAX = 40  # a terminal cell wider than this is cut with an ellipsis
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def plain(value: Any) -> Any:
    """A JSON-ready value: times as ISO text, non-finite numbers as strings (like the record)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def text(value: Any, short: bool = False) -> str:
    """One cell as text; `short` rounds floats and trims times for the terminal."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if short else repr(value)
    if short and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    value = plain(value)
    return value if isinstance(value, str) else json.dumps(value)


_CSV = {"BOOLEAN": lambda v: "true" if v else "false", "TIMESTAMP WITH TIME ZONE": dt.datetime.isoformat,
        "TIMESTAMP": dt.datetime.isoformat, "DATE": dt.date.isoformat}


def _numeric(sql_type: str) -> bool:
    return sql_type.upper().startswith(_NUMERIC)


def _cut(cell: str) -> str:
    cell = cell.replace("\n", " ")
    return cell if len(cell) <= _CELL_MAX else cell[: _CELL_MAX - 1] + "…"


def table(result: QueryResult, width: int) -> Any:
    """A rich renderable for a terminal `width` columns wide."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cells = [[_cut(text(v, short=True)) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(result.columns)]
    footer = [Text("… more rows (raise --limit to see them)", style="dim")] if result.truncated else []
    if sum(widths) + 3 * len(widths) + 1 <= width or len(result.columns) <= 1:
        grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for name, sql_type in zip(result.columns, result.types):
            grid.add_column(name, justify="right" if _numeric(sql_type) else "left", no_wrap=True)
        for row in cells:
            grid.add_row(*map(Text, row))  # query results are data, never markup
        return Group(grid, *footer)
    label = max(len(c) for c in result.columns)
    blocks: list[Any] = []
    for number, row in enumerate(cells, start=1):
        blocks.append(Text(f"-[ row {number} ]" + "-" * max(0, min(width, 60) - 12 - len(str(number))), style="dim"))
        for name, cell in zip(result.columns, row):
            blocks.append(Text.assemble((name.ljust(label), "bold"), "  ", cell))
    return Group(*blocks, *footer)


def render(result: QueryResult, fmt: str = "table", width: int = 100) -> str:
    """`result` as text in one of FORMATS (`table` is plain text `width` columns wide)."""
    if fmt == "json":
        return json.dumps({"columns": result.columns, "rows": [[plain(v) for v in row] for row in result.rows],
                           "truncated": result.truncated}, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        # csv writes str, int, float and None (as "") itself; convert only the other columns,
        # with one converter per column (100k-row results stay close to a bare csv.writer).
        convert = [(i, _CSV.get(t.split("(")[0], text)) for i, t in enumerate(result.types)
                   if not (_numeric(t) or t in ("VARCHAR", "JSON"))]
        def fix(row: tuple[Any, ...]) -> list[Any]:
            cells = list(row)
            for i, func in convert:
                if cells[i] is not None:
                    cells[i] = func(cells[i])
            return cells
        writer.writerows(map(fix, result.rows) if convert else result.rows)
        return out.getvalue()
    if fmt == "markdown":
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        align = ["---:" if _numeric(t) else "---" for t in result.types]
        body = [line([text(v) for v in row]) for row in result.rows]
        return "\n".join([line(result.columns), "| " + " | ".join(align) + " |", *body]) + "\n"
    if fmt == "table":
        from rich.console import Console

        console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
        console.print(table(result, width))
        return console.file.getvalue()  # type: ignore[attr-defined]
    raise GitexpError(f"unknown output format {fmt!r}: choose one of {', '.join(FORMATS)}")
