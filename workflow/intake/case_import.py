"""Import a committee's 申报汇总表: create draft cases, or update the campaign's draft case of the same branch.

Every bad row is listed with its row number and nothing is imported (one transaction). Attachment
paths are relative to the spreadsheet's folder and must stay inside it: the file comes from outside.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlmodel import Session, col

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Attachment, Branch, Case
from workflow.errors import Conflict, ImportRowsError, UsageError
from workflow.intake import tabular
from workflow.lifecycle import repository
from workflow.lifecycle.facts import any_of
from workflow.lifecycle.repository import campaign_due
from workflow.records import attachments
from workflow.records.cases import check_fields, insert_drafts  # the same checks and insert as `case new`
from workflow.spec import rules, words
from workflow.workspace import Workspace

FIELDS = {"支部名称": "branch", "项目名称": "title", "创建方向": "theme", "方向说明": "theme_note"} | {
    label: key for key, label in rules.PLAN_FIELDS.items()
}
FILES = {"申报表文件": "form", "盖章扫描件": "stamped_scan"}
REQUIRED = list(FIELDS)
CASE_FIELDS = [key for key in FIELDS.values() if key != "branch"]
HEADERS = [*FIELDS, *FILES]
SHEET = "申报汇总表"
WRITE_CHUNK = 1000  # rows whose cases, attachments and history rows are inserted with one executemany each


@dataclass(frozen=True)
class File:
    """An attachment named in a row, checked to lie inside the spreadsheet's folder."""

    kind: str
    upload: attachments.Upload
    identity: tuple[int, int]  # device and inode when it was checked: the file copied must be the one checked


@dataclass
class Row:
    """One valid-looking row of the sheet (database checks come later, in the transaction)."""

    number: int
    branch: str
    values: dict[str, str]
    files: list[File] = field(default_factory=list)
    ok: bool = True  # False: the row already has an error; it is still checked against the database


@dataclass(frozen=True)
class Imported:
    """What a case import did; `cases` gives, per row, the case id and `created`, `updated` or `unchanged`."""

    encoding: str
    rows: int
    created: int
    updated: int
    unchanged: int
    attachments: int
    cases: list[dict[str, Any]]

    @property
    def encoding_label(self) -> str:
        """The encoding as people name it (GBK, UTF-8, Excel 文件)."""
        return tabular.encoding_label(self.encoding)


def columns(themes: tuple[str, ...], other: str) -> list[tuple[str, str, str]]:
    """Each column of the 申报汇总表: whether a value is required, and how to fill it in."""
    plan = [(label, "提交前须填写", "方案内容（可先留空，提交前补齐，R7）") for label in rules.PLAN_FIELDS.values()]
    return [
        ("支部名称", "是", "与支部名单中的名称一致，每个支部一行"),
        ("项目名称", "是", "创建项目的名称"),
        ("创建方向", "是", "、".join(themes) + "，选其一"),
        ("方向说明", f"方向为“{other}”时必填", f"创建方向选“{other}”时说明具体方向"),
        *plan,
        ("申报表文件", "否", "申报表电子版的路径（相对于表格所在文件夹，如 附件/申报表.docx）；网页导入时附件须单独上传"),
        ("盖章扫描件", "否", "盖章扫描件的路径（同上）"),
    ]


def template(themes: tuple[str, ...], other: str) -> bytes:
    """An empty 申报汇总表 (.xlsx) to fill in: the header row, one example row, and a sheet 填写说明."""
    example = {
        "支部名称": "文法学院第1学生党支部",
        "项目名称": "“红色经典”读书会",
        "创建方向": themes[0] if themes else "",
    }
    plan_examples = ["形成读书笔记汇编一册", "3月启动，6月中期交流，11月总结", "师生共读", "在学院公众号推广", "组织专题学习两次"]
    for label, text in zip(rules.PLAN_FIELDS.values(), plan_examples, strict=False):
        example[label] = text
    return tabular.template(SHEET, HEADERS, [example.get(h, "") for h in HEADERS], columns(themes, other))


