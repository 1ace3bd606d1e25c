"""R13: a reviewer scores an assigned case on every criterion, and may change it until the case is evaluated.

Each submission and each change is a history row (reviewer, scores, total, comment) and a new version of the
case, so that an evaluation running at the same moment either sees the score or is refused as a conflict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from workflow import access
from workflow.dates import clock
from workflow.db.models import Branch, Case, Committee, Review, User
from workflow.db.values import check_text, normal_name
from workflow.errors import PermissionDenied, Refused, UsageError
from workflow.lifecycle import repository
from workflow.lifecycle.repository import load_case
from workflow.review.panel import find_reviewer, require_in_review
from workflow.spec import ReviewSettings
from workflow.spec.review import SCORE_MAX, SCORE_MIN
from workflow.workspace import Workspace

MISSING_HINT = "请为缺少的评审指标打分。"
NOT_ASSIGNED_HINT = "请在评审任务中查看分配给您的申报。"
LIST_HEADERS = {
    "id": "编号",
    "branch": "支部",
    "committee": "分党委",
    "state_label": "状态",
    "reviewer": "评审专家",
    "submitted": "已评分",
    "total": "总分",
    "submitted_at": "评分时间",
}


def criteria_fields(settings: ReviewSettings) -> list[dict[str, Any]]:
    """The score form's fields, as `rules.review` declares them: id, Chinese label, weight, and the range each is scored in."""
    return [{"id": c.id, "label": c.label, "weight": c.weight, "min": SCORE_MIN, "max": SCORE_MAX} for c in settings.criteria]


def parse_scores(settings: ReviewSettings, raw: Mapping[str, Any]) -> dict[str, float]:
    """`focus=90`, `聚焦主题=90`, … → every criterion's score, or a usage error naming what is wrong."""
    known = "、".join(f"{c.id}（{c.label}）" for c in settings.criteria)
    out: dict[str, float] = {}
    for key, value in raw.items():
        criterion = settings.criterion(key)
        if criterion is None:
            raise UsageError(f"没有评审指标 {key!r}：可用的指标为 {known}。")
        if criterion.id in out:
            raise UsageError(f"评审指标 {criterion.label}（{criterion.id}）给了两次：每项只评一个分数。")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise UsageError(
                f"评审指标 {criterion.label} 的分数 {value!r} 不是数字：请写成 {SCORE_MIN} 到 {SCORE_MAX} 之间的数。", field=criterion.id, value=value
            ) from None
        if not SCORE_MIN <= number <= SCORE_MAX:
            raise UsageError(f"评审指标 {criterion.label} 的分数 {value} 超出范围 {SCORE_MIN}–{SCORE_MAX}。")
        out[criterion.id] = number
    missing = [c for c in settings.criteria if c.id not in out]
    if missing:
        need = "、".join(f"{c.id}（{c.label}）" for c in missing)
        raise UsageError(f"每项评审指标都须评分，缺少：{need}。", hint=MISSING_HINT, field="scores", value=[c.id for c in missing])
    return {c.id: out[c.id] for c in settings.criteria}


def score(ws: Workspace, case_id: int, raw: Mapping[str, Any], comment: str = "") -> dict[str, Any]:
    """A reviewer submits (or changes) their scores for an assigned case that is with the panel."""
    spec = ws.spec
    settings = spec.rules.review
    with ws.store.write() as s:
        actor = ws.actor(s)
        access.require_reviewer(actor, "评分")
        row = load_case(s, case_id)
        mine = s.execute(select(Review).where(col(Review.case_id) == row.id, col(Review.reviewer_id) == actor.id)).scalars().first()
        if mine is None or mine.id is None:
            raise Refused(f"申报 {row.id} 没有分配给评审专家 {actor.name}：只能为分配给您的申报评分。", hint=NOT_ASSIGNED_HINT, rules=["R13"])
        require_in_review(spec, row, "评分（申报已评审，评分不能再修改）")
        scores = parse_scores(settings, raw)
        total = settings.total(scores)
        comment = check_text(comment.strip(), "评审意见", multiline=True, field="comment")
        changed = mine.submitted_at is not None
        now_db = clock.to_db(ws.now)
        s.execute(
            update(Review)
            .where(col(Review.id) == mine.id)
            .values(
                scores=json.dumps(scores, ensure_ascii=False),
                total=total,
                comment=comment.strip(),
                submitted_at=mine.submitted_at or now_db,
                changed_at=now_db,
            )
        )
        repository.update_case(s, row.id, row.version, ws.now)
        inputs = {"reviewer": actor.name, "scores": scores, "total": total, "comment": comment.strip()}
        repository.record(s, actor, row.id, "review_score", row.state, row.state, inputs, ws.now, "修改评分" if changed else "提交评分")
    return {"id": row.id, "branch": row.branch, "reviewer": actor.name, "scores": scores, "total": total, "changed": changed}


def listing(ws: Workspace, reviewer: str | None = None, state: str | None = None, year: int | None = None) -> list[dict[str, Any]]:
    """Assignments: a reviewer sees only their own (with their own total, scores and comment); org sees every reviewer's."""
    spec = ws.spec
    if state:
        state = spec.state(state).id
    with ws.store.read() as s:
        actor = ws.actor(s)
        q = (
            select(
                col(Case.id),
                col(Branch.name),
                col(Committee.name),
                col(Case.state),
                col(User.name),
                col(Review.total),
                col(Review.submitted_at),
                col(Case.title),
                col(Review.scores),
                col(Review.comment),
            )
            .select_from(Review)
            .join(Case, col(Case.id) == col(Review.case_id))
            .join(Branch, col(Branch.id) == col(Case.branch_id))
            .join(Committee, col(Committee.id) == col(Branch.committee_id))
            .join(User, col(User.id) == col(Review.reviewer_id))
            .where(col(Case.campaign_id) == ws.campaign(s, year).id)
        )
        if access.is_reviewer(actor):
            if reviewer and normal_name(reviewer) != actor.name:
                raise PermissionDenied(f"权限不足：评审专家只能查看自己的评审任务；用户 {actor.name} 不能查看 {reviewer} 的。")
            q = q.where(col(Review.reviewer_id) == actor.id)
        else:
            access.require_panel(actor, "查看评审任务")
            if reviewer:
                q = q.where(col(Review.reviewer_id) == find_reviewer(s, reviewer).id)
        if state:
            q = q.where(col(Case.state) == state)
        rows = s.execute(q.order_by(col(Case.id), col(Review.id))).all()
    return [
        {
            "id": cid,
            "branch": branch,
            "committee": committee,
            "state": st,
            "state_label": spec.label(st),
            "reviewer": name,
            "submitted": submitted is not None,
            "total": total,
            "submitted_at": clock.from_db(submitted) if submitted else None,
            "title": title,
            "scores": json.loads(scores) if scores and submitted else {},
            "comment": (comment or "") if submitted else "",
        }
        for cid, branch, committee, st, name, total, submitted, title, scores, comment in rows
    ]
