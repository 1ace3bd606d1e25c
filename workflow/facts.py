"""Gather the facts the rules look at, with a handful of indexed queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from . import clock
from .models import Attachment, Branch, Campaign, Case, Committee, Waiver
from .rules import PLAN_FIELDS, Facts
from .spec import Spec


@dataclass(frozen=True)
class CaseRow:
    """A case with its branch, committee and campaign: what every decision starts from."""

    id: int
    campaign_id: int
    year: int
    branch_id: int
    branch: str
    committee_id: int
    committee: str
    state: str
    due_at: datetime | None  # aware, Asia/Shanghai
    version: int
    theme: str
    theme_note: str
    plan: Mapping[str, str]
    score: float | None
    model_branch: bool
    cycle_start: int | None
    cycle_end: int | None
    took_part_last_year: bool


CASE_COLUMNS = (
    col(Case.id),
    col(Case.campaign_id),
    col(Campaign.year),
    col(Case.branch_id),
    col(Branch.name),
    col(Branch.committee_id),
    col(Committee.name),
    col(Case.state),
    col(Case.due_at),
    col(Case.version),
    col(Case.theme),
    col(Case.theme_note),
    *(col(getattr(Case, key)) for key in PLAN_FIELDS),
    col(Case.score),
    col(Branch.model_branch),
    col(Branch.cycle_start),
    col(Branch.cycle_end),
    col(Branch.took_part_last_year),
)


def case_query() -> Any:
    """SELECT of CASE_COLUMNS over cases ⋈ branch ⋈ committee ⋈ campaign."""
    return (
        select(*CASE_COLUMNS)
        .select_from(Case)
        .join(Branch, col(Branch.id) == col(Case.branch_id))
        .join(Committee, col(Committee.id) == col(Branch.committee_id))
        .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
    )


def to_case_row(r: Any) -> CaseRow:
    """Build a CaseRow from one result row of `case_query`."""
    n = len(PLAN_FIELDS)
    plan = dict(zip(PLAN_FIELDS, r[12 : 12 + n], strict=True))
    rest = r[12 + n :]
    return CaseRow(
        id=r[0],
        campaign_id=r[1],
        year=r[2],
        branch_id=r[3],
        branch=r[4],
        committee_id=r[5],
        committee=r[6],
        state=r[7],
        due_at=clock.from_db(r[8]) if r[8] else None,
        version=r[9],
        theme=r[10],
        theme_note=r[11],
        plan=plan,
        score=rest[0],
        model_branch=bool(rest[1]),
        cycle_start=rest[2],
        cycle_end=rest[3],
        took_part_last_year=bool(rest[4]),
    )


def in_cycle(row: CaseRow, year: int | None = None) -> bool:
    """Whether the branch is a national model branch inside its cultivation cycle in `year`."""
    y = row.year if year is None else year
    return bool(row.model_branch and row.cycle_start and row.cycle_end and row.cycle_start <= y <= row.cycle_end)


def gather(session: Session, spec: Spec, row: CaseRow, now: datetime, inputs: Mapping[str, Any]) -> Facts:
    """Everything the rules may need about one case, as of `now`."""
    settings = spec.rules
    kinds = frozenset(session.execute(select(col(Attachment.kind)).where(col(Attachment.case_id) == row.id).distinct()).scalars())
    waived = frozenset(session.execute(select(col(Waiver.rule)).where(col(Waiver.case_id) == row.id)).scalars())
    other_live = session.execute(
        select(func.count())
        .select_from(Case)
        .where(
            col(Case.campaign_id) == row.campaign_id,
            col(Case.branch_id) == row.branch_id,
            col(Case.id) != row.id,
            col(Case.state).not_in(settings.not_live),
        )
    ).scalar_one()
    years = participation_years(session, spec, row.branch_id, row.took_part_last_year, row.year)
    model = in_cycle(row)
    in_cycle_count = sum(1 for y in years if row.cycle_start and row.cycle_end and row.cycle_start <= y <= row.cycle_end)
    branches = session.execute(select(func.count()).select_from(Branch).where(col(Branch.committee_id) == row.committee_id)).scalar_one()
    return Facts(
        now=now,
        case_id=row.id,
        state=row.state,
        due_at=row.due_at,
        theme=row.theme,
        theme_note=row.theme_note,
        plan=row.plan,
        score=row.score,
        inputs=inputs,
        attachments=kinds,
        waived=waived,
        took_part_last_year=(row.year - 1) in years,
        other_live_cases=other_live,
        model_in_cycle=model,
        model_participations_in_cycle=in_cycle_count if model else 0,
        quota_used=quota_used(session, spec, row.campaign_id, row.year, row.committee_id, row.id),
        quota_limit=settings.quota.limit(branches),
        excellent_score=settings.excellent_score,
        themes=settings.themes,
        other_theme=settings.other_theme,
    )


def participation_years(session: Session, spec: Spec, branch_id: int, roster_last_year: bool, year: int) -> set[int]:
    """Earlier campaign years the branch took part in: from the database, else the roster column."""
    known = set(session.execute(select(col(Campaign.year)).where(col(Campaign.year) < year)).scalars())
    took = set(
        session.execute(
            select(col(Campaign.year))
            .distinct()
            .select_from(Case)
            .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
            .where(col(Case.branch_id) == branch_id, col(Campaign.year) < year, col(Case.state).in_(spec.rules.participated))
        ).scalars()
    )
    if roster_last_year and (year - 1) not in known:
        took.add(year - 1)
    return took


def quota_used(session: Session, spec: Spec, campaign_id: int, year: int, committee_id: int, exclude: int) -> int:
    """R5: the committee's counted cases in this campaign, model branches in their cycle left out."""
    model_in_cycle = and_(
        col(Branch.model_branch) == True,  # noqa: E712
        col(Branch.cycle_start) <= year,
        col(Branch.cycle_end) >= year,
    )
    return int(
        session.execute(
            select(func.count())
            .select_from(Case)
            .join(Branch, col(Branch.id) == col(Case.branch_id))
            .where(
                col(Case.campaign_id) == campaign_id,
                col(Branch.committee_id) == committee_id,
                col(Case.id) != exclude,
                col(Case.state).not_in(spec.rules.quota.not_counted),
                or_(~model_in_cycle, col(Branch.cycle_start).is_(None)),
            )
        ).scalar_one()
    )
