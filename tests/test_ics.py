"""`calendar --ics`: the campaign's due dates, and the cases whose own due date differs, as an importable iCalendar file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Bf
from servers import draft_case


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: nothing here depends on the backend (test_reminders and test_outbox run both)."""
    return sqlite_url


def events(path: str) -> list[dict[str, str]]:
    """The VEVENTs of an .ics file (lines unfolded), each as {property: value}."""
    raw = Path(path).read_bytes().decode("utf-8")
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in raw.split("\r\n"))
    lines = raw.replace("\r\n ", "").split("\r\n")
    out: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT" and current is not None:
            out.append(current)
            current = None
        elif current is not None and ":" in line and "TRIGGER" not in line and "ACTION" not in line:
            key, _, value = line.partition(":")
            current.setdefault(key, value)
    return out


def test_one_event_per_due_date_of_the_campaign_calendar(bf: Bf) -> None:
    path = str(bf.tmp / "2024.ics")
    data = bf.json("calendar", "--ics", path)
    assert (data["events"], data["case_events"]) == (7, 0)
    found = {e["UID"]: e for e in events(path)}
    draft = found["bf-2024-draft@branchflow"]
    assert draft["DTSTART;VALUE=DATE"] == "20240506" and draft["DTEND;VALUE=DATE"] == "20240507"
    assert draft["SUMMARY"] == "【截止】草稿（申报材料准备）（分党委（直属党总支））"
    assert found["bf-2024-september_check@branchflow"]["DTSTART;VALUE=DATE"] == "20250430"


def test_a_case_whose_own_due_date_differs_gets_its_own_event_and_committee_keeps_its_cases(bf: Bf) -> None:
    ours = draft_case(bf)
    theirs = draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    bf.ok("extend", str(ours), "--until", "2024-05-10T12:00", "--reason", "盖章流程延误", user="zzb")
    bf.ok("extend", str(theirs), "--until", "2024-05-09", "--reason", "负责人出差", user="zzb")
    path = str(bf.tmp / "wenfa.ics")
    assert bf.json("calendar", "--ics", path, "--committee", "文法学院分党委")["case_events"] == 1
    [case] = [e for e in events(path) if e["UID"].startswith("bf-case-")]
    assert case["UID"] == f"bf-case-{ours}-draft@branchflow"
    assert (case["DTSTART"], case["DTEND"]) == ("20240510T033000Z", "20240510T040000Z")  # 12:00 Asia/Shanghai
    assert case["SUMMARY"] == f"【截止】申报 {ours} 文法学院第1学生党支部：草稿（申报材料准备）"
    assert bf.json("calendar", "--ics", path)["case_events"] == 2
    assert bf("calendar", "--ics", path, "--committee", "没有这个分党委").exit_code == 3
