"""The notice's rules as named conditions: pure functions of a case's facts.

Each condition is declared with the rule it enforces and the fact groups it reads (`@condition`), and
answers a `Refusal` — (rule id, reason) as data — or None when the case passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from workflow.dates import clock

PLAN_FIELDS: dict[str, str] = {
    "expected_outcomes": "预期成果",
    "schedule": "进度安排",
    "innovation": "特色与创新点",
    "promotion_plan": "交流推广方案",
    "discipline_activity": "纪律处分条例学习活动",
}
ATTACHMENT_KINDS: dict[str, str] = {"form": "申报表电子版", "stamped_scan": "盖章扫描件"}


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at, gathered once per decision (see `facts.gather`)."""

    now: datetime
    case_id: int
    state: str
    due_at: datetime | None
    theme: str
    theme_note: str
    plan: Mapping[str, str]
    score: float | None
    inputs: Mapping[str, Any]
    attachments: frozenset[str]
    waived: frozenset[str]
    took_part_last_year: bool
    other_live_cases: int
    model_in_cycle: bool
    model_participations_in_cycle: int
    quota_used: int
    quota_limit: int
    excellent_score: float
    themes: tuple[str, ...] = field(default=())
    other_theme: str = "其他"
    # R13: the expert panel (see `facts.Batch`, group "panel"): submitted reviews and their combined score.
    reviews_in: int = 0
    reviews_needed: int = 0
    panel_score: float | None = None
    panel_means: Mapping[str, float] = field(default_factory=dict)


Rule = Callable[[Facts], str | None]

# The groups of facts `lifecycle.facts.Batch` gathers with its own queries; the other fields of `Facts`
# come from the case row, `now` and the inputs, and cost nothing.
FACT_GROUPS = frozenset({"attachments", "waivers", "live", "participation", "quota", "panel"})


