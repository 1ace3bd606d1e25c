"""Import the roster of committees and branches: every bad row listed, nothing half-imported."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import col

from workflow import access
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Branch, Committee
from workflow.errors import ImportRowsError, UsageError
from workflow.intake import tabular
from workflow.records.users import EMAIL_RX
from workflow.workspace import Workspace

HEADERS = ["分党委", "支部名称", "党员人数", "联系人", "邮箱", "上年度参与", "样板支部", "培育周期"]
REQUIRED = HEADERS[:7]
# Each column: whether a value is required, and how to fill it in (the template's 填写说明, README, --help).
COLUMNS = [
    ("分党委", "是", "分党委（直属党总支）全称，如“文法学院分党委”"),
    ("支部名称", "是", "支部全称，在全校唯一，如“文法学院第1学生党支部”"),
    ("党员人数", "是", "非负整数，如 25"),
    ("联系人", "否", "支部联系人姓名（提醒邮件的称呼）"),
    ("邮箱", "否", "接收提醒的邮箱；留空则该支部收不到邮件提醒"),
    ("上年度参与", "否（空即“否”）", "是 / 否：上一年度是否参加过特色支部创建（R2）"),
    ("样板支部", "否（空即“否”）", "是 / 否：全国或省级样板支部（R4）"),
    ("培育周期", "样板支部必填（这一列可以没有）", "样板支部的培育周期，写成 2023-2025"),
]
EXAMPLE = ["文法学院分党委", "文法学院第1学生党支部", "25", "王老师", "wang@example.edu.cn", "否", "否", ""]
SHEET = "支部名单"
YES = {"是", "y", "yes", "true", "1", "√"}
NO = {"否", "n", "no", "false", "0", ""}
CYCLE_RX = re.compile(r"^([0-9]{4})\s*[-–—~至]\s*([0-9]{4})$")


@dataclass(frozen=True)
class Imported:
    """What a roster import did."""

    encoding: str
    rows: int
    committees_created: int
    branches_created: int
    branches_updated: int
    branches_not_listed: int = 0  # branches already in the database that the file did not mention (they stay)

    @property
    def encoding_label(self) -> str:
        """The encoding as people name it (GBK, UTF-8, Excel 文件)."""
        return tabular.encoding_label(self.encoding)


def template() -> bytes:
    """An empty roster (.xlsx) to fill in: the header row, one example row, and a sheet 填写说明."""
    return tabular.template(SHEET, HEADERS, EXAMPLE, COLUMNS)


def _yes_no(value: str, header: str, errors: list[str], number: int) -> bool:
    v = value.lower()
    if v in YES:
        return True
    if v in NO:
        return False
    errors.append(f"第 {number} 行：{header}应填“是”或“否”，实际是“{value}”")
    return False


def parse_rows(table: tabular.Table) -> list[dict[str, Any]]:
    """Validate every row; raise ImportRowsError listing all problems, one line each."""
    tabular.require_headers(table, REQUIRED)
    errors: list[str] = []
    seen: dict[str, tuple[int, str]] = {}
    spelled: dict[str, tuple[int, str]] = {}  # a committee's normal name → the first row and spelling of it
    out = []
    for number, raw in table.rows:
        if "__extra__" in raw:
            errors.append(raw["__extra__"])
            continue
        c = {h: tabular.cell(raw, h) for h in HEADERS}
        before = len(errors)
        typed = dict(c)
        for h in ("分党委", "支部名称", "联系人"):
            try:
                c[h] = values.clean_name(c[h], h)
            except UsageError as exc:
                errors.append(f"第 {number} 行：{exc.message.rstrip('。')}")
        bad = values.bad_character(c["邮箱"])
        if bad:
            errors.append(f"第 {number} 行：邮箱含有不可见的控制字符（{bad}）")
        for h in ("分党委", "支部名称"):
            if not c[h] and len(errors) == before:
                errors.append(f"第 {number} 行：{h}不能为空")
        name = c["支部名称"]
        if name in seen:
            first, spelling = seen[name]
            if spelling == typed["支部名称"]:
                errors.append(f"第 {number} 行：支部“{name}”与第 {first} 行重复")
            else:
                errors.append(f"第 {number} 行：支部“{name}”与第 {first} 行只差空白、全角/半角或不可见字符，是同一个名称（重复）")
        elif name:
            seen[name] = (number, typed["支部名称"])
        committee = c["分党委"]
        if committee in spelled and spelled[committee][1] != typed["分党委"]:
            first = spelled[committee][0]
            errors.append(
                f"第 {number} 行：分党委“{committee}”的写法与第 {first} 行只差空白、全角/半角或不可见字符：请统一写法（按同一个分党委处理）"
            )
        elif committee:
            spelled.setdefault(committee, (number, typed["分党委"]))
        members = 0
        if not values.is_digits(c["党员人数"]) or len(c["党员人数"].lstrip("0")) > 9:
            errors.append(f"第 {number} 行：党员人数应是非负整数，实际是“{c['党员人数']}”")
        else:
            members = values.parse_int(c["党员人数"], "党员人数")
        if c["邮箱"] and not EMAIL_RX.match(c["邮箱"]):
            errors.append(f"第 {number} 行：邮箱格式不对：“{c['邮箱']}”")
        took = _yes_no(c["上年度参与"], "上年度参与", errors, number)
        model = _yes_no(c["样板支部"], "样板支部", errors, number)
        start = end = None
        if c["培育周期"]:
            m = CYCLE_RX.match(c["培育周期"])
            if not m or int(m.group(1)) > int(m.group(2)):
                errors.append(f"第 {number} 行：培育周期应写成 2023-2025，实际是“{c['培育周期']}”")
            elif not all(clock.FIRST_YEAR <= int(y) <= clock.LAST_YEAR for y in m.groups()):
                errors.append(f"第 {number} 行：培育周期的年份应在 {clock.FIRST_YEAR} 到 {clock.LAST_YEAR} 之间，实际是“{c['培育周期']}”")
            else:
                start, end = int(m.group(1)), int(m.group(2))
        elif model:
            errors.append(f"第 {number} 行：样板支部须填写培育周期（如 2023-2025）")
        if len(errors) == before:
            out.append(
                {
                    "committee": c["分党委"],
                    "name": name,
                    "members": members,
                    "contact": c["联系人"],
                    "email": c["邮箱"],
                    "took_part_last_year": took,
                    "model_branch": model,
                    "cycle_start": start,
                    "cycle_end": end,
                }
            )
    if errors:
        raise ImportRowsError(f"名单有 {len(errors)} 处错误，未导入任何数据；请改正后重新导入。", details=errors, encoding=table.encoding)
    if not out:
        raise ImportRowsError("名单中没有数据行：请检查文件。")
    return out


def import_file(ws: Workspace, path: str | Path, encoding: str | None = None) -> Imported:
    """Import (or re-import, updating) a roster file in one transaction (org only)."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "导入支部名单")
    return _import(ws, tabular.read(path, encoding, sheet=SHEET, expected=HEADERS))


