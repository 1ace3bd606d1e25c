"""R14: decide which reminders are due and queue them in the outbox, then deliver (one sweep).

A sweep reads the cases whose due date is near or past with one query over the (state, due_at)
index, works out per case and state the one reminder that applies now, and inserts the outbox rows
it decided in the same transaction. The rows' unique key (case, state, due_at, offset, recipient,
channel) makes every reminder happen once, however many sweeps run, one after the other or at the
same time. Nothing depends on when the previous sweep ran: after days of downtime the next sweep
queues only the most recent reminder per case and state, and the overdue notices.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col

from workflow import access
from workflow.dates import clock, workdays
from workflow.db.models import Branch, Case, Committee, Outbox, Review, User
from workflow.errors import UsageError
from workflow.reminders import outbox
from workflow.reminders.outbox import Result
from workflow.reminders.transports import Channel, Item, body, subject
from workflow.review import review_states
from workflow.spec import Offset, Spec
from workflow.workspace import Workspace

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)  # pure, and most cases of a state share one due date
def fire_at(offset: Offset, due: datetime, send_at: str) -> datetime:
    """When a reminder `offset` before `due` goes out.

    Hours count back from the due moment; days and working days pick a day (working days skip
    holidays and honour 调休) and go out at `send_at` (08:30) on it, Asia/Shanghai.
    """
    if offset.unit == "h":
        return due - timedelta(hours=offset.amount)
    due_day = due.astimezone(clock.TZ).date()
    day = workdays.working_days_before(due_day, offset.amount) if offset.unit == "wd" else due_day - timedelta(days=offset.amount)
    hour, minute = (int(p) for p in send_at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=clock.TZ)


def horizon(offsets: Iterable[Offset]) -> timedelta:
    """How far before a due date the earliest of these reminders can fire (generous for working days:
    the longest run of holidays is well under two weeks)."""
    spans = [timedelta(hours=o.amount) if o.unit == "h" else timedelta(days=o.amount * (2 if o.unit == "wd" else 1) + 14) for o in offsets]
    return max(spans, default=timedelta(0))


@dataclass(frozen=True)
class Planned:
    """An outbox row a sweep decided."""

    case_id: int
    state: str
    due_at: datetime  # naive UTC, as stored
    offset: str
    kind: str  # before | overdue | digest
    recipient: str
    recipient_name: str
    channel: str

    @property
    def key(self) -> tuple[int, str, datetime, str, str, str]:
        """The outbox's unique key."""
        return (self.case_id, self.state, self.due_at, self.offset, self.recipient, self.channel)


@dataclass(frozen=True)
class _Person:
    email: str
    name: str


@dataclass
class SweepReport:
    """What one sweep did (or, with dry_run, would do)."""

    now: datetime
    dry_run: bool
    queued: list[Planned] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    cancelled: int = 0
    no_recipient: list[tuple[int, str]] = field(default_factory=list)  # (case, state) nobody could be told about
    waiting: dict[str, int] = field(default_factory=dict)  # pending rows of channels not configured here
    previews: list[Preview] = field(default_factory=list)  # dry run: each message as it would go out


def _audience(
    who: Sequence[str], branch_email: str, branch_name: str, contact: str, committee_id: int, people: Mapping[int | str, list[_Person]]
) -> list[_Person]:
    out: dict[str, _Person] = {}
    for kind in who:
        if kind == access.BRANCH and branch_email:
            out.setdefault(branch_email.lower(), _Person(branch_email.lower(), contact or f"{branch_name}联系人"))
        elif kind in (access.COMMITTEE, access.ORG):
            for person in people.get(committee_id if kind == access.COMMITTEE else access.ORG, ()):
                out.setdefault(person.email, person)
    return list(out.values())


@dataclass
class _Near:
    """What deciding needs, read once: the cases near or past their due date, who to tell, the reviewers."""

    cases: list[Any]
    people: dict[int | str, list[_Person]]
    reviewers: dict[int, list[_Person]]