class Refusal(NamedTuple):
    """Why a condition refuses a case: the rule's id ("R5") and the reason as users read it (which names the rule)."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Condition:
    """A named condition: the rule it enforces, the fact groups it reads, and its test (a reason, or None)."""

    name: str
    rule: str
    needs: frozenset[str]
    test: Rule

    def __call__(self, facts: Facts) -> Refusal | None:
        reason = self.test(facts)
        return None if reason is None else Refusal(self.rule, reason)


CONDITIONS: dict[str, Condition] = {}


def condition(rule: str, needs: tuple[str, ...] = ()) -> Callable[[Rule], Rule]:
    """Register the decorated function as the condition of its name, enforcing `rule` and reading `needs`."""
    unknown = set(needs) - FACT_GROUPS
    if unknown:
        raise ValueError(f"unknown fact groups {sorted(unknown)}; known: {sorted(FACT_GROUPS)}")

    def register(test: Rule) -> Rule:
        CONDITIONS[test.__name__] = Condition(test.__name__, rule, frozenset(needs), test)
        return test

    return register


@condition("R1")
def r1_attested(f: Facts) -> str | None:
    """R1: the committee attests basic conditions and true, accurate, feasible material."""
    if f.inputs.get("attest") is True:
        return None
    return "R1 基本条件：提交时分党委须确认支部具备基本条件、材料真实准确可行（attest）。"


@condition("R2", needs=("participation", "waivers"))
def r2_no_repeat(f: Facts) -> str | None:
    """R2: a branch that took part last year does not take part, unless org waived it."""
    if not f.took_part_last_year or f.model_in_cycle or "R2" in f.waived:
        return None
    return "R2 不重复参与：该支部上一年度已参与创建，原则上不参加本年度；如确需参加，请党委组织部登记例外。"


@condition("R3", needs=("live",))
def r3_single_case(f: Facts) -> str | None:
    """R3: a branch has at most one live case per campaign (no joint applications)."""
    if f.other_live_cases == 0:
        return None
    return "R3 不联合申报：该支部本年度已有一个有效申报，不能再建第二个；请先撤回原申报。"


@condition("R4", needs=("participation",))
def r4_model_cycle(f: Facts) -> str | None:
    """R4: a national model branch takes part once within its cultivation cycle."""
    if not f.model_in_cycle or f.model_participations_in_cycle == 0:
        return None
    return "R4 样板支部：该样板支部在本培育创建周期内已参与过一次特色支部创建，不能再次参与。"


@condition("R5", needs=("quota",))
def r5_quota(f: Facts) -> str | None:
    """R5: a committee recommends 1–2 branches by its size; model branches are not counted."""
    if f.model_in_cycle or f.quota_used < f.quota_limit:
        return None
    return f"R5 推荐名额：该分党委本年度最多推荐 {f.quota_limit} 个支部，已推荐 {f.quota_used} 个；请先撤回其他申报再提交。"


def theme_problem(theme: str, note: str, themes: tuple[str, ...], other: str) -> str | None:
    """R6 on its own, for creating and editing a case as well as submitting it."""
    if theme in themes:
        return None
    if theme == other:
        if note.strip():
            return None
        return f"R6 创建方向：选择“{other}”时须填写方向说明（theme_note）。"
    allowed = "、".join((*themes, other))
    return f"R6 创建方向：“{theme or '（未填）'}”不是可选方向，请从 {allowed} 中选一个。"


@condition("R6")
def r6_one_theme(f: Facts) -> str | None:
    """R6: exactly one of the five aspects, or 其他 with a description."""
    return theme_problem(f.theme, f.theme_note, f.themes, f.other_theme)


@condition("R7")
def r7_complete_plan(f: Facts) -> str | None:
    """R7: the plan states every required item; each missing one is named."""
    missing = [label for key, label in PLAN_FIELDS.items() if not (f.plan.get(key) or "").strip()]
    if not missing:
        return None
    return f"R7 方案不完整：缺少{'、'.join(missing)}；请补全后再提交。"


@condition("R8", needs=("attachments",))
def r8_attachments(f: Facts) -> str | None:
    """R8: both the electronic form and the stamped scan are attached."""
    missing = [label for kind, label in ATTACHMENT_KINDS.items() if kind not in f.attachments]
    if not missing:
        return None
    return f"R8 申报材料：缺少{'、'.join(missing)}；请上传后再提交。"


@condition("R8")
def r8_on_time(f: Facts) -> str | None:
    """R8: no submission after the due date unless org extended the case."""
    if f.due_at is None or f.now <= f.due_at:
        return None
    return f"R8 申报截止：申报已于 {clock.show(f.due_at)} 截止；如需补报，请党委组织部为该申报延期。"


@condition("R8")
def r8_past_due(f: Facts) -> str | None:
    """R8: a draft is marked 未按时申报 only once its due date (with any extension) has passed."""
    if f.due_at is not None and f.now > f.due_at:
        return None
    due = clock.show(f.due_at) if f.due_at else "（无）"
    return f"R8 申报截止：该草稿的申报截止时间 {due} 尚未过去，还可以提交，不能标记为未按时申报。"


@condition("R9")
def r9_excellent(f: Facts) -> str | None:
    """R9: only a case rated excellent (score at or above the threshold) is approved."""
    if f.score is not None and f.score >= f.excellent_score:
        return None
    got = "尚无评审分" if f.score is None else f"评审分 {f.score:g}"
    return f"R9 评审优秀：立项须评审分不低于 {f.excellent_score:g}，{got}；可选择“不予立项”（decline）。"


@condition("R13", needs=("panel",))
def r13_enough_reviews(f: Facts) -> str | None:
    """R13: the evaluation takes the panel's score once enough reviews are in (an explicit score is an
    override, which needs its reason: see the input's `requires`)."""
    if "score" in f.inputs or (f.reviews_in >= f.reviews_needed and f.panel_score is not None):
        return None
    return (
        f"R13 专家评审：已提交 {f.reviews_in} 份评审意见，至少需要 {f.reviews_needed} 份；"
        "请等评审专家评分后再录入，或人工填写评审分及理由（score、reason）。"
    )


def check(conditions: tuple[str, ...], facts: Facts) -> list[Refusal]:
    """Every refusal the named conditions give, in order (empty when all pass)."""
    return [refusal for name in conditions if (refusal := CONDITIONS[name](facts)) is not None]
