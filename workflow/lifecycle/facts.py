"""Gather the facts the rules look at, with a handful of indexed queries."""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, String, and_, any_, bindparam, func, literal_column, select
from sqlmodel import Session, col

from workflow.dates import clock
from workflow.db.models import Attachment, Branch, Campaign, Case, Committee, Review, Waiver
from workflow.spec import Spec
from workflow.spec.rules import CONDITIONS, FACT_GROUPS, PLAN_FIELDS, Facts


class CaseRow(NamedTuple):
    """A case with its branch, committee and campaign: what every decision starts from (a tuple: bulk runs build thousands)."""

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
    roster_took_part_year: int | None  # the year the roster column 上年度参与 speaks of


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
    col(Branch.took_part_year),
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
    score, model_branch, cycle_start, cycle_end, took_part = r[12 + n :]
    return CaseRow(
        id=r[0],
        campaign_id=r[1],
        year=r[2],
        branch_id=r[3],
        branch=r[4],
        committee_id=r[5],
        committee=r[6],
        state=r[7],
        due_at=_from_db(r[8]) if r[8] else None,
        version=r[9],
        theme=r[10],
        theme_note=r[11],
        plan=plan,
        score=score,
        model_branch=bool(model_branch),
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        roster_took_part_year=took_part,
    )


# Due dates repeat (a campaign's calendar), and bulk runs convert one per case.
_from_db = functools.lru_cache(maxsize=1024)(clock.from_db)


def in_cycle(row: CaseRow, year: int | None = None) -> bool:
    """Whether the branch is a national model branch inside its cultivation cycle in `year`."""
    y = row.year if year is None else year
    return bool(row.model_branch and row.cycle_start and row.cycle_end and row.cycle_start <= y <= row.cycle_end)


def gather(session: Session, spec: Spec, row: CaseRow, now: datetime, inputs: Mapping[str, Any]) -> Facts:
    """Everything the rules may need about one case, as of `now` (a batch of one: see `Batch`)."""
    return Batch(session, spec, [row]).facts(row, now, inputs)


def any_of(session: Session, column: Any, values: Sequence[int]) -> Any:
    """`column IN values` as one bound parameter (see `_ids_in`), so a thousand ids are one parameter."""
    dialect = session.get_bind().dialect.name
    return _ids_in(column, dialect, None, _ids_value(dialect, values))


def _ids_in(column: Any, dialect: str, name: str | None, value: Any = None) -> Any:
    """`column IN :name`, the ids bound as a JSON array on SQLite and an integer array on PostgreSQL."""
    given = {} if value is None else {"value": value}
    if dialect == "sqlite":
        return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String, **given))))
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(BigInteger), **given))
    return column.in_(bindparam(name, expanding=True, **given))


def _ids_value(dialect: str, values: Sequence[int]) -> Any:
    return json.dumps(list(values)) if dialect == "sqlite" else list(values)


def needs(conditions: Sequence[str] | None) -> frozenset[str]:
    """The fact groups these conditions read, as each declares next to its rule (None, or an unknown name: every group)."""
    if conditions is None:
        return FACT_GROUPS
    return frozenset().union(*(c.needs if (c := CONDITIONS.get(name)) is not None else FACT_GROUPS for name in conditions))


