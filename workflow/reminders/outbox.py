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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlmodel import Session, col

from workflow import access
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Branch, Case, Committee, Delivery, DeliveryAttempt, Outbox, Review, User
from workflow.db.store import Store
from workflow.errors import NotFound, Refused
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


def claim(
    store: Store, spec: Spec, now: datetime, owner: str, channel: str, recipient: str, base_url: str = ""
) -> tuple[Claim | None, int]:
    """Lease one recipient's due rows for one channel; cancel those whose case moved on.

    Returns the claim (None when nothing is left to send) and how many rows were cancelled.
    """
    now_db = clock.to_db(now)
    with store.write() as s:
        conn = s.connection()  # plain Core statements: the ORM's bookkeeping per UPDATE cost more than the UPDATE
        conn.execute(
            update(Outbox)
            .where(col(Outbox.channel) == channel, col(Outbox.recipient) == recipient, _due_filter(now_db))
            .values(lease_owner=owner, lease_until=clock.to_db(now + LEASE))
        )
        rows = s.execute(
            select(Outbox, col(Case.state), col(Case.due_at), col(Branch.name), col(Committee.name))
            .join(Case, col(Case.id) == col(Outbox.case_id))
            .join(Branch, col(Branch.id) == col(Case.branch_id))
            .join(Committee, col(Committee.id) == col(Branch.committee_id))
            .where(col(Outbox.lease_owner) == owner, col(Outbox.channel) == channel, col(Outbox.recipient) == recipient)
            .where(col(Outbox.status) == "pending")
            .order_by(col(Outbox.id))
        ).all()
        # A case that left the state, or got a new due date, no longer needs this reminder; nor does a
        # reviewer who has scored the case since (R13).
        scored = _scored(s, recipient, [r[0].case_id for r in rows if r[0].kind == "review"])
        moved = {r[0].id for r in rows if (r[1], r[2]) != (r[0].state, r[0].due_at) or (r[0].kind == "review" and r[0].case_id in scored)}
        live = [r for r in rows if r[0].id not in moved]
        stale = [r[0].id for r in rows if r[0].id in moved]
        if stale:
            conn.execute(
                update(Outbox)
                .where(col(Outbox.id).in_(stale))
                .values(
                    status="cancelled",
                    last_error="申报已离开该阶段、截止时间已变更或评审专家已评分，提醒作废",
                    lease_owner=None,
                    lease_until=None,
                )
            )
        if not live:
            return None, len(stale)
        items = [item(spec, r[0], r[3], r[4]) for r in live]
        ids = tuple(r[0].id for r in live if r[0].id is not None)
        key = message_key([row_key(o.case_id, o.state, o.due_at, o.offset, o.recipient, o.channel) for o, *_ in live])
        name = live[0][0].recipient_name or recipient
        title = subject(items, now)
        delivery = s.execute(select(Delivery).where(col(Delivery.message_key) == key)).scalars().first()
        resend = False
        if delivery is None:
            delivery = Delivery(
                message_key=key, channel=channel, recipient=recipient, subject=title, outbox_ids=json.dumps(ids), created_at=now_db
            )
            s.add(delivery)
            s.flush()
        else:
            unfinished = conn.execute(
                select(col(DeliveryAttempt.id)).where(
                    col(DeliveryAttempt.delivery_id) == delivery.id, col(DeliveryAttempt.finished_at).is_(None)
                )
            ).first()
            resend = unfinished is not None
            if resend:
                log.warning("消息 %s 上次发送时发送方中断，现重发（Message-ID 不变）。", key)
        assert delivery.id is not None
        delivery.attempts += 1
        delivery.status = "sending"
        attempt_id = conn.execute(
            insert(DeliveryAttempt).values(delivery_id=delivery.id, owner=owner, started_at=now_db).returning(col(DeliveryAttempt.id))
        ).scalar_one()
        assert attempt_id is not None
        conn.execute(update(Outbox).where(col(Outbox.id).in_(ids)).values(delivery_id=delivery.id))
        text = body(name, items, now, base_url=base_url, for_org=base_url != "" or is_org_address(s, recipient))
        message = Message(channel, recipient, name, title, text, key, ids, now, delivery.attempts)
        cases = tuple(dict.fromkeys(i.case_id for i in items))
        return Claim(owner, message, delivery.id, attempt_id, cases, resend), len(stale)


def _scored(session: Any, recipient: str, case_ids: list[int]) -> set[int]:
    """Of these cases, those the reviewer with this e-mail has scored."""
    if not case_ids:
        return set()
    q = (
        select(col(Review.case_id))
        .join(User, col(User.id) == col(Review.reviewer_id))
        .where(col(Review.case_id).in_(case_ids), col(Review.submitted_at).is_not(None), func.lower(col(User.email)) == recipient)
    )
    return set(session.execute(q).scalars())


def item(spec: Spec, row: Outbox, branch: str, committee: str) -> Item:
    """One outbox row as an entry of a message (the row need not be stored: a dry run previews planned rows)."""
    state = spec.by_id.get(row.state)
    owner = state.owner if state else None
    action = REVIEW_ACTION if row.kind == "review" else spec.reminders.actions.get(row.state) or _default_action(spec, row.state)
    return Item(
        outbox_id=row.id or 0,
        kind=row.kind,
        case_id=row.case_id,
        branch=branch,
        committee=committee,
        state_label=spec.label(row.state),
        owner_label=spec.roles.get(owner, "") if owner else "",
        due_at=clock.from_db(row.due_at),
        action=action,
    )


def _default_action(spec: Spec, state: str) -> str:
    labels = [t.label for t in spec.transitions_from(state)]
    return f"完成“{'”或“'.join(labels)}”" if labels else "按要求办理"


