"""Chinese working days for `wd` offsets: holidays skipped, 调休 honoured, Monday–Friday where no data."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from servers import at

from workflow import reminders
from workflow.dates import workdays
from workflow.spec import Offset


def test_the_may_day_holiday_of_2024_is_not_worked() -> None:
    assert [workdays.is_working_day(date(2024, 5, d)) for d in range(1, 6)] == [False] * 5


def test_the_adjusted_weekend_days_of_2024_are_worked() -> None:
    assert workdays.is_working_day(date(2024, 4, 28))  # Sunday, 调休 for May Day
    assert workdays.is_working_day(date(2024, 5, 11))  # Saturday, 调休 for May Day
    assert not workdays.is_working_day(date(2024, 5, 12))


def test_three_working_days_before_monday_6_may_2024_is_sunday_28_april() -> None:
    assert workdays.working_days_before(date(2024, 5, 6), 3) == date(2024, 4, 28)
    assert workdays.working_days_before(date(2024, 5, 6), 1) == date(2024, 4, 30)


def test_a_3wd_reminder_for_the_2024_draft_deadline_fires_on_28_april_at_0830() -> None:
    assert reminders.fire_at(Offset(3, "wd"), at("2024-05-06T23:59:59"), "08:30") == at("2024-04-28T08:30")


def test_a_year_without_holiday_data_counts_monday_to_friday_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="workflow.workdays"):
        assert workdays.working_days_before(date(2031, 5, 5), 3) == date(2031, 4, 30)  # Monday back to Wednesday
        assert not workdays.is_working_day(date(2031, 5, 3))
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1 and "按周一至周五为工作日计算" in warnings[0].getMessage()
