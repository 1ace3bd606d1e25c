"""The one state machine and firing a trigger on a case as one database transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col
from transitions import Machine

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db.models import CampaignDue, Case, History
from workflow.errors import Conflict, InvalidTrigger, NotFound, RuleRefused, UsageError
from workflow.lifecycle import facts as facts_mod
from workflow.spec import InputSpec, Spec, TransitionSpec, rules
from workflow.workspace import Workspace

_TRUE = {"true", "1", "yes", "y", "是", "对", "确认"}
_FALSE = {"false", "0", "no", "n", "否"}


class _Token:
    """The light object the shared Machine fires on (never a database row)."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Graph:
    """ONE `transitions` Machine built from the spec and reused for every case."""

    def __init__(self, spec: Spec) -> None:
        self.machine = Machine(
            model=None,
            states=[s.id for s in spec.states],
            transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest} for t in spec.transitions],
            initial=spec.initial.id,
            auto_transitions=False,
        )

    def triggers(self, state: str) -> list[str]:
        """Triggers possible from `state`, in declaration order."""
        return list(self.machine.get_triggers(state))

    def dest(self, state: str, trigger: str) -> str:
        """Fire `trigger` on a token in `state` and return where it lands."""
        token = _Token(state)
        self.machine.events[trigger].trigger(token)
        return token.state


_GRAPHS: dict[str, Graph] = {}


def graph(spec: Spec) -> Graph:
    """The Machine for this spec, built once per process."""
    found = _GRAPHS.get(spec.text)
    if found is None:
        found = _GRAPHS[spec.text] = Graph(spec)
    return found


