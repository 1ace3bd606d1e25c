"""The one state machine and firing a trigger on a case as one database transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col
from transitions import Machine

from workflow import access
from workflow.access import Actor
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import CampaignDue
from workflow.errors import Conflict, InvalidTrigger, PermissionDenied, RuleRefused, UsageError
from workflow.lifecycle import facts as facts_mod
from workflow.lifecycle import panel, repository
from workflow.spec import InputSpec, Spec, TransitionSpec, rules, words
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
    """Validate the inputs given against the transition's declared ones; values come typed."""
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
        raise UsageError(
            f"“{transition.label}”缺少必填输入：{need}。",
            hint="请填写这些输入。",
            field=missing[0].name,
            value={i.name: i.type for i in missing},
        )
    for i in transition.inputs:
        other = transition.input(i.requires) if i.requires and i.name in out else None
        if other is not None and not str(out.get(other.name, "")).strip():
            raise UsageError(
                f"输入 {i.name}（{i.label or i.type}）须同时给出 {other.name}（{other.label or other.type}）。",
                hint="请同时填写这一输入。",
                field=other.name,
            )
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
        plain = values.plain_number(text, integer=spec.type == "int")
        if plain is None:
            raise bad
        number: float = int(plain) if spec.type == "int" else float(plain)
        if number != number or (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
            raise UsageError(
                f"输入 {spec.name} 的值 {text} 超出范围 {spec.min:g}–{spec.max:g}。"
                if spec.min is not None and spec.max is not None
                else f"输入 {spec.name} 的值 {text} 超出范围。"
            )
        return number
    if spec.type == "date":
        return value if isinstance(value, date) else clock.parse_date(text)
    return values.check_text(str(value), f"输入 {spec.name}", multiline=True)


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


def refuse_invalid(spec: Spec, row: facts_mod.CaseRow, trigger: str) -> InvalidTrigger:
    """The error for a trigger not possible from the case's state, listing those that are."""
    possible = graph(spec).triggers(row.state)
    listed = "、".join(map(words.triggers(spec).show, possible)) or "无（已是终止状态）"
    known = spec.by_trigger.get(trigger)
    named = f"“{known.label}”（{trigger}）" if known else trigger
    return InvalidTrigger(
        f"申报 {row.id} 当前状态为“{spec.label(row.state)}”，不能执行{named}；可执行的操作：{listed}。",
        state=row.state,
        possible=possible,
    )


def rule_refusal(row: facts_mod.CaseRow, transition: TransitionSpec, refusals: Sequence[rules.Refusal]) -> RuleRefused:
    """The error for a transition the rules refuse, one detail line per reason, the rule ids as data."""
    return RuleRefused(
        f"申报 {row.id}（{row.branch}）不能“{transition.label}”：{len(refusals)} 项规则不满足。",
        details=[r.reason for r in refusals],
        rules=[r.rule for r in refusals],
    )


def due_on_arrival(spec: Spec, dest: str, calendar_due: datetime | None, until: Any, now: datetime) -> datetime | None:
    """The due date a case gets on entering `dest`: none in a terminal state; the end of `until` when the
    transition gives one (a return's new draft deadline); else the calendar's, or, when that has passed already,
    `late_entry_days` from today (a case returned and resubmitted is not overdue the moment it arrives)."""
    if spec.by_id[dest].terminal:
        return None
    if isinstance(until, date):
        return clock.end_of_day(until)
    days = spec.rules.late_entry_days
    if calendar_due is None or calendar_due >= now or days <= 0:
        return calendar_due
    return clock.end_of_day(now.astimezone(clock.TZ).date() + timedelta(days=days))


def require_future_until(inputs: Mapping[str, Any], now: datetime) -> None:
    """Refuse an `until` input that has passed already (a due date must lie ahead)."""
    until = inputs.get("until")
    if isinstance(until, date) and clock.end_of_day(until) <= now:
        raise UsageError(f"新的截止日期 {until} 已经过去：请给一个今天以后的日期。")


class Decision(NamedTuple):
    """A transition decided for one case, nothing written yet (`apply` writes it)."""

    row: facts_mod.CaseRow
    transition: TransitionSpec
    inputs: Mapping[str, Any]
    dest: str
    due: datetime | None


class Decider:
    """Every check of one trigger on a batch of cases, writing nothing: the one decision path of `advance`,
    `advance-many` and `triggers` (a single case is a batch of one).

    Per case, in this order: version, graph, role, scope, inputs, rules; then the destination and the due date
    on arrival. What does not depend on the case is worked out once per batch (the role, the inputs, the
    destination per source state, the campaigns' calendars); the facts come from `facts.Batch` over all the
    rows, gathered on first need and only for the conditions in play. Each decided case is counted for the
    later ones (R5: two cases of one committee submitted in one run count against each other).
    """

    def __init__(
        self,
        session: Session,
        spec: Spec,
        actor: Actor,
        trigger: str,
        inputs: Mapping[str, Any],
        now: datetime,
        rows: Sequence[facts_mod.CaseRow],
        pending: facts_mod.Pending | None = None,
        comment: str = "",
    ) -> None:
        self.session = session
        self.comment = comment
        self.spec = spec
        self.actor = actor
        self.trigger = trigger
        self.now = now
        self.rows = rows
        self.pending = pending
        self.transition = spec.by_trigger.get(trigger)
        self._raw = inputs
        self._inputs: dict[str, Any] | None = None
        self._routes: dict[str, str | None] = {}  # source state → destination (None: the trigger does not fire from it)
        self._batch: facts_mod.Batch | None = None
        self._calendar: dict[tuple[int, str], datetime] | None = None
        self._dues: dict[tuple[int, str], datetime | None] = {}
        self._role_error: PermissionDenied | None = None
        if self.transition is not None:
            try:
                access.require_trigger(actor, self.transition, spec)
            except PermissionDenied as exc:
                self._role_error = exc

    def decide(self, row: facts_mod.CaseRow, expect_version: int | None = None) -> Decision:
        """Every check for one case of the batch; raises the first that fails, else returns the decision."""
        if expect_version is not None and expect_version != row.version:
            raise Conflict(
                f"申报 {row.id} 已被他人修改（您看到的是第 {expect_version} 版，现在是第 {row.version} 版）：请重新查看后再操作。",
                current_version=row.version,
            )
        dest = self._route(row.state)
        transition = self.transition
        if dest is None or transition is None:
            raise refuse_invalid(self.spec, row, self.trigger)
        if self._role_error is not None:
            raise self._role_error
        access.require_scope(self.actor, row.committee_id, row.branch_id)
        inputs: Mapping[str, Any] = self.inputs
        if transition.conditions:
            facts = self._facts(row, inputs)
            refusals = rules.check(transition.conditions, facts)
            if refusals:
                raise rule_refusal(row, transition, refusals)
            inputs = panel.derive(transition, facts, inputs)  # R13: the panel's score (the inputs themselves otherwise)
        if dest == row.state:
            self._correction(row, transition, inputs)
            due = row.due_at  # a correction keeps the case's due date (an extension too)
        else:
            due = self._due(row.campaign_id, dest, inputs)
        if self._batch is not None:
            self._batch.moved(row, dest)
        return Decision(row, transition, inputs, dest, due)

    def _correction(self, row: facts_mod.CaseRow, transition: TransitionSpec, inputs: Mapping[str, Any]) -> None:
        """A transition back into the case's own state corrects it (org correcting an evaluation while the case is
        still 已评审): it needs a reason, and one that changes nothing is refused instead of writing an empty audit row."""
        what = f"申报 {row.id} 已是“{self.spec.label(row.state)}”：再次“{transition.label}”是更正"
        if not self.comment.strip():
            raise UsageError(f"{what}，没有写明更正的理由（会记入审计记录）。", hint="请写明更正的理由。", field="comment")
        if "score" in inputs and row.score is not None and round(float(inputs["score"]), 2) == round(row.score, 2):
            raise UsageError(f"{what}，但评审分未变（仍是 {row.score:g} 分）：没有要更正的内容。", field="score")

    def refusals(self, row: facts_mod.CaseRow) -> list[rules.Refusal]:
        """What the rules say about firing the trigger on this case now (the other checks left to the caller)."""
        transition = self.transition
        if transition is None or not transition.conditions:
            return []
        return rules.check(transition.conditions, self._facts(row, self.inputs))

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs checked against the transition's declared ones, typed (once per batch)."""
        if self._inputs is None:
            assert self.transition is not None
            self._inputs = parse_inputs(self.transition, self._raw)
        return self._inputs

    def _route(self, state: str) -> str | None:
        if state not in self._routes:
            g = graph(self.spec)
            self._routes[state] = g.dest(state, self.trigger) if self.transition is not None and self.trigger in g.triggers(state) else None
        return self._routes[state]

    def _facts(self, row: facts_mod.CaseRow, inputs: Mapping[str, Any]) -> rules.Facts:
        if self._batch is None:
            assert self.transition is not None
            self._batch = facts_mod.Batch(self.session, self.spec, self.rows, self.pending, self.transition.conditions)
        return self._batch.facts(row, self.now, inputs)

    def _due(self, campaign_id: int, dest: str, inputs: Mapping[str, Any]) -> datetime | None:
        key = (campaign_id, dest)
        if key in self._dues:
            return self._dues[key]
        if self._calendar is None:
            campaigns = {r.campaign_id for r in self.rows} | {campaign_id}
            q = select(col(CampaignDue.campaign_id), col(CampaignDue.state), col(CampaignDue.due_at))
            self._calendar = {
                (c, s): clock.from_db(d) for c, s, d in self.session.execute(q.where(col(CampaignDue.campaign_id).in_(campaigns)))
            }
        if not self.spec.by_id[dest].terminal:
            require_future_until(inputs, self.now)
        due = self._dues[key] = due_on_arrival(self.spec, dest, self._calendar.get(key), inputs.get("until"), self.now)
        return due


def apply(session: Session, spec: Spec, actor: Actor, decision: Decision, now: datetime, comment: str = "") -> Fired:
    """Write one decided transition: a versioned update of the case and one history row."""
    row, transition, inputs, dest, due = decision
    version = repository.update_case(session, row.id, row.version, now, **case_values(row, inputs, dest, due))
    repository.append_history(session, [history_values(spec, actor, row, transition, inputs, dest, now, comment)])
    return Fired(row.id, transition.trigger, row.state, dest, due, version, row.branch, row.committee)


def case_values(row: facts_mod.CaseRow, inputs: Mapping[str, Any], dest: str, due: datetime | None) -> dict[str, Any]:
    """The columns a transition sets on the case (besides the version and `updated_at`, which `repository` stamps)."""
    values: dict[str, Any] = {"state": dest, "due_at": clock.to_db(due) if due else None}
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
    """The history row of one transition (`repository.history_row`, with the role org acts for and the panel's note)."""
    on_behalf_of = access.on_behalf_of(actor, transition, spec.by_id[row.state].owner)
    return repository.history_row(
        row.id, actor, now, transition.trigger, row.state, dest, inputs, panel.comment(inputs, comment), on_behalf_of
    )


def advance(
    ws: Workspace,
    case_id: int,
    trigger: str,
    inputs: Mapping[str, Any] | None = None,
    comment: str = "",
    expect_version: int | None = None,
) -> Fired:
    """Fire `trigger` (its name or its label, `提交申报`) on one case in one transaction (role, scope, inputs, rules,
    version, history); a name the spec does not know is a usage error naming the closest ones."""
    spec = ws.spec
    trigger = words.triggers(spec).resolve(trigger)
    values.check_text(comment, "说明", multiline=True, field="comment")
    with ws.store.write() as session:
        actor = ws.actor(session)
        row = repository.load_case(session, case_id)
        decision = Decider(session, spec, actor, trigger, inputs or {}, ws.now, [row], comment=comment).decide(row, expect_version)
        return apply(session, spec, actor, decision, ws.now, comment)


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
    with ws.store.read() as session:
        actor = ws.actor(session)
        row = repository.load_case(session, case_id)
        access.require_read(actor, row.committee_id, row.branch_id, access.is_assigned(session, actor, row.id))
        return _options(session, ws.spec, actor, [row], ws.now)[row.id]


def options_many(ws: Workspace, case_ids: Sequence[int]) -> dict[int, list[Option]]:
    """`options` of many cases at once (a list page's 待办): the same verdicts, with one fact gathering per trigger
    for all the cases it may fire on, instead of one per case and trigger. A case not found, or one the user may
    not read, is refused as `options` refuses it."""
    ids = list(dict.fromkeys(case_ids))
    with ws.store.read() as session:
        actor = ws.actor(session)
        rows = repository.load_cases(session, ids)
        for row in rows:
            access.require_read(actor, row.committee_id, row.branch_id, access.is_assigned(session, actor, row.id))
        return _options(session, ws.spec, actor, rows, ws.now)


def _options(session: Session, spec: Spec, actor: Actor, rows: Sequence[facts_mod.CaseRow], now: datetime) -> dict[int, list[Option]]:
    """The options of readable cases: per trigger, one Decider over every case it may fire on (nothing decided is
    moved, so no case's verdict depends on the others')."""
    g = graph(spec)
    groups: dict[str, list[facts_mod.CaseRow]] = {}
    for row in rows:
        if not access.in_scope(actor, row.committee_id, row.branch_id):
            continue
        for name in g.triggers(row.state):
            if access.may_fire(actor, spec.by_trigger[name]):
                groups.setdefault(name, []).append(row)
    blocked: dict[tuple[int, str], tuple[str, ...]] = {}
    for name, group in groups.items():
        t = spec.by_trigger[name]
        assumed = {i.name: True for i in t.inputs if i.type == "bool" and i.required}
        decider = Decider(session, spec, actor, name, assumed, now, group)
        for row in group:
            blocked[(row.id, name)] = tuple(r.reason for r in decider.refusals(row))
    out: dict[int, list[Option]] = {row.id: [] for row in rows}
    for row in rows:
        for name in g.triggers(row.state):
            if (row.id, name) in blocked:
                t, reasons = spec.by_trigger[name], blocked[(row.id, name)]
                out[row.id].append(Option(name, t.label, t.dest, spec.label(t.dest), t.inputs, not reasons, reasons))
    return out
