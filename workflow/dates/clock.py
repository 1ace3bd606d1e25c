"""Time in one place: Asia/Shanghai for people, naive UTC in the database, `now` always passed in."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from workflow.errors import UsageError

TZ = ZoneInfo("Asia/Shanghai")


def real_now() -> datetime:
    """The real clock, in Asia/Shanghai (only the CLI and the scheduler call this)."""
    return datetime.now(TZ)


def end_of_day(day: date) -> datetime:
    """A due date given as a day means the end of that day in Asia/Shanghai."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=TZ)


# Every date a user or a spec gives lies in these years (the working-day calendar and the database agree on them).
FIRST_YEAR = 2000
LAST_YEAR = 2100

# 2024-05-06, 2024-5-6, 2024/5/6 or 2024年5月6日; then an optional time 9:00, 09:00, 09:00:00(.5), after a blank or
# a T; then an optional offset (Z, +08:00, +0800). Full-width digits and colons are read as ASCII (NFKC).
_MOMENT_RX = re.compile(
    r"""(?P<y>\d{4})\s*(?:(?P<sep>[-/])\s*(?P<m1>\d{1,2})\s*(?P=sep)\s*(?P<d1>\d{1,2})|年\s*(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日?)
        (?:(?:\s*T\s*|\s+|(?<=日))(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?
        \s*(?P<tz>Z|[+-]\d{2}:?\d{2})?""",
    re.VERBOSE,
)


def check_year(year: int, what: str = "年度") -> int:
    """A campaign year (or any year a user gives) lies in 2000–2100, else a usage error."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"{what}应在 {FIRST_YEAR} 到 {LAST_YEAR} 年之间，实际是 {year}。")
    return year


def in_range(day: date) -> bool:
    """Whether a day lies in the years every date must lie in."""
    return FIRST_YEAR <= day.year <= LAST_YEAR


def parse_day(text: str, name: str = "") -> date:
    """The one parser for a day a user types (see `parse_moment`); a time is refused."""
    return _parse(text, name, date_only=True)[0]


def parse_moment(text: str, name: str = "", *, bare_day: str = "end", field: str = "") -> datetime:
    """The one parser for a date and time a user types, in Asia/Shanghai unless an offset is given.

    Accepts 2024-05-06, 2024-5-6, 2024/5/6 and 2024年5月6日, each with an optional time (9:00, 09:00,
    09:00:30, after a blank or a T) and offset; a bare day is its start or end (`bare_day`). Impossible
    dates (2024-02-30) and years outside 2000–2100 are refused in one line naming `name` (e.g. "当前时间") and carrying `field`.
    """
    day, moment = _parse(text, name, date_only=False, field=field)
    if moment is not None:
        return moment
    return end_of_day(day) if bare_day == "end" else datetime.combine(day, time(0, 0), tzinfo=TZ)


def _parse(text: str, name: str, *, date_only: bool, field: str = "") -> tuple[date, datetime | None]:
    # A name in Chinese runs on (截止时间的…); anything else is set off by a blank (--now 的…).
    prefix = (f"{name}的" if unicodedata.east_asian_width(name[-1]) in "WF" else f"{name} 的") if name else ""
    raw = str(text)
    cleaned = unicodedata.normalize("NFKC", raw).strip()
    m = _MOMENT_RX.fullmatch(cleaned)
    if m is None or (date_only and m.group("H") is not None):
        what, example = ("日期", "2024-09-30") if date_only else ("时间", "2024-09-30 09:00 或 2024-09-30")
        if date_only and m is not None:
            raise UsageError(f"{prefix}日期只填年月日：{raw!r}，请写成 2024-09-30（指当天结束）。", field=field)
        raise UsageError(f"{prefix}{what}格式不对：{raw!r}，请写成 {example}。", field=field)
    year = int(m.group("y"))
    month = int(m.group("m1") or m.group("m2"))
    dom = int(m.group("d1") or m.group("d2"))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(f"{prefix}日期超出范围：{raw!r}，年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field=field)
    try:
        day = date(year, month, dom)
    except ValueError:
        why = f"没有 {month} 月" if not 1 <= month <= 12 else f"{year} 年 {month} 月没有 {dom} 日"
        raise UsageError(f"{prefix}日期不存在：{raw!r}（{why}）。", field=field) from None
    if m.group("H") is None:
        if m.group("tz"):
            raise UsageError(f"{prefix}时间格式不对：{raw!r}，时区只能跟在时刻后面，如 2024-09-30T09:00+08:00。", field=field)
        return day, None
    hour, minute, second = int(m.group("H")), int(m.group("M")), int(m.group("S") or 0)
    micro = int((m.group("f") or "0").ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        raise UsageError(f"{prefix}时间不存在：{raw!r}（时应在 0–23，分、秒应在 0–59）。", field=field)
    zone: tzinfo = TZ
    if m.group("tz"):
        tz_text = m.group("tz")
        if tz_text == "Z":
            zone = UTC
        else:
            sign = -1 if tz_text[0] == "-" else 1
            hh, mm = int(tz_text[1:3]), int(tz_text[-2:])
            if hh > 14 or mm > 59:
                raise UsageError(f"{prefix}时区不存在：{raw!r}（应在 -14:00 到 +14:00 之间）。", field=field)
            zone = timezone(sign * timedelta(hours=hh, minutes=mm))
    moment = datetime(year, month, dom, hour, minute, second, micro, tzinfo=zone).astimezone(TZ)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise UsageError(f"{prefix}日期超出范围：{raw!r}，年份应在 {FIRST_YEAR} 到 {LAST_YEAR} 之间。", field=field)
    return moment.date(), moment


def parse_date(text: str) -> date:
    """A day a user types (2024-05-06, 2024/5/6, 2024年5月6日), or a usage error."""
    return parse_day(text)


def parse_deadline(text: str, name: str = "新的截止时间", field: str = "until") -> datetime:
    """A deadline: a bare day means the end of that day, a time is taken as given."""
    return parse_moment(text, name, bare_day="end", field=field)


def to_db(moment: datetime) -> datetime:
    """Aware datetime → naive UTC for storage (sortable, the same on SQLite and PostgreSQL)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime passed where an aware one is required")
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: datetime) -> datetime:
    """Naive UTC from the database → aware Asia/Shanghai."""
    return moment.replace(tzinfo=UTC).astimezone(TZ)


def show(moment: datetime | None) -> str:
    """How a time is written for people: 2024-09-30 23:59 (Asia/Shanghai)."""
    if moment is None:
        return ""
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def iso(moment: datetime | None) -> str:
    """ISO-8601 with offset, to the second, for JSON and stored inputs ('' for None)."""
    return moment.astimezone(TZ).isoformat(timespec="seconds") if moment else ""


def show_day(moment: datetime) -> str:
    """A day as the notice writes it: 2024年9月30日."""
    local = moment.astimezone(TZ)
    return f"{local.year}年{local.month}月{local.day}日"


def days_late(now: datetime, due: datetime) -> int:
    """Calendar days from the due day to today, Asia/Shanghai, as people count them: a case due 05-06 is
    2 days overdue on 05-08, whatever the hour."""
    return (now.astimezone(TZ).date() - due.astimezone(TZ).date()).days


def parse_now(text: str) -> datetime:
    """The moment to act at (the CLI's `--now`): without offset Asia/Shanghai; a bare day is its start (00:00)."""
    return parse_moment(text, "当前时间", bare_day="start", field="now")
