"""Words at the edge: the Chinese label of every id the library uses, and every result as a plain dict.

Library functions return typed results (dataclasses, TypedDicts); a front end turns them into what it
shows with the functions here, so the CLI's `--json` and tables, the exports and the web pages say the
same thing in the same words. A dict here is exactly what `--json` prints (datetimes are left as
datetimes: the JSON writer formats them, a table shows them with `cell`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow import access
from workflow.dates import clock
from workflow.spec import Spec, rules

if TYPE_CHECKING:  # annotations only: a read command that renders a listing loads none of these
    from workflow.db.schema import Upgrade
    from workflow.intake import case_import, roster
    from workflow.lifecycle.bulk import Outcome
    from workflow.lifecycle.engine import Fired, Option
    from workflow.records.attachments import Attached
    from workflow.records.campaigns import Comparison, Initialized
    from workflow.records.deadlines import Extended, StateExtended, Waived
    from workflow.reminders.outbox import Listed
    from workflow.reminders.sweep import SweepReport
    from workflow.reports.ics import Calendar

# ---------------------------------------------------------------- labels

ROLES: Mapping[str, str] = access.ROLE_LABELS  # the short names, as tables and messages say them
ATTACHMENT_KINDS: Mapping[str, str] = rules.ATTACHMENT_KINDS
PLAN_FIELDS: Mapping[str, str] = rules.PLAN_FIELDS
OUTBOX_STATUSES = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "cancelled": "已作废"}
SEND_STATUSES = {"sent": "已发送", "retry": "稍后重试", "failed": "失败", "dry-run": "将发送"}
IMPORT_ACTIONS = {"created": "新建", "updated": "更新", "unchanged": "未变"}
# History rows that are not transitions of states.yaml (their trigger names are reserved).
RECORD_TRIGGERS = {
    "create": "新建申报",
    "edit": "修改申报",
    "attach": "上传附件",
    "detach": "撤下附件",
    "extend": "延期",
    "waive": "登记规则例外",
    "review_assign": "分配评审专家",
    "review_unassign": "取消分配评审专家",
    "review_score": "专家评分",
}
# The inputs those rows carry, besides the plan fields and the transitions' declared inputs.
RECORD_INPUTS = {
    "title": "项目名称",
    "theme": "创建方向",
    "theme_note": "方向说明",
    "kind": "附件类型",
    "name": "文件名",
    "sha256": "sha256",
    "size": "大小（字节）",
    "from": "原截止时间",
    "until": "新截止时间",
    "state": "阶段",
    "rule": "规则",
    "reviewer": "评审专家",
    "scores": "各项评分",
    "total": "总分",
    "panel": "专家组",
    "reviews": "评审份数",
    "override": "人工覆盖",
}

CASE_FIELDS = {
    "id": "编号",
    "campaign": "年度",
    "branch": "支部",
    "committee": "分党委",
    "title": "项目名称",
    "theme": "创建方向",
    "theme_note": "方向说明",
    **rules.PLAN_FIELDS,
    "state_label": "状态",
    "owner": "负责方",
    "next_by": "可推进方",
    "due_at": "截止时间",
    "version": "版本",
    "score": "评审分",
}
CASE_HEADERS = {
    "id": "编号",
    "branch": "支部",
    "committee": "分党委",
    "title": "项目名称",
    "state": "状态",
    "state_label": "状态名称",
    "owner": "负责方",
    "next_by": "可推进方",
    "due_at": "截止时间",
    "version": "版本",
    "campaign": "年度",
}
OVERDUE_HEADERS = {**CASE_HEADERS, "days_overdue": "逾期天数"}
HISTORY_HEADERS = {
    "at": "时间",
    "actor": "操作人",
    "role": "角色",
    "on_behalf_of": "代为",
    "trigger": "操作",
    "source": "原状态",
    "dest": "新状态",
    "inputs": "输入",
    "comment": "说明",
}
OUTBOX_HEADERS = {
    "id": "编号",
    "case": "申报",
    "state_label": "阶段",
    "kind": "提醒",
    "due_at": "截止时间",
    "recipient": "收件人",
    "channel": "渠道",
    "status": "状态",
    "attempts": "尝试次数",
    "next_try_at": "下次尝试",
    "last_error": "最近错误",
}
FILE_HEADERS = {"kind": "类型", "name": "原文件名", "size": "大小（字节）", "uploaded_at": "上传时间", "uploaded_by": "上传人"}
USER_HEADERS = {"name": "用户", "role": "角色", "committee": "分党委", "branch": "支部", "email": "邮箱", "sso_id": "统一身份认证账号"}
BRANCH_HEADERS = {
    "id": "编号",
    "committee": "分党委",
    "name": "支部",
    "members": "党员",
    "contact": "联系人",
    "email": "邮箱",
    "took_part_last_year": "上年度参与",
    "model_branch": "样板支部",
    "cycle": "培育周期",
}
SEND_HEADERS = {"channel": "渠道", "recipient": "收件人", "cases": "申报", "status": "状态", "error": "错误"}


def role(spec: Spec | None, role_id: str) -> str:
    """A role's label: the short name (党委组织部, 分党委, …), else the spec's, else the id."""
    if role_id in ROLES:
        return ROLES[role_id]
    return spec.roles.get(role_id, role_id) if spec else role_id


def state(spec: Spec, state_id: str) -> str:
    """A state's label from states.yaml (the id when the spec does not know it)."""
    return spec.label(state_id) if state_id else ""


