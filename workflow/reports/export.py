"""Write result rows to .xlsx (Chinese headers) or .csv (UTF-8 with BOM, so Excel shows Chinese)."""

from __future__ import annotations

import csv
import json
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


def write(path: str | Path, headers: Mapping[str, str], rows: Sequence[Mapping[str, Any]], sheet: str = "Sheet1") -> Path:
    """Write rows with the given key → Chinese header mapping; the file type follows the suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(f"导出文件应以 .xlsx 或 .csv 结尾：{p}。")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            with p.open("w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(headers.values())
                for r in rows:
                    w.writerow([_flat(r.get(k)) for k in headers])
        else:
            from openpyxl import Workbook

            # Open the target first: a write-only workbook that fails half-way prints tracebacks when collected.
            with p.open("wb") as fh:
                wb = Workbook(write_only=True)
                ws = wb.create_sheet(sheet[:31])
                ws.append(list(headers.values()))
                for r in rows:
                    ws.append([_flat(r.get(k)) for k in headers])
                wb.save(fh)
    except OSError as exc:
        raise UsageError(f"无法写入文件 {p}：{exc.strerror}。") from None
    return p
