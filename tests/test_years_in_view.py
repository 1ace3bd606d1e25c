"""Issue 8 item 2: once a new campaign exists, status, overdue and the calendar still show the earlier year's
open cases — by default every campaign with open cases, with a 年度 column; --campaign YEAR narrows to one."""

from __future__ import annotations

from pathlib import Path

from conftest import Bf
from servers import draft_case

LATE = "2025-06-09T09:00"


def _two_years(bf: Bf) -> tuple[int, int]:
    old = draft_case(bf)  # a 2024 draft, due 2024-05-06, never submitted
    bf.ok("init", "--campaign", "2025", now="2025-04-25T09:00")
    new = int(
        bf.json(
            "case", "new", "--branch", "文法学院第2教工党支部", "--title", "新一年", "--theme", "人才培养", "--campaign", "2025",
            user="wenfa", now="2025-04-28T09:00",
        )["id"]
    )
    return old, new


def test_overdue_covers_every_campaign_with_open_cases(bf: Bf) -> None:
    old, new = _two_years(bf)
    rows = bf.json("overdue", now=LATE)
    assert {(r["id"], r["campaign"]) for r in rows} == {(old, 2024), (new, 2025)}
    text = bf.ok("overdue", now=LATE).stdout
    assert text.splitlines()[-1] == "共 2 个逾期（2024、2025 年度）。" and "年度" in text.splitlines()[0]
    assert [r["id"] for r in bf.json("overdue", "--campaign", "2025", now=LATE)] == [new]
    assert bf.ok("overdue", "--campaign", "2025", now=LATE).stdout.splitlines()[-1] == "共 1 个逾期（2025 年度）。"


def test_status_covers_every_campaign_with_open_cases_and_says_which(bf: Bf) -> None:
    old, new = _two_years(bf)
    assert {(r["id"], r["campaign"]) for r in bf.json("status", now=LATE)} == {(old, 2024), (new, 2025)}
    assert bf.ok("status", now=LATE).stdout.splitlines()[-1].endswith("合计 2（2024、2025 年度）。")
    assert [r["id"] for r in bf.json("status", "--campaign", "2024", now=LATE)] == [old]


def test_a_campaign_whose_cases_all_ended_drops_out_of_the_default_view(bf: Bf) -> None:
    old, new = _two_years(bf)
    bf.ok("advance", str(old), "lapse", user="zzb", now=LATE)
    assert {r["campaign"] for r in bf.json("status", now=LATE)} == {2025}
    assert [r["id"] for r in bf.json("overdue", now=LATE)] == [new]


def test_a_fresh_database_shows_the_latest_campaign(bf: Bf) -> None:
    assert bf.ok("status").stdout.splitlines()[-1].endswith("（2024 年度）。")


def test_the_calendar_covers_every_campaign_with_open_cases_and_says_which(bf: Bf) -> None:
    _two_years(bf)
    path = str(bf.tmp / "due.ics")
    data = bf.json("calendar", "--ics", path, now=LATE)
    assert data["campaigns"] == [2024, 2025] and data["events"] == 14  # 7 due dates of each year's calendar
    text = Path(path).read_text(encoding="utf-8")
    assert "UID:bf-2024-closing@branchflow" in text and "UID:bf-2025-draft@branchflow" in text
    line = bf.ok("calendar", "--ics", path, now=LATE).stdout
    assert line.startswith(f"已写入 {path}（2024、2025 年度）：14 个日程")
    assert bf.json("calendar", "--ics", path, "--campaign", "2025", now=LATE)["campaigns"] == [2025]
    assert "bf-2024-" not in Path(path).read_text(encoding="utf-8")
