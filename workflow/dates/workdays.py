"""Chinese working days: public holidays skipped, adjusted working days (调休) honoured.

The holiday data comes from `chinesecalendar`, which covers a fixed range of years (2004–2026 in
1.11). For a year it does not know, a day is a working day when it is Monday to Friday, and a
warning is logged once per year: a reminder a day early or late beats a scheduler that crashes.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar
from chinese_calendar import constants

# The years the installed holiday data covers (outside them the package refuses to answer).
_KNOWN = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}

log = logging.getLogger(__name__)

_warned: set[int] = set()


def is_working_day(day: date) -> bool:
    """Whether `day` is a working day in mainland China (Mon–Fri where the calendar has no data)."""
    if day.year in _KNOWN:
        return bool(chinese_calendar.is_workday(day))
    if day.year not in _warned:
        _warned.add(day.year)
        log.warning("节假日日历没有 %d 年的数据：该年按周一至周五为工作日计算（请升级 chinesecalendar）。", day.year)
    return day.weekday() < 5


def working_days_before(day: date, count: int) -> date:
    """The working day that leaves `count` working days before `day` (that day itself not counted).

    Example: before Monday 2024-05-06, after the May Day holiday (1–5 May), 3 working days back
    are 30 April, 29 April and Sunday 28 April (an adjusted working day): the answer is 28 April.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    current = day
    found = 0
    while found < count:
        current -= timedelta(days=1)
        if is_working_day(current):
            found += 1
    return current
