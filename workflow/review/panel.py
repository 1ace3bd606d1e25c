"""R13: setting up the expert panel: assigning reviewers to cases (one by one, or spread over a state), unassigning.

A reviewer of the case's own committee is never assigned when `rules.review.exclude_own_committee` holds
(conflict of interest). Every assignment and unassignment is a history row of the case (org's eyes only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import Case, Committee, Review, User
from workflow.db.values import normal_name
from workflow.errors import NotFound, Refused, UsageError
from workflow.lifecycle import panel as panel_hook
from workflow.lifecycle import repository
from workflow.lifecycle.facts import CaseRow
from workflow.lifecycle.repository import load_case
from workflow.spec import Spec
from workflow.workspace import Workspace

PER_CASE_HINT = "请改正每个申报的评审专家人数。"
LOCK = "review"  # assignments are made one command at a time (PostgreSQL: an advisory lock)


def review_states(spec: Spec) -> tuple[str, ...]:
    """The states in which a case is with the panel: the sources of the transition that takes the panel's score (not
    its destination: firing it again there corrects the evaluation, the panel's work is done)."""
    return tuple(
        dict.fromkeys(s for t in spec.transitions if panel_hook.CONDITION in t.conditions for s in t.sources if s != t.dest)
    )


def evaluated_states(spec: Spec) -> tuple[str, ...]:
    """Where that transition leads (the panel's work is done)."""
    return tuple(dict.fromkeys(t.dest for t in spec.transitions if panel_hook.CONDITION in t.conditions))


@dataclass(frozen=True)
class Reviewer:
    """A reviewer user: id, name and the committee they belong to (if any)."""

    id: int
    name: str
    committee_id: int | None
    email: str


def find_reviewer(session: Session, name: str) -> Reviewer:
    """A reviewer by user name, or NotFound / a usage error when the user is not a reviewer."""
    user = session.execute(select(User).where(col(User.name) == normal_name(name))).scalars().first()
    if user is None or user.id is None:
        raise NotFound(f"没有用户 {name!r}。", hint="请检查评审专家的用户名，或先添加这位评审专家。", field="reviewer", value=name)
    if not access.is_reviewer(Actor(user.id, user.name, user.role, user.committee_id, user.branch_id, user.email)):
        raise UsageError(f"用户 {user.name} 的角色是{access.role_named(user.role)}，不是评审专家（reviewer）：只能分配评审专家。")
    return Reviewer(user.id, user.name, user.committee_id, user.email)


def conflict(spec: Spec, reviewer: Reviewer, row: CaseRow) -> str | None:
    """Why this reviewer may not review this case (conflict of interest), or None."""
    if spec.rules.review.exclude_own_committee and reviewer.committee_id == row.committee_id:
        return f"利益回避：评审专家 {reviewer.name} 属于{row.committee}，不能评审本分党委的申报 {row.id}（{row.branch}）。"
    return None


def require_in_review(spec: Spec, row: CaseRow, what: str) -> None:
    """Refuse unless the case is with the panel."""
    states = review_states(spec)
    if row.state not in states:
        where = "、".join(f"“{spec.label(s)}”" for s in states)
        raise Refused(f"申报 {row.id}（{row.branch}）当前状态为“{spec.label(row.state)}”：只有处于{where}的申报可以{what}。")


def _assign(session: Session, actor: Actor, row: CaseRow, reviewer: Reviewer, now: datetime) -> None:
    session.add(Review(case_id=row.id, reviewer_id=reviewer.id, assigned_by=actor.name, assigned_at=clock.to_db(now)))
    repository.record(session, actor, row.id, "review_assign", row.state, row.state, {"reviewer": reviewer.name}, now)


def _assigned(session: Session, case_id: int) -> dict[int, Review]:
    return {r.reviewer_id: r for r in session.execute(select(Review).where(col(Review.case_id) == case_id)).scalars()}


def assign(ws: Workspace, case_id: int, names: Sequence[str]) -> dict[str, Any]:
    """Assign reviewers to one case (org); a conflict of interest refuses the whole command."""
    if not names:
        raise UsageError("没有指定评审专家。", hint="请指定至少一位评审专家。", field="reviewer")
    spec = ws.spec
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "分配评审专家")
        ws.store.lock(s, LOCK)
        row = load_case(s, case_id)
        require_in_review(spec, row, "分配评审专家")
        reviewers = list({r.id: r for r in (find_reviewer(s, n) for n in names)}.values())
        refusals = [reason for r in reviewers if (reason := conflict(spec, r, row))]
        if refusals:
            raise Refused(f"申报 {row.id} 不能分配这些评审专家：{len(refusals)} 位须回避。", details=refusals, rules=["R13"])
        existing = _assigned(s, row.id)
        added, already = [], []
        for r in reviewers:
            if r.id in existing:
                already.append(r.name)
            else:
                _assign(s, actor, row, r, ws.now)
                added.append(r.name)
        s.flush()
        everyone = _names(s, row.id)
    return {"id": row.id, "branch": row.branch, "committee": row.committee, "added": added, "already": already, "reviewers": everyone}


def _names(session: Session, case_id: int) -> list[str]:
    q = select(col(User.name)).join(Review, col(Review.reviewer_id) == col(User.id)).where(col(Review.case_id) == case_id)
    return list(session.execute(q.order_by(col(Review.id))).scalars())


