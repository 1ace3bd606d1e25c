"""Read-only answers: where every case is, which are overdue, what happened to one case."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from . import access, clock
from .engine import load_case
from .errors import NotFound
from .models import Attachment, Branch, Campaign, Case, Committee, History, Waiver
from .workspace import Actor, Workspace

CASE_HEADERS = {
    "id": "编号",
    "branch": "支部",
    "committee": "分党委",
    "title": "项目名称",
    "state": "状态",
    "state_label": "状态名称",
    "owner": "负责方",
    "due_at": "截止时间",
    "version": "版本",
}
OVERDUE_HEADERS = {**CASE_HEADERS, "days_overdue": "逾期天数"}
HISTORY_HEADERS = {
    "at": "时间",
    "actor": "操作人",
    "role": "角色",
    "on_behalf_of": "代为",
    "trigger": "操作",
    "source": "原状态",
    "dest": "新状态",
    "inputs": "输入",
    "comment": "说明",
}


def _base(year: int | None, session: Session, ws: Workspace, actor: Actor, committee: str | None) -> Any:
    campaign = ws.campaign(session, year)
    q = (
        select(col(Case.id), col(Branch.name), col(Committee.name), col(Case.title), col(Case.state), col(Case.due_at), col(Case.version))
        .join(Branch, col(Branch.id) == col(Case.branch_id))
        .join(Committee, col(Committee.id) == col(Branch.committee_id))
        .where(col(Case.campaign_id) == campaign.id)
    )
    if committee:
        if session.execute(select(col(Committee.id)).where(col(Committee.name) == committee)).first() is None:
            raise NotFound(f"没有名为“{committee}”的分党委：请检查名称（branch list 可查看）。")
        q = q.where(col(Committee.name) == committee)
    if actor.role == "committee":
        q = q.where(col(Branch.committee_id) == actor.committee_id)
    elif actor.role == "branch":
        q = q.where(col(Case.branch_id) == actor.branch_id)
    return q


def _row(ws: Workspace, r: Any) -> dict[str, Any]:
    spec = ws.spec
    state = spec.by_id.get(r[4])
    owner = state.owner if state else None
    return {
        "id": r[0],
        "branch": r[1],
        "committee": r[2],
        "title": r[3],
        "state": r[4],
        "state_label": spec.label(r[4]),
        "owner": spec.roles.get(owner, "") if owner else "",
        "due_at": clock.from_db(r[5]) if r[5] else None,
        "version": r[6],
    }


def status(
    ws: Workspace, committee: str | None = None, state: str | None = None, year: int | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Cases visible to the actor (the first `limit` by id, or all), with counts per state over all of them."""
    if state:
        ws.spec.state(state)
    with ws.store.read() as s:
        actor = ws.actor(s)
        q = _base(year, s, ws, actor, committee)
        if state:
            q = q.where(col(Case.state) == state)
        counted = dict(s.execute(q.with_only_columns(col(Case.state), func.count()).group_by(col(Case.state))).all())
        q = q.order_by(col(Case.id))
        if limit:
            q = q.limit(limit)
        rows = [_row(ws, r) for r in s.execute(q)]
    per_state = [{"state": st.id, "state_label": st.label, "count": counted[st.id]} for st in ws.spec.states if counted.get(st.id)]
    return {"cases": rows, "counts": per_state, "total": sum(counted.values())}


def overdue(ws: Workspace, committee: str | None = None, year: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Cases past due in a non-terminal state, most overdue first, with days overdue."""
    live = [st.id for st in ws.spec.states if not st.terminal]
    now_db = clock.to_db(ws.now)
    with ws.store.read() as s:
        actor = ws.actor(s)
        q = (
            _base(year, s, ws, actor, committee)
            .where(col(Case.state).in_(live), col(Case.due_at) < now_db)
            .order_by(col(Case.due_at), col(Case.id))
        )
        if limit:
            q = q.limit(limit)
        out = []
        for r in s.execute(q):
            row = _row(ws, r)
            row["days_overdue"] = max(1, clock.days_between(ws.now, row["due_at"]))
            out.append(row)
        return out


def show(ws: Workspace, case_id: int) -> dict[str, Any]:
    """One case in full: fields, plan, score, attachments, waivers."""
    spec = ws.spec
    with ws.store.read() as s:
        actor = ws.actor(s)
        row = load_case(s, case_id)
        access.require_read(actor, row.committee_id, row.branch_id)
        case = s.get(Case, case_id)
        assert case is not None
        year = s.execute(select(col(Campaign.year)).where(col(Campaign.id) == row.campaign_id)).scalar_one()
        atts = [
            {"kind": a.kind, "name": a.original_name, "sha256": a.sha256, "size": a.size, "at": clock.from_db(a.created_at)}
            for a in s.execute(select(Attachment).where(col(Attachment.case_id) == case_id).order_by(col(Attachment.id))).scalars()
        ]
        waivers = [
            {"rule": w.rule, "reason": w.reason, "actor": w.actor, "at": clock.from_db(w.at)}
            for w in s.execute(select(Waiver).where(col(Waiver.case_id) == case_id)).scalars()
        ]
    owner = spec.by_id[row.state].owner if row.state in spec.by_id else None
    return {
        "id": case.id,
        "campaign": year,
        "branch": row.branch,
        "committee": row.committee,
        "title": case.title,
        "theme": case.theme,
        "theme_note": case.theme_note,
        **dict(row.plan),
        "state": row.state,
        "state_label": spec.label(row.state),
        "owner": spec.roles.get(owner, "") if owner else "",
        "due_at": row.due_at,
        "version": case.version,
        "score": case.score,
        "criteria": json.loads(case.criteria) if case.criteria else {},
        "attachments": atts,
        "waivers": waivers,
    }


def history(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """The case's audit trail, oldest first."""
    with ws.store.read() as s:
        actor = ws.actor(s)
        row = load_case(s, case_id)
        access.require_read(actor, row.committee_id, row.branch_id)
        rows = s.execute(select(History).where(col(History.case_id) == case_id).order_by(col(History.id))).scalars().all()
    return [
        {
            "at": clock.from_db(h.at),
            "actor": h.actor,
            "role": h.role,
            "on_behalf_of": h.on_behalf_of,
            "trigger": h.trigger,
            "source": h.source,
            "dest": h.dest,
            "inputs": json.loads(h.inputs) if h.inputs else {},
            "comment": h.comment,
        }
        for h in rows
    ]


def branches(ws: Workspace, committee: str | None = None) -> list[dict[str, Any]]:
    """The roster as imported."""
    with ws.store.read() as s:
        ws.actor(s)
        q = select(Branch, col(Committee.name)).join(Committee, col(Committee.id) == col(Branch.committee_id))
        if committee:
            q = q.where(col(Committee.name) == committee)
        return [
            {
                "id": b.id,
                "committee": cname,
                "name": b.name,
                "members": b.members,
                "contact": b.contact,
                "email": b.email,
                "took_part_last_year": b.took_part_last_year,
                "model_branch": b.model_branch,
                "cycle": f"{b.cycle_start}-{b.cycle_end}" if b.cycle_start else "",
            }
            for b, cname in s.execute(q.order_by(col(Branch.id)))
        ]