def import_file(ws: Workspace, path: str | Path, encoding: str | None = None, year: int | None = None) -> Imported:
    """Import a 申报汇总表 (.csv or .xlsx) in one transaction (org, or a committee for its own branches)."""
    with ws.store.read() as s:
        _require_importer(ws.actor(s))
    p = Path(path)
    return _import(ws, tabular.read(p, encoding, expected=HEADERS), p.name, p.resolve().parent, year)


def import_bytes(
    ws: Workspace, data: bytes, name: str, encoding: str | None = None, year: int | None = None, folder: Path | None = None
) -> Imported:
    """Import a 申报汇总表 given as the bytes of a file called `name`; attachment paths in it are looked up in
    `folder` (the sheet's own folder), and without one a row naming an attachment is refused."""
    with ws.store.read() as s:
        _require_importer(ws.actor(s))
    return _import(ws, tabular.parse(data, name, encoding, expected=HEADERS), PurePath(name).name, folder, year)


def _import(ws: Workspace, table: tabular.Table, source: str, folder: Path | None, year: int | None) -> Imported:
    tabular.require_headers(table, REQUIRED)
    spec = ws.spec
    rows, errors = _parse(table, folder, spec.rules.themes, spec.rules.other_theme, words.themes(spec).find)
    with ws.store.write() as s:
        actor = ws.actor(s)
        _require_importer(actor)
        campaign = ws.campaign(s, year)
        assert campaign.id is not None
        names = {r.branch for r in rows}
        q = select(col(Branch.name), col(Branch.id), col(Branch.committee_id))
        # A long sheet reads the whole roster rather than binding thousands of names.
        branches = {name: (bid, cid) for name, bid, cid in s.execute(q if len(names) > 500 else q.where(col(Branch.name).in_(names)))}
        live: dict[int, list[Any]] = {}
        for case in s.execute(
            select(Case).where(
                col(Case.campaign_id) == campaign.id,
                any_of(s, col(Case.branch_id), [b for b, _ in branches.values()]),
                col(Case.state).not_in(spec.rules.not_live),
            )
        ).scalars():
            live.setdefault(case.branch_id, []).append(case)
        plans: list[tuple[Row, int, Case | None]] = []
        for r in rows:
            found = branches.get(r.branch)
            if found is None:
                errors.append((r.number, f"第 {r.number} 行：没有名为“{r.branch}”的支部（请先导入支部名单，或检查名称）"))
                continue
            branch_id, committee_id = found
            if not access.in_scope(actor, committee_id, branch_id):
                errors.append((r.number, f"第 {r.number} 行：支部“{r.branch}”不属于用户 {actor.name} 所在的分党委，不能导入"))
                continue
            cases = live.get(branch_id, [])
            past = [c for c in cases if c.state != spec.initial.id]
            if past:
                errors.append(
                    (
                        r.number,
                        f"第 {r.number} 行：支部“{r.branch}”的申报 {past[0].id} 已是“{spec.label(past[0].state)}”，"
                        f"只有“{spec.initial.label}”状态的申报才能导入修改（如需修改，请党委组织部退回）",
                    )
                )
                continue
            if r.ok:
                plans.append((r, branch_id, cases[0] if cases else None))
        if errors:
            lines = [text for _, text in sorted(errors, key=lambda e: e[0])]  # stable: a row's errors keep their order
            raise ImportRowsError(
                f"申报汇总表有 {len(lines)} 处错误，未导入任何数据；请改正后重新导入。", details=lines, encoding=table.encoding
            )
        if not plans:
            raise ImportRowsError("申报汇总表中没有数据行：请检查文件。")
        return _write(s, ws, actor, campaign.id, plans, table.encoding, source)


def _require_importer(actor: Actor) -> None:
    access.require_case_importer(actor)