def trigger(spec: Spec, name: str) -> str:
    """A trigger's label: the transition's in states.yaml, or the record a history row stands for."""
    t = spec.by_trigger.get(name)
    return t.label if t else RECORD_TRIGGERS.get(name, name)


def input_name(spec: Spec, trigger_name: str, name: str) -> str:
    """An input's label: declared on the transition, a plan field, or one of the record rows' inputs."""
    t = spec.by_trigger.get(trigger_name)
    for i in t.inputs if t else ():
        if i.name == name and i.label:
            return i.label
    criterion = spec.rules.review.criterion(name)
    if criterion is not None:
        return criterion.label
    if name == "score" and t is None:
        return "专家组评分"  # inside the panel's note of an evaluation
    return rules.PLAN_FIELDS.get(name) or RECORD_INPUTS.get(name, name)


def inputs(spec: Spec, trigger_name: str, values: Mapping[str, Any]) -> str:
    """A history row's inputs as people write them: `预期成果=…；进度安排=…` (a reviewer's scores as
    `聚焦主题 95、凝炼特色 92…`)."""
    return "；".join(f"{input_name(spec, trigger_name, k)}={_value(trigger_name, k, v, spec)}" for k, v in values.items())


def _value(trigger_name: str, key: str, value: Any, spec: Spec | None = None) -> str:
    if isinstance(value, dict) and spec is not None:
        return "、".join(f"{input_name(spec, '', k)} {_value(trigger_name, k, v, spec)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "kind" and value in ATTACHMENT_KINDS:
        return ATTACHMENT_KINDS[value]
    if key in ("from", "until") and isinstance(value, str) and value:
        try:
            return clock.show(datetime.fromisoformat(value))
        except ValueError:
            return value
    return "" if value is None else str(value)


def cell(value: Any, limit: int = 60) -> str:
    """A value as one table cell: times in Asia/Shanghai, 是/否, `key=value；…` for a dict, cut at `limit`."""
    if isinstance(value, datetime):
        return clock.show(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        value = "；".join(f"{k}={cell(v, 24)}" for k, v in value.items())
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- results as plain dicts


def user_added(name: str, role_id: str, email: str) -> dict[str, Any]:
    """`user add`."""
    return {"name": name, "role": role_id, "email": email}


def roster_imported(r: roster.Imported) -> dict[str, Any]:
    """`roster import`: what was created and updated."""
    return {
        "encoding": r.encoding,
        "rows": r.rows,
        "committees_created": r.committees_created,
        "branches_created": r.branches_created,
        "branches_updated": r.branches_updated,
        "branches_not_listed": r.branches_not_listed,
    }


def roster_summary(r: roster.Imported) -> str:
    """`roster import`'s line: what was created and updated, and (on a re-import) the branches the file left out."""
    line = (
        f"已导入 {r.rows} 行（编码：{r.encoding_label}）：新建分党委 {r.committees_created} 个，"
        f"新建支部 {r.branches_created} 个，更新支部 {r.branches_updated} 个。"
    )
    if r.branches_updated or r.branches_not_listed:
        line += f"数据库中已有、此名单未列出的支部 {r.branches_not_listed} 个，保留不变。"
    return line


def cases_summary(r: case_import.Imported) -> str:
    """`case import`'s line: the counts."""
    return (
        f"已导入 {r.rows} 行（编码：{r.encoding_label}）：新建申报 {r.created} 个，更新 {r.updated} 个，"
        f"未变 {r.unchanged} 个，上传附件 {r.attachments} 个。"
    )


def cases_imported(r: case_import.Imported) -> dict[str, Any]:
    """`case import`: counts, and per row the case and what happened to it."""
    return {
        "encoding": r.encoding,
        "rows": r.rows,
        "created": r.created,
        "updated": r.updated,
        "unchanged": r.unchanged,
        "attachments": r.attachments,
        "cases": r.cases,
    }


def fired(f: Fired, spec: Spec) -> dict[str, Any]:
    """`advance`: where the case went, its new due date and version."""
    return {
        "id": f.case_id,
        "branch": f.branch,
        "committee": f.committee,
        "trigger": f.trigger,
        "source": f.source,
        "state": f.dest,
        "state_label": spec.label(f.dest),
        "due_at": f.due_at,
        "version": f.version,
    }


def options(found: Sequence[Option]) -> list[dict[str, Any]]:
    """`triggers`: what the actor may do now, with its inputs and what blocks it."""
    return [
        {
            "trigger": o.trigger,
            "label": o.label,
            "dest": o.dest,
            "dest_label": o.dest_label,
            "allowed": o.allowed,
            "blocked_by": list(o.blocked_by),
            "inputs": [{"name": i.name, "type": i.type, "required": i.required, "label": i.label} for i in o.inputs],
        }
        for o in found
    ]


class Outcomes:
    """`advance-many`'s outcomes, one case at a time, as `--json` and the API give them, and as a line for people.

    The part a group of cases shares (source, destination, due date) is built once: a run may report a
    hundred thousand cases."""

    def __init__(self, spec: Spec, trigger: str, dry_run: bool) -> None:
        self.spec, self.trigger, self.dry_run = spec, trigger, dry_run
        self._shared: dict[tuple[str, str, datetime | None], dict[str, Any]] = {}
        self._text: dict[tuple[str, str, datetime | None], str] = {}

    def shared(self, o: Outcome) -> dict[str, Any]:
        """What a done case shares with the others that went the same way: dry run, trigger, source, state, its label, due date."""
        key = (o.source, o.dest, o.due_at)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = {
                "dry_run": self.dry_run,
                "trigger": self.trigger,
                "source": o.source,
                "state": o.dest,
                "state_label": self.spec.label(o.dest),
                "due_at": o.due_at,
            }
        return found

    def done(self, o: Outcome) -> dict[str, Any]:
        """A case done (or, in a dry run, that would be): its id, new version and where it went."""
        return {"id": o.id, "ok": True, "error": None, "version": o.version, **self.shared(o)}

    def refused(self, o: Outcome, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A case refused: its id and the error document (`error`, as the front end words it; else the library's)."""
        assert o.error is not None
        return {"id": o.id, "ok": False, "error": None, "dry_run": self.dry_run, **(o.error.as_json() if error is None else error)}

    def item(self, o: Outcome, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`done` or `refused`, whichever the case is."""
        return self.done(o) if o.error is None else self.refused(o, error)

    def done_text(self, o: Outcome) -> str:
        """A done case for people, after its number: 已完成（or 可以执行），from → to（截止 …）。"""
        key = (o.source, o.dest, o.due_at)
        found = self._text.get(key)
        if found is None:
            due = f"（截止 {clock.show(o.due_at)}）" if o.due_at else ""
            verb = "可以执行" if self.dry_run else "已完成"
            found = self._text[key] = f"{verb}，{self.spec.label(o.source)} → {self.spec.label(o.dest)}{due}。"
        return found


def upgraded(done: Upgrade) -> dict[str, Any]:
    """`db upgrade`: the schema revision before and after."""
    return {"before": done.before, "after": done.after, "adopted": done.adopted}


def copied(counts: Mapping[str, int]) -> dict[str, Any]:
    """`db copy`: rows per table and in all."""
    return {"tables": dict(counts), "rows": sum(counts.values())}


def copied_rows(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """`db copy` as table rows."""
    return [{"table": name, "rows": n} for name, n in counts.items()]


def change_lines(done: Initialized) -> list[str]:
    """`init --states`: each change from the spec in force, a date change saying how many cases moved with it."""
    applied: dict[tuple[int | None, str | None], Any] = {(a.year, a.state): a for a in done.applied}
    lines = []
    for c in done.changes:
        moved = applied.get((c.year, c.state)) if c.is_date else None
        lines.append(c.text if moved is None else f"{c.text}（已作用于该年度，{len(moved.cases)} 个申报随之调整）")
    return lines


def initialized(done: Initialized, states_given: bool) -> dict[str, Any]:
    """`init`: the campaign, and with `--states` the spec loaded, its changes and the dates applied."""
    data: dict[str, Any] = {"campaign": done.campaign.year, "label": done.campaign.label, "created": done.created}
    if states_given:  # a plain init keeps the spec in force: nothing to say about it
        data["states"] = done.source
        data["changes"] = change_lines(done)
        data["applied"] = [{"campaign": a.year, "state": a.state, "until": a.until, "cases": a.cases} for a in done.applied]
    return data


def checked(new: Spec, found: Comparison | None) -> dict[str, Any]:
    """`check-states`: the spec is valid (its size and years); with a database, what init would change."""
    data: dict[str, Any] = {"ok": True, "states": len(new.states), "transitions": len(new.transitions), "campaigns": sorted(new.calendars)}
    if found is not None:
        dated = {(c.year, c.state) for c in found.dates_to_apply}
        data["changes"] = [c.text + ("（init 时将作用于该年度的申报）" if (c.year, c.state) in dated else "") for c in found.changes]
    return data


def case_created(case_id: int) -> dict[str, Any]:
    """`case new`: the new draft's id."""
    return {"id": case_id}


def case_updated(case_id: int, version: int) -> dict[str, Any]:
    """`case set`: the case and its new version."""
    return {"id": case_id, "version": version}


def extended(e: Extended) -> dict[str, Any]:
    """`extend ID`: the case's due date before and now."""
    return {"case": e.case, "state": e.state, "from": e.before, "until": e.until}


def state_extended(e: StateExtended) -> dict[str, Any]:
    """`extend --state`: the state's date in the campaign's calendar before and now, and the cases moved with it."""
    return {"campaign": e.campaign, "state": e.state, "from": e.before, "until": e.until, "cases": list(e.cases)}


def waived(w: Waived) -> dict[str, Any]:
    """`waive`: the rule excepted for the case, and why."""
    return {"case": w.case, "rule": w.rule, "reason": w.reason}


def attached(a: Attached) -> dict[str, Any]:
    """`case attach`: the file stored (its original name, hash and size) for the case."""
    return {"case": a.case, "kind": a.kind, "name": a.name, "sha256": a.sha256, "size": a.size}


def outbox_row(spec: Spec, r: Listed) -> dict[str, Any]:
    """One reminder of the outbox (`outbox`, `outbox retry`), with its state's label."""
    return {
        "id": r.id,
        "case": r.case,
        "state": r.state,
        "state_label": spec.label(r.state),
        "offset": r.offset,
        "kind": r.kind,
        "due_at": r.due_at,
        "recipient": r.recipient,
        "recipient_name": r.recipient_name,
        "channel": r.channel,
        "status": r.status,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "next_try_at": r.next_try_at,
        "sent_at": r.sent_at,
    }


def outbox_rows(spec: Spec, rows: Sequence[Listed]) -> list[dict[str, Any]]:
    """The outbox listing."""
    return [outbox_row(spec, r) for r in rows]


def sent(report: SweepReport) -> list[dict[str, Any]]:
    """`remind`: one object per message; a dry run adds each message's entries (case, kind, due date) and its text."""
    rows = [
        {
            "channel": r.channel,
            "recipient": r.recipient,
            "cases": list(r.cases),
            "outbox": list(r.outbox_ids),
            "status": r.status,
            "subject": r.subject,
            "error": r.error,
        }
        for r in report.results
    ]
    for row, preview in zip(rows, report.previews, strict=False):
        row["items"] = [{"case": i.case_id, "kind": i.kind, "kind_label": i.kind_label, "due_at": i.due_at} for i in preview.items]
        row["text"] = preview.text
    return rows


def sent_cells(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`remind`'s messages as table rows: the cases as 1、2、3, the status by its label (SEND_HEADERS)."""
    return [{**r, "cases": "、".join(map(str, r["cases"])), "status": SEND_STATUSES.get(r["status"], r["status"])} for r in rows]


PREVIEW_HEADERS = {"channel": "渠道", "recipient": "收件人", "case": "申报", "kind": "类型", "due_at": "截止", "subject": "主题"}


def preview_cells(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A dry run's messages as table rows (PREVIEW_HEADERS): one per case in each, the recipient and subject once."""
    return [
        {
            "channel": r["channel"],
            "recipient": r["recipient"] if n == 0 else "",
            "case": item["case"],
            "kind": item["kind_label"],
            "due_at": item["due_at"],
            "subject": r["subject"] if n == 0 else "",
        }
        for r in rows
        for n, item in enumerate(r["items"])
    ]


def calendar(c: Calendar, file: str) -> dict[str, Any]:
    """`calendar`: the file written and the events in it."""
    note = "（仅含您管辖范围内的申报）" if c.scoped else ""
    years = list(c.campaigns or (c.campaign,))
    return {"file": file, "campaign": c.campaign, "campaigns": years, "events": c.events, "case_events": c.case_events, "note": note}


# ---------------------------------------------------------------- exports: the department's own tables


@dataclass(frozen=True)
class Sheet:
    """A table to export: the sheet's name, key → Chinese header, and rows of plain values (text, numbers, times)."""

    name: str
    headers: Mapping[str, str]
    rows: Sequence[Mapping[str, Any]]


STATUS_EXPORT = {
    "id": "编号",
    "campaign": "年度",
    "committee": "分党委",
    "branch": "支部",
    "title": "项目名称",
    "state_label": "状态",
    "owner": "负责方",
    "next_by": "可推进方",
    "due_at": "截止时间",
    "version": "版本",
}
OVERDUE_EXPORT = {**STATUS_EXPORT, "days_overdue": "逾期天数"}
HISTORY_EXPORT = HISTORY_HEADERS  # the audit trail's columns, as the table shows them
OUTBOX_EXPORT = {
    "id": "编号",
    "case": "申报",
    "state_label": "阶段",
    "kind": "提醒类型",
    "due_at": "截止时间",
    "recipient_name": "收件人",
    "recipient": "邮箱或地址",
    "channel": "渠道",
    "status": "状态",
    "attempts": "尝试次数",
    "next_try_at": "下次尝试",
    "sent_at": "发送时间",
    "last_error": "最近错误",
}
CHANNELS = {"console": "控制台", "email": "邮件", "wecom": "企业微信", "dingtalk": "钉钉"}


def _present_keys(headers: Mapping[str, str], rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The headers whose key the rows have (a column only some listings give, like 年度, is left out when absent)."""
    if not rows:
        return {k: v for k, v in headers.items() if k != "campaign"}
    return {k: v for k, v in headers.items() if k in rows[0]}


def status_sheet(rows: Sequence[Mapping[str, Any]], name: str = "申报进度") -> Sheet:
    """`status` as a table: Chinese headers, the state's label (not its id)."""
    return Sheet(name, _present_keys(STATUS_EXPORT, rows), rows)


def overdue_sheet(rows: Sequence[Mapping[str, Any]]) -> Sheet:
    """`overdue` as a table, with the days overdue."""
    return Sheet("逾期", _present_keys(OVERDUE_EXPORT, rows), rows)


REGISTER_EXPORT = {
    "at": "登记时间",
    "kind": "类型",
    "scope": "范围",
    "case": "申报",
    "campaign": "年度",
    "committee": "分党委",
    "branch": "支部",
    "state": "阶段",
    "from": "原截止时间",
    "until": "新截止时间",
    "actor": "操作人",
    "reason": "原因",
}
REGISTER_SCOPES = {"case": "单个申报", "state": "整个阶段"}


def register_rows(spec: Spec, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The register of extensions and waivers in words: 延期 / 例外（R2）, the scope, the state's label."""
    return [
        {
            **r,
            "kind": f"例外（{r['rule']}）" if r["kind"] == "waive" else "延期",
            "scope": REGISTER_SCOPES.get(r["scope"], r["scope"]),
            "state": state(spec, r["state"]),
        }
        for r in rows
    ]


def register_sheet(spec: Spec, rows: Sequence[Mapping[str, Any]]) -> Sheet:
    """延期与例外登记 as a table (from `deadlines.register`)."""
    return Sheet("延期与例外登记", REGISTER_EXPORT, register_rows(spec, rows))


def history_sheet(spec: Spec, rows: Sequence[Mapping[str, Any]]) -> Sheet:
    """A case's audit trail in words: roles, operations and states by their labels, inputs as `预期成果=…；进度安排=…`."""
    out = [
        {
            **r,
            "role": role(spec, r["role"]) if r.get("role") else "",
            "on_behalf_of": role(spec, r["on_behalf_of"]) if r.get("on_behalf_of") else "",
            "trigger": trigger(spec, r["trigger"]) + ("（更正）" if _is_correction(spec, r) else ""),
            "source": state(spec, r["source"]),
            "dest": state(spec, r["dest"]),
            "inputs": inputs(spec, r["trigger"], r.get("inputs") or {}),
        }
        for r in rows
    ]
    return Sheet("操作记录", HISTORY_EXPORT, out)


def _is_correction(spec: Spec, row: Mapping[str, Any]) -> bool:
    """A transition fired back into the state the case was in (org correcting an evaluation)."""
    return row.get("trigger") in spec.by_trigger and bool(row.get("source")) and row.get("source") == row.get("dest")


def outbox_sheet(rows: Sequence[Mapping[str, Any]]) -> Sheet:
    """The reminder outbox in words: the kind (截止前 7 天, 逾期通知, …), the status and the channel by their labels."""
    from workflow.reminders.sweep import kind_label

    out = [
        {
            **r,
            "kind": kind_label(r["kind"], r.get("offset", "")),
            "status": OUTBOX_STATUSES.get(r["status"], r["status"]),
            "channel": CHANNELS.get(r["channel"], r["channel"]),
        }
        for r in rows
    ]
    return Sheet("提醒发件箱", OUTBOX_EXPORT, out)


def r2_standing(branch: Mapping[str, Any]) -> str:
    """R2 for one branch of `queries.committee_overview`, in words: the rule's own reason when it blocks."""
    if branch["r2"]:
        return str(branch["r2"])
    if not branch["took_part_last_year"]:
        return "上年度未参与：可以参加"
    if branch["model_in_cycle"]:
        return "上年度已参与；样板支部在培育周期内，不受 R2 限制"
    return "上年度已参与；已登记 R2 例外，可以参加" if branch["r2_waived"] else "上年度已参与"


def r4_standing(branch: Mapping[str, Any]) -> str:
    """R4 for one branch of `queries.committee_overview`, in words: the rule's own reason when it blocks."""
    if branch["r4"]:
        return str(branch["r4"])
    if not branch["model_branch"]:
        return "非样板支部"
    if branch["model_in_cycle"]:
        return f"样板支部（培育周期 {branch['cycle']}）：本周期尚未参与，可参与一次，不占推荐名额"
    return f"样板支部：本年度不在培育周期（{branch['cycle'] or '未填'}）内"


def __getattr__(name: str) -> Any:
    """REMINDER_KINDS, the reminder kinds' labels, from the sender's module only when asked for (it loads the
    transports, which a read command never needs)."""
    if name == "REMINDER_KINDS":
        from workflow.reminders.transports import KIND_LABELS

        return KIND_LABELS
    raise AttributeError(f"module 'workflow.present' has no attribute {name!r}")