def _near(session: Session, spec: Spec, until: datetime, digest: bool) -> _Near | None:
    """The cases whose due date is within their state's reminder horizon of `until` (or past), with their people."""
    policy = spec.reminders
    live = [s for s in spec.states if not s.terminal]
    reach = {s.id: horizon(policy.offsets(s.id)) for s in live if policy.offsets(s.id) or policy.overdue_notice or digest}
    if not reach:
        return None
    # The one indexed query: per state, cases whose due date is within that state's horizon (or past).
    near = or_(*(and_(col(Case.state) == sid, col(Case.due_at) <= clock.to_db(until + span)) for sid, span in reach.items()))
    cases = session.execute(
        select(
            col(Case.id),
            col(Case.state),
            col(Case.due_at),
            col(Branch.name),
            col(Branch.email),
            col(Branch.contact),
            col(Branch.committee_id),
        )
        .join(Branch, col(Branch.id) == col(Case.branch_id))
        .where(near, col(Case.due_at).is_not(None))
        .order_by(col(Case.due_at), col(Case.id))
    ).all()
    if not cases:
        return None
    # Who to tell, looked up per committee (org under "org"): one pass over the users, not one per case.
    people: dict[int | str, list[_Person]] = {}
    users = select(col(User.role), col(User.committee_id), col(User.email), col(User.name)).where(
        col(User.email) != "", col(User.role).in_((access.COMMITTEE, access.ORG))
    )
    for role, committee_of, user_email, name in session.execute(users):
        key: int | str = access.ORG if role == access.ORG else committee_of
        people.setdefault(key, []).append(_Person(user_email.strip().lower(), name))

    # R13: reviewers (with an email) of the cases with the panel they have not scored yet.
    panel = set(review_states(spec))
    reviewers: dict[int, list[_Person]] = {}
    with_panel = [c[0] for c in cases if c[1] in panel]
    if with_panel:
        q = (
            select(col(Review.case_id), col(User.email), col(User.name))
            .join(User, col(User.id) == col(Review.reviewer_id))
            .where(col(Review.case_id).in_(with_panel), col(Review.submitted_at).is_(None), col(User.email) != "")
        )
        for case_id, user_email, name in session.execute(q.order_by(col(Review.id))):
            reviewers.setdefault(case_id, []).append(_Person(user_email.strip().lower(), name))
    return _Near(list(cases), people, reviewers)


def _wanted(spec: Spec, near: _Near, now: datetime, channels: Sequence[str], digest: bool) -> tuple[list[Planned], list[tuple[int, str]]]:
    """Per case and state, the one reminder that applies at `now` (and the cases nobody could be told about)."""
    policy = spec.reminders
    today = now.astimezone(clock.TZ).date().isoformat()
    wanted: list[Planned] = []
    nobody: list[tuple[int, str]] = []
    for case_id, state, due_db, branch, email, contact, committee_id in near.cases:
        due = clock.from_db(due_db)
        marks: list[tuple[str, str, Sequence[str]]] = []  # (offset, kind, audience)
        audience = policy.audience(spec.by_id[state])
        if due < now:
            if policy.overdue_notice:
                marks.append(("overdue", "overdue", audience))
            if digest:
                marks.append((f"digest:{today}", "digest", (access.ORG,)))
        else:
            fired = [(fire_at(o, due, policy.send_at), str(o)) for o in policy.offsets(state)]
            past = [f for f in fired if f[0] <= now]
            if past:  # only the most recent one: no burst of stale reminders after downtime
                marks.append((max(past)[1], "before", audience))
                for p in near.reviewers.get(case_id, ()):  # one row per case: a reviewer's message lists all of theirs
                    wanted += (Planned(case_id, state, due_db, max(past)[1], "review", p.email, p.name, ch) for ch in channels)
        for offset, kind, who in marks:
            persons = _audience(who, email, branch, contact, committee_id, near.people)
            if not persons:
                nobody.append((case_id, state))
            for p in persons:
                for channel in channels:
                    wanted.append(Planned(case_id, state, due_db, offset, kind, p.email, p.name, channel))
    return wanted, list(dict.fromkeys(nobody))