def finish(
    store: Store, c: Claim, now: datetime, failure: DeliveryFailed | None, warning: str | None = None, secrets: Sequence[str] = ()
) -> Result:
    """Record the outcome: sent (perhaps with a warning); or retry later with backoff; or failed with the reason.

    Every text stored here passes `redact` first: an error may quote a webhook's key or a password.
    """
    now_db = clock.to_db(now)
    m = c.message
    with store.write() as s:
        conn = s.connection()
        mine = and_(col(Outbox.id).in_(m.outbox_ids), col(Outbox.lease_owner) == c.owner)
        if failure is None:
            error = redact(warning or "", secrets)
            conn.execute(
                update(Outbox)
                .where(mine)
                .values(
                    status="sent", sent_at=now_db, attempts=col(Outbox.attempts) + 1, last_error=error, lease_owner=None, lease_until=None
                )
            )
            status = "sent"
        else:
            error = redact(failure.reason, secrets)
            rows = conn.execute(select(col(Outbox.id), col(Outbox.attempts)).where(mine)).all()
            gave_up = failure.permanent
            for row_id, attempts in rows:
                tries = attempts + 1
                final = failure.permanent or tries >= MAX_ATTEMPTS
                gave_up = gave_up or final
                reason = error if not final or failure.permanent else f"已重试 {tries} 次仍失败：{error}"
                conn.execute(
                    update(Outbox)
                    .where(col(Outbox.id) == row_id)
                    .values(
                        status="failed" if final else "pending",
                        attempts=tries,
                        last_error=reason,
                        next_try_at=now_db + backoff(tries),
                        lease_owner=None,
                        lease_until=None,
                    )
                )
            status = "failed" if gave_up else "retry"
        conn.execute(
            update(Delivery)
            .where(col(Delivery.id) == c.delivery_id)
            .values(status=status, last_error=error, sent_at=now_db if failure is None else None)
        )
        outcome = "sent" if failure is None else ("permanent" if failure.permanent else "temporary")
        conn.execute(
            update(DeliveryAttempt).where(col(DeliveryAttempt.id) == c.attempt_id).values(finished_at=now_db, outcome=outcome, error=error)
        )
    if failure is not None:
        log.warning("发送失败（%s → %s，%s）：%s", m.channel, m.recipient, "不再重试" if status == "failed" else "稍后重试", error)
    elif error:
        log.warning("已发送（%s → %s），但：%s", m.channel, m.recipient, error)
    return Result(m.channel, m.recipient, c.cases, m.outbox_ids, status, error, m.subject, m.message_key)


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

    Returns the results and how many rows were cancelled because their case moved on.
    """
    owner = owner or new_owner()
    # Every channel's credentials, redacted from every error whichever channel reports it.
    secrets = tuple(secret for ch in channels.values() if hasattr(ch, "secrets") for secret in ch.secrets())
    results: list[Result] = []
    cancelled = 0
    for channel, recipient in groups(store, now, list(channels)):
        if should_stop():
            break
        c, dropped = claim(store, spec, now, owner, channel, recipient, base_url)
        cancelled += dropped
        if c is None:
            continue
        failure: DeliveryFailed | None = None
        warning: str | None = None
        sender = channels[channel]
        try:
            warning = sender.send(c.message)
        except DeliveryFailed as exc:
            failure = exc
        except Exception as exc:  # a channel bug must not lose the row: retry it later (no traceback: it may quote a secret)
            failure = DeliveryFailed(f"渠道 {channel} 出错：{type(exc).__name__}: {exc}", permanent=False)
        results.append(finish(store, c, now, failure, warning, secrets))
    return results, cancelled


# ---------------------------------------------------------------- the `outbox` command

def listing(ws: Workspace, status: str | None = None, case_id: int | None = None) -> list[dict[str, Any]]:
    """Outbox rows, newest first, optionally of one status or one case (org only)."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "查看提醒发件箱")
        q = select(Outbox)
        if status:
            q = q.where(col(Outbox.status) == status)
        if case_id is not None:
            q = q.where(col(Outbox.case_id) == values.check_int(case_id, "申报编号", low=1))
        rows = s.execute(q.order_by(col(Outbox.id).desc())).scalars().all()
    return [_row(ws.spec, r) for r in rows]


def _row(spec: Spec, r: Outbox) -> dict[str, Any]:
    return {
        "id": r.id,
        "case": r.case_id,
        "state": r.state,
        "state_label": spec.label(r.state),
        "offset": r.offset,
        "kind": r.kind,
        "due_at": clock.from_db(r.due_at),
        "recipient": r.recipient,
        "recipient_name": r.recipient_name,
        "channel": r.channel,
        "status": r.status,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "next_try_at": clock.from_db(r.next_try_at) if r.status == "pending" else None,
        "sent_at": clock.from_db(r.sent_at) if r.sent_at else None,
    }


def retry(ws: Workspace, outbox_id: int) -> dict[str, Any]:
    """Put a failed row back to pending, due at once, with a fresh count of tries (org only)."""
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "重试提醒")
        row = s.get(Outbox, outbox_id) if values.fits(outbox_id) else None
        if row is None:
            raise NotFound(f"发件箱中没有编号为 {outbox_id} 的提醒。", hint="请在发送失败的提醒中查看编号。", field="outbox_id", value=outbox_id)
        if row.status != "failed":
            raise Refused(f"提醒 {outbox_id} 的状态是 {row.status}，只有 failed（发送失败）的提醒可以重试。")
        row.status = "pending"
        row.attempts = 0
        row.next_try_at = clock.to_db(ws.now)
        row.lease_owner = None
        row.lease_until = None
        s.add(row)
        s.flush()
        return _row(ws.spec, row)
