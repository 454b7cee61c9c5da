"""Show a QueryResult: a terminal table, CSV, JSON or Markdown.

The terminal table must stay readable however long and wide the result is: like DuckDB's own
shell it shows the first and last rows and the columns that fit (the ones that matter most
first), and says in a footer how many rows and columns there are and how many are shown.
Piped, rows are streamed as CSV or tab-separated text, never laid out as a table.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
from typing import IO, Any, Callable, Iterable, Iterator

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


FIRST = ("run", "status")  # columns a screenful keeps before any other
_GAP = 3  # what a column costs besides its cells: padding on both sides and the divider
ELIDED = "…"


def _rank(name: str, position: int, result: QueryResult, first: tuple[str, ...]) -> tuple[int, int]:
    """Which columns a narrow screen keeps: `first`, varying params, metrics, the rest, constant
    params, then the JSON `params`/`metrics` columns (wide, and repeated by the typed ones)."""
    kind = result.kinds.get(name)
    if name in first:
        return 0, first.index(name)
    if kind == "param":
        return (1 if name in result.varying else 4), position
    if kind == "metric":
        return 2, position
    if name in ("params", "metrics"):
        return 5, position
    return 3, position


def _fit(result: QueryResult, widths: list[int], width: int, first: tuple[str, ...]) -> list[int]:
    """Indexes of the columns (of `widths` terminal cells each) that fit in `width`, in the
    result's order, most important kept."""
    order = sorted(range(len(widths)), key=lambda i: _rank(result.columns[i], i, result, first))
    chosen: list[int] = []
    used = 0
    for i in order:
        reserve = 0 if len(chosen) == len(widths) - 1 else len(ELIDED) + _GAP  # room for the … column
        if used + widths[i] + _GAP + reserve > width + _GAP - 1 and chosen:  # the edges have no gap
            break  # strictly by importance: a narrow column further down does not jump the queue
        chosen.append(i)
        used += widths[i] + _GAP
    return sorted(chosen)


def table(result: QueryResult, width: int, first: tuple[str, ...] = FIRST,
          style: Callable[[str, str], str] | None = None) -> Any:
    """A rich renderable `width` columns wide, like DuckDB's shell: the columns that matter most
    (`first`, then params that vary, then metrics), the others elided and counted; the first and
    last rows of a long result with a `·` row between them, and a footer saying what was left out.

    `result` is a screenful (`Results.screen`) or a whole result (cut here to a screenful).
    `style(column, cell)` names a rich style for a cell (the CLI colours statuses).
    Every width is known here (the columns are chosen to fit), so the lines are laid out here
    and rich only styles them: its Table would measure every cell again, a tenth of a second
    for a screenful, more than the query."""
    from rich.cells import cell_len
    from rich.text import Text

    if result.total is None:
        from dataclasses import replace

        from gitexp.index.results import SCREEN_ROWS, _excerpt

        params = [i for i, c in enumerate(result.columns) if result.kinds.get(c) == "param"]
        varying = {result.columns[i] for i in params if len({repr(row[i]) for row in result.rows}) > 1}
        result = _excerpt(replace(result, varying=frozenset(varying)), result.rows, len(result.rows), SCREEN_ROWS)
    total = result.total if result.total is not None else len(result.rows)
    head = result.head if result.head is not None else len(result.rows)
    cells = [[_cut(text(v, short=True)) for v in row] for row in result.rows]
    widths = [max([cell_len(c)] + [cell_len(row[i]) for row in cells]) for i, c in enumerate(result.columns)]
    shown = _fit(result, widths, width, first)
    elided = len(result.columns) - len(shown)
    right = {i for i in shown if _numeric(result.types[i])}
    layout = [(i, widths[i]) for i in shown] + ([(None, len(ELIDED))] if elided else [])
    out = Text(no_wrap=True, overflow="ellipsis")

    def line(values: list[tuple[str, str]], center: bool = False) -> None:
        """One row of (text, style) cells, each padded to its column (numbers to the right)."""
        for number, ((value, look), (i, wide)) in enumerate(zip(values, layout)):
            room = wide - cell_len(value)
            before = room // 2 if center else room if i in right else 0
            out.append(" " * (before + (_GAP if number else 0)))
            out.append(value, style=look)
            if number < len(layout) - 1:
                out.append(" " * (room - before))
        out.append("\n")

    line([(ELIDED if i is None else result.columns[i], "bold") for i, _ in layout])
    out.append("─" * (sum(wide for _, wide in layout) + _GAP * (len(layout) - 1)) + "\n")
    for number, row in enumerate(cells):
        if number == head and head < len(cells):
            line([("·", "")] * len(layout), center=True)
        line([(ELIDED, "") if i is None else (row[i], style(result.columns[i], row[i]) if style else "")
              for i, _ in layout])
    parts = [f"{len(result.rows)} rows" if len(result.rows) < total else "",
             f"{len(shown)} columns" if elided else ""]
    shown_note = ", ".join(p for p in parts if p)
    if shown_note or result.truncated:
        out.append(f"{total:,} row{'s' if total != 1 else ''} x {len(result.columns)} columns"
                   + (f" ({shown_note} shown) · --all shows every one" if shown_note else "")
                   + (" · more rows past --limit" if result.truncated else "") + "\n", style="dim")
    out.rstrip()
    return out


def aligned(columns: list[str], rows: list[tuple[Any, ...]]) -> Iterator[str]:
    """Every row and column as plain, aligned text lines (for `--all` through a pager)."""
    cells = [[text(v, short=True).replace("\n", " ") for v in row] for row in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    yield "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n"
    for row in cells:
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n"


def write_delimited(columns: list[str], types: list[str], batches: Iterable[list[tuple[Any, ...]]],
                    out: IO[str], delimiter: str = ",") -> int:
    """Stream rows as CSV (or tab-separated with `delimiter="\\t"`) as DuckDB hands them over;
    returns the number of rows written."""
    writer = csv.writer(out, lineterminator="\n", delimiter=delimiter)
    writer.writerow(columns)
    # csv writes str, int, float and None (as "") itself; convert only the other columns,
    # with one converter per column (100k-row results stay close to a bare csv.writer).
    convert = [(i, _CSV.get(t.split("(")[0], text)) for i, t in enumerate(types)
               if not (_numeric(t) or t in ("VARCHAR", "JSON"))]

    def fix(row: tuple[Any, ...]) -> list[Any]:
        cells = list(row)
        for i, func in convert:
            if cells[i] is not None:
                cells[i] = func(cells[i])
        return cells

    count = 0
    for rows in batches:
        writer.writerows(map(fix, rows) if convert else rows)
        count += len(rows)
    return count


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return plain(value)
    try:
        return json.loads(value)
    except ValueError:
        return value


def render(result: QueryResult, fmt: str = "table", width: int = 100) -> str:
    """`result` as text in one of FORMATS (`table` is plain text `width` columns wide)."""
    if fmt == "json":
        # JSON columns (`params`, `metrics`, ...) come back from DuckDB as text: give them as objects
        parse = [t == "JSON" for t in result.types]
        rows = [[_parsed(v) if is_json else plain(v) for v, is_json in zip(row, parse)] for row in result.rows]
        return json.dumps({"columns": result.columns, "rows": rows, "truncated": result.truncated}, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        write_delimited(result.columns, result.types, [result.rows], out)
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
