"""The web's 红/黄/绿 tags count days as the CLI and the reminders do (issue 9 item 16): calendar days late, and
calendar days left."""

from __future__ import annotations

from web.pages import tag
from workflow.dates import clock

DUE = clock.end_of_day(clock.parse_date("2024-05-06"))


def test_a_case_due_05_06_is_two_days_overdue_on_05_08_whatever_the_hour() -> None:
    for now in ("2024-05-08T00:30", "2024-05-08T23:00"):
        assert tag({"due_at": DUE}, clock.parse_now(now))["text"] == "逾期 2 天"
    assert tag({"due_at": DUE}, clock.parse_now("2024-05-07T00:00:01"))["text"] == "逾期 1 天"


def test_days_left_are_calendar_days_and_the_due_day_itself_is_0() -> None:
    assert tag({"due_at": DUE}, clock.parse_now("2024-05-06T10:00"))["days"] == 0
    assert tag({"due_at": DUE}, clock.parse_now("2024-04-28T23:00"))["text"] == "剩 8 天"
    assert tag({"due_at": None}, clock.parse_now("2024-04-28T23:00"))["colour"] == ""
