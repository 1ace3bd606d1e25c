"""R9/R13: the ranked summary of the panel (评审汇总表), for org and the 党委会."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from workflow import access
from workflow.db.models import Branch, Case, Committee, History, Review
from workflow.lifecycle import panel as panel_hook
from workflow.review.panel import evaluated_states, review_states
from workflow.spec import Spec
from workflow.workspace import Workspace


def headers(spec: Spec) -> dict[str, str]:
    """The summary's columns with their Chinese headers (one per criterion, from `rules.review`)."""
    return {
        "rank": "名次",
        "id": "编号",
        "branch": "支部",
        "committee": "分党委",
        "state_label": "状态",
        "assigned": "评审专家数",
        "reviews": "已评分",
        **{f"mean_{c.id}": f"{c.label}（均分）" for c in spec.rules.review.criteria},
        "panel": "专家组评分",
        "override": "人工覆盖分",
        "override_reason": "人工覆盖理由",
        "score": "评审分",
        "excellent": f"达到优秀（≥{spec.rules.excellent_score:g}）",
    }


def summary(ws: Workspace, year: int | None = None) -> list[dict[str, Any]]:
    """One row per case with the panel or evaluated (or with any review), best score first, ranked."""
    spec = ws.spec
    settings = spec.rules.review
    triggers = [t.trigger for t in spec.transitions if panel_hook.CONDITION in t.conditions]
    with ws.store.read() as s:
        actor = ws.actor(s)
        access.require_panel(actor, "查看评审汇总表")
        campaign = ws.campaign(s, year)
        cases = s.execute(
            select(col(Case.id), col(Branch.name), col(Committee.name), col(Case.state), col(Case.score))
            .join(Branch, col(Branch.id) == col(Case.branch_id))
            .join(Committee, col(Committee.id) == col(Branch.committee_id))
            .where(
                col(Case.campaign_id) == campaign.id,
                or_(col(Case.state).in_(review_states(spec) + evaluated_states(spec)), col(Case.id).in_(select(col(Review.case_id)))),
            )
        ).all()
        ids = [c[0] for c in cases]
        reviews: dict[int, list[tuple[float, dict[str, float]]]] = {i: [] for i in ids}
        assigned: dict[int, int] = dict.fromkeys(ids, 0)
        q = select(col(Review.case_id), col(Review.total), col(Review.scores), col(Review.submitted_at)).where(col(Review.case_id).in_(ids))
        for case_id, total, scores, submitted in s.execute(q.order_by(col(Review.id))):
            assigned[case_id] += 1
            if submitted is not None and total is not None:
                reviews[case_id].append((total, json.loads(scores) if scores else {}))
        overrides: dict[int, dict[str, Any]] = {}
        q2 = select(col(History.case_id), col(History.inputs)).where(col(History.case_id).in_(ids), col(History.trigger).in_(triggers))
        for case_id, inputs in s.execute(q2.order_by(col(History.id))):
            overrides[case_id] = json.loads(inputs) if inputs else {}  # the latest evaluation counts
    rows = []
    for case_id, branch, committee, state, case_score in cases:
        totals = [t for t, _ in reviews[case_id]]
        means = settings.means([sc for _, sc in reviews[case_id]], totals)
        evaluated = overrides.get(case_id, {})
        overridden = bool((evaluated.get("panel") or {}).get("override")) and case_score is not None
        own = settings.panel(totals)
        score = case_score if case_score is not None else own
        rows.append(
            {
                "id": case_id,
                "branch": branch,
                "committee": committee,
                "state": state,
                "state_label": spec.label(state),
                "assigned": assigned[case_id],
                "reviews": len(totals),
                "enough": len(totals) >= settings.min_reviews,
                **{f"mean_{c.id}": means.get(c.id) for c in settings.criteria},
                "panel": own,
                "override": case_score if overridden else None,
                "override_reason": evaluated.get("reason", "") if overridden else "",
                "score": score,
                "excellent": score is not None and score >= spec.rules.excellent_score,
            }
        )
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["id"]))
    previous: tuple[float | None, int] = (None, 0)
    for n, r in enumerate(rows, 1):
        if r["score"] is None:
            r["rank"] = None
            continue
        if r["score"] != previous[0]:
            previous = (r["score"], n)
        r["rank"] = previous[1]
    return rows