def decide(
    session: Session, spec: Spec, now: datetime, channels: Sequence[str], digest: bool = False
) -> tuple[list[Planned], list[tuple[int, str]]]:
    """The outbox rows due at `now` that do not exist yet, and the cases nobody could be told about."""
    near = _near(session, spec, now, digest) if channels else None
    if near is None:
        return [], []
    wanted, nobody = _wanted(spec, near, now, channels, digest)
    return _new_and_capped(_existing(session, wanted), wanted, spec.reminders.max_per_state), nobody


def _existing(session: Session, wanted: Sequence[Planned] | Sequence[int]) -> list[Any]:
    """The outbox rows (key, kind and status) of these cases, or of the cases of these planned rows."""
    ids = sorted({w if isinstance(w, int) else w.case_id for w in wanted})
    out: list[Any] = []
    for start in range(0, len(ids), 1000):
        out += session.execute(
            select(
                col(Outbox.case_id), col(Outbox.state), col(Outbox.due_at), col(Outbox.offset), col(Outbox.recipient), col(Outbox.channel),
                col(Outbox.kind), col(Outbox.status),
            ).where(col(Outbox.case_id).in_(ids[start : start + 1000]))
        ).all()  # fmt: skip
    return out


def _new_and_capped(existing: Sequence[Any], wanted: list[Planned], cap: int, assumed: Sequence[Planned] = ()) -> list[Planned]:
    """Drop rows that exist already (or are `assumed` to: a plan's earlier days), and reminders past the cap per
    case, state, recipient and channel."""
    if not wanted:
        return []
    keys = {tuple(r[:6]) for r in existing} | {a.key for a in assumed}
    sent = Counter((r[0], r[1], r[4], r[5]) for r in existing if r[6] != "digest" and r[7] != "cancelled")
    sent.update((a.case_id, a.state, a.recipient, a.channel) for a in assumed if a.kind != "digest")
    out = []
    for w in wanted:
        if w.key in keys:
            continue
        if w.kind != "digest":
            slot = (w.case_id, w.state, w.recipient, w.channel)
            if sent[slot] >= cap:
                continue
            sent[slot] += 1
        keys.add(w.key)
        out.append(w)
    return out


def queue(session: Session, planned: Sequence[Planned], now: datetime) -> list[Planned]:
    """Insert the planned rows; a row another sweep inserted meanwhile is skipped, not duplicated.

    One executemany of INSERT … ON CONFLICT DO NOTHING RETURNING the keys inserted, on the session's
    connection (plain Core: SQLAlchemy sends it as multi-row statements compiled once, where building a
    VALUES clause of hundreds of rows per statement cost more than the insert itself).
    """
    if not planned:
        return []
    conn = session.connection()
    now_db = clock.to_db(now)
    rows = [
        {
            "case_id": p.case_id,
            "state": p.state,
            "due_at": p.due_at,
            "offset": p.offset,
            "kind": p.kind,
            "recipient": p.recipient,
            "recipient_name": p.recipient_name,
            "channel": p.channel,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "next_try_at": now_db,
            "created_at": now_db,
        }
        for p in planned
    ]
    inserted = {tuple(r) for r in conn.execute(_insert(conn.dialect.name), rows)}
    return [p for p in planned if p.key in inserted]  # a key not returned existed already


@lru_cache(maxsize=2)
def _insert(dialect: str) -> Any:
    """The outbox insert, built once per process and dialect."""
    table: Any = SQLModel.metadata.tables["outbox"]
    ins: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    keys = (table.c.case_id, table.c.state, table.c.due_at, table.c.offset, table.c.recipient, table.c.channel)
    return ins.on_conflict_do_nothing().returning(*keys)


