"""Time in one place: Asia/Shanghai for people, naive UTC in the database, `now` always passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflow.errors import UsageError

TZ = ZoneInfo("Asia/Shanghai")


def real_now() -> datetime:
    """The real clock, in Asia/Shanghai (only the CLI and the scheduler call this)."""
    return datetime.now(TZ)


def end_of_day(day: date) -> datetime:
    """A due date given as a day means the end of that day in Asia/Shanghai."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=TZ)


def parse_date(text: str) -> date:
    """Parse YYYY-MM-DD (also 2024/5/6 and 2024年5月6日), or raise a usage error."""
    cleaned = text.strip().replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-")
    try:
        y, m, d = (int(part) for part in cleaned.split("-"))
        return date(y, m, d)
    except ValueError:
        raise UsageError(f"日期格式不对：{text!r}，请写成 2024-09-30。") from None


def parse_instant(text: str) -> datetime:
    """Parse ISO-8601; a time without offset is Asia/Shanghai, a bare day is its end."""
    text = text.strip()
    try:
        if len(text) <= 10:
            return end_of_day(parse_date(text))
        value = datetime.fromisoformat(text)
    except (ValueError, UsageError):
        raise UsageError(f"时间格式不对：{text!r}，请写成 2024-09-30T09:00 或 2024-09-30。") from None
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)


def parse_deadline(text: str) -> datetime:
    """A deadline: a bare day means the end of that day, a time is taken as given."""
    return parse_instant(text)


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


def days_between(later: datetime, earlier: datetime) -> int:
    """Whole days from `earlier` to `later` (floor), e.g. days overdue."""
    return (later - earlier) // timedelta(days=1)


def parse_now(text: str) -> datetime:
    """`--now`: ISO-8601; without offset it is Asia/Shanghai; a bare day is its start (00:00)."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now 的时间格式不对：{text!r}，请写成 2024-09-25T09:00。") from None
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value.astimezone(TZ)
