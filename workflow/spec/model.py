"""Load `states.yaml` into frozen dataclasses, validating everything up front."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from workflow.dates import clock
from workflow.errors import SpecError, UsageError
from workflow.spec import words, yamlsrc
from workflow.spec.review import COMBINE, Criterion, ReviewSettings
from workflow.spec.rules import CONDITIONS

INPUT_TYPES = ("bool", "int", "number", "date", "text")
TOP_KEYS = ("version", "timezone", "roles", "states", "transitions", "rules", "campaigns", "reminders", "web")
STATE_KEYS = ("id", "label", "owner", "terminal", "initial")
TRANSITION_KEYS = ("trigger", "label", "source", "dest", "roles", "conditions", "inputs")
INPUT_KEYS = ("type", "required", "min", "max", "label", "requires")
RULE_KEYS = ("quota", "excellent_score", "themes", "other_theme", "not_live", "participated", "waivable", "late_entry_days", "review")
QUOTA_KEYS = ("threshold", "small", "large", "not_counted")
REMINDER_KEYS = ("before", "send_at", "max_per_state", "overdue_notice", "digest", "sweep_every_minutes", "states")
REMINDER_STATE_KEYS = ("before", "notify", "action")
WEB_KEYS = ("warn_days",)
MAX_WARN_DAYS = 400  # as far ahead as a reminder may go
# Who a reminder goes to: the branch contact from the roster, the committee's users with an
# email, or org's users with an email.
AUDIENCES = ("branch", "committee", "org")
OFFSET_RX = re.compile(r"^(\d+)(d|wd|h)$")
# A reminder goes out at most about 400 days before its due date (longer offsets overflow no calendar, but mean nothing).
MAX_OFFSET = {"d": 400, "wd": 280, "h": 400 * 24}
# What the code relies on, checked once the file is otherwise valid:
# role ids the code names (scoping, who may act, the admin user); a department may relabel them, not rename them.
REQUIRED_ROLES = ("org", "committee", "branch", "reviewer")
# Trigger names the history table uses for its own rows (case new/import, case set, case attach/detach, extend, waive),
# and the prefix of the review panel's rows (review_assign, review_score, …).
RESERVED_TRIGGERS = ("create", "edit", "attach", "detach", "extend", "waive")
RESERVED_PREFIX = "review_"
# Inputs the code reads by name: wherever declared, they must have this type (a `return` reads `until` as the new
# due date, `evaluate`'s `score` is what R9 compares).
NAMED_INPUTS: dict[str, tuple[str, ...]] = {"until": ("date",), "score": ("number", "int")}
# Conditions that read an input: (input name, where it must be declared). "own": on the transition that lists the
# condition; "earlier": on some transition (the value is stored on the case, e.g. the evaluation score).
CONDITION_INPUTS: dict[str, tuple[str, str]] = {"r1_attested": ("attest", "own"), "r9_excellent": ("score", "earlier")}
INPUT_TYPE_REQUIRED: dict[str, tuple[str, ...]] = {"attest": ("bool",), **NAMED_INPUTS}
SPEC_VERSION = 1
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class InputSpec:
    """A declared input of a transition (`--data name=value`)."""

    name: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    label: str = ""
    requires: str = ""  # another input that must be given with this one (an override's reason)


@dataclass(frozen=True)
class StateSpec:
    """A state of the lifecycle."""

    id: str
    label: str
    owner: str | None
    terminal: bool
    initial: bool


@dataclass(frozen=True)
class TransitionSpec:
    """A trigger from one or more source states to one destination."""

    trigger: str
    label: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    conditions: tuple[str, ...]
    inputs: tuple[InputSpec, ...]

    def input(self, name: str) -> InputSpec | None:
        """The declared input called `name`, if any."""
        return next((i for i in self.inputs if i.name == name), None)


@dataclass(frozen=True)
class Quota:
    """R5: committees with at least `threshold` branches may recommend `large`, else `small`."""

    threshold: int = 10
    small: int = 1
    large: int = 2
    not_counted: tuple[str, ...] = ("draft", "withdrawn", "rejected")

    def limit(self, branch_count: int) -> int:
        """How many branches a committee of this size may recommend."""
        return self.large if branch_count >= self.threshold else self.small


@dataclass(frozen=True)
class RuleSettings:
    """Rule thresholds and lists, from the `rules:` section."""

    quota: Quota = Quota()
    excellent_score: float = 90
    themes: tuple[str, ...] = ("人才培养", "教学科研", "学科建设", "人才队伍建设", "服务社会或师生")
    other_theme: str = "其他"
    not_live: tuple[str, ...] = ("withdrawn", "rejected")
    participated: tuple[str, ...] = ("approved", "september_check", "closing", "completed", "check_failed", "closing_failed")
    waivable: tuple[str, ...] = ("R2",)
    late_entry_days: int = 7
    review: ReviewSettings = field(default_factory=ReviewSettings)


@dataclass(frozen=True)
class Offset:
    """How long before a due date a reminder goes out: days, working days or hours."""

    amount: int
    unit: str  # "d", "wd" or "h"

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class ReminderPolicy:
    """R14: when reminders go out and how many at most per case and state."""

    before: tuple[Offset, ...] = (Offset(7, "d"), Offset(3, "d"), Offset(1, "d"))
    per_state: dict[str, tuple[Offset, ...]] = field(default_factory=dict)
    max_per_state: int = 5
    overdue_notice: bool = True
    digest_time: str = "08:30"
    digest_working_days: bool = True
    sweep_every_minutes: int = 15
    send_at: str = "08:30"  # day and working-day reminders go out from this time of the day
    notify: dict[str, tuple[str, ...]] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)

    def offsets(self, state: str) -> tuple[Offset, ...]:
        """The offsets for one state (its own list, else the default)."""
        return self.per_state.get(state, self.before)

    def audience(self, state: StateSpec) -> tuple[str, ...]:
        """Who is reminded in a state: its own list, else branch and committee for their
        states and org for org's (see AUDIENCES)."""
        if state.id in self.notify:
            return self.notify[state.id]
        return ("org",) if state.owner == "org" else ("branch", "committee")