@functools.lru_cache(maxsize=16)
def _statements(dialect: str, not_live: tuple[str, ...], participated: tuple[str, ...], not_counted: tuple[str, ...]) -> dict[str, Any]:
    """The batch queries, built once per dialect and rule settings (only their parameters change per chunk)."""
    campaigns: Any = bindparam("campaigns", expanding=True)
    committees: Any = bindparam("committees", expanding=True)
    model_in_cycle = and_(
        col(Branch.model_branch) == True,  # noqa: E712
        col(Branch.cycle_start).is_not(None),
        col(Branch.cycle_end).is_not(None),
        col(Branch.cycle_start) <= col(Campaign.year),
        col(Branch.cycle_end) >= col(Campaign.year),
    )
    return {
        "attachments": select(col(Attachment.case_id), col(Attachment.kind))
        .where(_ids_in(col(Attachment.case_id), dialect, "ids"))
        .distinct(),
        "waivers": select(col(Waiver.case_id), col(Waiver.rule)).where(_ids_in(col(Waiver.case_id), dialect, "ids")),
        "panel": select(col(Review.case_id), col(Review.total), col(Review.scores))
        .where(_ids_in(col(Review.case_id), dialect, "ids"), col(Review.submitted_at).is_not(None))
        .order_by(col(Review.id)),
        "live": select(col(Case.campaign_id), col(Case.branch_id), func.count())
        .where(col(Case.campaign_id).in_(campaigns), _ids_in(col(Case.branch_id), dialect, "branches"), col(Case.state).not_in(not_live))
        .group_by(col(Case.campaign_id), col(Case.branch_id)),
        "campaigns": select(col(Campaign.id), col(Campaign.year)),
        "participation": select(col(Case.branch_id), col(Campaign.year), func.count())
        .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
        .where(
            col(Case.campaign_id).in_(campaigns),
            _ids_in(col(Case.branch_id), dialect, "branches"),
            col(Case.state).in_(participated),
        )
        .group_by(col(Case.branch_id), col(Campaign.year)),
        "branches": select(col(Branch.committee_id), func.count())
        .where(col(Branch.committee_id).in_(committees))
        .group_by(col(Branch.committee_id)),
        # Cases reached through the committees' branches (the subquery), not by scanning the
        # campaign: SQLite without ANALYZE statistics would otherwise walk every case of the campaign.
        "quota": select(col(Case.campaign_id), col(Branch.committee_id), func.count())
        .select_from(Case)
        .join(Branch, col(Branch.id) == col(Case.branch_id))
        .join(Campaign, col(Campaign.id) == col(Case.campaign_id))
        .where(
            col(Case.campaign_id).in_(campaigns),
            col(Case.branch_id).in_(select(col(Branch.id)).where(col(Branch.committee_id).in_(committees))),
            col(Case.state).not_in(not_counted),
            ~model_in_cycle,
        )
        .group_by(col(Case.campaign_id), col(Branch.committee_id)),
    }


_NONE: frozenset[str] = frozenset()


def _grouped(pairs: Sequence[Any]) -> dict[int, frozenset[str]]:
    """(case id, value) rows → the set of values per case."""
    out: dict[int, set[str]] = defaultdict(set)
    for case_id, value in pairs:
        out[case_id].add(value)
    return {k: frozenset(v) for k, v in out.items()}


@dataclass
class Pending:
    """Changes to the counts below made by decisions the database does not show yet (kept across chunks in a dry run)."""

    live: Counter[tuple[int, int]] = field(default_factory=Counter)  # (campaign, branch) → live cases (R3)
    took: Counter[tuple[int, int]] = field(default_factory=Counter)  # (branch, year) → participating cases (R2, R4)
    quota: Counter[tuple[int, int]] = field(default_factory=Counter)  # (campaign, committee) → counted cases (R5)


