"""The case repository: load a case, update it under its version, and append the one kind of history row.

Every writer of a case (advance, advance-many, case new/set/attach, case import, extend, waive) goes through
`update_case` (or, for many cases at once, writes what `touched` and `history_row` give) and `record`, so
that a changed case is always a new version and every change leaves the same audit row: who, role, on
behalf of, when, from, to, trigger, inputs, comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import CampaignDue, Case, History
from workflow.errors import Conflict, NotFound
from workflow.lifecycle import facts as facts_mod

CASE_HINT = "请在申报列表中查看申报编号。"


def load_case(session: Session, case_id: int) -> facts_mod.CaseRow:
    """One case with its branch and campaign, or NotFound."""
    r = None
    if 0 < case_id < 2**63:  # a larger id does not fit the database's integer (and names no case)
        r = session.execute(facts_mod.case_query().where(col(Case.id) == case_id)).first()
    if r is None:
        raise NotFound(f"没有编号为 {case_id} 的申报。", hint=CASE_HINT, field="case_id", value=case_id)
    return facts_mod.to_case_row(r)


def campaign_due(session: Session, campaign_id: int, state: str) -> datetime | None:
    """The campaign's due date for a state (None for terminal states)."""
    value = session.execute(
        select(col(CampaignDue.due_at)).where(col(CampaignDue.campaign_id) == campaign_id, col(CampaignDue.state) == state)
    ).scalar_one_or_none()
    return clock.from_db(value) if value is not None else None


def touched(values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The columns of a case update with its `updated_at` stamp (the version is set by whoever writes it)."""
    return {**values, "updated_at": clock.to_db(now)}


def update_case(session: Session, case_id: int, version: int, now: datetime, conflict: str | None = None, **values: Any) -> int:
    """Update one case if it is still at `version` (else Conflict: never a silent overwrite); returns the new version."""
    result = session.execute(
        update(Case).where(col(Case.id) == case_id, col(Case.version) == version).values(version=version + 1, **touched(values, now))
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Conflict(conflict or f"申报 {case_id} 刚被他人修改：请重新查看后再操作。")
    return version + 1


def history_row(
    case_id: int,
    actor: Actor,
    now: datetime,
    trigger: str,
    source: str,
    dest: str,
    inputs: Mapping[str, Any] | None = None,
    comment: str = "",
    on_behalf_of: str = "",
) -> dict[str, Any]:
    """The values of one history row (inputs as JSON, dates in ISO form; none: empty)."""
    return {
        "case_id": case_id,
        "at": clock.to_db(now),
        "actor": actor.name,
        "role": actor.role,
        "on_behalf_of": on_behalf_of,
        "trigger": trigger,
        "source": source,
        "dest": dest,
        "inputs": json.dumps(_jsonable(inputs), ensure_ascii=False) if inputs else "",
        "comment": comment,
    }


def append_history(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append history rows built by `history_row`."""
    if rows:
        session.execute(insert(History), list(rows))


def record(
    session: Session,
    actor: Actor,
    case_id: int,
    trigger: str,
    source: str,
    dest: str,
    inputs: Mapping[str, Any] | None,
    now: datetime,
    comment: str = "",
    on_behalf_of: str = "",
) -> None:
    """Append one history row: a transition, or a change that is not one (create, edit, attach, import, extend, waive)."""
    session.execute(insert(History).values(**history_row(case_id, actor, now, trigger, source, dest, inputs, comment, on_behalf_of)))


def _jsonable(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in (inputs or {}).items()}
