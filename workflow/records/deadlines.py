"""Extensions (one case, or a whole state of a campaign) and waivers: org only, all audited."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Branch, Campaign, CampaignDue, Case, Committee, History, Waiver
from workflow.errors import Refused, UsageError
from workflow.lifecycle import repository
from workflow.lifecycle.repository import load_case
from workflow.workspace import Workspace

T = TypeVar("T")


@dataclass(frozen=True)
class Extended:
    """What `extend_case` did: the case, the state it is in, its due date before (None: it had none) and now."""

    case: int
    state: str
    before: datetime | None
    until: datetime


@dataclass(frozen=True)
class StateExtended:
    """What `extend_state` did: a state's due date in a campaign's calendar before and now, and the cases moved with it."""

    campaign: int
    state: str
    before: datetime
    until: datetime
    cases: list[int]


@dataclass(frozen=True)
class Waived:
    """What `waive` recorded: the case, the rule excepted and why."""

    case: int
    rule: str
    reason: str


def _need_reason(reason: str) -> None:
    values.check_text(reason, "原因", multiline=True, field="reason")
    if not reason.strip():
        raise UsageError("没有写明原因（会记入审计记录）。", hint="请写明原因。", field="reason")


def _lock_case(s: Session, case_id: int) -> None:
    """Lock this one case's row (PostgreSQL; SQLite's writer is alone already) before reading it, so that a
    concurrent change of the same case waits instead of failing the version check, and other cases never wait."""
    if values.fits(case_id):
        s.execute(select(col(Case.id)).where(col(Case.id) == case_id).with_for_update())


def _once_more_on_serialization_failure(action: Callable[[], T]) -> T:
    """Run a write; a PostgreSQL serialization failure or deadlock (nothing the user did) is retried once."""
    try:
        return action()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in ("40001", "40P01"):
            raise
    return action()


def extend(
    ws: Workspace, case_id: int | None, state: str | None, until: datetime | str, reason: str, year: int | None = None
) -> Extended | StateExtended:
    """Extend one case (`case_id`) or a whole state of a campaign (`state`): exactly one of them. `until` may be
    the text a user typed (a bare day is the end of that day)."""
    if (case_id is None) == (state is None):
        raise UsageError("延期须指明一个申报或一个阶段。", hint="请给出申报编号，或指定阶段（二者选一）。", field="state")
    deadline = clock.parse_deadline(until) if isinstance(until, str) else until
    if case_id is not None:
        return extend_case(ws, case_id, deadline, reason)
    assert state is not None
    return extend_state(ws, state, deadline, reason, year)


def extend_case(ws: Workspace, case_id: int, until: datetime, reason: str) -> Extended:
    """Give one case a new due date in its current state."""
    _need_reason(reason)
    return _once_more_on_serialization_failure(lambda: _extend_case(ws, case_id, until, reason))


def _extend_case(ws: Workspace, case_id: int, until: datetime, reason: str) -> Extended:
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "延期")
        _lock_case(s, case_id)
        row = load_case(s, case_id)
        if ws.spec.by_id[row.state].terminal:
            raise Refused(f"申报 {case_id} 已是终止状态“{ws.spec.label(row.state)}”，无需延期。")
        if until <= ws.now:
            raise UsageError(f"新的截止时间 {clock.show(until)} 已经过去：请给一个以后的日期。")
        if row.due_at == until:
            raise UsageError(f"申报 {case_id} 的截止时间未变（已是 {clock.show(until)}）：没有要延期的内容。", field="until")
        repository.update_case(s, case_id, row.version, ws.now, due_at=clock.to_db(until))
        old = row.due_at
        repository.record(
            s, actor, case_id, "extend", row.state, row.state, {"from": clock.iso(old), "until": clock.iso(until)}, ws.now, reason
        )
        return Extended(case_id, row.state, old, until)


def extend_state(ws: Workspace, state: str, until: datetime, reason: str, year: int | None = None) -> StateExtended:
    """Move a state's due date in the campaign's calendar, and every case in that state with it.

    A case whose own due date was already later (an individual extension) keeps it.
    """
    _need_reason(reason)
    spec_state = ws.spec.state(state)
    if spec_state.terminal:
        raise UsageError(f"“{spec_state.label}”是终止状态，没有截止日期。")
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "调整阶段截止日期")
        campaign = ws.campaign(s, year)
        assert campaign.id is not None
        stored, moved = move_state_due(s, campaign.id, spec_state.id, until, ws.now, actor, reason)
        assert stored is not None  # every non-terminal state of a campaign has its row
        if stored == until and not moved:  # raised inside the transaction: the calendar row written back is undone
            raise UsageError(
                f"{campaign.year} 年“{spec_state.label}”阶段的截止时间未变（已是 {clock.show(until)}），也没有申报需要调整。", field="until"
            )
        return StateExtended(campaign.year, spec_state.id, stored, until, moved)


def move_state_due(
    s: Session,
    campaign_id: int,
    state: str,
    until: datetime,
    now: datetime,
    actor: Actor,
    reason: str,
    inputs: Mapping[str, object] | None = None,
) -> tuple[datetime | None, list[int]]:
    """Inside a write transaction: set a state's due date in a campaign's calendar and move its cases with it.

    A case whose own due date was already later (an individual extension) keeps it; each moved case gets an
    audited `extend` row. Returns the calendar's previous date (None if the state had none) and the moved ids.
    """
    where = (col(CampaignDue.campaign_id) == campaign_id, col(CampaignDue.state) == state)
    stored_db = s.execute(select(col(CampaignDue.due_at)).where(*where)).scalar_one_or_none()
    new = clock.to_db(until)
    if stored_db is None:
        s.execute(insert(CampaignDue).values(campaign_id=campaign_id, state=state, due_at=new))
    else:
        s.execute(update(CampaignDue).where(*where).values(due_at=new))
    # Locked (PostgreSQL; SQLite's writer already is alone), so no case leaves the state under us.
    in_state = select(col(Case.id), col(Case.due_at), col(Case.version)).where(
        col(Case.campaign_id) == campaign_id, col(Case.state) == state
    )
    rows = s.execute(in_state.with_for_update()).all()
    versions = {cid: version for cid, due, version in rows if due != new and (due is None or due == stored_db or due < new)}
    moved = list(versions)
    stored = clock.from_db(stored_db) if stored_db is not None else None
    if moved:
        repository.update_cases(s, versions, now, due_at=new)
        row_inputs = {"state": state, "from": clock.iso(stored), "until": clock.iso(until), **(inputs or {})}
        repository.append_history(s, [repository.history_row(cid, actor, now, "extend", state, state, row_inputs, reason) for cid in moved])
    return stored, moved


def waive(ws: Workspace, case_id: int, rule: str, reason: str) -> Waived:
    """Record org's exception to a waivable rule (R2) for one case."""
    _need_reason(reason)
    rule = rule.strip().upper()
    allowed = ws.spec.rules.waivable
    if rule not in allowed:
        raise UsageError(f"规则 {rule} 不能豁免；可豁免的规则：{'、'.join(allowed)}。")
    return _once_more_on_serialization_failure(lambda: _waive(ws, case_id, rule, reason))