def parse_inputs(transition: TransitionSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate `--data` against the transition's declared inputs; values come typed."""
    out: dict[str, Any] = {}
    declared = {i.name: i for i in transition.inputs}
    for key, value in raw.items():
        spec = declared.get(key)
        if spec is None:
            names = "、".join(declared) or "（无）"
            raise UsageError(f"“{transition.label}”（{transition.trigger}）没有输入 {key!r}；可用的输入：{names}。")
        out[key] = _typed(spec, value)
    missing = [i for i in transition.inputs if i.required and i.name not in out]
    if missing:
        need = "；".join(f"{i.name}（{i.label or i.type}）" for i in missing)
        example = " ".join(f"--data {i.name}={'true' if i.type == 'bool' else '…'}" for i in missing)
        raise UsageError(f"“{transition.label}”缺少必填输入：{need}。请加 {example}。")
    return out


def _typed(spec: InputSpec, value: Any) -> Any:
    text = str(value).strip()
    bad = UsageError(f"输入 {spec.name} 的值 {value!r} 不是有效的{_TYPE_LABEL[spec.type]}。")
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise bad
    if spec.type in ("int", "number"):
        try:
            number: float = int(text) if spec.type == "int" else float(text)
        except ValueError:
            raise bad from None
        if number != number or (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
            raise UsageError(
                f"输入 {spec.name} 的值 {text} 超出范围 {spec.min:g}–{spec.max:g}。"
                if spec.min is not None and spec.max is not None
                else f"输入 {spec.name} 的值 {text} 超出范围。"
            )
        return number
    if spec.type == "date":
        return value if isinstance(value, date) else clock.parse_date(text)
    return str(value)


_TYPE_LABEL = {"bool": "是/否（true/false）", "int": "整数", "number": "数字", "date": "日期（2024-09-30）", "text": "文字"}


@dataclass(frozen=True)
class Fired:
    """What one transition did."""

    case_id: int
    trigger: str
    source: str
    dest: str
    due_at: datetime | None
    version: int
    branch: str = ""
    committee: str = ""


def load_case(session: Session, case_id: int) -> facts_mod.CaseRow:
    """One case with its branch and campaign, or NotFound."""
    r = None
    if 0 < case_id < 2**63:  # a larger id does not fit the database's integer (and names no case)
        r = session.execute(facts_mod.case_query().where(col(Case.id) == case_id)).first()
    if r is None:
        raise NotFound(f"没有编号为 {case_id} 的申报：请用 branchflow status 查看申报编号。")
    return facts_mod.to_case_row(r)


def campaign_due(session: Session, campaign_id: int, state: str) -> datetime | None:
    """The campaign's due date for a state (None for terminal states)."""
    value = session.execute(
        select(col(CampaignDue.due_at)).where(col(CampaignDue.campaign_id) == campaign_id, col(CampaignDue.state) == state)
    ).scalar_one_or_none()
    return clock.from_db(value) if value is not None else None


def refuse_invalid(spec: Spec, row: facts_mod.CaseRow, trigger: str) -> InvalidTrigger:
    """The error for a trigger not possible from the case's state, listing those that are."""
    possible = graph(spec).triggers(row.state)
    listed = "、".join(f"{t}（{spec.by_trigger[t].label}）" for t in possible) or "无（已是终止状态）"
    return InvalidTrigger(
        f"申报 {row.id} 当前状态为“{spec.label(row.state)}”，不能执行 {trigger}；可执行的操作：{listed}。",
        state=row.state,
        possible=possible,
    )


def rule_refusal(row: facts_mod.CaseRow, transition: TransitionSpec, reasons: list[str]) -> RuleRefused:
    """The error for a transition the rules refuse, one detail line per reason."""
    return RuleRefused(
        f"申报 {row.id}（{row.branch}）不能“{transition.label}”：{len(reasons)} 项规则不满足。",
        details=reasons,
        rules=[r.split(" ", 1)[0] for r in reasons],
    )


def decide(
    session: Session,
    spec: Spec,
    actor: Actor,
    row: facts_mod.CaseRow,
    trigger: str,
    raw_inputs: Mapping[str, Any],
    now: datetime,
    expect_version: int | None = None,
) -> tuple[TransitionSpec, dict[str, Any], str, datetime | None]:
    """Every check of a transition, writing nothing: returns (transition, inputs, dest, due_at)."""
    if expect_version is not None and expect_version != row.version:
        raise Conflict(
            f"申报 {row.id} 已被他人修改（您看到的是第 {expect_version} 版，现在是第 {row.version} 版）：请重新查看后再操作。",
            current_version=row.version,
        )
    transition = spec.by_trigger.get(trigger)
    if transition is None or trigger not in graph(spec).triggers(row.state):
        raise refuse_invalid(spec, row, trigger)
    access.require_trigger(actor, transition, spec)
    access.require_scope(actor, row.committee_id, row.branch_id)
    inputs = parse_inputs(transition, raw_inputs)
    if transition.conditions:
        reasons = rules.check(transition.conditions, facts_mod.gather(session, spec, row, now, inputs))
        if reasons:
            raise rule_refusal(row, transition, reasons)
    dest = graph(spec).dest(row.state, trigger)
    if spec.by_id[dest].terminal:
        due: datetime | None = None
    elif isinstance(inputs.get("until"), date):
        due = clock.end_of_day(inputs["until"])
        if due <= now:
            raise UsageError(f"新的截止日期 {inputs['until']} 已经过去：请给一个今天以后的日期。")
    else:
        due = arrival_due(spec, campaign_due(session, row.campaign_id, dest), now)
    return transition, inputs, dest, due


def arrival_due(spec: Spec, calendar_due: datetime | None, now: datetime) -> datetime | None:
    """The due date a case gets on entering a state: the calendar's, or, when that has passed already,
    `late_entry_days` from today (a case returned and resubmitted is not overdue the moment it arrives)."""
    days = spec.rules.late_entry_days
    if calendar_due is None or calendar_due >= now or days <= 0:
        return calendar_due
    return clock.end_of_day(now.astimezone(clock.TZ).date() + timedelta(days=days))


def apply(
    session: Session,
    spec: Spec,
    actor: Actor,
    row: facts_mod.CaseRow,
    transition: TransitionSpec,
    inputs: Mapping[str, Any],
    dest: str,
    due: datetime | None,
    now: datetime,
    comment: str = "",
) -> Fired:
    """Write one decided transition: a versioned update of the case and one history row."""
    values = case_values(row, inputs, dest, due, now)
    result = session.execute(update(Case).where(col(Case.id) == row.id, col(Case.version) == row.version).values(**values))
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Conflict(f"申报 {row.id} 刚被他人修改：请重新查看后再操作。")
    session.execute(insert(History).values(**history_values(spec, actor, row, transition, inputs, dest, now, comment)))
    return Fired(row.id, transition.trigger, row.state, dest, due, row.version + 1, row.branch, row.committee)


def bump(session: Session, case_id: int, version: int, now: datetime, **values: Any) -> None:
    """A versioned update of one case outside a transition (extend, waive, attach): a case changed
    since it was read is a conflict, never a silent overwrite."""
    result = session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.version) == version)
        .values(version=version + 1, updated_at=clock.to_db(now), **values)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Conflict(f"申报 {case_id} 刚被他人修改：请重新查看后再操作。")


