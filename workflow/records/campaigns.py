"""`init`: the database, the spec it runs and a year's campaign. A new states.yaml is compared with the spec in
force (workflow.spec.diff); its changed dates of existing years are applied like `extend --state`, and a spec
that would strand live cases is refused with nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from workflow import access
from workflow import spec as spec_mod
from workflow.dates import clock
from workflow.db.models import Campaign, CampaignDue, Case, SpecRecord, User
from workflow.db.store import Store
from workflow.errors import Refused, SpecError
from workflow.records.deadlines import move_state_due
from workflow.spec.diff import Change, Stranded, compare, stranded
from workflow.workspace import ADMIN, Workspace, spec_in_force

PACKAGED_SOURCE = "states.yaml（内置）"


@dataclass(frozen=True)
class DateApplied:
    """A changed date of an existing year, applied to its calendar: the cases that moved with it."""

    year: int
    state: str
    until: datetime
    cases: list[int]


@dataclass(frozen=True)
class Comparison:
    """A new spec against the spec a database runs: what changed, and the states it would strand."""

    changes: list[Change]
    stranded: list[Stranded]
    years: frozenset[int] = frozenset()  # the campaign years the database has

    @property
    def dates_to_apply(self) -> list[Change]:
        """The date changes of years the database has a campaign for."""
        return [c for c in self.changes if c.is_date and c.year in self.years]


@dataclass(frozen=True)
class Initialized:
    """What `init` did."""

    campaign: Campaign
    created: bool
    source: str
    changes: list[Change] = field(default_factory=list)
    applied: list[DateApplied] = field(default_factory=list)
    compared: bool = False  # there was a spec in force to compare with (not a new database)


def packaged() -> spec_mod.Spec:
    """The spec shipped with the program."""
    return spec_mod.parse(spec_mod.packaged_text(), PACKAGED_SOURCE)


def stranded_refusal(found: list[Stranded]) -> Refused:
    """The refusal of a spec that would strand cases, naming every state and count."""
    lines = [s.text for s in found]
    return Refused(
        "新的状态配置会让已有申报无法推进，未做任何修改：" + "；".join(lines) + "。请保留这些状态和操作，或先把这些申报办结后再换配置。"
    )


def cases_per_state(s: Session) -> dict[str, int]:
    """How many cases sit in each state, over every campaign."""
    return {state: n for state, n in s.execute(select(col(Case.state), func.count()).group_by(col(Case.state))).all()}


def _years(s: Session) -> frozenset[int]:
    return frozenset(s.execute(select(col(Campaign.year))).scalars())


def compare_in(s: Session, old: spec_mod.Spec, new: spec_mod.Spec) -> Comparison:
    """Inside a session: the comparison of `new` with `old`, the spec that database runs."""
    if old.text == new.text:
        return Comparison([], [], _years(s))
    return Comparison(compare(old, new), stranded(old, new, cases_per_state(s)), _years(s))


def preview(store: Store, new: spec_mod.Spec) -> Comparison | None:
    """`check-states FILE --db`: what `init --states FILE` would change, as a dry run (None: no database yet)."""
    old = spec_in_force(store)
    if old is None:
        return None
    with store.read() as s:
        return compare_in(s, old, new)


def check(store: Store | None, new: spec_mod.Spec) -> Comparison | None:
    """`check-states FILE [--db]`: with a database, what `init --states FILE` would change (None without one, or
    when it has no spec yet); a spec that would strand live cases is refused, as init would refuse it."""
    found = preview(store, new) if store is not None else None
    if found is not None and found.stranded:
        raise stranded_refusal(found.stranded)
    return found


def init(store: Store, new: spec_mod.Spec | None, year: int, now: datetime, user: str = ADMIN) -> Initialized:
    """Create the schema (idempotent), put `new` in force, create `year`'s campaign and the admin user.

    Without `new` the spec in force stays (the packaged one on a new database). With it, the differences are
    returned, a changed date of a year that has a campaign is applied to that calendar (cases in that state
    move with it unless they have their own later date, each move audited as `extend` by `user`), and a spec
    that would strand cases is refused before anything changes.
    """
    clock.check_year(year)
    # A year without calendar is refused before a database file is created (in force: checked below).
    if new is not None:
        new.calendar(year)
    elif store.sqlite_path and store.sqlite_path != ":memory:" and not Path(store.sqlite_path).exists():
        packaged().calendar(year)
    store.create_schema()
    with store.write() as s:
        store.lock(s, "init")  # two inits at once: the second sees the first's rows instead of adding its own
        latest = s.exec(select(SpecRecord).order_by(col(SpecRecord.id).desc())).first()
        old = _stored(latest, replacing=new is not None)
        spec = new or old or packaged()
        calendar = spec.calendar(year)
        changes: list[Change] = []
        applied: list[DateApplied] = []
        if old is not None and old.text != spec.text:
            found = compare_in(s, old, spec)
            if found.stranded:
                raise stranded_refusal(found.stranded)
            changes = found.changes
            applied = _apply_dates(store, s, found, spec, now, user)
        if latest is None or latest.text != spec.text:
            s.add(SpecRecord(source=spec.source, text=spec.text, loaded_at=clock.to_db(now)))
        campaign = s.exec(select(Campaign).where(col(Campaign.year) == year)).first()
        created = campaign is None
        if campaign is None:
            campaign = Campaign(year=year, label=calendar.label, created_at=clock.to_db(now))
            s.add(campaign)
            s.flush()
            assert campaign.id is not None
            for state, day in calendar.due.items():
                s.add(CampaignDue(campaign_id=campaign.id, state=state, due_at=clock.to_db(clock.end_of_day(day))))
        if s.exec(select(User).where(col(User.name) == ADMIN)).first() is None:
            s.add(User(name=ADMIN, role="org"))
        s.flush()
        s.refresh(campaign)
        s.expunge(campaign)
    return Initialized(campaign, created, spec.source, changes, applied, compared=old is not None)


def _stored(record: SpecRecord | None, *, replacing: bool) -> spec_mod.Spec | None:
    """The stored spec; one this version no longer accepts may be replaced (it cannot be compared), not kept."""
    if record is None:
        return None
    try:
        return spec_mod.parse(record.text, record.source)
    except SpecError:
        if replacing:
            return None
        raise


def _apply_dates(store: Store, s: Session, found: Comparison, spec: spec_mod.Spec, now: datetime, user: str) -> list[DateApplied]:
    todo = found.dates_to_apply
    if not todo:
        return []
    actor = Workspace(store, now, user).actor(s)
    access.require_org(actor, "修改已有年度的日程")
    ids: Mapping[int, int] = {y: cid for y, cid in s.execute(select(col(Campaign.year), col(Campaign.id))).all()}
    out = []
    for change in todo:
        assert change.year is not None and change.state is not None and change.new is not None
        until = clock.end_of_day(change.new)
        reason = f"状态配置 {spec.source} 修改了 {change.year} 年日程"
        _, moved = move_state_due(s, ids[change.year], change.state, until, now, actor, reason, {"spec": spec.source})
        out.append(DateApplied(change.year, change.state, until, moved))
    return out
