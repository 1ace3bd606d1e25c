"""What changed between two specs (the one a database runs and a new states.yaml), and which cases a new one
would strand: pure functions of the two specs and a count of cases per state, so `init --states` and
`check-states --db` (and a web page) say the same thing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from typing import Any

from workflow.spec.model import ReminderPolicy, RuleSettings, Spec, StateSpec, TransitionSpec, WebSettings


@dataclass(frozen=True)
class Change:
    """One difference, as one Chinese line; a calendar date also carries what to apply to that year."""

    section: str  # "roles", "states", "transitions", "rules", "reminders" or "campaigns"
    text: str
    year: int | None = None
    state: str | None = None
    old: date | None = None
    new: date | None = None

    @property
    def is_date(self) -> bool:
        """A due date of one state in one year was added or moved."""
        return self.year is not None and self.state is not None and self.new is not None


@dataclass(frozen=True)
class Stranded:
    """A state where cases sit that the new spec would leave with no way on."""

    state: str
    label: str
    cases: int
    why: str

    @property
    def text(self) -> str:
        """One Chinese line naming the state, the count and the reason."""
        return f"“{self.label}”（{self.state}）有 {self.cases} 个申报，{self.why}"


def compare(old: Spec, new: Spec) -> list[Change]:
    """Every difference from `old` to `new`, section by section, in file order."""
    return [
        *_roles(old, new),
        *_states(old, new),
        *_transitions(old, new),
        *_settings("rules", "规则设置", old.rules, new.rules),
        *_settings("reminders", "提醒设置", old.reminders, new.reminders),
        *_settings("web", "网页设置", old.web, new.web),
        *_calendars(old, new),
    ]


def stranded(old: Spec, new: Spec, cases_per_state: Mapping[str, int]) -> list[Stranded]:
    """States with cases that `new` removes, leaves without an exit, or from which no end can be reached."""
    out: list[Stranded] = []
    ends = _can_end(new)
    for state, count in cases_per_state.items():
        if count <= 0:
            continue
        label = old.label(state) if state in old.by_id else new.label(state)
        if state not in new.by_id:
            out.append(Stranded(state, label, count, "新配置删除了这个状态"))
            continue
        had_exit = bool(old.transitions_from(state)) if state in old.by_id else False
        if had_exit and not new.transitions_from(state):
            gone = [
                t.trigger
                for t in old.transitions_from(state)
                if t.trigger not in new.by_trigger or state not in new.by_trigger[t.trigger].sources
            ]
            why = f"新配置去掉了离开它的操作（{', '.join(gone)}）" if gone else "新配置让它没有出口"
            out.append(Stranded(state, label, count, why + "，这些申报将无法再推进"))
        elif not new.by_id[state].terminal and state not in ends:
            out.append(Stranded(state, label, count, "新配置中从这个状态无法到达任何终止状态"))
    return sorted(out, key=lambda s: [st.id for st in old.states].index(s.state) if s.state in old.by_id else len(old.states))


def _can_end(spec: Spec) -> set[str]:
    """States from which some terminal state can be reached."""
    incoming: dict[str, set[str]] = {s.id: set() for s in spec.states}
    for t in spec.transitions:
        for src in t.sources:
            incoming[t.dest].add(src)
    seen = {s.id for s in spec.states if s.terminal}
    todo = deque(seen)
    while todo:
        for prev in incoming[todo.popleft()]:
            if prev not in seen:
                seen.add(prev)
                todo.append(prev)
    return seen


def _show(value: Any) -> str:
    if value is None or value == () or value == {}:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (tuple, list, frozenset, set)):
        return "、".join(_show(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{k}={_show(v)}" for k, v in value.items())
    return str(value)


def _roles(old: Spec, new: Spec) -> Iterator[Change]:
    for rid, label in new.roles.items():
        if rid not in old.roles:
            yield Change("roles", f"新增角色 {rid}（{label}）")
        elif old.roles[rid] != label:
            yield Change("roles", f"角色 {rid} 的名称：{old.roles[rid]} → {label}")
    for rid, label in old.roles.items():
        if rid not in new.roles:
            yield Change("roles", f"删除角色 {rid}（{label}）")


_STATE_FIELDS = {"label": "名称", "owner": "负责角色", "terminal": "终止状态", "initial": "初始状态"}
_TRANSITION_FIELDS = {"label": "名称", "sources": "来源状态", "dest": "目标状态", "roles": "可执行角色", "conditions": "条件"}


def _states(old: Spec, new: Spec) -> Iterator[Change]:
    for s in new.states:
        before = old.by_id.get(s.id)
        if before is None:
            yield Change("states", f"新增状态 {s.id}（{s.label}）")
            continue
        for name, what in _STATE_FIELDS.items():
            a, b = getattr(before, name), getattr(s, name)
            if a != b:
                yield Change("states", f"状态 {s.id}（{s.label}）的{what}：{_show(a)} → {_show(b)}")
    for s in old.states:
        if s.id not in new.by_id:
            yield Change("states", f"删除状态 {s.id}（{s.label}）")


def _inputs(t: TransitionSpec) -> dict[str, str]:
    out = {}
    for i in t.inputs:
        extra = [i.type, "必填" if i.required else "选填"]
        if i.min is not None or i.max is not None:
            extra.append(f"{_show(i.min) if i.min is not None else ''}–{_show(i.max) if i.max is not None else ''}")
        if i.label:
            extra.append(i.label)
        out[i.name] = "，".join(extra)
    return out


def _transitions(old: Spec, new: Spec) -> Iterator[Change]:
    for t in new.transitions:
        before = old.by_trigger.get(t.trigger)
        if before is None:
            yield Change("transitions", f"新增操作 {t.trigger}（{t.label}）：{'、'.join(t.sources)} → {t.dest}")
            continue
        for name, what in _TRANSITION_FIELDS.items():
            a, b = getattr(before, name), getattr(t, name)
            if a != b:
                yield Change("transitions", f"操作 {t.trigger}（{t.label}）的{what}：{_show(a)} → {_show(b)}")
        was, now = _inputs(before), _inputs(t)
        for name, desc in now.items():
            if name not in was:
                yield Change("transitions", f"操作 {t.trigger}（{t.label}）新增输入 {name}（{desc}）")
            elif was[name] != desc:
                yield Change("transitions", f"操作 {t.trigger}（{t.label}）的输入 {name}：{was[name]} → {desc}")
        for name in was:
            if name not in now:
                yield Change("transitions", f"操作 {t.trigger}（{t.label}）删除输入 {name}")
    for t in old.transitions:
        if t.trigger not in new.by_trigger:
            yield Change("transitions", f"删除操作 {t.trigger}（{t.label}）")


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    """A settings dataclass as {dotted name: value}, nested dataclasses and per-state dicts expanded."""
    out: dict[str, Any] = {}
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            out.update(_flatten(getattr(value, f.name), f"{prefix}.{f.name}" if prefix else f.name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}"))
    else:
        out[prefix] = value
    return out


# Reminder settings by the names states.yaml gives them (the policy's fields are shaped for the sweep).
_REMINDER_KEYS = {"per_state": "states.{}.before", "notify": "states.{}.notify", "actions": "states.{}.action"}
_REMINDER_FIELDS = {"digest_time": "digest.time", "digest_working_days": "digest.working_days"}


def _yaml_key(section: str, key: str) -> str:
    if section != "reminders":
        return key
    head, _, rest = key.partition(".")
    if head in _REMINDER_KEYS:
        return _REMINDER_KEYS[head].format(rest)
    return _REMINDER_FIELDS.get(key, key)


def _settings(section: str, title: str, old: RuleSettings | ReminderPolicy | WebSettings, new: RuleSettings | ReminderPolicy | WebSettings) -> Iterator[Change]:
    was = {_yaml_key(section, k): v for k, v in _flatten(old, "").items()}
    now = {_yaml_key(section, k): v for k, v in _flatten(new, "").items()}
    for key in [*now, *(k for k in was if k not in now)]:
        a, b = was.get(key), now.get(key)
        if a != b:
            yield Change(section, f"{title} {key}：{_show(a)} → {_show(b)}")


def _calendars(old: Spec, new: Spec) -> Iterator[Change]:
    for year, cal in sorted(new.calendars.items()):
        before = old.calendars.get(year)
        if before is None:
            yield Change("campaigns", f"新增 {year} 年日程（{cal.label}）")
            continue
        if before.label != cal.label:
            yield Change("campaigns", f"{year} 年日程的名称：{before.label} → {cal.label}")
        for state, day in cal.due.items():
            was = before.due.get(state)
            if was != day:
                yield Change(
                    "campaigns",
                    f"{year} 年“{_label(new, state)}”（{state}）的截止日期：{_show(was)} → {day.isoformat()}",
                    year,
                    state,
                    was,
                    day,
                )
        for state, day in before.due.items():
            if state not in cal.due:
                yield Change("campaigns", f"{year} 年“{_label(old, state)}”（{state}）不再有截止日期（原为 {day.isoformat()}）")
    for year, cal in sorted(old.calendars.items()):
        if year not in new.calendars:
            yield Change("campaigns", f"删除 {year} 年日程（{cal.label}）；数据库中已有的该年度截止日期不变")


def _label(spec: Spec, state: str) -> str:
    found: StateSpec | None = spec.by_id.get(state)
    return found.label if found else state