def spread(ws: Workspace, state: str, names: Sequence[str], per_case: int, year: int | None = None) -> dict[str, Any]:
    """Assign `per_case` reviewers to every case in `state`, spreading the load evenly over the panel.

    Cases with the fewest eligible reviewers are served first, and each takes the least loaded eligible
    reviewers (existing assignments count): without conflicts the loads differ by at most one. A
    reviewer of the case's own committee is skipped; a case that cannot get `per_case` says how many it lacks.
    """
    spec = ws.spec
    state = spec.state(state).id
    if state not in review_states(spec):
        where = "、".join(f"“{spec.label(s)}”（{s}）" for s in review_states(spec))
        raise Refused(f"只能为处于{where}的申报分配评审专家，不能为“{spec.label(state)}”的申报分配。")
    panel = list(dict.fromkeys(normal_name(n) for n in names if normal_name(n)))
    if not panel:
        raise UsageError("没有列出评审专家。", hint="请列出评审专家（用逗号分隔）。", field="reviewers")
    if not 1 <= per_case <= len(panel):
        raise UsageError(
            f"每个申报的评审专家人数应在 1 到专家组人数 {len(panel)} 之间，实际是 {per_case}。", hint=PER_CASE_HINT, field="per_case", value=per_case
        )
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "分配评审专家")
        ws.store.lock(s, LOCK)
        reviewers = [find_reviewer(s, n) for n in panel]
        campaign = ws.campaign(s, year)
        ids = s.execute(
            select(col(Case.id)).where(col(Case.campaign_id) == campaign.id, col(Case.state) == state).order_by(col(Case.id))
        ).scalars()
        rows = [load_case(s, i) for i in ids]
        load = {r.id: 0 for r in reviewers}
        order = {r.id: i for i, r in enumerate(reviewers)}  # ties go to the one listed first
        counted = select(col(Review.reviewer_id), func.count()).join(Case, col(Case.id) == col(Review.case_id))
        counted = counted.where(col(Case.campaign_id) == campaign.id, col(Case.state).in_(review_states(spec)))
        for reviewer_id, n in s.execute(counted.where(col(Review.reviewer_id).in_(list(load))).group_by(col(Review.reviewer_id))):
            load[reviewer_id] = n
        plans = []
        for row in rows:
            have = _assigned(s, row.id)
            skipped = [r for r in reviewers if r.id not in have and conflict(spec, r, row)]
            eligible = [r for r in reviewers if r.id not in have and not conflict(spec, r, row)]
            plans.append((row, have, skipped, eligible))
        plans.sort(key=lambda p: (len(p[3]), p[0].id))
        out: list[dict[str, Any]] = []
        for row, have, skipped, eligible in plans:
            on_panel = sum(1 for r in reviewers if r.id in have)
            wanted = max(0, per_case - on_panel)
            chosen = sorted(eligible, key=lambda r: (load[r.id], order[r.id]))[:wanted]
            for r in chosen:
                _assign(s, actor, row, r, ws.now)
                load[r.id] += 1
            s.flush()
            out.append(
                {
                    "id": row.id,
                    "branch": row.branch,
                    "committee": row.committee,
                    "added": [r.name for r in chosen],
                    "skipped": [r.name for r in skipped],
                    "short": wanted - len(chosen),
                    "reviewers": _names(s, row.id),
                }
            )
    out.sort(key=lambda c: c["id"])
    return {"state": state, "per_case": per_case, "cases": out, "loads": {r.name: load[r.id] for r in reviewers}}


def unassign(ws: Workspace, case_id: int, name: str) -> dict[str, Any]:
    """Take a reviewer off a case (org), only before they submitted their scores."""
    spec = ws.spec
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_org(actor, "取消分配评审专家")
        ws.store.lock(s, LOCK)
        row = load_case(s, case_id)
        reviewer = find_reviewer(s, name)
        found = _assigned(s, row.id).get(reviewer.id)
        if found is None:
            raise NotFound(
            f"评审专家 {reviewer.name} 没有被分配到申报 {row.id}。", hint="请查看分配给这位评审专家的申报。", field="reviewer", value=reviewer.name
        )
        if found.submitted_at is not None:
            raise Refused(f"评审专家 {reviewer.name} 已提交申报 {row.id} 的评分，不能再取消分配。")
        require_in_review(spec, row, "取消分配评审专家")
        s.execute(delete(Review).where(col(Review.id) == found.id))
        repository.record(s, actor, row.id, "review_unassign", row.state, row.state, {"reviewer": reviewer.name}, ws.now)
        remaining = _names(s, row.id)
    return {"id": row.id, "branch": row.branch, "reviewer": reviewer.name, "reviewers": remaining}


def reviewers(ws: Workspace) -> list[dict[str, Any]]:
    """The reviewer users who may be assigned (org): name, committee (conflicts of interest), e-mail; disabled ones left out."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "查看评审专家名单")
        committees = dict(s.execute(select(col(Committee.id), col(Committee.name))).all())
        users = s.execute(select(User).where(col(User.disabled_at).is_(None)).order_by(col(User.id))).scalars().all()
        return [
            {"name": u.name, "committee": committees.get(u.committee_id, "") if u.committee_id else "", "email": u.email}
            for u in users
            if u.id is not None and access.is_reviewer(Actor(u.id, u.name, u.role, u.committee_id, u.branch_id, u.email))
        ]
