"""What the database accepts from a person or a file: whole numbers that fit its integers, names in one
normal form, and text without control or direction-override characters.

Every front end and every importer goes through these, so that `advance ٣`, `--limit 1_0`, a committee
name with a zero-width space, or a user name with a newline in it are refused (or normalised) in one place.
"""

from __future__ import annotations

import re
import unicodedata

from workflow.errors import UsageError

MAX_INT = 2**63 - 1  # the database's integer (SQLite INTEGER, PostgreSQL BIGINT)
DIGITS = re.compile(r"[0-9]+")
# Full-width digits (０-９) are what a Chinese input method types: they are read as the ASCII digits.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
# Characters that print as nothing: dropped from names (U+FEFF is also the BOM).
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))
# Characters that reorder the text around them (right-to-left overrides and isolates, marks).
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_BLANKS = re.compile(r"\s+")
MULTILINE_OK = frozenset("\t\n\r")


def is_digits(text: str) -> bool:
    """Whether `text` is ASCII (or full-width) digits 0–9 only: not 1_0, ٣, ², +1 or 1e3, which int() takes."""
    return DIGITS.fullmatch(text.strip().translate(_FULL_WIDTH)) is not None


def parse_int(text: str, what: str, *, low: int = 0, high: int = MAX_INT, field: str = "") -> int:
    """A whole number typed by a person: ASCII (or full-width) digits only, within [low, high]."""
    raw = str(text)
    cleaned = raw.strip().translate(_FULL_WIDTH)
    if not is_digits(cleaned):
        raise UsageError(f"{what}应是由数字 0–9 组成的整数，实际是 {raw!r}。", field=field)
    if len(cleaned.lstrip("0")) > len(str(high)) or not low <= int(cleaned) <= high:
        raise UsageError(f"{what} {cleaned} 超出范围：应在 {low} 到 {high} 之间。", field=field)
    return int(cleaned)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def plain_number(text: str, *, integer: bool = False) -> str | None:
    """`text` as a plain decimal (ASCII or full-width digits, a sign, a point), or None: not 1_0, ٣, 1e3, nan."""
    cleaned = text.strip().translate(_FULL_WIDTH).replace("．", ".").replace("－", "-")
    if len(cleaned) > 40 or not (_INTEGER if integer else _NUMBER).fullmatch(cleaned):
        return None
    return cleaned


def check_int(value: int, what: str, *, low: int = 0, high: int = MAX_INT, field: str = "") -> int:
    """A whole number given by a caller of the library, within [low, high] (else a usage error naming `field`)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what}应是整数，实际是 {value!r}。", field=field)
    if not low <= value <= high:
        raise UsageError(f"{what} {value} 超出范围：应在 {low} 到 {high} 之间。", field=field)
    return value


def fits(value: int) -> bool:
    """Whether an id can name a row at all (positive and within the database's integer)."""
    return 0 < value <= MAX_INT


def bad_character(text: str, *, multiline: bool = False) -> str | None:
    """The first control or direction-override character in `text`, described in Chinese, or None."""
    for i, ch in enumerate(text):
        if multiline and ch in MULTILINE_OK:
            continue
        category = unicodedata.category(ch)
        if ch in BIDI:
            return f"第 {i + 1} 个字符是改变文字方向的控制符 U+{ord(ch):04X}"
        if category in ("Cc", "Zl", "Zp") or (category == "Cf" and ord(ch) not in INVISIBLE):
            return f"第 {i + 1} 个字符是控制字符 U+{ord(ch):04X}" + (
                "（换行或制表符只能用在计划正文和说明中）" if ch in MULTILINE_OK else ""
            )
    return None


def check_text(text: str, what: str, *, multiline: bool = False, field: str = "") -> str:
    """Text a person typed, refused when it holds a control or direction-override character."""
    problem = bad_character(text, multiline=multiline)
    if problem:
        raise UsageError(f"{what}含有不可见的控制字符（{problem}）：请删去后重试。", field=field)
    return text


def normal_name(text: str) -> str:
    """A name's one form: Unicode NFKC, invisible characters dropped, blanks collapsed and trimmed.

    Two names that print the same are then the same name (a committee with a zero-width space or a
    full-width letter in it is the committee without them).
    """
    folded = unicodedata.normalize("NFKC", text).translate(INVISIBLE)
    return _BLANKS.sub(" ", folded).strip()


def clean_name(text: str, what: str) -> str:
    """A name typed or imported: control and direction characters refused, then normalised (`normal_name`)."""
    folded = unicodedata.normalize("NFKC", text).translate(INVISIBLE)
    problem = bad_character(folded.replace("\t", " "))
    if problem:
        raise UsageError(f"{what}含有不可见的控制字符（{problem}）：请删去后重试。")
    return normal_name(text)


def safe_file_name(text: str) -> str:
    """An uploaded file's name without control and direction characters (kept only for display)."""
    kept = "".join(ch for ch in unicodedata.normalize("NFC", text) if bad_character(ch) is None and ord(ch) not in INVISIBLE)
    return _BLANKS.sub(" ", kept).strip() or "附件"
