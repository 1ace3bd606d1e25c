"""An iCalendar (RFC 5545) file of the campaigns' due dates, for Outlook and DingTalk to import.

One event per due date of each campaign's calendar in view, plus one per case whose own due date differs
(an individual extension or a return with a new date). A due date at the end of a day is an
all-day event on that day; any other due moment is a 30-minute event ending at it. Times are
written in UTC (…Z), which every client converts, so no VTIMEZONE block is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from workflow import access
from workflow.dates import clock
from workflow.db.models import Branch, Campaign, CampaignDue, Case, Committee
from workflow.reports.queries import in_view
from workflow.workspace import Workspace

PRODID = "-//Branchflow//特色支部创建//ZH"


@dataclass(frozen=True)
class Event:
    """One deadline in the calendar."""

    uid: str
    due: datetime  # aware
    summary: str
    description: str
    sequence: int = 0


def escape(text: str) -> str:
    """Escape a TEXT value (backslash, semicolon, comma, newline)."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > (75 if not out else 74):
            out.append(current)
            current, size = "", 0
        current += ch
        size += n
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _is_end_of_day(moment: datetime) -> bool:
    return moment.astimezone(clock.TZ).time() >= time(23, 59)


def render(events: list[Event], name: str, now: datetime) -> str:
    """The calendar text, CRLF line ends."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ]
    for e in events:
        lines += ["BEGIN:VEVENT", f"UID:{e.uid}", f"DTSTAMP:{_utc(now)}", f"SEQUENCE:{e.sequence}"]
        if _is_end_of_day(e.due):
            day = e.due.astimezone(clock.TZ).date()
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}", "TRANSP:TRANSPARENT"]
            alarm = "-PT15H"  # the day before at 09:00
        else:
            lines += [f"DTSTART:{_utc(e.due - timedelta(minutes=30))}", f"DTEND:{_utc(e.due)}"]
            alarm = "-P1D"
        lines += [f"SUMMARY:{escape(e.summary)}", f"DESCRIPTION:{escape(e.description)}"]
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"TRIGGER:{alarm}", f"DESCRIPTION:{escape(e.summary)}", "END:VALARM", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


@dataclass(frozen=True)
class Calendar:
    """An .ics text and what it holds; `campaigns`: the years it covers (`campaign`: the newest of them);
    `scoped`: only the cases in the actor's charge (a committee or a branch)."""

    text: str
    campaign: int
    events: int
    case_events: int
    scoped: bool
    campaigns: tuple[int, ...] = ()


def export(ws: Workspace, committee: str | None = None, year: int | None = None) -> Calendar:
    """The due dates of the campaigns in view (`year`'s; by default every campaign with open cases, as `status`
    and `overdue` cover) and of the cases whose own due date differs, as iCalendar text."""
    events: list[Event] = []
    extra = 0
    with ws.store.read() as s:
        actor = ws.actor(s)
        campaigns = in_view(s, ws, year)
        committee_id = access.committee_id(s, committee) if committee else None
        for campaign in campaigns:
            dues = {d.state: d.due_at for d in s.execute(select(CampaignDue).where(col(CampaignDue.campaign_id) == campaign.id)).scalars()}
            q = (
                select(col(Case.id), col(Case.state), col(Case.due_at), col(Case.version), col(Branch.name), col(Committee.name))
                .join(Branch, col(Branch.id) == col(Case.branch_id))
                .join(Committee, col(Committee.id) == col(Branch.committee_id))
                .where(col(Case.campaign_id) == campaign.id, col(Case.due_at).is_not(None))
                .order_by(col(Case.due_at), col(Case.id))
            )
            cases = s.execute(access.visible_cases(q, actor, committee_id)).all()
            found, own = _events(ws, campaign, dues, cases)
            events += found
            extra += own
    scoped = not access.is_org(actor)
    name = "、".join(c.label for c in campaigns)
    years = tuple(c.year for c in campaigns)
    return Calendar(render(events, name, ws.now), max(years), len(events), extra, scoped, years)


def _events(ws: Workspace, campaign: Campaign, dues: dict[str, datetime], cases: Sequence[Any]) -> tuple[list[Event], int]:
    """One campaign's events: one per due date of its calendar, one per case whose own due date differs (counted)."""
    spec = ws.spec
    events = []
    for st in spec.states:
        if st.id not in dues:
            continue
        due = clock.from_db(dues[st.id])
        owner = spec.roles.get(st.owner or "", "")
        action = spec.reminders.actions.get(st.id, "")
        events.append(
            Event(
                f"bf-{campaign.year}-{st.id}@branchflow",
                due,
                f"【截止】{st.label}（{owner}）",
                f"{campaign.label}：处于“{st.label}”阶段的申报须在 {clock.show(due)} 前办结。"
                + (f"需要做的：{action}。" if action else ""),
            )
        )
    extra = 0
    for case_id, state, due_db, version, branch, committee_name in cases:
        if spec.by_id.get(state) is None or spec.by_id[state].terminal or dues.get(state) == due_db:
            continue
        due = clock.from_db(due_db)
        general = f"（本年度该阶段截止：{clock.show(clock.from_db(dues[state]))}）" if state in dues else ""
        events.append(
            Event(
                f"bf-case-{case_id}-{state}@branchflow",
                due,
                f"【截止】申报 {case_id} {branch}：{spec.label(state)}",
                f"{committee_name} · {branch} · 申报 {case_id}（{campaign.year} 年度）：“{spec.label(state)}”阶段截止 {clock.show(due)}{general}。",
                version,
            )
        )
        extra += 1
    return events, extra
