"""The web's 红/黄/绿 tags count days as the CLI and the reminders do (issue 9 item 16): calendar days late, and
calendar days left."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Bf
from fastapi.testclient import TestClient

from cli import cli
from demo import sample
from web.app import create_app
from web.pages import tag
from workflow import spec
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


def test_yellow_means_due_within_web_warn_days_of_states_yaml() -> None:
    now = clock.parse_now("2024-04-28T23:00")  # 8 calendar days before the due day
    assert spec.parse(spec.packaged_text(), "states.yaml").web.warn_days == 7
    assert tag({"due_at": DUE}, now)["colour"] == "green"  # the default: 7 days
    assert tag({"due_at": DUE}, now, warn_days=8)["colour"] == "yellow"
    assert tag({"due_at": DUE}, now, warn_days=7)["colour"] == "green"
    assert tag({"due_at": DUE}, clock.parse_now("2024-05-06T08:00"), warn_days=0)["colour"] == "yellow"


def test_a_web_warn_days_in_states_yaml_colours_the_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    custom = tmp_path / "states.yaml"
    custom.write_text(spec.packaged_text().replace("  warn_days: 7", "  warn_days: 30"), encoding="utf-8")
    b = Bf(f"sqlite:///{tmp_path / 'bf.db'}", tmp_path, now="2024-04-10T09:00")
    b.ok("init", "--states", str(custom), "--campaign", "2024")
    b.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    b.ok("user", "add", "zzb", "--role", "org")
    result = CliRunner().invoke(cli, ["--db", b.url, "user", "password", "zzb"], input="zzb-Pass-2024\n")
    assert result.exit_code == 0, result.output
    b.ok("case", "new", "--branch", "文法学院第1学生党支部", "--title", "以案释法", "--theme", "人才培养", user="zzb")
    client = TestClient(create_app(b.url, now=clock.parse_now("2024-04-10T09:00")), follow_redirects=False)
    assert client.post("/login", data={"name": "zzb", "password": "zzb-Pass-2024"}).status_code == 303
    page = client.get("/cases").text  # the draft is due 05-06: 26 days left, within 30
    assert '<span class="tag yellow">剩 26 天</span>' in page
