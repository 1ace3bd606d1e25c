"""Read a spreadsheet (.csv in UTF-8/BOM/GBK/GB18030, tab-separated or UTF-16 text, or .xlsx) as header-keyed rows.

A title row above the header ("2024年各分党委支部名单", often merged across the columns), note and blank rows
are skipped when the caller says which headers it expects. Row numbers are the spreadsheet's own.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path, PurePath
from typing import Any

from workflow.errors import NotFound, UsageError

# A cell holds at most what Excel itself allows; larger is a broken or hostile file.
CELL_MAX = 32_767
# An .xlsx is a zip: its parts are refused before parsing when they would inflate past these.
XLSX_PART_MAX = 256 << 20
XLSX_TOTAL_MAX = 512 << 20
XLSX_RATIO_MAX = 200  # real sheets compress 5–50 times; a bomb, hundreds to thousands of times
XLSX_MEMBERS_MAX = 10_000
# How many title, note or blank rows may stand above the header.
TITLE_ROWS_MAX = 5
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
# Encodings as people name them (Excel's save dialog, Notepad), by Python codec name.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "gb18030": "GBK",
    "gbk": "GBK",
    "gb2312": "GBK",
    "hz": "GBK",
    "utf-16": "UTF-16（Unicode 文本）",
    "utf-16-le": "UTF-16（Unicode 文本）",
    "utf-16-be": "UTF-16（Unicode 文本）",
    "big5": "Big5（繁体）",
    "big5hkscs": "Big5（繁体）",
    "xlsx": "Excel 文件",
}
_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def encoding_label(encoding: str) -> str:
    """An encoding as people name it: GBK, UTF-8, Excel 文件 (not gb18030 or utf_8)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = encoding.lower()
    return ENCODING_LABELS.get(name, ENCODING_LABELS.get(encoding.lower(), encoding.upper().replace("_", "-")))


@dataclass(frozen=True)
class Table:
    """Rows keyed by header, each with its spreadsheet row number (the header is row 1 unless a title stands above it)."""

    headers: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    encoding: str
    header_row: int = 1

    @property
    def encoding_label(self) -> str:
        """The encoding as people name it (GBK, UTF-8, Excel 文件)."""
        return encoding_label(self.encoding)


