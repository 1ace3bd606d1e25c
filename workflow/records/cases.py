"""Creating and editing cases, and attaching their files (all in draft, all audited)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import Attachment, Branch, Case, History
from workflow.db.store import Permissions, permissions
from workflow.db.values import check_text, clean_name, normal_name, safe_file_name
from workflow.errors import Conflict, NotFound, Refused, RuleRefused, UsageError
from workflow.lifecycle.engine import bump, campaign_due, load_case
from workflow.lifecycle.facts import CaseRow
from workflow.spec import rules
from workflow.workspace import Workspace

EDITABLE = {"title": "项目名称", "theme": "创建方向", "theme_note": "方向说明", **rules.PLAN_FIELDS}


def find_branch(session: Session, name: str) -> Branch:
    """A branch by its exact name, or NotFound."""
    found = session.exec(orm_select(Branch).where(col(Branch.name) == normal_name(name))).first()
    if found is None:
        raise NotFound(f"没有名为“{name}”的支部：请先导入支部名单（roster import），或用 branch list 查看名称。")
    return found


def _check_theme(ws: Workspace, theme: str, note: str) -> None:
    s = ws.spec.rules
    problem = rules.theme_problem(theme, note, s.themes, s.other_theme)
    if problem:
        raise RuleRefused(problem, rules=["R6"])


def record(
    session: Session,
    actor: Actor,
    case_id: int,
    trigger: str,
    source: str,
    dest: str,
    inputs: Mapping[str, Any],
    at_db: datetime,
    comment: str = "",
) -> None:
    """Append one history row that is not a transition (create, edit, attach, import)."""
    session.execute(
        insert(History).values(
            case_id=case_id,
            at=at_db,
            actor=actor.name,
            role=actor.role,
            trigger=trigger,
            source=source,
            dest=dest,
            inputs=json.dumps(inputs, ensure_ascii=False),
            comment=comment,
        )
    )


def create(
    ws: Workspace, branch: str, title: str, theme: str, theme_note: str = "", year: int | None = None, plan: Mapping[str, str] | None = None
) -> int:
    """Open a draft case for a branch (R3: one live case per branch and campaign; R6: one theme)."""
    spec = ws.spec
    title, theme_note = check_fields({"title": title, "theme_note": theme_note}).values()
    theme = clean_name(theme, "创建方向")
    plan = check_fields(plan or {})
    if not title.strip():
        raise UsageError("项目名称不能为空：请用 --title 填写。")
    _check_theme(ws, theme, theme_note)
    with ws.store.write() as session:
        actor = ws.actor(session)
        b = find_branch(session, branch)
        assert b.id is not None
        access.require_scope(actor, b.committee_id, b.id, f"支部“{b.name}”")
        if actor.role == "branch":
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
        record(session, actor, case_id, "create", "", initial, {"title": title, "theme": theme, "theme_note": theme_note}, now)
        return case_id


def insert_draft(
    session: Session, campaign_id: int, branch_id: int, state: str, due: datetime | None, now_db: datetime, values: Mapping[str, str]
) -> int:
    """Insert a new case at version 1 (title, theme and plan in `values`); returns its id."""
    result = session.execute(
        insert(Case).values(
            campaign_id=campaign_id,
            branch_id=branch_id,
            state=state,
            due_at=clock.to_db(due) if due else None,
            version=1,
            criteria="",
            created_at=now_db,
            updated_at=now_db,
            **values,
        )
    )
    pk = cast(CursorResult[Any], result).inserted_primary_key
    assert pk is not None
    return int(pk[0])


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


def _editable_row(ws: Workspace, session: Session, case_id: int, what: str) -> tuple[Actor, CaseRow]:
    actor = ws.actor(session)
    row = load_case(session, case_id)
    access.require_scope(actor, row.committee_id, row.branch_id)
    if row.state != ws.spec.initial.id:
        raise Refused(
            f"申报 {case_id} 当前状态为“{ws.spec.label(row.state)}”，只有“{ws.spec.initial.label}”状态才能{what}；如需修改，请党委组织部退回（return）。"
        )
    return actor, row


def set_fields(ws: Workspace, case_id: int, values: Mapping[str, str], expect_version: int | None = None) -> int:
    """Edit title, theme and plan fields of a draft case; returns the new version."""
    unknown = [k for k in values if k not in EDITABLE]
    if unknown:
        raise UsageError(f"不能修改字段 {'、'.join(unknown)}；可修改的字段：{', '.join(EDITABLE)}。")
    if not values:
        raise UsageError("请给出要修改的字段，例如 case set 3 expected_outcomes=形成一套工作机制。")
    with ws.store.write() as session:
        actor, row = _editable_row(ws, session, case_id, "修改")
        if expect_version is not None and expect_version != row.version:
            raise Conflict(f"申报 {case_id} 已被他人修改（现在是第 {row.version} 版）：请重新查看后再修改。")
        if "title" in values and not values["title"].strip():
            raise UsageError("项目名称不能为空。")
        values = check_fields(values)
        if "theme" in values:
            values["theme"] = clean_name(values["theme"], "创建方向")
        theme = values.get("theme", row.theme)
        note = values.get("theme_note", row.theme_note)
        if "theme" in values or "theme_note" in values:
            _check_theme(ws, theme, note)
        result = session.execute(
            update(Case)
            .where(col(Case.id) == case_id, col(Case.version) == row.version)
            .values(version=row.version + 1, updated_at=clock.to_db(ws.now), **dict(values))
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise Conflict(f"申报 {case_id} 刚被他人修改：请重新查看后再修改。")
        record(session, actor, case_id, "edit", row.state, row.state, dict(values), clock.to_db(ws.now))
        return row.version + 1


def attach(ws: Workspace, case_id: int, path: str | Path, kind: str) -> dict[str, object]:
    """Copy a file into the files folder under its sha256 and record it as the case's `kind`."""
    if kind not in rules.ATTACHMENT_KINDS:
        raise UsageError(f"附件类型 {kind!r} 无效：请用 form（申报表电子版）或 stamped_scan（盖章扫描件）。")
    src = Path(path)
    if not src.is_file():
        raise NotFound(f"找不到文件：{src}。请检查路径。")
    digest, size = _hash(src)
    shown = safe_file_name(src.name)  # kept for display only: no line breaks, escapes or right-to-left tricks
    folder = ws.store.files_dir
    with ws.store.write() as session:
        actor, row = _editable_row(ws, session, case_id, "上传附件")
        _store_file(src, folder, digest)
        session.execute(
            insert(Attachment).values(
                case_id=case_id,
                kind=kind,
                original_name=shown,
                sha256=digest,
                size=size,
                actor=actor.name,
                created_at=clock.to_db(ws.now),
            )
        )
        bump(session, case_id, row.version, ws.now)
        record(
            session,
            actor,
            case_id,
            "attach",
            row.state,
            row.state,
            {"kind": kind, "name": shown, "sha256": digest, "size": size},
            clock.to_db(ws.now),
        )
    return {"case": case_id, "kind": kind, "name": shown, "sha256": digest, "size": size}


def _hash(src: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with src.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _store_file(src: Path | BinaryIO, folder: Path, digest: str, modes: Permissions | None = None) -> Path:
    """Copy atomically to folder/ab/abcdef…; never under a name the user chose. `src` is a path or a file
    already opened (and checked) by the caller; the copy must hash to `digest`, or nothing is stored.

    Folders are 0700 and files 0600 (or as BRANCHFLOW_UMASK allows a shared group), whatever the process umask.
    """
    modes = modes or permissions(os.environ)
    target = folder / digest[:2] / digest
    if target.exists():
        return target
    for part in (folder, target.parent):
        if not part.exists():
            part.mkdir(parents=True, exist_ok=True, mode=modes.dir_mode)
            os.chmod(part, modes.dir_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        os.fchmod(fd, modes.file_mode)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, src.open("rb") if isinstance(src, Path) else contextlib.nullcontext(src) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != digest:
            raise Conflict("附件在上传过程中被改动（内容与刚才读到的不同），未做任何修改：请重试。")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
