"""Write result rows to .xlsx (Chinese headers) or .csv (UTF-8 with BOM, so Excel shows Chinese)."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from workflow.dates import clock
from workflow.errors import UsageError


def _flat(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.show(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else value


# A cell a spreadsheet would run as a formula (CSV/formula injection): shown as text with a leading '.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


def csv_text(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading ' so that Excel shows it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def width(value: Any) -> int:
    """How many columns a value takes in a spreadsheet (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def write(path: str | Path, headers: Mapping[str, str], rows: Sequence[Mapping[str, Any]], sheet: str = "Sheet1") -> Path:
    """Write rows with the given key → Chinese header mapping; the file type follows the suffix.

    Text is never a formula (CSV: a leading '; Excel: string cells), the columns are as wide as their
    contents (up to 60) and the header row stays in view (frozen).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(f"导出文件应以 .xlsx 或 .csv 结尾：{p}。")
    table = [[_flat(r.get(k)) for k in headers] for r in rows]
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            with p.open("w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow([csv_text(h) for h in headers.values()])
                for cells in table:
                    w.writerow([csv_text(c) for c in cells])
        else:
            from openpyxl import Workbook
            from openpyxl.cell import WriteOnlyCell
            from openpyxl.styles import Font
            from openpyxl.utils import get_column_letter

            # Open the target first: a write-only workbook that fails half-way prints tracebacks when collected.
            with p.open("wb") as out:
                wb = Workbook(write_only=True)
                ws = wb.create_sheet(sheet[:31])
                for i, head in enumerate(headers.values()):
                    wide = max([width(head), *(width(cells[i]) for cells in table)])
                    ws.column_dimensions[get_column_letter(i + 1)].width = min(MAX_WIDTH, wide + 2)
                ws.freeze_panes = "A2"

                def cell(value: Any, bold: bool = False) -> Any:
                    c = WriteOnlyCell(ws, value=value)
                    if isinstance(value, str):
                        c.data_type = "s"  # text, never a formula
                    if bold:
                        c.font = Font(bold=True)
                    return c

                ws.append([cell(h, bold=True) for h in headers.values()])
                for cells in table:
                    ws.append([cell(c) for c in cells])
                wb.save(out)
    except OSError as exc:
        raise UsageError(f"无法写入文件 {p}：{exc.strerror}。") from None
    return p