def read(
    path: str | Path, encoding: str | None = None, sheet: str | None = None, expected: Sequence[str] | None = None
) -> Table:
    """Read a .csv or .xlsx file; `encoding` overrides detection for CSV."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"找不到文件：{p}。请检查路径。")
    return parse(p.read_bytes(), str(p), encoding, sheet, expected)


def parse(
    data: bytes, name: str, encoding: str | None = None, sheet: str | None = None, expected: Sequence[str] | None = None
) -> Table:
    """Read the bytes of a .csv/.txt/.tsv or .xlsx file called `name` (an upload has bytes and a name, no path).

    With `expected` headers, title and blank rows above the header row (the first row naming one of them) are skipped."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(data, name, sheet, expected)
    if suffix in TEXT_SUFFIXES:
        return _read_csv(data, name, encoding, expected)
    raise UsageError(
        f"不支持的文件类型 {suffix or '（无扩展名）'}：请提供 .csv 或 .xlsx 文件（.xls 请先在 Excel 中另存为 .xlsx）。"
    )


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode text bytes: the given encoding, else UTF-16 with its BOM (Excel's "Unicode 文本"), UTF-8 (BOM or
    not), GB18030, then detection."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"未知的编码 {encoding!r}：可用 utf-8、gbk、gb18030 等。") from None
        try:
            return _no_nul(data.decode(encoding)), encoding
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"文件不是 {encoding_label(encoding)} 编码（第 {exc.start} 字节处无法解码）。",
                hint="请不指定编码，让程序自动识别。",
                field="encoding",
            ) from None
    if data.startswith(_BOMS):
        try:
            return _no_nul(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"文件以 UTF-16（Unicode 文本）标记开头，但第 {exc.start} 字节处无法解码。",
                hint="请在 Excel 中另存为“CSV UTF-8”，或指定文件的编码。",
                field="encoding",
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return _no_nul(data[3:].decode("utf-8", errors="strict")), "utf-8-sig"
        except UnicodeDecodeError as exc:
            at = exc.start + 3
            raise UsageError(
                f"文件以 UTF-8 标记（BOM）开头，但第 {_line_of(data, at)} 行（第 {at} 字节）不是 UTF-8 编码（可能混入了 GBK）。",
                hint="请在 Excel 中另存为“CSV UTF-8”，或指定文件的编码。",
                field="encoding",
            ) from None
    try:
        return _no_nul(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return _no_nul(data.decode("gb18030")), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UsageError("无法识别文件编码。", hint="请在 Excel 中另存为“CSV UTF-8”，或指定编码。", field="encoding")
    return _no_nul(str(best)), best.encoding


def _line_of(data: bytes | str, offset: int) -> int:
    newline: Any = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, offset) + 1


def _no_nul(text: str) -> str:
    """Refuse text with a NUL (a binary file, or UTF-16 read as something else), naming the line."""
    at = text.find("\x00")
    if at >= 0:
        raise UsageError(
            f"文件第 {_line_of(text, at)} 行含有空字符（NUL，第 {at + 1} 个字符）：这不是文本 CSV（可能是二进制文件或 UTF-16），"
            "请在 Excel 中另存为“CSV UTF-8”。"
        )
    return text


def _check_cells(cells: list[Any], number: int) -> None:
    for column, value in enumerate(cells, start=1):
        if isinstance(value, str) and len(value) > CELL_MAX:
            raise UsageError(f"第 {number} 行第 {column} 列的内容有 {len(value)} 个字符，超过上限 {CELL_MAX}：请检查文件。")


def _check_zip(data: bytes, p: str) -> None:
    """Refuse an .xlsx whose parts would inflate past the caps, before any of them is parsed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UsageError(f"无法读取 Excel 文件 {p}：{exc}。请确认是 .xlsx 格式。") from None
    if len(members) > XLSX_MEMBERS_MAX:
        raise UsageError(f"Excel 文件 {p} 含有 {len(members)} 个部件，超过上限 {XLSX_MEMBERS_MAX}：不像是正常的表格。")
    total = 0
    for m in members:
        total += m.file_size
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > XLSX_PART_MAX or (ratio > XLSX_RATIO_MAX and m.file_size > 1 << 20):
            raise UsageError(
                f"Excel 文件 {p} 的部件 {m.filename} 解压后有 {m.file_size:,} 字节（压缩比 {ratio:,.0f}），超过上限：拒绝读取。"
                "请另存为新的 .xlsx 或 CSV 后再导入。"
            )
    if total > XLSX_TOTAL_MAX:
        raise UsageError(f"Excel 文件 {p} 解压后共 {total:,} 字节，超过上限 {XLSX_TOTAL_MAX:,}：拒绝读取。请拆分后再导入。")


def _delimiter(text: str) -> str:
    """A tab when the text's first lines hold more tabs than commas (Excel's "文本文件（制表符分隔）" and "Unicode 文本")."""
    head = text[:8192]
    return "\t" if head.count("\t") > head.count(",") else ","


def _header_at(first: Sequence[Sequence[Any]], expected: Sequence[str] | None) -> int:
    """Index of the header among the first rows: the first naming an expected header, past the title, blank
    and note rows above it ("2024年各分党委支部名单", merged or not; "填报单位：… 填报日期：…"). Else the first row."""
    if not expected:
        return 0
    wanted = set(expected)
    for i, cells in enumerate(first):
        if {str(c).strip() for c in cells if c is not None} & wanted:
            return i
    return 0


def _split(rows: Iterable[Sequence[Any]], expected: Sequence[str] | None) -> tuple[int, Sequence[Any], Iterator[Sequence[Any]]]:
    """(the header's row number, the header, the rows after it) of a sheet's rows."""
    it = iter(rows)
    first = list(islice(it, TITLE_ROWS_MAX + 1))
    if not first:
        raise StopIteration
    at = _header_at(first, expected)
    for number, cells in enumerate(first[: at + 1], start=1):
        _check_cells(list(cells), number)
    return at + 1, first[at], chain(first[at + 1 :], it)


def _read_csv(data: bytes, p: str, encoding: str | None, expected: Sequence[str] | None) -> Table:
    text, used = decode(data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        at, first, rest = _split(reader, expected)
    except StopIteration:
        raise UsageError(f"文件是空的：{p}。") from None
    except csv.Error as exc:
        raise UsageError(f"CSV 格式有误：{_csv_problem(exc)}。") from None
    headers = [h.strip() for h in first]
    rows = []
    try:
        for number, cells in enumerate(rest, start=at + 1):
            _check_cells(list(cells), number)
            if not any(c.strip() for c in cells):
                continue
            rows.append((number, _keyed(headers, list(cells), number)))
    except csv.Error as exc:
        raise UsageError(f"CSV 格式有误（第 {reader.line_num} 行）：{_csv_problem(exc)}。") from None
    return Table(headers, rows, used, at)


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"有一格的内容超过 {csv.field_size_limit():,} 个字符（上限 {CELL_MAX}），请检查文件"
    return str(exc)


def _keyed(headers: list[str], cells: list[Any], number: int) -> dict[str, Any]:
    if len(cells) > len(headers) and any(str(c).strip() for c in cells[len(headers) :] if c is not None):
        return {"__extra__": f"第 {number} 行的列数（{len(cells)}）多于表头（{len(headers)}）"}
    return {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers) if h}


def _read_xlsx(data: bytes, p: str, sheet: str | None, expected: Sequence[str] | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_zip(data, p)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UsageError(f"无法读取 Excel 文件 {p}：{exc}。请确认是 .xlsx 格式。") from None
    try:
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        try:
            at, first, rest = _split(ws.iter_rows(values_only=True), expected)
        except StopIteration:
            raise UsageError(f"工作表是空的：{p}。") from None
        headers = [str(h).strip() if h is not None else "" for h in first]
        rows = []
        for number, cells in enumerate(rest, start=at + 1):
            values = ["" if c is None else c for c in cells]
            _check_cells(values, number)
            if not any(str(v).strip() for v in values):
                continue
            rows.append((number, _keyed(headers, values, number)))
    finally:
        wb.close()
    return Table(headers, rows, "xlsx", at)


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


def template(
    sheet: str, headers: Sequence[str], example: Sequence[str], notes: Sequence[tuple[str, str, str]] = ()
) -> bytes:
    """An .xlsx to fill in: the header row, one example row, and (with `notes`: column, required, format) a
    second sheet 填写说明. Every cell is text, as the importers read it."""
    import unicodedata

    from openpyxl import Workbook
    from openpyxl.styles import Font

    def text(ws: Any, row: int, column: int, value: str, bold: bool = False) -> None:
        c = ws.cell(row=row, column=column)
        c.value, c.data_type, c.number_format = value, "s", "@"
        if bold:
            c.font = Font(bold=True)

    def fit(ws: Any, columns: Sequence[Sequence[str]]) -> None:
        from openpyxl.utils import get_column_letter

        for i, values in enumerate(columns, start=1):
            wide = max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in v) for v in values)
            ws.column_dimensions[get_column_letter(i)].width = min(wide + 2, 60)

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for column, (h, v) in enumerate(zip(headers, example, strict=True), start=1):
        text(ws, 1, column, h, bold=True)
        text(ws, 2, column, v)
    ws.freeze_panes = "A2"
    fit(ws, [[h, v] for h, v in zip(headers, example, strict=True)])
    if notes:
        guide = wb.create_sheet("填写说明")
        for row, line in enumerate([("列", "是否必填", "填写方式"), *notes], start=1):
            for column, value in enumerate(line, start=1):
                text(guide, row, column, value, bold=row == 1)
        guide.freeze_panes = "A2"
        fit(guide, list(zip(*[("列", "是否必填", "填写方式"), *notes], strict=True)))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