def _parse(
    table: tabular.Table, folder: Path | None, themes: tuple[str, ...], other: str, spelled: Callable[[str], str | None] = lambda _t: None
) -> tuple[list[Row], list[tuple[int, str]]]:
    """Check every row on its own (fields, R6 with the theme as the spec spells it, `spelled`, attachment paths);
    the database is not consulted here."""
    errors: list[tuple[int, str]] = []
    rows: list[Row] = []
    limit = attachments.max_upload_bytes()
    seen: dict[str, tuple[int, str]] = {}
    for number, raw in table.rows:
        if "__extra__" in raw:
            errors.append((number, raw["__extra__"]))
            continue
        c = {key: tabular.cell(raw, label) for label, key in FIELDS.items()}
        before = len(errors)
        typed_name = c["branch"]
        for key in ("branch", "theme"):
            try:
                c[key] = values.clean_name(c[key], "支部名称" if key == "branch" else "创建方向")
                if key == "theme":
                    c[key] = spelled(c[key]) or c[key]
            except UsageError as exc:
                errors.append((number, f"第 {number} 行：{exc.message.rstrip('。')}"))
        for key in CASE_FIELDS:
            if key == "theme":
                continue
            try:
                c[key] = check_fields({key: c[key]})[key]
            except UsageError as exc:
                errors.append((number, f"第 {number} 行：{exc.message.rstrip('。')}"))
        for label in ("支部名称", "项目名称", "创建方向"):
            if not c[FIELDS[label]]:
                errors.append((number, f"第 {number} 行：{label}不能为空"))
        if c["theme"]:
            problem = rules.theme_problem(c["theme"], c["theme_note"], themes, other)
            if problem:
                errors.append((number, f"第 {number} 行：{problem}"))
        name = c["branch"]
        if name in seen:
            first, spelling = seen[name]
            same = "重复" if spelling == typed_name else "只差空白、全角/半角或不可见字符，是同一个支部"
            errors.append((number, f"第 {number} 行：支部“{name}”与第 {first} 行{same}（每个支部只有一个申报）"))
        elif name:
            seen[name] = (number, typed_name)
        files = []
        for label, kind in FILES.items():
            text = tabular.cell(raw, label)
            if not text:
                continue
            if folder is None:
                errors.append((number, f"第 {number} 行：{label}“{text}”无法找到：只上传了表格，附件须单独上传"))
                continue
            found = _inside(folder, text)
            opened = found if isinstance(found, str) else open_inside(folder, found)
            if isinstance(opened, str):
                errors.append((number, f"第 {number} 行：{label}“{text}”{opened}"))
                continue
            assert isinstance(found, Path)
            with opened as fh:
                upload = attachments.Upload.from_file(fh, found, PurePosixPath(text.replace("\\", "/")).name)
                identity = _identity(fh)
            refused = attachments.problem(kind, upload, limit)
            if refused:
                errors.append((number, f"第 {number} 行：{label}“{text}”：{refused}"))
                continue
            files.append(File(kind, upload, identity))
        if name:
            rows.append(Row(number, name, {k: c[k] for k in CASE_FIELDS}, files, ok=len(errors) == before))
    return rows, errors


def _inside(folder: Path, text: str) -> Path | str:
    """The file a cell names, resolved inside `folder`, or why it is refused (absolute, `..`, a link leading out, missing)."""
    posix = text.replace("\\", "/")
    if PurePosixPath(posix).is_absolute() or PureWindowsPath(text).drive or PureWindowsPath(text).is_absolute():
        return "是绝对路径：请写成相对于表格所在文件夹的路径，如 附件/申报表.docx"
    if ".." in PurePosixPath(posix).parts:
        return "含有“..”：附件须放在表格所在的文件夹内"
    base = folder.resolve()
    target = (base / posix).resolve()
    if not target.is_relative_to(base):
        return "是指向表格所在文件夹之外的链接：请把文件本身放进该文件夹"
    if not target.is_file():
        return "找不到：请确认文件在表格所在的文件夹内"
    return target


