"""The case repository: load a case, update it under its version, and append the one kind of history row.

Every writer of a case (advance, advance-many, case new/set/attach, case import, extend, waive) goes through
`update_case` (`update_cases` for a whole state; advance-many writes what `touched` and `history_row` give)
and `record` (or `append_history`), so that a changed case is always a new version and every change leaves
the same audit row: who, role, on behalf of, when, from, to, trigger, inputs, comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import select, update
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


def load_cases(session: Session, case_ids: Sequence[int]) -> list[facts_mod.CaseRow]:
    """These cases with their branches and campaigns, in the order given (a thousand ids a query), or NotFound
    for the first id that names no case."""
    found: dict[int, facts_mod.CaseRow] = {}
    ids = [i for i in case_ids if 0 < i < 2**63]
    for start in range(0, len(ids), 1000):
        q = facts_mod.case_query().where(facts_mod.any_of(session, col(Case.id), ids[start : start + 1000]))
        found.update((row.id, row) for row in map(facts_mod.to_case_row, session.execute(q).all()))
    missing = next((i for i in case_ids if i not in found), None)
    if missing is not None:
        raise NotFound(f"没有编号为 {missing} 的申报。", hint=CASE_HINT, field="case_id", value=missing)
    return [found[i] for i in case_ids]


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
    update_cases(session, {case_id: version}, now, conflict or f"申报 {case_id} 刚被他人修改：请重新查看后再操作。", **values)
    return version + 1


def update_cases(session: Session, versions: Mapping[int, int], now: datetime, conflict: str | None = None, **values: Any) -> None:
    """`update_case` for many cases at once (case id → the version read): each gets the same values and its next
    version; if any case is no longer at its version, Conflict (the transaction rolls back).

    One UPDATE per version read (a whole state's cases share a few) and per 10,000 ids: `id IN (…) AND
    version = v` stays a plain list on every backend, where a list of (id, version) pairs is too deep for
    PostgreSQL's parser at that size."""
    by_version: dict[int, list[int]] = {}
    for case_id, version in versions.items():
        by_version.setdefault(version, []).append(case_id)
    for version, ids in by_version.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            where = col(Case.id) == chunk[0] if len(chunk) == 1 else col(Case.id).in_(chunk)
            result = session.execute(
                update(Case).where(where, col(Case.version) == version).values(version=version + 1, **touched(values, now))
            )
            if cast(CursorResult[Any], result).rowcount != len(chunk):
                raise Conflict(conflict or "有申报刚被他人修改：请重新查看后再操作。")


_CHUNK = 10_000  # ids per UPDATE, within SQLite's 32,766 parameters


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
        session.connection().execute(History.__table__.insert(), list(rows))  # type: ignore[attr-defined]  # Core executemany


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
    """Append one history row: a transition, or a change that is not one (create, edit, attach, import, extend, waive).

    A plain table insert with the values as parameters: one statement for every row, found in SQLAlchemy's
    cache at once (an insert built with `.values(...)` per row cost ~1 ms each to build and compare)."""
    row = history_row(case_id, actor, now, trigger, source, dest, inputs, comment, on_behalf_of)
    session.connection().execute(History.__table__.insert(), row)  # type: ignore[attr-defined]


def _jsonable(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in (inputs or {}).items()}