@dataclass(frozen=True)
class WebSettings:
    """What the web pages show, from the `web:` section."""

    warn_days: int = 7  # the 黄 tag: due within this many calendar days (red when overdue, green otherwise)


@dataclass(frozen=True)
class Calendar:
    """One campaign year: the due day of every non-terminal state."""

    year: int
    label: str
    due: dict[str, date]


@dataclass(frozen=True)
class Spec:
    """The whole validated `states.yaml`."""

    source: str
    text: str
    roles: dict[str, str]
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    rules: RuleSettings
    calendars: dict[int, Calendar]
    reminders: ReminderPolicy
    web: WebSettings = WebSettings()

    @cached_property
    def by_id(self) -> dict[str, StateSpec]:
        """States by id."""
        return {s.id: s for s in self.states}

    @cached_property
    def initial(self) -> StateSpec:
        """The one initial state."""
        return next(s for s in self.states if s.initial)

    @cached_property
    def by_trigger(self) -> dict[str, TransitionSpec]:
        """Transitions by trigger name (a trigger is declared once, maybe from several sources)."""
        return {t.trigger: t for t in self.transitions}

    def state(self, state_id: str) -> StateSpec:
        """One state by its id or its label (`草稿`), or a usage error naming the closest ones."""
        found = self.by_id.get(state_id)
        return found if found is not None else self.by_id[words.states(self).resolve(state_id)]

    def label(self, state_id: str) -> str:
        """The Chinese label of a state (the id itself if unknown)."""
        found = self.by_id.get(state_id)
        return found.label if found else state_id

    def transitions_from(self, state_id: str) -> list[TransitionSpec]:
        """Transitions whose sources include `state_id`, in file order."""
        return [t for t in self.transitions if state_id in t.sources]

    def calendar(self, year: int) -> Calendar:
        """The calendar of a campaign year, or a usage error."""
        try:
            return self.calendars[year]
        except KeyError:
            years = "、".join(str(y) for y in sorted(self.calendars))
            raise UsageError(
                f"states.yaml 中没有 {year} 年的日程；已有：{years}。请在 campaigns 下增加 {year} 年的各阶段截止日期。"
            ) from None