def import_bytes(ws: Workspace, data: bytes, name: str, encoding: str | None = None) -> Imported:
    """Import a roster given as the bytes of a .csv or .xlsx file called `name` (an upload, or a file the caller read)."""
    with ws.store.read() as s:
        access.require_org(ws.actor(s), "导入支部名单")
    return _import(ws, tabular.parse(data, name, encoding, sheet=SHEET, expected=HEADERS))


def _import(ws: Workspace, table: tabular.Table) -> Imported:
    rows = parse_rows(table)
    with ws.store.write() as s:
        access.require_org(ws.actor(s), "导入支部名单")
        committees = dict(s.execute(select(col(Committee.name), col(Committee.id))).all())
        new_committees = sorted({r["committee"] for r in rows} - set(committees))
        if new_committees:
            s.execute(insert(Committee), [{"name": n} for n in new_committees])
            committees = dict(s.execute(select(col(Committee.name), col(Committee.id))).all())
        # 上年度参与 speaks of the year before the campaign the roster is imported for (the latest).
        last_year = ws.campaign(s).year - 1
        existing = {
            name: (bid, year) for name, bid, year in s.execute(select(col(Branch.name), col(Branch.id), col(Branch.took_part_year)))
        }
        fresh, changed = [], []
        for r in rows:
            values = {k: v for k, v in r.items() if k != "committee"}
            values["committee_id"] = committees[r["committee"]]
            known = existing.get(r["name"], (None, None))[1]
            # 否 clears only what this roster speaks of; an older participation stays on record.
            values["took_part_year"] = (
                last_year if r["took_part_last_year"] else (known if known is not None and known < last_year else None)
            )
            if r["name"] in existing:
                changed.append({"bid": existing[r["name"]][0], **{f"v_{k}": v for k, v in values.items()}})
            else:
                fresh.append(values)
        if fresh:
            # A plain executemany (the ORM's bulk path batches it into thousands of statements).
            s.connection().execute(insert(Branch), fresh)
        if changed:
            s.connection().execute(
                update(Branch).where(col(Branch.id) == bindparam("bid")).values({k[2:]: bindparam(k) for k in changed[0] if k != "bid"}),
                changed,
            )
    not_listed = len(set(existing) - {r["name"] for r in rows})
    return Imported(table.encoding, len(rows), len(new_committees), len(fresh), len(changed), not_listed)
