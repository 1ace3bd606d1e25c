"""Write result rows to .xlsx or .csv (UTF-8 with BOM, so Excel shows Chinese), to a file or to a stream.

Text is never a formula: in .xlsx every text cell is a string cell, in .csv a cell that starts with
= + - @, a tab or a carriage return gets a leading ' (what Excel itself writes for such text). In .xlsx the
columns are as wide as their contents (a Chinese character counts two, up to 60), the header row is bold
and frozen, an auto-filter covers the table, and times are real Excel dates (Asia/Shanghai).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from workflow.dates import clock
from workflow.errors import UsageError

FORMATS = ("xlsx", "csv")
# A cell a spreadsheet would run as a formula (CSV/formula injection): shown as text with a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def csv_text(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading ' so that Excel shows it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def width(value: Any) -> int:
    """How many columns a value takes in a spreadsheet (a Chinese character takes two)."""
    if isinstance(value, datetime):
        return len("2024-05-06 23:59")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def _plain(value: Any) -> Any:
    """A value as a cell holds it: text, a number, or a time (yes/no as 是/否; nothing as empty)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "；".join(f"{k}={_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "、".join(str(_plain(v)) for v in value)
    if value is None:
        return ""
    if isinstance(value, (str, int, float, datetime, date)):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.show(value)
    if isinstance(value, date):
        return value.isoformat()
    return csv_text(value)


def write_to(stream: BinaryIO, fmt: str, headers: Mapping[str, str], rows: Sequence[Mapping[str, Any]], sheet: str = "Sheet1") -> None:
    """Write rows (key → Chinese header in `headers`) to a binary stream (a file, an HTTP response) as "xlsx" or "csv"."""
    if fmt not in FORMATS:
        raise UsageError(f"导出格式应是 xlsx 或 csv，实际是 {fmt!r}。", field="format", value=fmt)
    table = [[_plain(r.get(k)) for k in headers] for r in rows]
    if fmt == "csv":
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
        try:
            w = csv.writer(text)
            w.writerow([csv_text(h) for h in headers.values()])
            for cells in table:
                w.writerow([_csv_cell(c) for c in cells])
        finally:
            text.detach()  # the stream stays open: it is the caller's
        return
    _write_xlsx(stream, list(headers.values()), table, sheet)


def _write_xlsx(stream: BinaryIO, heads: list[str], table: list[list[Any]], sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    for i, head in enumerate(heads):
        wide = max([width(head), *(width(cells[i]) for cells in table)])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(MAX_WIDTH, wide + 2)
    ws.freeze_panes = "A2"
    if heads:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(heads))}{len(table) + 1}"
    bold = Font(bold=True)

    def cell(value: Any, head: bool = False) -> Any:
        if isinstance(value, datetime):
            value = value.astimezone(clock.TZ).replace(tzinfo=None) if value.tzinfo else value  # Excel has no time zones
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text, never a formula
        elif isinstance(value, datetime):
            c.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            c.number_format = DATE_FORMAT
        if head:
            c.font = bold
        return c

    ws.append([cell(h, head=True) for h in heads])
    for cells in table:
        ws.append([cell(c) for c in cells])
    wb.save(stream)


def check_path(path: str | Path, fmt: str | None = None) -> Path:
    """The export file's path, refused (usage error) unless it ends in .xlsx or .csv (the one asked for, if given)."""
    p = Path(path)
    suffix = p.suffix.lower()
    wanted = (f".{fmt}",) if fmt else (".xlsx", ".csv")
    if suffix not in wanted:
        raise UsageError(f"导出文件应以 {' 或 '.join(wanted)} 结尾：{p}。", field=fmt or "file", value=str(p))
    return p


def write(path: str | Path, headers: Mapping[str, str], rows: Sequence[Mapping[str, Any]], sheet: str = "Sheet1") -> Path:
    """Write rows to a file; the format follows its suffix (.xlsx or .csv)."""
    p = check_path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        # Open the target first: a write-only workbook that fails half-way prints tracebacks when collected.
        with p.open("wb") as fh:
            write_to(fh, p.suffix.lower()[1:], headers, rows, sheet)
    except OSError as exc:
        raise UsageError(f"无法写入文件 {p}：{exc.strerror}。") from None
    return p