class Batch:
    """The facts of a batch of cases, from a few grouped queries, kept current as its cases are decided in order.

    The single-case path is a batch of one, so both paths apply the same rules to the same counts.
    Call `moved` after each decided transition so that later cases see it (R5: two cases of one
    committee submitted in one run count against each other).
    """

    def __init__(
        self, session: Session, spec: Spec, rows: Sequence[CaseRow], pending: Pending | None = None, conditions: Sequence[str] | None = None
    ) -> None:
        self.spec = spec
        self.pending = pending if pending is not None else Pending()
        self.kinds: dict[int, frozenset[str]] = {}
        self.waived: dict[int, frozenset[str]] = {}
        self.live: Counter[tuple[int, int]] = Counter()
        self.took: Counter[tuple[int, int]] = Counter()
        self.quota: Counter[tuple[int, int]] = Counter()
        self.branches: Counter[int] = Counter()
        self.years: set[int] = set()
        self.reviews: dict[int, list[tuple[float, dict[str, float]]]] = {}  # case → (total, scores) per submitted review
        wanted = self.wanted = needs(conditions)
        if not rows or not wanted:
            return
        settings = spec.rules
        dialect = session.get_bind().dialect.name
        q = _statements(dialect, settings.not_live, settings.participated, settings.quota.not_counted)
        conn = session.connection()
        ids = _ids_value(dialect, sorted({r.id for r in rows}))
        branches = _ids_value(dialect, sorted({r.branch_id for r in rows}))
        campaigns = sorted({r.campaign_id for r in rows})
        committees = sorted({r.committee_id for r in rows})
        if "attachments" in wanted:
            self.kinds = _grouped(conn.execute(q["attachments"], {"ids": ids}).all())
        if "waivers" in wanted:
            self.waived = _grouped(conn.execute(q["waivers"], {"ids": ids}).all())
        if "panel" in wanted:
            for case_id, total, scores in conn.execute(q["panel"], {"ids": ids}).all():
                self.reviews.setdefault(case_id, []).append((total, json.loads(scores) if scores else {}))
        if "live" in wanted:
            for campaign_id, branch_id, n in conn.execute(q["live"], {"campaigns": campaigns, "branches": branches}).all():
                self.live[(campaign_id, branch_id)] = n
        if "participation" in wanted:
            known = dict(conn.execute(q["campaigns"]).all())
            self.years = set(known.values())
            latest = max(r.year for r in rows)
            earlier = [cid for cid, year in known.items() if year < latest]
            if earlier:
                for branch_id, year, n in conn.execute(q["participation"], {"campaigns": earlier, "branches": branches}).all():
                    self.took[(branch_id, year)] = n
        if "quota" in wanted:
            for committee_id, n in conn.execute(q["branches"], {"committees": committees}).all():
                self.branches[committee_id] = n
            for campaign_id, committee_id, n in conn.execute(q["quota"], {"campaigns": campaigns, "committees": committees}).all():
                self.quota[(campaign_id, committee_id)] = n

    def facts(self, row: CaseRow, now: datetime, inputs: Mapping[str, Any]) -> Facts:
        """Everything the rules may need about one case of the batch, as of `now`."""
        settings = self.spec.rules
        pending = self.pending
        years: set[int] = set()
        if "participation" in self.wanted:
            earlier = [y for y in self.years if y < row.year]
            if self.took or pending.took:
                took, more, branch = self.took.get, pending.took.get, row.branch_id
                years = {y for y in earlier if took((branch, y), 0) + more((branch, y), 0) > 0}
            roster_year = row.roster_took_part_year
            # The roster column counts for its own year, unless that year's campaign is in the database.
            if roster_year is not None and roster_year < row.year and roster_year not in self.years:
                years.add(roster_year)
        model = in_cycle(row)
        in_cycle_count = sum(1 for y in years if row.cycle_start and row.cycle_end and row.cycle_start <= y <= row.cycle_end)
        live_key = (row.campaign_id, row.branch_id)
        quota_key = (row.campaign_id, row.committee_id)
        review = settings.review
        reviews = self.reviews.get(row.id, [])
        totals = [t for t, _ in reviews]
        # Without reviews the panel has no score and no means: skip the sorting and averaging (most cases).
        panel_score = review.panel(totals) if reviews else None
        panel_means = review.means([s for _, s in reviews], totals) if reviews else {}
        quota_used = 0
        if "quota" in self.wanted:
            quota_used = self.quota.get(quota_key, 0) + pending.quota.get(quota_key, 0) - self._counted(row, row.state)
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
            attachments=self.kinds.get(row.id, _NONE),
            waived=self.waived.get(row.id, _NONE),
            took_part_last_year=(row.year - 1) in years,
            other_live_cases=self.live.get(live_key, 0) + pending.live.get(live_key, 0) - (row.state not in settings.not_live),
            model_in_cycle=model,
            model_participations_in_cycle=in_cycle_count if model else 0,
            quota_used=quota_used,
            quota_limit=settings.quota.limit(self.branches.get(row.committee_id, 0)),
            excellent_score=settings.excellent_score,
            themes=settings.themes,
            other_theme=settings.other_theme,
            reviews_in=len(reviews),
            reviews_needed=review.min_reviews if "panel" in self.wanted else 0,
            panel_score=panel_score,
            panel_means=panel_means,
        )

    def moved(self, row: CaseRow, dest: str) -> None:
        """Record that `row` was decided to move to `dest`, so later cases of the batch count it."""
        settings = self.spec.rules
        source = row.state
        pending = self.pending
        if source == dest or not self.wanted:
            return
        if live := (dest not in settings.not_live) - (source not in settings.not_live):
            pending.live[(row.campaign_id, row.branch_id)] += live
        if took := (dest in settings.participated) - (source in settings.participated):
            pending.took[(row.branch_id, row.year)] += took
        if counted := self._counted(row, dest) - self._counted(row, source):
            pending.quota[(row.campaign_id, row.committee_id)] += counted

    def committee_quota(self, campaign_id: int, committee_id: int) -> tuple[int, int]:
        """R5 for a committee of the batch: (cases counted against its quota, how many it may recommend)."""
        key = (campaign_id, committee_id)
        used = self.quota.get(key, 0) + self.pending.quota.get(key, 0)
        return used, self.spec.rules.quota.limit(self.branches.get(committee_id, 0))

    def counts_against_quota(self, row: CaseRow) -> bool:
        """R5: whether this case, in its current state, counts against its committee's quota."""
        return bool(self._counted(row, row.state))

    def _counted(self, row: CaseRow, state: str) -> int:
        """R5: whether the case counts against its committee's quota when in `state`."""
        return int(state not in self.spec.rules.quota.not_counted and not in_cycle(row))