def sweep(
    ws: Workspace,
    channels: Mapping[str, Channel],
    *,
    digest: bool = False,
    dry_run: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    base_url: str = "",
) -> SweepReport:
    """One sweep at `ws.now`: queue what is due (and org's digest if asked), then deliver it.

    With `dry_run` nothing is written or sent: the report lists what would go out. `base_url` is the web
    app's address (configuration: BRANCHFLOW_BASE_URL): messages then link to each case's page.
    """
    spec, now, names = ws.spec, ws.now, list(channels)
    report = SweepReport(now, dry_run)
    if dry_run:
        with ws.store.read() as s:
            access.require_org(ws.actor(s), "发送提醒")
            report.queued, report.no_recipient = decide(s, spec, now, names, digest)
        report.results, report.previews = _preview(ws, report.queued, names, base_url)
        return report
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "发送提醒")
        planned, report.no_recipient = decide(s, spec, now, names, digest)
        report.queued = queue(s, planned, now)
    if report.no_recipient:
        listed = "、".join(f"{cid}（{spec.label(st)}）" for cid, st in report.no_recipient)
        log.warning("这些申报没有可提醒的人（无邮箱）：%s。请在支部名单或用户中补充邮箱。", listed)
    report.results, report.cancelled = outbox.deliver(ws.store, spec, now, channels, should_stop, base_url=base_url)
    report.waiting = outbox.waiting_elsewhere(ws.store, names)
    return report


UNIT_LABELS = {"d": "天", "wd": "个工作日", "h": "小时"}


def kind_label(kind: str, offset: str) -> str:
    """What kind of reminder a row is, as staff say it: 截止前 7 天, 截止前 3 个工作日, 逾期通知, 逾期汇总."""
    if kind == "overdue":
        return "逾期通知"
    if kind == "digest":
        return "逾期汇总"
    amount, unit = str(offset).rstrip("dwh"), str(offset)[len(str(offset).rstrip("dwh")) :]
    before = f"截止前 {amount} {UNIT_LABELS.get(unit, unit)}"
    return f"评审提醒（{before}）" if kind == "review" else before


@dataclass(frozen=True)
class PreviewItem:
    """One case in a previewed message."""

    case_id: int
    kind: str  # before | review | overdue | digest
    kind_label: str
    due_at: datetime  # aware


@dataclass(frozen=True)
class Preview:
    """A message a dry run would send: to whom, by which channel, about what, with its whole text."""

    channel: str
    recipient: str
    recipient_name: str
    subject: str
    text: str
    items: tuple[PreviewItem, ...]
    outbox_ids: tuple[int, ...]  # rows already waiting in the outbox (planned rows have none yet)


def _preview(
    ws: Workspace, queued: Sequence[Planned], channels: Sequence[str], base_url: str = ""
) -> tuple[list[Result], list[Preview]]:
    """What a sweep would send, message by message: the rows it would queue plus those already waiting,
    composed exactly as the sender composes them (subject, text)."""
    spec, now = ws.spec, ws.now
    now_db = clock.to_db(now)
    grouped: dict[tuple[str, str], list[tuple[Outbox, int]]] = {}  # (channel, recipient) -> [(row, stored id or 0)]
    names: dict[str, str] = {}
    for p in queued:
        row = Outbox(
            case_id=p.case_id,
            state=p.state,
            due_at=p.due_at,
            offset=p.offset,
            kind=p.kind,
            recipient=p.recipient,
            recipient_name=p.recipient_name,
            channel=p.channel,
        )
        grouped.setdefault((p.channel, p.recipient), []).append((row, 0))
        names.setdefault(p.recipient, p.recipient_name)
    with ws.store.read() as s:
        pending = (
            s.execute(
                select(Outbox).where(
                    col(Outbox.status) == "pending",
                    col(Outbox.next_try_at) <= now_db,
                    col(Outbox.channel).in_(channels),
                    or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now_db),
                )
            )
            .scalars()
            .all()
        )
        for row in pending:
            grouped.setdefault((row.channel, row.recipient), []).append((row, row.id or 0))
            names.setdefault(row.recipient, row.recipient_name or row.recipient)
        case_ids = sorted({row.case_id for rows in grouped.values() for row, _ in rows})
        where: dict[int, tuple[str, str]] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            q = (
                select(col(Case.id), col(Branch.name), col(Committee.name))
                .join(Branch, col(Branch.id) == col(Case.branch_id))
                .join(Committee, col(Committee.id) == col(Branch.committee_id))
                .where(col(Case.id).in_(chunk))
            )
            where.update({cid: (branch, committee) for cid, branch, committee in s.execute(q)})
        results: list[Result] = []
        previews: list[Preview] = []
        for (channel, recipient), rows in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            items: list[Item] = [outbox.item(spec, row, *where.get(row.case_id, ("", ""))) for row, _ in rows]
            ids = tuple(sorted(i for _, i in rows if i))
            cases = tuple(sorted({row.case_id for row, _ in rows}))
            title = subject(items, now)
            name = names.get(recipient) or recipient
            results.append(Result(channel, recipient, cases, ids, "dry-run", subject=title))
            previews.append(
                Preview(
                    channel,
                    recipient,
                    name,
                    title,
                    body(name, items, now, base_url=base_url, for_org=base_url != "" or outbox.is_org_address(s, recipient)),
                    tuple(
                        PreviewItem(row.case_id, row.kind, kind_label(row.kind, row.offset), clock.from_db(row.due_at)) for row, _ in rows
                    ),
                    ids,
                )
            )
    return results, previews


