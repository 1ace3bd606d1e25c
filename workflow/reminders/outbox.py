"""The outbox: claim what is due with a lease, send it, record the attempt, retry with backoff.

A message is one recipient's due rows for one channel. It is claimed before it is sent, by a
conditional UPDATE (only rows still pending and not leased by a live sender), so two senders never
send the same row; a sender that dies keeps its claim only until the lease runs out, and the next
sweep sends again with the same message key (the same e-mail Message-ID). All times here are the
sweep's clock (`now`), so `--now` drives leases and backoff alike.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlmodel import Session, col

from workflow import access
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Branch, Case, Committee, Delivery, DeliveryAttempt, Outbox, Review, User
from workflow.db.store import Store
from workflow.errors import Conflict, NotFound, Refused
from workflow.reminders.transports import REVIEW_ACTION, Channel, DeliveryFailed, Item, Message, body, message_key, redact, subject
from workflow.spec import Spec
from workflow.workspace import Workspace

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
# After this many tries a temporary failure is given up and the row marked failed (about a day
# with the backoff below); `outbox retry ID` puts it back.
MAX_ATTEMPTS = 8


def backoff(attempts: int) -> timedelta:
    """How long after failed try number `attempts` to try again: 15 min, 30 min, 1 h, 2 h, 4 h, then 6 h."""
    return min(timedelta(minutes=15) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


def new_owner() -> str:
    """A name for one sender, unique across machines and processes."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def row_key(case_id: int, state: str, due_at: datetime, offset: str, recipient: str, channel: str) -> str:
    """The outbox key as text (due_at naive UTC, as stored)."""
    return f"{case_id}|{state}|{due_at:%Y-%m-%dT%H:%M:%S}|{offset}|{recipient}|{channel}"


@dataclass(frozen=True)
class Result:
    """What happened to one message in a sweep."""

    channel: str
    recipient: str
    cases: tuple[int, ...]
    outbox_ids: tuple[int, ...]
    status: str  # sent | retry | failed | dry-run
    error: str = ""
    subject: str = ""
    message_key: str = ""


@dataclass(frozen=True)
class Claim:
    """Rows one sender holds for one message, and the attempt it opened."""

    owner: str
    message: Message
    delivery_id: int
    attempt_id: int
    cases: tuple[int, ...]
    resend: bool


def _due_filter(now_db: datetime) -> Any:
    return and_(
        col(Outbox.status) == "pending",
        col(Outbox.next_try_at) <= now_db,
        or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now_db),
    )


def groups(store: Store, now: datetime, channels: Sequence[str]) -> list[tuple[str, str]]:
    """(channel, recipient) pairs with rows due now and not held by another sender."""
    with store.read() as s:
        q = (
            select(col(Outbox.channel), col(Outbox.recipient))
            .where(_due_filter(clock.to_db(now)), col(Outbox.channel).in_(channels))
            .distinct()
            .order_by(col(Outbox.recipient), col(Outbox.channel))
        )
        return [(c, r) for c, r in s.execute(q)]


def waiting_elsewhere(store: Store, channels: Sequence[str]) -> dict[str, int]:
    """Pending rows for channels this process does not have (another machine's configuration)."""
    with store.read() as s:
        rows = s.execute(
            select(col(Outbox.channel), col(Outbox.id)).where(col(Outbox.status) == "pending", col(Outbox.channel).not_in(channels))
        ).all()
    out: dict[str, int] = {}
    for channel, _ in rows:
        out[channel] = out.get(channel, 0) + 1
    return out


def is_org_address(session: Session, recipient: str) -> bool:
    """Whether a recipient is one of org's users (told the commands when there is no web address to link to)."""
    q = select(col(User.id)).where(func.lower(col(User.email)) == recipient.strip().lower(), col(User.role) == access.ORG)
    return session.execute(q.limit(1)).first() is not None


CLAIM_BATCH = 200  # messages (recipient and channel) claimed in one transaction
_ID_CHUNK = 500  # ids per IN (…): well under SQLite's bound-parameter limit