def _waive(ws: Workspace, case_id: int, rule: str, reason: str) -> Waived:
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "登记规则例外")
        _lock_case(s, case_id)
        row = load_case(s, case_id)
        earlier = s.execute(select(Waiver).where(col(Waiver.case_id) == case_id, col(Waiver.rule) == rule)).scalars().first()
        if earlier is not None:
            raise UsageError(
                f"申报 {case_id} 已登记过 {rule} 例外（{earlier.actor}，{clock.show(clock.from_db(earlier.at))}：{earlier.reason}）：无需重复登记。"
            )
        s.add(Waiver(case_id=case_id, rule=rule, reason=reason, actor=actor.name, at=clock.to_db(ws.now)))
        repository.update_case(s, case_id, row.version, ws.now)
        repository.record(s, actor, case_id, "waive", row.state, row.state, {"rule": rule}, ws.now, reason)
        return Waived(case_id, rule, reason)


REGISTER_TRIGGERS = ("extend", "waive")


def register(ws: Workspace, year: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The register of every extension and waiver (org only), newest first: when, who, why, which case, and
    for an extension the old and new due dates (`scope` "state" when it came with a whole state's new date).

    `year` narrows to one campaign; `limit` to the newest rows."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "查看延期与例外登记")
        q = (
            select(History, col(Campaign.year), col(Committee.name), col(Branch.name), col(Case.title))
            .join(Case, col(Case.id) == col(History.case_id))
            .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
            .join(Branch, col(Branch.id) == col(Case.branch_id))
            .join(Committee, col(Committee.id) == col(Branch.committee_id))
            .where(col(History.trigger).in_(REGISTER_TRIGGERS))
        )
        if year is not None:
            q = q.where(col(Campaign.id) == ws.campaign(s, year).id)
        q = q.order_by(col(History.at).desc(), col(History.id).desc())
        if limit is not None:
            q = q.limit(limit)
        rows = s.execute(q).all()
    out = []
    for h, campaign, committee, branch, title in rows:
        inputs = json.loads(h.inputs) if h.inputs else {}
        out.append(
            {
                "at": clock.from_db(h.at),
                "kind": h.trigger,
                "scope": "state" if "state" in inputs else "case",
                "case": h.case_id,
                "campaign": campaign,
                "committee": committee,
                "branch": branch,
                "title": title,
                "state": h.source,
                "rule": inputs.get("rule", ""),
                "from": _moment(inputs.get("from")),
                "until": _moment(inputs.get("until")),
                "actor": h.actor,
                "reason": h.comment,
            }
        )
    return out


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(clock.TZ) if isinstance(text, str) and text else None