def packaged_text() -> str:
    """The `states.yaml` shipped inside the package."""
    return resources.files("workflow.spec").joinpath("states.yaml").read_text(encoding="utf-8")


def load_file(path: str | Path) -> Spec:
    """Load and validate a states file."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(yamlsrc.MAX_BYTES + 1)  # never more: a huge file (or /dev/zero) is refused unread
        big = yamlsrc.too_big(len(raw), str(p))
        if big is not None:
            raise big
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"找不到状态配置文件：{p}。请检查路径。") from None
    except (IsADirectoryError, PermissionError) as exc:
        why = "这是一个目录" if isinstance(exc, IsADirectoryError) else "没有读取权限"
        raise UsageError(f"无法读取状态配置文件：{p}（{why}）。请检查路径。") from None
    except UnicodeDecodeError:
        raise SpecError(f"状态配置文件不是 UTF-8 编码：{p}。请另存为 UTF-8。") from None
    return parse(text, str(p))


def parse(text: str, source: str = "states.yaml") -> Spec:
    """Parse and validate YAML text into a Spec; the first problem found is raised with its line.

    A Spec is immutable, so the same text is parsed once per process: every command and every
    scheduler sweep reads the spec in force from the database, and YAML parsing was most of their cost.
    """
    return _parse(text, source)


@lru_cache(maxsize=32)
def _parse(text: str, source: str) -> Spec:
    doc = yamlsrc.load(text, source)
    return _Builder(doc, text).build()


class _Builder:
    def __init__(self, doc: yamlsrc.Located, text: str) -> None:
        self.doc = doc
        self.text = text

    def fail(self, path: tuple[Any, ...], message: str) -> SpecError:
        return self.doc.error(path, message)

    def mapping(self, value: Any, path: tuple[Any, ...], allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "这里应是一个映射（键: 值）")
        for key in value:
            if key not in allowed:
                raise self.fail((*path, key), f"未知的键 {key!r}；允许的键：{', '.join(allowed)}")
        return value

    def string(self, value: Any, path: tuple[Any, ...], what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"{what} 应是非空文字，实际是 {value!r}")
        return value

    def boolean(self, value: Any, path: tuple[Any, ...]) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"应是 true 或 false，实际是 {value!r}")
        return value

    def number(self, value: Any, path: tuple[Any, ...], *, integer: bool = False) -> float:
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise self.fail(path, f"应是{'整数' if integer else '数字'}，实际是 {value!r}")
        return value

    def str_list(self, value: Any, path: tuple[Any, ...], what: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(path, f"{what} 应是列表")
        return tuple(self.string(v, (*path, i), what) for i, v in enumerate(value))

    def build(self) -> Spec:
        top = self.mapping(self.doc.data, (), TOP_KEYS)
        self.header(top)
        for key in ("roles", "states", "transitions", "campaigns"):
            if key not in top:
                raise self.fail((), f"缺少 {key}")
        roles = self.roles(top["roles"])
        states = self.states(top["states"], roles)
        transitions = self.transitions(top["transitions"], states, roles)
        self.graph(states, transitions)
        rules = self.rules(top.get("rules", {}), states)
        calendars = self.calendars(top["campaigns"], states)
        reminders = self.reminders(top.get("reminders", {}), states)
        web = self.web(top.get("web", {}))
        self.assumptions(roles, transitions)
        return Spec(self.doc.source, self.text, roles, states, transitions, rules, calendars, reminders, web)

    def header(self, top: dict[str, Any]) -> None:
        """`version` and `timezone` are honoured by refusing any value this program does not implement."""
        if "version" in top and (isinstance(top["version"], bool) or top["version"] != SPEC_VERSION):
            raise self.fail(
                ("version",), f"version 应是 {SPEC_VERSION}（本程序只认识第 {SPEC_VERSION} 版的格式），实际是 {top['version']!r}"
            )
        if "timezone" in top and top["timezone"] != TIMEZONE:
            raise self.fail(("timezone",), f"timezone 只能是 {TIMEZONE}（截止时间、提醒都按北京时间计算），实际是 {top['timezone']!r}")

    def assumptions(self, roles: dict[str, str], transitions: tuple[TransitionSpec, ...]) -> None:
        """What the code relies on beyond a well-formed machine: its role ids and the inputs its rules read."""
        missing = [r for r in REQUIRED_ROLES if r not in roles]
        if missing:
            raise self.fail(
                ("roles",),
                f"缺少程序依赖的角色：{', '.join(missing)}（角色 id 须保留 {', '.join(REQUIRED_ROLES)}；中文名可以改）",
            )
        for t_i, t in enumerate(transitions):
            for inp in t.inputs:
                want = NAMED_INPUTS.get(inp.name)
                if want and inp.type not in want:
                    raise self.fail(
                        ("transitions", t_i, "inputs", inp.name, "type"),
                        f"输入 {inp.name} 的类型须是 {' 或 '.join(want)}，实际是 {inp.type}（程序按这个类型读取它）",
                    )
        for t_i, t in enumerate(transitions):
            for c_i, cond in enumerate(t.conditions):
                if cond not in CONDITION_INPUTS:
                    continue
                name, where = CONDITION_INPUTS[cond]
                want = INPUT_TYPE_REQUIRED[name]
                scope = (t,) if where == "own" else transitions
                declared = [i for tr in scope for i in tr.inputs if i.name == name]
                if not declared:
                    place = f"“{t.trigger}”的 inputs " if where == "own" else "某个 transition 的 inputs "
                    raise self.fail(
                        ("transitions", t_i, "conditions", c_i),
                        f"条件 {cond} 需要输入 {name}（{' 或 '.join(want)}），请在{place}中声明",
                    )
                wrong = [i for i in declared if i.type not in want]
                if wrong:
                    raise self.fail(
                        ("transitions", t_i, "conditions", c_i),
                        f"条件 {cond} 需要 {' 或 '.join(want)} 类型的输入 {name}，实际声明为 {wrong[0].type}",
                    )

    def roles(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not value:
            raise self.fail(("roles",), "roles 应是非空映射（角色 id: 中文名）")
        return {self.string(k, ("roles", k), "角色 id"): self.string(v, ("roles", k), "角色名") for k, v in value.items()}

    def states(self, value: Any, roles: dict[str, str]) -> tuple[StateSpec, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(("states",), "states 应是非空列表")
        out: list[StateSpec] = []
        seen: set[str] = set()
        for i, raw in enumerate(value):
            path = ("states", i)
            m = self.mapping(raw, path, STATE_KEYS)
            sid = self.string(m.get("id"), (*path, "id"), "状态 id")
            if sid in seen:
                raise self.fail((*path, "id"), f"状态 {sid!r} 重复定义")
            seen.add(sid)
            label = self.string(m.get("label"), (*path, "label") if "label" in m else path, f"状态 {sid} 的 label")
            terminal = self.boolean(m.get("terminal", False), (*path, "terminal"))
            initial = self.boolean(m.get("initial", False), (*path, "initial"))
            owner = m.get("owner")
            if owner is not None and owner not in roles:
                raise self.fail((*path, "owner"), f"未知的角色 {owner!r}；已定义的角色：{', '.join(roles)}")
            if owner is None and not terminal:
                raise self.fail(path, f"非终止状态 {sid!r} 须指定 owner（负责的角色）")
            out.append(StateSpec(sid, label, owner, terminal, initial))
        initials = [s.id for s in out if s.initial]
        if len(initials) != 1:
            raise self.fail(("states",), f"须恰有一个 initial: true 的状态，实际有 {len(initials)} 个：{initials}")
        return tuple(out)

    def transitions(self, value: Any, states: tuple[StateSpec, ...], roles: dict[str, str]) -> tuple[TransitionSpec, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(("transitions",), "transitions 应是非空列表")
        ids = {s.id for s in states}
        out: list[TransitionSpec] = []
        pairs: set[tuple[str, str]] = set()
        triggers: set[str] = set()
        for i, raw in enumerate(value):
            path = ("transitions", i)
            m = self.mapping(raw, path, TRANSITION_KEYS)
            trigger = self.string(m.get("trigger"), (*path, "trigger"), "trigger")
            if not re.fullmatch(r"[a-z][a-z0-9_]*", trigger):
                raise self.fail((*path, "trigger"), f"trigger {trigger!r} 须为小写字母、数字、下划线")
            if trigger in RESERVED_TRIGGERS or trigger.startswith(RESERVED_PREFIX):
                raise self.fail(
                    (*path, "trigger"),
                    f"trigger {trigger!r} 是保留字（审计记录用 {', '.join(RESERVED_TRIGGERS)} 记新建、修改、上传、删除附件、延期、例外，"
                    f"用 {RESERVED_PREFIX}… 记评审专家的操作），请换一个名字",
                )
            if trigger in triggers:
                raise self.fail((*path, "trigger"), f"trigger {trigger!r} 重复定义；同一 trigger 的多个来源请写成 source 列表")
            triggers.add(trigger)
            sources = self.str_list(m.get("source"), (*path, "source"), "source")
            for j, src in enumerate(sources):
                if src not in ids:
                    raise self.fail((*path, "source", j) if isinstance(m.get("source"), list) else (*path, "source"), f"未知的状态 {src!r}")
                if (src, trigger) in pairs:
                    raise self.fail((*path, "source"), f"状态 {src!r} 上的 trigger {trigger!r} 重复")
                pairs.add((src, trigger))
            dest = self.string(m.get("dest"), (*path, "dest"), "dest")
            if dest not in ids:
                raise self.fail((*path, "dest"), f"未知的状态 {dest!r}")
            trole = self.str_list(m.get("roles", []), (*path, "roles"), "roles")
            if not trole:
                raise self.fail(path, f"transition {trigger!r} 须列出可执行的角色 roles")
            for j, role in enumerate(trole):
                if role not in roles:
                    raise self.fail((*path, "roles", j), f"未知的角色 {role!r}；已定义的角色：{', '.join(roles)}")
            conds = self.str_list(m.get("conditions", []), (*path, "conditions"), "conditions")
            for j, cond in enumerate(conds):
                if cond not in CONDITIONS:
                    raise self.fail((*path, "conditions", j), f"未知的条件 {cond!r}；可用的条件：{', '.join(CONDITIONS)}")
            inputs = self.inputs(m.get("inputs", {}), (*path, "inputs"))
            label = self.string(m.get("label", trigger), (*path, "label"), "label")
            out.append(TransitionSpec(trigger, label, sources, dest, trole, conds, inputs))
        return tuple(out)

    def inputs(self, value: Any, path: tuple[Any, ...]) -> tuple[InputSpec, ...]:
        if not isinstance(value, dict):
            raise self.fail(path, "inputs 应是映射（输入名: {type: …}）")
        out = []
        for name, raw in value.items():
            p = (*path, name)
            m = self.mapping(raw, p, INPUT_KEYS)
            typ = m.get("type")
            if typ not in INPUT_TYPES:
                raise self.fail((*p, "type"), f"未知的输入类型 {typ!r}；可用：{', '.join(INPUT_TYPES)}")
            lo = self.number(m["min"], (*p, "min")) if "min" in m else None
            hi = self.number(m["max"], (*p, "max")) if "max" in m else None
            req = self.boolean(m.get("required", False), (*p, "required"))
            needs = self.string(m["requires"], (*p, "requires"), "requires") if "requires" in m else ""
            if needs and (needs == name or needs not in value):
                raise self.fail((*p, "requires"), f"requires 应是同一操作的另一个输入，实际是 {needs!r}")
            out.append(InputSpec(str(name), typ, req, lo, hi, str(m.get("label", "")), needs))
        return tuple(out)

    def graph(self, states: tuple[StateSpec, ...], transitions: tuple[TransitionSpec, ...]) -> None:
        index = {s.id: i for i, s in enumerate(states)}
        outgoing: dict[str, set[str]] = {s.id: set() for s in states}
        for t in transitions:
            for src in t.sources:
                outgoing[src].add(t.dest)
        for t_i, t in enumerate(transitions):
            for src in t.sources:
                if next(s for s in states if s.id == src).terminal:
                    raise self.fail(("transitions", t_i, "source"), f"终止状态 {src!r} 不能再有出口（{t.trigger}）")
        trapped = [s.id for s in states if not s.terminal and not outgoing[s.id]]
        if trapped:
            raise self.fail(
                ("states", index[trapped[0]]), f"非终止状态没有出口：{', '.join(trapped)}（请加 transition 或标为 terminal: true）"
            )
        start = next(s.id for s in states if s.initial)
        seen = {start}
        todo = deque([start])
        while todo:
            for nxt in outgoing[todo.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        unreachable = [s.id for s in states if s.id not in seen]
        if unreachable:
            raise self.fail(("states", index[unreachable[0]]), f"从初始状态无法到达：{', '.join(unreachable)}")

    def rules(self, value: Any, states: tuple[StateSpec, ...]) -> RuleSettings:
        m = self.mapping(value, ("rules",), RULE_KEYS)
        ids = {s.id for s in states}
        base = RuleSettings()

        def state_list(key: tuple[Any, ...], raw: Any) -> tuple[str, ...]:
            got = self.str_list(raw, key, key[-1])
            for j, sid in enumerate(got):
                if sid not in ids:
                    raise self.fail((*key, j), f"未知的状态 {sid!r}")
            return got

        quota = base.quota
        if "quota" in m:
            q = self.mapping(m["quota"], ("rules", "quota"), QUOTA_KEYS)
            qp = ("rules", "quota")
            quota = Quota(
                threshold=int(self.number(q.get("threshold", 10), (*qp, "threshold"), integer=True)),
                small=int(self.number(q.get("small", 1), (*qp, "small"), integer=True)),
                large=int(self.number(q.get("large", 2), (*qp, "large"), integer=True)),
                not_counted=state_list((*qp, "not_counted"), q.get("not_counted", list(base.quota.not_counted))),
            )
        waivable = self.str_list(m.get("waivable", list(base.waivable)), ("rules", "waivable"), "waivable")
        for j, rid in enumerate(waivable):
            if not re.fullmatch(r"R\d+", rid):
                raise self.fail(("rules", "waivable", j), f"规则编号应形如 R2，实际是 {rid!r}")
        return RuleSettings(
            quota=quota,
            excellent_score=self.number(m.get("excellent_score", 90), ("rules", "excellent_score")),
            themes=self.str_list(m.get("themes", list(base.themes)), ("rules", "themes"), "themes"),
            other_theme=self.string(m.get("other_theme", base.other_theme), ("rules", "other_theme"), "other_theme"),
            not_live=state_list(("rules", "not_live"), m.get("not_live", list(base.not_live))),
            participated=state_list(("rules", "participated"), m.get("participated", list(base.participated))),
            waivable=waivable,
            late_entry_days=int(self.number(m.get("late_entry_days", base.late_entry_days), ("rules", "late_entry_days"), integer=True)),
            review=self.review(m.get("review", {}), ("rules", "review")),
        )

    def review(self, value: Any, p: tuple[Any, ...]) -> ReviewSettings:
        m = self.mapping(value, p, ("criteria", "min_reviews", "combine", "exclude_own_committee"))
        base = ReviewSettings()
        criteria = base.criteria
        if "criteria" in m:
            if not isinstance(m["criteria"], list) or not m["criteria"]:
                raise self.fail((*p, "criteria"), "criteria 应是非空列表（每项 id、label、weight）")
            found: list[Criterion] = []
            for j, raw in enumerate(m["criteria"]):
                cp = (*p, "criteria", j)
                c = self.mapping(raw, cp, ("id", "label", "weight"))
                cid = self.string(c.get("id"), (*cp, "id") if "id" in c else cp, "评审指标 id")
                label = self.string(c.get("label"), (*cp, "label") if "label" in c else cp, "评审指标 label")
                if not re.fullmatch(r"[a-z][a-z0-9_]*", cid) or any(cid in (f.id, f.label) or label in (f.id, f.label) for f in found):
                    raise self.fail((*cp, "id"), f"评审指标 {cid!r}（{label}）的 id 须为小写字母、数字、下划线，id 和 label 不能重复")
                weight = self.number(c.get("weight"), (*cp, "weight") if "weight" in c else cp)
                if not 0 < weight <= 100:
                    raise self.fail((*cp, "weight"), f"权重应大于 0、不超过 100，实际是 {weight!r}")
                found.append(Criterion(cid, label, weight))
            if abs(sum(c.weight for c in found) - 100) > 1e-9:
                raise self.fail((*p, "criteria"), f"各评审指标的权重之和应为 100，实际是 {sum(c.weight for c in found):g}")
            criteria = tuple(found)
        least = int(self.number(m.get("min_reviews", base.min_reviews), (*p, "min_reviews"), integer=True))
        if least < 1:
            raise self.fail((*p, "min_reviews"), f"min_reviews 至少为 1，实际是 {least}")
        combine = self.string(m.get("combine", base.combine), (*p, "combine"), "combine")
        if combine not in COMBINE:
            raise self.fail((*p, "combine"), f"combine 应是 {' 或 '.join(COMBINE)}，实际是 {combine!r}")
        exclude = self.boolean(m.get("exclude_own_committee", True), (*p, "exclude_own_committee"))
        return ReviewSettings(criteria, least, combine, exclude)

    def calendars(self, value: Any, states: tuple[StateSpec, ...]) -> dict[int, Calendar]:
        if not isinstance(value, dict) or not value:
            raise self.fail(("campaigns",), "campaigns 应是非空映射（年份: {due: …}）")
        need = [s.id for s in states if not s.terminal]
        out: dict[int, Calendar] = {}
        for year, raw in value.items():
            path = ("campaigns", year)
            if not isinstance(year, int) or not 2000 <= year <= 2100:
                raise self.fail(path, f"年份应是四位整数，实际是 {year!r}")
            m = self.mapping(raw, path, ("label", "due"))
            due_raw = self.mapping(m.get("due", {}), (*path, "due"), tuple(s.id for s in states))
            due: dict[str, date] = {}
            for sid, day in due_raw.items():
                if sid not in need:
                    raise self.fail((*path, "due", sid), f"终止状态 {sid!r} 没有截止日期")
                due[sid] = self.day(day, (*path, "due", sid))
            missing = [sid for sid in need if sid not in due]
            if missing:
                raise self.fail((*path, "due"), f"{year} 年缺少这些状态的截止日期：{', '.join(missing)}")
            label = self.string(m.get("label", f"{year}年特色支部创建"), (*path, "label"), "label")
            out[year] = Calendar(year, label, due)
        return out

    def day(self, value: Any, path: tuple[Any, ...]) -> date:
        got: date | None = value if isinstance(value, date) else None
        if isinstance(value, str):
            try:
                got = date.fromisoformat(value.strip())
            except ValueError:
                got = None
        if got is None:
            raise self.fail(path, f"日期无效：{value!r}；请写成 2024-05-06")
        if not clock.in_range(got):
            raise self.fail(path, f"日期超出范围：{got.isoformat()}；年份应在 {clock.FIRST_YEAR} 到 {clock.LAST_YEAR} 之间")
        return got

    def reminders(self, value: Any, states: tuple[StateSpec, ...]) -> ReminderPolicy:
        m = self.mapping(value, ("reminders",), REMINDER_KEYS)
        base = ReminderPolicy()
        before = self.offsets(m["before"], ("reminders", "before")) if "before" in m else base.before
        per_state: dict[str, tuple[Offset, ...]] = {}
        ids = {s.id: s for s in states}
        raw_states = self.mapping(m.get("states", {}), ("reminders", "states"), tuple(ids))
        notify: dict[str, tuple[str, ...]] = {}
        actions: dict[str, str] = {}
        for sid, raw in raw_states.items():
            p = ("reminders", "states", sid)
            if ids[sid].terminal:
                raise self.fail(p, f"终止状态 {sid!r} 不需要提醒")
            sm = self.mapping(raw, p, REMINDER_STATE_KEYS)
            if "before" in sm:
                per_state[sid] = self.offsets(sm["before"], (*p, "before"))
            if "notify" in sm:
                notify[sid] = self.audiences(sm["notify"], (*p, "notify"))
            if "action" in sm:
                actions[sid] = self.string(sm["action"], (*p, "action"), "action")
        digest = self.mapping(m.get("digest", {}), ("reminders", "digest"), ("time", "working_days"))
        dtime = self.clock_time(digest.get("time", base.digest_time), ("reminders", "digest", "time"))
        send_at = self.clock_time(m.get("send_at", base.send_at), ("reminders", "send_at"))
        max_per_state = int(self.number(m.get("max_per_state", base.max_per_state), ("reminders", "max_per_state"), integer=True))
        if max_per_state < 1:
            raise self.fail(("reminders", "max_per_state"), f"max_per_state 至少为 1，实际是 {max_per_state}")
        every = int(self.number(m.get("sweep_every_minutes", 15), ("reminders", "sweep_every_minutes"), integer=True))
        if not 1 <= every <= 1440:
            raise self.fail(("reminders", "sweep_every_minutes"), f"sweep_every_minutes 应在 1 到 1440 之间，实际是 {every}")
        return ReminderPolicy(
            before=before,
            per_state=per_state,
            max_per_state=max_per_state,
            overdue_notice=self.boolean(m.get("overdue_notice", True), ("reminders", "overdue_notice")),
            digest_time=dtime,
            digest_working_days=self.boolean(digest.get("working_days", True), ("reminders", "digest", "working_days")),
            sweep_every_minutes=every,
            send_at=send_at,
            notify=notify,
            actions=actions,
        )

    def web(self, value: Any) -> WebSettings:
        m = self.mapping(value, ("web",), WEB_KEYS)
        base = WebSettings()
        warn = int(self.number(m.get("warn_days", base.warn_days), ("web", "warn_days"), integer=True))
        if not 0 <= warn <= MAX_WARN_DAYS:
            raise self.fail(("web", "warn_days"), f"warn_days 应在 0 到 {MAX_WARN_DAYS} 之间（天），实际是 {warn}")
        return WebSettings(warn_days=warn)

    def clock_time(self, value: Any, path: tuple[Any, ...]) -> str:
        text = str(value)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            # YAML 1.1 reads an unquoted 08:30 as the base-60 integer 510.
            hint = '（请加引号："08:30"）' if isinstance(value, int) else ""
            raise self.fail(path, f'时间应写成 "08:30"，实际是 {text!r}{hint}')
        return text

    def audiences(self, value: Any, path: tuple[Any, ...]) -> tuple[str, ...]:
        got = self.str_list(value, path, "notify")
        if not got:
            raise self.fail(path, f"notify 不能为空；可选：{', '.join(AUDIENCES)}")
        for j, who in enumerate(got):
            if who not in AUDIENCES:
                raise self.fail((*path, j), f"未知的提醒对象 {who!r}；可选：{', '.join(AUDIENCES)}")
        return got

    def offsets(self, value: Any, path: tuple[Any, ...]) -> tuple[Offset, ...]:
        items = self.str_list(value, path, "提醒时间")
        out = []
        for j, item in enumerate(items):
            match = OFFSET_RX.fullmatch(item.strip())
            if not match or int(match.group(1)) == 0:
                raise self.fail((*path, j), f"提醒时间 {item!r} 无效；请写成 7d（天）、3wd（工作日）或 12h（小时）")
            if int(match.group(1)) > MAX_OFFSET[match.group(2)]:
                limits = "、".join(f"{n}{unit}" for unit, n in MAX_OFFSET.items())
                raise self.fail((*path, j), f"提醒时间 {item!r} 太长；最多提前 {limits}")
            out.append(Offset(int(match.group(1)), match.group(2)))
        return tuple(out)
