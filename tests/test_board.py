"""The 组织部看板's figures come from the library as aggregates (never by loading every case): the counts per
committee and state agree with `status`, overdue per committee with `overdue`, and scope applies."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Bf
from fastapi.testclient import TestClient
from servers import draft_case

from cli import cli
from web.app import create_app
from workflow import reminders
from workflow.dates import clock
from workflow.db.store import Store
from workflow.reports import queries
from workflow.workspace import Workspace


def _ws(bf: Bf, user: str, now: str) -> Workspace:
    return Workspace(Store(bf.url), clock.parse_now(now), user)


def test_the_board_counts_what_status_and_overdue_count(bf: Bf) -> None:
    draft_case(bf)
    draft_case(bf, "文法学院第2教工党支部")
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    late = "2024-05-08T09:00"
    got = queries.board(_ws(bf, "zzb", late))
    assert got["matrix"] == {"文法学院分党委": {"draft": 2}, "外国语学院分党委": {"draft": 1}}
    assert got["total"] == queries.status(_ws(bf, "zzb", late))["total"] == 3
    assert got["overdue_per_committee"] == {"文法学院分党委": 2, "外国语学院分党委": 1}
    assert [r["id"] for r in got["overdue"]] == [r["id"] for r in queries.overdue(_ws(bf, "zzb", late))]
    assert got["states"] == ["draft"]
    # the week ahead of 1 May holds the drafts due 6 May; nothing is due in the week after 8 May
    assert len(queries.board(_ws(bf, "zzb", "2024-05-01T09:00"))["week"]) == 3
    assert queries.board(_ws(bf, "zzb", late))["week"] == []
    assert len(queries.board(_ws(bf, "zzb", late), limit=1)["overdue"]) == 1


def test_the_matrix_keeps_the_committees_with_most_overdue_and_counts_every_state(bf: Bf) -> None:
    """A national campaign has tens of thousands of committees: the matrix shows the `committees` with the most
    overdue cases (then the most cases), says how many there are, and still counts every case per state."""
    draft_case(bf)
    draft_case(bf, "文法学院第2教工党支部")
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    got = queries.board(_ws(bf, "zzb", "2024-05-08T09:00"), committees=1)
    assert got["matrix"] == {"文法学院分党委": {"draft": 2}}
    assert got["committees_total"] == 2 and got["per_state"] == {"draft": 3}
    assert got["overdue_per_committee"] == {"文法学院分党委": 2} and got["overdue_total"] == 3


def test_a_committee_user_sees_its_own_committee_on_the_board(bf: Bf) -> None:
    draft_case(bf)
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    got = queries.board(_ws(bf, "wenfa", "2024-05-08T09:00"))
    assert got["matrix"] == {"文法学院分党委": {"draft": 1}}
    assert got["overdue_per_committee"] == {"文法学院分党委": 1} and got["total"] == 1


def test_committee_names_for_a_filter_follow_the_scope(bf: Bf) -> None:
    every = queries.committee_names(_ws(bf, "zzb", "2024-05-01T09:00"))
    assert "文法学院分党委" in every and "外国语学院分党委" in every and every == sorted(every)
    assert queries.committee_names(_ws(bf, "wenfa", "2024-05-01T09:00")) == ["文法学院分党委"]
    assert len(queries.committee_names(_ws(bf, "zzb", "2024-05-01T09:00"), limit=1)) == 1


# ---- the reminder plan on the 看板 (org) ---------------------------------------------------------------------


def _login(bf: Bf, app: Any, name: str) -> TestClient:
    result = CliRunner().invoke(cli, ["--db", bf.url, "user", "password", name], input=f"{name}-Pass-2024\n")
    assert result.exit_code == 0, result.output
    c = TestClient(app, follow_redirects=False)
    assert c.post("/login", data={"name": name, "password": f"{name}-Pass-2024"}).status_code == 303
    return c


def test_the_board_shows_org_what_goes_out_to_whom_in_the_next_14_days(bf: Bf) -> None:
    cid = draft_case(bf)
    now = "2024-04-25T09:00"
    app = create_app(bf.url, now=clock.parse_now(now))
    org = _login(bf, app, "zzb")
    board = org.get("/board").text
    assert 'hx-get="/board/plan" hx-trigger="load"' in board and '<a href="/board/plan">' in board  # loaded after the board
    page = org.get("/board/plan").text
    assert org.get("/board/plan", headers={"HX-Request": "true"}).text.startswith("<h2>提醒计划")  # the fragment alone
    expected = reminders.plan(_ws(bf, "zzb", now), ["console"], days=14)
    assert expected and f"今后 14 天将发出 {len(expected)} 条提醒" in page
    for row in expected:
        assert f"<td data-label=\"日期\">{row.day.isoformat()}</td>\n  <td data-label=\"类型\">{row.kind_label}</td>" in page
        assert f"&lt;{row.recipient}&gt;" in page
    assert f'<a href="/cases/{cid}">{cid}</a>' in page and "截止前 3 个工作日" in page and "逾期通知" in page
    committee = _login(bf, app, "wenfa")
    assert "提醒计划" not in committee.get("/board").text  # org's
    assert committee.get("/board/plan").status_code == 403


def test_a_mistake_in_the_reminder_channels_is_said_on_the_board(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_CHANNELS", "email")  # without BRANCHFLOW_SMTP_FROM and the rest
    app = create_app(bf.url, now=clock.parse_now("2024-04-25T09:00"))
    page = _login(bf, app, "zzb").get("/board/plan").text
    assert "提醒渠道设置有误，无法列出计划：已启用 email 渠道，但没有设置 BRANCHFLOW_SMTP_FROM" in page
