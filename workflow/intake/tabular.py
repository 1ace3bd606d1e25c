"""Read a spreadsheet (.csv in UTF-8/BOM/GBK/GB18030, or .xlsx) as header-keyed rows."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workflow.errors import NotFound, UsageError


@dataclass(frozen=True)
class Table:
    """Rows keyed by header, each with its spreadsheet row number (the header is row 1)."""

    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    encoding: str


def read(path: str | Path, encoding: str | None = None, sheet: str | None = None) -> Table:
    """Read .csv or .xlsx; `encoding` overrides detection for CSV."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"找不到文件：{p}。请检查路径。")
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(p, sheet)
    if suffix in (".csv", ".txt"):
        return _read_csv(p, encoding)
    raise UsageError(f"不支持的文件类型 {suffix or '（无扩展名）'}：请提供 .csv 或 .xlsx 文件（.xls 请先在 Excel 中另存为 .xlsx）。")


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes: the given encoding, else UTF-8 (BOM or not), GB18030, then detection."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise UsageError(f"未知的编码 {encoding!r}：可用 utf-8、gbk、gb18030 等。") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"文件不是 {encoding} 编码（第 {exc.start} 字节处无法解码）：请去掉 --encoding 让程序自动识别。") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UsageError("无法识别文件编码：请在 Excel 中另存为“CSV UTF-8”，或用 --encoding 指定。")
    return str(best), best.encoding


def _read_csv(p: Path, encoding: str | None) -> Table:
    text, used = decode(p.read_bytes(), encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UsageError(f"文件是空的：{p}。") from None
    except csv.Error as exc:
        raise UsageError(f"CSV 格式有误：{exc}。") from None
    rows = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            rows.append((number, _keyed(headers, cells, number)))
    except csv.Error as exc:
        raise UsageError(f"CSV 格式有误（第 {reader.line_num} 行）：{exc}。") from None
    return Table(headers, rows, used)


def _keyed(headers: list[str], cells: list[Any], number: int) -> dict[str, Any]:
    if len(cells) > len(headers) and any(str(c).strip() for c in cells[len(headers) :] if c is not None):
        return {"__extra__": f"第 {number} 行的列数（{len(cells)}）多于表头（{len(headers)}）"}
    return {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers) if h}


def _read_xlsx(p: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UsageError(f"无法读取 Excel 文件 {p}：{exc}。请确认是 .xlsx 格式。") from None
    try:
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        try:
            headers = [str(h).strip() if h is not None else "" for h in next(it)]
        except StopIteration:
            raise UsageError(f"工作表是空的：{p}。") from None
        rows = []
        for number, cells in enumerate(it, start=2):
            values = ["" if c is None else c for c in cells]
            if not any(str(v).strip() for v in values):
                continue
            rows.append((number, _keyed(headers, values, number)))
    finally:
        wb.close()
    return Table(headers, rows, "xlsx")


def require_headers(table: Table, required: list[str]) -> None:
    """Refuse a table missing any required header, naming them all."""
    missing = [h for h in required if h not in table.headers]
    if missing:
        raise UsageError(
            f"表头缺少：{'、'.join(missing)}。第一行应包含：{'、'.join(required)}。",
            details=[f"实际表头：{'、'.join(h for h in table.headers if h)}"],
        )


def cell(row: dict[str, Any], key: str) -> str:
    """A cell as stripped text (numbers from Excel without a trailing .0)."""
    value = row.get(key, "")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if value is not None else ""