@dataclass(frozen=True)
class PlanRow:
    """One reminder the plan expects to go out: on which day, what kind, to whom (by which channel), about which case."""

    day: date
    kind: str  # before | review | overdue | digest
    kind_label: str
    recipient: str
    recipient_name: str
    channel: str
    case_id: int
    branch: str
    committee: str
    state_label: str
    due_at: datetime  # aware


def plan(ws: Workspace, channels: Sequence[str], days: int = 14, digest: bool = False) -> list[PlanRow]:
    """What the reminder sweeps of today and the next `days` days would send, day by day, if no case moved
    meanwhile: each day's dry-run decision (as of the day's end; today from `now`), the reminders of the days
    before counted as sent (once each, and within `max_per_state`). Org only; nothing is written or sent.

    Org's daily overdue digest is left out unless `digest` (it repeats every overdue case every day)."""
    if not 0 <= days <= 60:
        raise UsageError(f"提醒计划的天数应在 0 到 60 之间，实际是 {days}。", field="days", value=days)
    spec, names = ws.spec, list(channels)
    today = ws.now.astimezone(clock.TZ).date()
    moments = [(day, datetime.combine(day, time(23, 59, 59), clock.TZ)) for day in (today + timedelta(days=n) for n in range(days + 1))]
    found: list[tuple[date, Planned]] = []
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "查看提醒计划")
        # Read once for the last day (its cases include every earlier day's), then decide day by day in memory.
        near = _near(s, spec, moments[-1][1], digest) if names else None
        existing = _existing(s, [c[0] for c in near.cases]) if near is not None else []
        for day, moment in moments if near is not None else ():
            assert near is not None
            wanted, _ = _wanted(spec, near, moment, names, digest)
            planned = _new_and_capped(existing, wanted, spec.reminders.max_per_state, [p for _, p in found])
            found += ((day, p) for p in planned)
        ids = sorted({p.case_id for _, p in found})
        where: dict[int, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            q = (
                select(col(Case.id), col(Branch.name), col(Committee.name))
                .join(Branch, col(Branch.id) == col(Case.branch_id))
                .join(Committee, col(Committee.id) == col(Branch.committee_id))
                .where(col(Case.id).in_(ids[start : start + 500]))
            )
            where.update({cid: (branch, committee) for cid, branch, committee in s.execute(q)})
    rows = [
        PlanRow(
            day,
            p.kind,
            kind_label(p.kind, p.offset),
            p.recipient,
            p.recipient_name,
            p.channel,
            p.case_id,
            *where.get(p.case_id, ("", "")),
            spec.label(p.state),
            clock.from_db(p.due_at),
        )
        for day, p in found
    ]
    return sorted(rows, key=lambda r: (r.day, r.recipient, r.case_id, r.kind, r.channel))