def _chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Statements:
    """The statements of the delivery loop, built once per process (SQLAlchemy then finds each compiled form
    in its cache instead of building and comparing a new statement per message)."""

    def __init__(self) -> None:
        o, d, a = Outbox.__table__.c, Delivery.__table__.c, DeliveryAttempt.__table__.c  # type: ignore[attr-defined]
        ob, dt, at = Outbox.__table__, Delivery.__table__, DeliveryAttempt.__table__  # type: ignore[attr-defined]
        self.outbox, self.delivery = o, d
        due = and_(
            o.status == "pending",
            o.next_try_at <= bindparam("b_now"),
            or_(o.lease_until.is_(None), o.lease_until < bindparam("b_now")),
        )
        mine = and_(o.channel == bindparam("b_channel"), o.recipient.in_(bindparam("b_recipients", expanding=True)))
        # PostgreSQL: rows another sender is leasing at this moment are skipped, not waited for (SQLite has one writer).
        free = select(o.id).where(mine, due).order_by(o.id).with_for_update(skip_locked=True)
        self.lease = (
            update(ob)
            .where(o.id.in_(free.scalar_subquery()), due)
            .values(lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until"))
        )
        self.leased = (
            select(o.id, o.case_id, o.state, o.due_at, o.offset, o.kind, o.recipient, o.recipient_name, o.channel,
                   Case.__table__.c.state, Case.__table__.c.due_at, Branch.__table__.c.name, Committee.__table__.c.name)  # type: ignore[attr-defined]
            .join(Case.__table__, Case.__table__.c.id == o.case_id)  # type: ignore[attr-defined]
            .join(Branch.__table__, Branch.__table__.c.id == Case.__table__.c.branch_id)  # type: ignore[attr-defined]
            .join(Committee.__table__, Committee.__table__.c.id == Branch.__table__.c.committee_id)  # type: ignore[attr-defined]
            .where(o.lease_owner == bindparam("b_owner"), mine, o.status == "pending")
            .order_by(o.id)
        )  # fmt: skip
        self.scored = (
            select(Review.__table__.c.case_id, func.lower(User.__table__.c.email))  # type: ignore[attr-defined]
            .join(User.__table__, User.__table__.c.id == Review.__table__.c.reviewer_id)  # type: ignore[attr-defined]
            .where(
                Review.__table__.c.case_id.in_(bindparam("b_cases", expanding=True)),  # type: ignore[attr-defined]
                Review.__table__.c.submitted_at.is_not(None),  # type: ignore[attr-defined]
                func.lower(User.__table__.c.email).in_(bindparam("b_recipients", expanding=True)),  # type: ignore[attr-defined]
            )
        )
        self.cancel = (
            update(ob)
            .where(o.id.in_(bindparam("b_ids", expanding=True)))
            .values(
                status="cancelled",
                last_error="申报已离开该阶段、截止时间已变更或评审专家已评分，提醒作废",
                lease_owner=None,
                lease_until=None,
            )
        )
        self.known = select(d.id, d.message_key, d.attempts).where(d.message_key.in_(bindparam("b_keys", expanding=True)))
        self.unfinished = select(a.delivery_id).where(a.delivery_id.in_(bindparam("b_ids", expanding=True)), a.finished_at.is_(None))
        self.new_delivery = insert(dt).returning(d.id, d.message_key)
        self.carried_by = update(ob).where(o.id == bindparam("b_id")).values(delivery_id=bindparam("b_delivery"))
        self.start = (
            insert(at)
            .values(delivery_id=bindparam("b_delivery"), owner=bindparam("b_owner"), started_at=bindparam("b_now"), outcome="", error="")
            .returning(a.id)
        )
        self.sending = update(dt).where(d.id == bindparam("b_delivery")).values(attempts=d.attempts + 1, status="sending")
        held = and_(o.id.in_(bindparam("b_ids", expanding=True)), o.lease_owner == bindparam("b_owner"))
        one_held = and_(o.id == bindparam("b_id"), o.lease_owner == bindparam("b_owner"))  # one row: executemany over a message's
        self.sent = update(ob).where(one_held).values(
            status="sent", sent_at=bindparam("b_now"), attempts=o.attempts + 1, last_error=bindparam("b_error"), lease_owner=None, lease_until=None
        )  # fmt: skip
        self.tries = select(o.attempts).where(one_held)
        self.failed = (
            update(ob)
            .where(o.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_attempts"),
                last_error=bindparam("b_error"),
                next_try_at=bindparam("b_next"),
                lease_owner=None,
                lease_until=None,
            )
        )
        self.release = update(ob).where(held, o.status == "pending").values(lease_owner=None, lease_until=None)
        self.delivered = (
            update(dt)
            .where(d.id == bindparam("b_delivery"))
            .values(status=bindparam("b_status"), last_error=bindparam("b_error"), sent_at=bindparam("b_sent"))
        )
        self.ended = (
            update(at)
            .where(a.id == bindparam("b_attempt"))
            .values(finished_at=bindparam("b_now"), outcome=bindparam("b_outcome"), error=bindparam("b_error"))
        )
        self.org = select(User.__table__.c.email).where(User.__table__.c.role == access.ORG)  # type: ignore[attr-defined]


@cache
def _statements() -> _Statements:
    return _Statements()


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        [(value, *_)] = self.rows
        return value


class _Driver:
    """The few statements of each message's transaction, sent straight to the DB-API connection.

    Each message's outcome must be durable before the next message goes out (a crash then resends at most
    the one in flight), so the delivery loop commits once per message; through SQLAlchemy's execution
    machinery such a transaction of five one-row statements cost ~0.5 ms of CPU, several times the
    statements themselves. The statements are still built and compiled by SQLAlchemy (once per
    process and dialect), and their values converted by its bind processors, as Core would send them.
    """

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect
        self.raw: Any = conn.connection.dbapi_connection
        self.positional = self.dialect.paramstyle in ("qmark", "numeric", "format")
        self.compiled: dict[int, tuple[str, Any, dict[str, Any]]] = {}

    def _form(self, stmt: Any) -> tuple[str, Any, dict[str, Any]]:
        found = self.compiled.get(id(stmt))
        if found is None:
            c = stmt.compile(dialect=self.dialect)
            procs = {c.bind_names[b]: b.type.dialect_impl(self.dialect).bind_processor(self.dialect) for b in c.binds.values()}
            found = self.compiled[id(stmt)] = (str(c), c, {k: f for k, f in procs.items() if f is not None})
        return found

    def _values(self, c: Any, procs: dict[str, Any], params: dict[str, Any]) -> Any:
        values = c.construct_params(params)
        for name, f in procs.items():
            values[name] = f(values[name])
        return tuple(values[n] for n in c.positiontup) if self.positional else values

    def execute(self, stmt: Any, params: dict[str, Any] | list[dict[str, Any]]) -> _Rows:
        sql, c, procs = self._form(stmt)
        cur = self.raw.cursor()
        try:
            if isinstance(params, list):
                cur.executemany(sql, [self._values(c, procs, p) for p in params])
                return _Rows([])
            cur.execute(sql, self._values(c, procs, params))
            return _Rows(cur.fetchall() if cur.description else [])
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[_Driver]:
        """BEGIN IMMEDIATE on SQLite (as the store's writers do: the busy timeout applies), committed at the end."""
        if self.dialect.name == "sqlite":
            try:
                self.raw.execute("BEGIN IMMEDIATE")
            except self.dialect.loaded_dbapi.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise Conflict("数据库正被另一个操作占用，请稍后重试（未做任何修改）。") from None
                raise
        try:
            yield self
            self.raw.commit()
        except BaseException:
            self.raw.rollback()
            raise


@dataclass(frozen=True)
class _Held:
    """A message whose rows this sender has leased and whose attempt is not started yet."""

    message: Message
    delivery_id: int
    cases: tuple[int, ...]
    resend: bool


def claim(
    store: Store, spec: Spec, now: datetime, owner: str, channel: str, recipient: str, base_url: str = ""
) -> tuple[Claim | None, int]:
    """Lease one recipient's due rows for one channel and start the attempt; cancel those whose case moved on.

    Returns the claim (None when nothing is left to send) and how many rows were cancelled.
    """
    first, _, cancelled = claim_many(store, spec, now, owner, [(channel, recipient)], base_url)
    return first, cancelled


def claim_many(
    store: Store,
    spec: Spec,
    now: datetime,
    owner: str,
    pairs: Sequence[tuple[str, str]],
    base_url: str = "",
    org_addresses: frozenset[str] | None = None,
) -> tuple[Claim | None, list[_Held], int]:
    """Lease the due rows of many (channel, recipient) pairs in one transaction; cancel those whose case moved on.

    Each pair's rows make one message. The first message's attempt is started here; each later one's is
    started when the message before it is finished (`finish(..., then=...)`), so at any moment at most one
    message of this sender is between "started" and "finished" — the one a crash would send again.
    Returns that first claim (None when nothing is left to send), the messages held after it, and how
    many rows were cancelled.
    """
    with store.write() as s:
        return _claim_many(s.connection(), spec, now, owner, pairs, base_url, org_addresses)


def _claim_many(
    conn: Connection,
    spec: Spec,
    now: datetime,
    owner: str,
    pairs: Sequence[tuple[str, str]],
    base_url: str,
    org_addresses: frozenset[str] | None,
) -> tuple[Claim | None, list[_Held], int]:
    """`claim_many` in the caller's transaction (plain Core: the ORM's bookkeeping per statement cost more
    than the statement)."""
    st = _statements()
    now_db = clock.to_db(now)
    by_channel: dict[str, list[str]] = {}
    for channel, recipient in pairs:
        by_channel.setdefault(channel, []).append(recipient)
    rows: list[Any] = []
    for channel, recipients in by_channel.items():
        for part in _chunks(recipients):
            names = {"b_channel": channel, "b_recipients": list(part), "b_owner": owner}
            conn.execute(st.lease, {**names, "b_now": now_db, "b_until": clock.to_db(now + LEASE)})
            rows += conn.execute(st.leased, names).all()
    # A case that left the state, or got a new due date, no longer needs this reminder; nor does a
    # reviewer who has scored the case since (R13).
    review_cases = sorted({r[1] for r in rows if r[5] == "review"})
    scored: set[tuple[int, str]] = set()
    if review_cases:
        recipients = sorted({r[6] for r in rows if r[5] == "review"})
        for part in _chunks(review_cases):
            scored |= {(c, e) for c, e in conn.execute(st.scored, {"b_cases": list(part), "b_recipients": recipients})}
    moved = {r[0] for r in rows if (r[9], r[10]) != (r[2], r[3]) or (r[5] == "review" and (r[1], r[6]) in scored)}
    for part in _chunks(sorted(moved)):
        conn.execute(st.cancel, {"b_ids": list(part)})
    messages: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        if r[0] not in moved:
            messages.setdefault((r[8], r[6]), []).append(r)
    if not messages:
        return None, [], len(moved)
    if org_addresses is None:
        org_addresses = _org_addresses(conn)
    drafts = []
    for (channel, recipient), live in messages.items():
        items = [_item(spec, r[0], r[5], r[1], r[2], r[3], r[11], r[12]) for r in live]
        key = message_key([row_key(r[1], r[2], r[3], r[4], r[6], r[8]) for r in live])
        drafts.append((channel, recipient, live, items, key, subject(items, now)))
    keys = [d[4] for d in drafts]
    known: dict[str, tuple[int, int]] = {}
    for part in _chunks(keys):
        known |= {k: (i, n) for i, k, n in conn.execute(st.known, {"b_keys": list(part)})}
    fresh = [
        {
            "message_key": key,
            "channel": channel,
            "recipient": recipient,
            "subject": title,
            "outbox_ids": json.dumps(tuple(r[0] for r in live)),
            "status": "sending",
            "attempts": 0,
            "last_error": "",
            "created_at": now_db,
        }
        for channel, recipient, live, items, key, title in drafts
        if key not in known
    ]
    if fresh:
        known |= {k: (i, 0) for i, k in conn.execute(st.new_delivery, fresh)}
    interrupted: set[int] = set()
    again = [i for i, n in known.values() if n]
    for part in _chunks(again):
        interrupted |= set(conn.execute(st.unfinished, {"b_ids": list(part)}).scalars())
    carried = [{"b_id": r[0], "b_delivery": known[key][0]} for _, _, live, _, key, _ in drafts for r in live]
    conn.execute(st.carried_by, carried)
    held: list[_Held] = []
    for channel, recipient, live, items, key, title in drafts:
        delivery_id, attempts = known[key]
        name = live[0][7] or recipient
        text = body(name, items, now, base_url=base_url, for_org=base_url != "" or recipient.strip().lower() in org_addresses)
        ids = tuple(r[0] for r in live)
        message = Message(channel, recipient, name, title, text, key, ids, now, attempts + 1, base_url)
        held.append(_Held(message, delivery_id, tuple(dict.fromkeys(i.case_id for i in items)), delivery_id in interrupted))
    return _start(conn, held[0], owner, now), held[1:], len(moved)


def _org_addresses(conn: Any) -> frozenset[str]:
    """Org's users' addresses, lower-cased (told the commands when there is no web address to link to)."""
    return frozenset(e.lower() for e in conn.execute(_statements().org).scalars() if e)


def _start(conn: Connection | _Driver, h: _Held, owner: str, now: datetime) -> Claim:
    """Open the attempt of a held message (in the caller's transaction)."""
    st = _statements()
    if h.resend:
        log.warning("消息 %s 上次发送时发送方中断，现重发（Message-ID 不变）。", h.message.message_key)
    conn.execute(st.sending, {"b_delivery": h.delivery_id})
    attempt_id = conn.execute(st.start, {"b_delivery": h.delivery_id, "b_owner": owner, "b_now": clock.to_db(now)}).scalar_one()
    return Claim(owner, h.message, h.delivery_id, attempt_id, h.cases, h.resend)


def item(spec: Spec, row: Outbox, branch: str, committee: str) -> Item:
    """One outbox row as an entry of a message (the row need not be stored: a dry run previews planned rows)."""
    return _item(spec, row.id or 0, row.kind, row.case_id, row.state, row.due_at, branch, committee)


def _item(spec: Spec, outbox_id: int, kind: str, case_id: int, state_id: str, due_at: datetime, branch: str, committee: str) -> Item:
    state = spec.by_id.get(state_id)
    owner = state.owner if state else None
    action = REVIEW_ACTION if kind == "review" else spec.reminders.actions.get(state_id) or _default_action(spec, state_id)
    return Item(
        outbox_id=outbox_id,
        kind=kind,
        case_id=case_id,
        branch=branch,
        committee=committee,
        state_label=spec.label(state_id),
        owner_label=spec.roles.get(owner, "") if owner else "",
        due_at=clock.from_db(due_at),
        action=action,
    )


def _default_action(spec: Spec, state: str) -> str:
    labels = [t.label for t in spec.transitions_from(state)]
    return f"完成“{'”或“'.join(labels)}”" if labels else "按要求办理"


def finish(
    store: Store,
    c: Claim,
    now: datetime,
    failure: DeliveryFailed | None,
    warning: str | None = None,
    secrets: Sequence[str] = (),
    then: _Held | None = None,
) -> tuple[Result, Claim | None]:
    """Record the outcome: sent (perhaps with a warning); or retry later with backoff; or failed with the reason.

    In the same transaction, start the attempt of the next held message `then`, if any (returned as a claim).
    Every text stored here passes `redact` first: an error may quote a webhook's key or a password.
    """
    with store.write() as s:
        result, following = _finish(s.connection(), c, now, failure, warning, secrets, then)
    _log(result, failure)
    return result, following


def _finish(
    conn: Connection | _Driver,
    c: Claim,
    now: datetime,
    failure: DeliveryFailed | None,
    warning: str | None,
    secrets: Sequence[str],
    then: _Held | None,
) -> tuple[Result, Claim | None]:
    """`finish` in the caller's transaction; logs after the statements (the caller commits at once)."""
    st = _statements()
    now_db = clock.to_db(now)
    m = c.message
    if failure is None:
        error = redact(warning or "", secrets)
        conn.execute(st.sent, [{"b_id": i, "b_owner": c.owner, "b_now": now_db, "b_error": error} for i in m.outbox_ids])
        status = "sent"
    else:
        error = redact(failure.reason, secrets)
        gave_up = failure.permanent
        changes = []
        for row_id in m.outbox_ids:
            attempts = conn.execute(st.tries, {"b_id": row_id, "b_owner": c.owner}).scalar()
            if attempts is None:  # no longer this sender's
                continue
            tries = attempts + 1
            final = failure.permanent or tries >= MAX_ATTEMPTS
            gave_up = gave_up or final
            changes.append(
                {
                    "b_id": row_id,
                    "b_status": "failed" if final else "pending",
                    "b_attempts": tries,
                    "b_error": error if not final or failure.permanent else f"已重试 {tries} 次仍失败：{error}",
                    "b_next": now_db + backoff(tries),
                }
            )
        if changes:
            conn.execute(st.failed, changes)
        status = "failed" if gave_up else "retry"
    conn.execute(
        st.delivered, {"b_delivery": c.delivery_id, "b_status": status, "b_error": error, "b_sent": now_db if failure is None else None}
    )
    outcome = "sent" if failure is None else ("permanent" if failure.permanent else "temporary")
    conn.execute(st.ended, {"b_attempt": c.attempt_id, "b_now": now_db, "b_outcome": outcome, "b_error": error})
    following = _start(conn, then, c.owner, now) if then is not None else None
    return Result(m.channel, m.recipient, c.cases, m.outbox_ids, status, error, m.subject, m.message_key), following


def _log(r: Result, failure: DeliveryFailed | None) -> None:
    if failure is not None:
        log.warning("发送失败（%s → %s，%s）：%s", r.channel, r.recipient, "不再重试" if r.status == "failed" else "稍后重试", r.error)
    elif r.error:
        log.warning("已发送（%s → %s），但：%s", r.channel, r.recipient, r.error)


def _release(conn: Connection, owner: str, held: Sequence[_Held]) -> None:
    """Give back the rows of messages held but not started (the sweep was asked to stop)."""
    st = _statements()
    ids = [i for h in held for i in h.message.outbox_ids]
    for part in _chunks(ids):
        conn.execute(st.release, {"b_ids": list(part), "b_owner": owner})


def _send(sender: Channel, c: Claim) -> tuple[DeliveryFailed | None, str | None]:
    try:
        return None, sender.send(c.message)
    except DeliveryFailed as exc:
        return exc, None
    except Exception as exc:  # a channel bug must not lose the row: retry it later (no traceback: it may quote a secret)
        return DeliveryFailed(f"渠道 {c.message.channel} 出错：{type(exc).__name__}: {exc}", permanent=False), None


def deliver(
    store: Store,
    spec: Spec,
    now: datetime,
    channels: Mapping[str, Channel],
    should_stop: Callable[[], bool] = lambda: False,
    owner: str | None = None,
    base_url: str = "",
) -> tuple[list[Result], int]:
    """Send every due message, one recipient and channel at a time; stop between messages when asked.

    The due rows are claimed CLAIM_BATCH messages per transaction; each message's outcome is recorded
    (and the next one's attempt started) in one transaction before the next is sent.
    Returns the results and how many rows were cancelled because their case moved on.
    """
    owner = owner or new_owner()
    # Every channel's credentials, redacted from every error whichever channel reports it.
    secrets = tuple(secret for ch in channels.values() if hasattr(ch, "secrets") for secret in ch.secrets())
    results: list[Result] = []
    cancelled = 0
    pairs = groups(store, now, list(channels))
    if not pairs or should_stop():
        return results, cancelled
    # One connection for the whole loop, a short write transaction per step on it (a Session per message
    # cost more than the message's statements).
    with store.connect() as plain:
        conn = plain.execution_options(immediate=True)
        org = _org_addresses(conn)
        conn.commit()
        driver: _Driver | None = None
        for start in range(0, len(pairs), CLAIM_BATCH):
            if start and should_stop():
                break
            with conn.begin():
                c, held, dropped = _claim_many(conn, spec, now, owner, pairs[start : start + CLAIM_BATCH], base_url, org)
            cancelled += dropped
            waiting = deque(held)
            driver = _Driver(conn) if driver is None else driver
            while c is not None:
                failure, warning = _send(channels[c.message.channel], c)
                then = waiting.popleft() if waiting and not should_stop() else None
                with driver.transaction():
                    result, c = _finish(driver, c, now, failure, warning, secrets, then)
                _log(result, failure)
                results.append(result)
            if waiting:  # asked to stop: the rest go back for the next sweep
                with conn.begin():
                    _release(conn, owner, list(waiting))
                break
    return results, cancelled


# ---------------------------------------------------------------- the `outbox` command


@dataclass(frozen=True)
class Listed:
    """One outbox row as staff see it: the reminder (case, state, offset, kind, due date), to whom and by which
    channel, and how sending went (status, tries, the next try while pending, when sent, the last error)."""

    id: int
    case: int
    state: str
    offset: str
    kind: str
    due_at: datetime
    recipient: str
    recipient_name: str
    channel: str
    status: str
    attempts: int
    last_error: str
    next_try_at: datetime | None
    sent_at: datetime | None


def listing(ws: Workspace, status: str | None = None, case_id: int | None = None) -> list[Listed]:
    """Outbox rows, newest first, optionally of one status or one case (org only)."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "查看提醒发件箱")
        q = select(Outbox)
        if status:
            q = q.where(col(Outbox.status) == status)
        if case_id is not None:
            q = q.where(col(Outbox.case_id) == values.check_int(case_id, "申报编号", low=1))
        rows = s.execute(q.order_by(col(Outbox.id).desc())).scalars().all()
    return [_listed(r) for r in rows]


def _listed(r: Outbox) -> Listed:
    assert r.id is not None
    return Listed(
        id=r.id,
        case=r.case_id,
        state=r.state,
        offset=r.offset,
        kind=r.kind,
        due_at=clock.from_db(r.due_at),
        recipient=r.recipient,
        recipient_name=r.recipient_name,
        channel=r.channel,
        status=r.status,
        attempts=r.attempts,
        last_error=r.last_error,
        next_try_at=clock.from_db(r.next_try_at) if r.status == "pending" else None,
        sent_at=clock.from_db(r.sent_at) if r.sent_at else None,
    )


def retry(ws: Workspace, outbox_id: int) -> Listed:
    """Put a failed row back to pending, due at once, with a fresh count of tries (org only)."""
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "重试提醒")
        row = s.get(Outbox, outbox_id) if values.fits(outbox_id) else None
        if row is None:
            raise NotFound(
                f"发件箱中没有编号为 {outbox_id} 的提醒。", hint="请在发送失败的提醒中查看编号。", field="outbox_id", value=outbox_id
            )
        if row.status != "failed":
            raise Refused(f"提醒 {outbox_id} 的状态是 {row.status}，只有 failed（发送失败）的提醒可以重试。")
        row.status = "pending"
        row.attempts = 0
        row.next_try_at = clock.to_db(ws.now)
        row.lease_owner = None
        row.lease_until = None
        s.add(row)
        s.flush()
        return _listed(row)
