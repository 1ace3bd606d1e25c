"""Creating and editing cases (in draft, audited); their files are in `attachments`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import Branch, Case
from workflow.db.values import check_text, clean_name, normal_name
from workflow.errors import Conflict, NotFound, Refused, RuleRefused, UsageError
from workflow.lifecycle import repository
from workflow.lifecycle.facts import CaseRow
from workflow.lifecycle.repository import campaign_due, load_case
from workflow.spec import rules, words
from workflow.workspace import Workspace

EDITABLE = words.CASE_FIELDS  # the fields of a draft, by id, with their labels (`case set 1 预期成果=…` reads either)


def find_branch(session: Session, name: str) -> Branch:
    """A branch by its exact name, or NotFound."""
    found = session.exec(orm_select(Branch).where(col(Branch.name) == normal_name(name))).first()
    if found is None:
        raise NotFound(f"没有名为“{name}”的支部。", hint="请先导入支部名单，或在支部名单中查看名称。", field="branch", value=name)
    return found


def _check_theme(ws: Workspace, theme: str, note: str) -> None:
    s = ws.spec.rules
    problem = rules.theme_problem(theme, note, s.themes, s.other_theme)
    if problem:
        raise RuleRefused(problem, rules=["R6"])


def create(
    ws: Workspace, branch: str, title: str, theme: str, theme_note: str = "", year: int | None = None, plan: Mapping[str, str] | None = None
) -> int:
    """Open a draft case for a branch (R3: one live case per branch and campaign; R6: one theme)."""
    spec = ws.spec
    title, theme_note = check_fields({"title": title, "theme_note": theme_note}).values()
    theme = words.theme(spec, clean_name(theme, "创建方向"))
    plan = check_fields(plan or {})
    if not title.strip():
        raise UsageError("项目名称不能为空。", hint="请填写项目名称。", field="title")
    _check_theme(ws, theme, theme_note)
    with ws.store.write() as session:
        actor = ws.actor(session)
        b = find_branch(session, branch)
        assert b.id is not None
        access.require_scope(actor, b.committee_id, b.id, f"支部“{b.name}”")
        if access.is_branch(actor):
            raise access.PermissionDenied("权限不足：申报由分党委推荐建立，党支部用户不能新建申报。")
        campaign = ws.campaign(session, year)
        assert campaign.id is not None
        live = session.execute(
            select(func.count())
            .select_from(Case)
            .where(
                col(Case.campaign_id) == campaign.id,
                col(Case.branch_id) == b.id,
                col(Case.state).not_in(spec.rules.not_live),
            )
        ).scalar_one()
        if live:
            raise RuleRefused(f"R3 不联合申报：支部“{b.name}”在{campaign.label}中已有有效申报，不能再建第二个。", rules=["R3"])
        initial = spec.initial.id
        due = campaign_due(session, campaign.id, initial)
        now = clock.to_db(ws.now)
        values = {key: (plan or {}).get(key, "") for key in rules.PLAN_FIELDS}
        values.update(title=title.strip(), theme=theme, theme_note=theme_note)
        case_id = insert_draft(session, campaign.id, b.id, initial, due, now, values)
        inputs = {"title": title, "theme": theme, "theme_note": theme_note}
        repository.record(session, actor, case_id, "create", "", initial, inputs, ws.now, "", access.acting_for(actor, spec.initial.owner))
        return case_id


def insert_draft(
    session: Session, campaign_id: int, branch_id: int, state: str, due: datetime | None, now_db: datetime, values: Mapping[str, str]
) -> int:
    """Insert a new case at version 1 (title, theme and plan in `values`); returns its id."""
    row = {
        "campaign_id": campaign_id,
        "branch_id": branch_id,
        "state": state,
        "due_at": clock.to_db(due) if due else None,
        "version": 1,
        "criteria": "",
        "created_at": now_db,
        "updated_at": now_db,
        **values,
    }
    result = session.connection().execute(Case.__table__.insert(), row)  # type: ignore[attr-defined]  # one cached statement
    pk = cast(CursorResult[Any], result).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def insert_drafts(
    session: Session, campaign_id: int, state: str, due: datetime | None, now_db: datetime, rows: Sequence[tuple[int, Mapping[str, str]]]
) -> list[int]:
    """`insert_draft` for many (branch id, values) at once: one executemany; returns the ids in the order given."""
    if not rows:
        return []
    t = Case.__table__  # type: ignore[attr-defined]
    fixed = {"campaign_id": campaign_id, "state": state, "due_at": clock.to_db(due) if due else None, "version": 1, "criteria": ""}
    params = [{**fixed, "branch_id": b, "created_at": now_db, "updated_at": now_db, **values} for b, values in rows]
    return [int(i) for i in session.connection().execute(t.insert().returning(t.c.id, sort_by_parameter_order=True), params).scalars()]


MULTILINE = frozenset(rules.PLAN_FIELDS)  # the long plan texts may hold tabs and line breaks; nothing else may


def check_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """A case's text fields as typed or imported: control and direction characters refused (line breaks only
    in the plan texts), surrounding blanks of the one-line fields trimmed."""
    out = {}
    for key, value in fields.items():
        label = EDITABLE.get(key, key)
        if key in MULTILINE:
            out[key] = check_text(value, label, multiline=True)
        else:
            out[key] = check_text(value, label).strip()
    return out


def editable(ws: Workspace, session: Session, case_id: int, what: str) -> tuple[Actor, CaseRow]:
    """The acting user and a case they may change in its draft (scope, state), or why not."""
    actor = ws.actor(session)
    row = load_case(session, case_id)
    access.require_scope(actor, row.committee_id, row.branch_id)
    if row.state != ws.spec.initial.id:
        raise Refused(
            f"申报 {case_id} 当前状态为“{ws.spec.label(row.state)}”，只有“{ws.spec.initial.label}”状态才能{what}；如需修改，请党委组织部退回（return）。"
        )
    return actor, row


def set_fields(ws: Workspace, case_id: int, values: Mapping[str, str], expect_version: int | None = None) -> int:
    """Edit title, theme and plan fields (by id or label: `预期成果`) of a draft case; returns the new version."""
    values = {words.FIELDS.resolve(k): v for k, v in values.items()}
    if not values:
        raise UsageError("没有给出要修改的字段。", hint="请给出要修改的字段和新内容。")
    with ws.store.write() as session:
        actor, row = editable(ws, session, case_id, "修改")
        if expect_version is not None and expect_version != row.version:
            raise Conflict(f"申报 {case_id} 已被他人修改（现在是第 {row.version} 版）：请重新查看后再修改。")
        if "title" in values and not values["title"].strip():
            raise UsageError("项目名称不能为空。")
        values = check_fields(values)
        if "theme" in values:
            values["theme"] = words.theme(ws.spec, clean_name(values["theme"], "创建方向"))
        theme = values.get("theme", row.theme)
        note = values.get("theme_note", row.theme_note)
        if "theme" in values or "theme_note" in values:
            _check_theme(ws, theme, note)
        conflict = f"申报 {case_id} 刚被他人修改：请重新查看后再修改。"
        version = repository.update_case(session, case_id, row.version, ws.now, conflict, **dict(values))
        owner = ws.spec.by_id[row.state].owner
        repository.record(session, actor, case_id, "edit", row.state, row.state, dict(values), ws.now, "", access.acting_for(actor, owner))
        return version