def case_values(row: facts_mod.CaseRow, inputs: Mapping[str, Any], dest: str, due: datetime | None, now: datetime) -> dict[str, Any]:
    """The columns a transition sets on the case (the caller adds `WHERE id = ? AND version = ?`)."""
    values: dict[str, Any] = {
        "state": dest,
        "due_at": clock.to_db(due) if due else None,
        "version": row.version + 1,
        "updated_at": clock.to_db(now),
    }
    if "score" in inputs:
        values["score"] = float(inputs["score"])
        criteria = {k: v for k, v in inputs.items() if k != "score" and isinstance(v, (int, float))}
        values["criteria"] = json.dumps(criteria, ensure_ascii=False) if criteria else ""
    return values


def history_values(
    spec: Spec,
    actor: Actor,
    row: facts_mod.CaseRow,
    transition: TransitionSpec,
    inputs: Mapping[str, Any],
    dest: str,
    now: datetime,
    comment: str = "",
) -> dict[str, Any]:
    """The history row of one transition."""
    return {
        "case_id": row.id,
        "at": clock.to_db(now),
        "actor": actor.name,
        "role": actor.role,
        "on_behalf_of": access.on_behalf_of(actor, transition, spec.by_id[row.state].owner),
        "trigger": transition.trigger,
        "source": row.state,
        "dest": dest,
        "inputs": json.dumps(_jsonable(inputs), ensure_ascii=False) if inputs else "",
        "comment": comment,
    }


def _jsonable(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in inputs.items()}


def advance(
    ws: Workspace,
    case_id: int,
    trigger: str,
    inputs: Mapping[str, Any] | None = None,
    comment: str = "",
    expect_version: int | None = None,
) -> Fired:
    """Fire `trigger` on one case in one transaction (role, scope, inputs, rules, version, history)."""
    spec = ws.spec
    with ws.store.write() as session:
        actor = ws.actor(session)
        row = load_case(session, case_id)
        transition, typed, dest, due = decide(session, spec, actor, row, trigger, inputs or {}, ws.now, expect_version)
        return apply(session, spec, actor, row, transition, typed, dest, due, ws.now, comment)


@dataclass(frozen=True)
class Option:
    """A trigger the actor could fire now, and whether the rules would let it through."""

    trigger: str
    label: str
    dest: str
    dest_label: str
    inputs: tuple[InputSpec, ...]
    allowed: bool
    blocked_by: tuple[str, ...]


def options(ws: Workspace, case_id: int) -> list[Option]:
    """The triggers possible from the case's state for the acting user, with what blocks them now."""
    spec = ws.spec
    with ws.store.read() as session:
        actor = ws.actor(session)
        row = load_case(session, case_id)
        access.require_read(actor, row.committee_id, row.branch_id)
        out = []
        for name in graph(spec).triggers(row.state):
            t = spec.by_trigger[name]
            if not access.may_fire(actor, t) or not access.in_scope(actor, row.committee_id, row.branch_id):
                continue
            assumed = {i.name: True for i in t.inputs if i.type == "bool" and i.required}
            reasons = rules.check(t.conditions, facts_mod.gather(session, spec, row, ws.now, assumed)) if t.conditions else []
            out.append(Option(name, t.label, t.dest, spec.label(t.dest), t.inputs, not reasons, tuple(reasons)))
        return out