def open_inside(folder: Path, target: Path) -> BinaryIO | str:
    """`target` opened for reading, checked after opening (so that nothing can be swapped in between): not
    a link (O_NOFOLLOW), a regular file with one name only (a hard link could name a file anywhere), and
    the very file the path inside `folder` names now (same device and inode). Else why it is refused."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return f"无法打开（{exc.strerror}）：请把文件本身（不是链接）放进表格所在的文件夹"
    fh = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "不是普通文件：请把文件本身放进表格所在的文件夹"
    elif info.st_nlink > 1:
        problem = f"是硬链接（同一文件有 {info.st_nlink} 个名字，可能指向文件夹之外）：请复制一份文件本身放进表格所在的文件夹"
    else:
        try:
            now = os.stat(target, follow_symlinks=False)
            inside = target.resolve(strict=True).is_relative_to(folder.resolve())
        except OSError:
            now, inside = None, False
        if now is None or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino) or not inside:
            problem = "在读取时被替换了：请重新导入"
    if problem:
        fh.close()
        return problem
    return fh


def _identity(fh: BinaryIO) -> tuple[int, int]:
    info = os.fstat(fh.fileno())
    return info.st_dev, info.st_ino


def _write(
    s: Session, ws: Workspace, actor: Actor, campaign_id: int, plans: list[tuple[Row, int, Case | None]], encoding: str, source: str
) -> Imported:
    """Create or update every case and attach its files (all rows already checked)."""
    spec = ws.spec
    now = clock.to_db(ws.now)
    initial = spec.initial.id
    due = campaign_due(s, campaign_id, initial)
    folder = ws.store.files_dir
    on_behalf_of = access.acting_for(actor, spec.initial.owner)
    existing = {
        (case_id, kind, digest)
        for case_id, kind, digest in s.execute(
            select(col(Attachment.case_id), col(Attachment.kind), col(Attachment.sha256)).where(
                col(Attachment.case_id).in_([c.id for _, _, c in plans if c is not None])
            )
        )
    }
    created = updated = unchanged = attached = 0
    out = []
    for start in range(0, len(plans), WRITE_CHUNK):
        chunk = plans[start : start + WRITE_CHUNK]
        # The chunk's new cases in one executemany; their history rows and attachments follow in row order.
        new_ids = iter(insert_drafts(s, campaign_id, initial, due, now, [(b, r.values) for r, b, case in chunk if case is None]))
        history: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for r, _branch_id, case in chunk:
            comment = f"导入 {source} 第 {r.number} 行"
            if case is None:
                case_id = next(new_ids)
                inputs = {k: r.values[k] for k in ("title", "theme", "theme_note")}
                history.append(repository.history_row(case_id, actor, ws.now, "create", "", initial, inputs, comment, on_behalf_of))
                action, version = "created", 1
                created += 1
            else:
                assert case.id is not None
                case_id = case.id
                changed = {k: v for k, v in r.values.items() if getattr(case, k) != v}
                new_files = [f for f in r.files if (case_id, f.kind, f.upload.sha256) not in existing]
                if not changed and not new_files:
                    out.append({"row": r.number, "branch": r.branch, "id": case_id, "action": "unchanged", "version": case.version})
                    unchanged += 1
                    continue
                conflict = f"申报 {case_id} 在导入过程中被他人修改，未导入任何数据：请重新导入。"
                version = repository.update_case(s, case_id, case.version, ws.now, conflict, **changed)
                if changed:
                    history.append(repository.history_row(case_id, actor, ws.now, "edit", initial, initial, changed, comment, on_behalf_of))
                action = "updated"
                updated += 1
            for f in r.files:
                if (case_id, f.kind, f.upload.sha256) in existing:
                    continue
                opened = open_inside(f.upload.path.parent, f.upload.path) if f.upload.path is not None else "没有路径"
                if isinstance(opened, str) or _identity(opened) != f.identity:
                    if not isinstance(opened, str):
                        opened.close()
                    raise Conflict(f"附件 {f.upload.name} 在导入过程中被改动或替换，未导入任何数据：请重新导入。")
                with opened:
                    row, line = attachments.stored(
                        folder, actor, case_id, initial, spec.initial.owner, f.kind, f.upload, ws.now, comment, source=opened
                    )
                files.append(row)
                history.append(line)
                existing.add((case_id, f.kind, f.upload.sha256))
                attached += 1
            out.append({"row": r.number, "branch": r.branch, "id": case_id, "action": action, "version": version})
        attachments.insert_rows(s, files)
        repository.append_history(s, history)
    return Imported(encoding, len(plans), created, updated, unchanged, attached, out)
