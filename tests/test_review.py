"""R9/R13: the expert review panel, a test per rule, through the CLI and directly in the library.

Minimum reviews, conflict of interest, blind scoping, trimmed mean, an override needs its reason, reviewer
reminders once; and the pieces around them (assignment spread, scores, the ranked summary and its export).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import Bf, ready_case
from helpers import snapshot
from servers import sweep

from workflow import engine, queries, review, spec
from workflow.errors import NotFound, PermissionDenied, Refused, RuleRefused, SpecError, UsageError
from workflow.spec.review import ReviewSettings, two_decimals

REVIEW, SCORING, EVALUATION = "2024-05-10T10:00", "2024-05-20T10:00", "2024-05-28T10:00"
CRITERIA = ("focus", "feature", "quality", "effect", "process", "promotion", "long_term")
PANEL = ("r1", "r2", "r3", "r4", "r5")
WENFA = "文法学院分党委"
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def with_panel(bf: Bf, *branches: str) -> list[int]:
    """Cases of these branches in 初审通过，待评审, and five reviewers (r5 belongs to 文法学院分党委)."""
    ids = []
    for branch in branches:
        cid = ready_case(bf, branch, user="zzb")
        bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="zzb")
        bf.ok("advance", str(cid), "pass_review", user="zzb", now=REVIEW)
        ids.append(cid)
    for name in PANEL[:4]:
        bf.ok("user", "add", name, "--role", "reviewer", "--email", f"{name}@example.edu.cn")
    bf.ok("user", "add", "r5", "--role", "reviewer", "--committee", WENFA, "--email", "r5@example.edu.cn")
    return ids


def marks(*values: float) -> list[str]:
    """--score options for the seven criteria (one value: the same for all)."""
    got = values * 7 if len(values) == 1 else values
    return [a for key, v in zip(CRITERIA, got, strict=True) for a in ("--score", f"{key}={v:g}")]


def score(bf: Bf, cid: int, who: str, *values: float, now: str = SCORING) -> None:
    bf.ok("review", "score", str(cid), *marks(*values), "--comment", f"{who}的意见", user=who, now=now)


# ---- configuration ------------------------------------------------------------------------------


def test_r13_the_default_criteria_are_the_seven_requirements_weighing_100() -> None:
    settings = spec.parse(spec.packaged_text()).rules.review
    assert [c.label for c in settings.criteria] == ["聚焦主题", "凝炼特色", "提升质量", "突出成效", "注重过程", "推广经验", "放眼长远"]
    assert sum(c.weight for c in settings.criteria) == 100
    assert (settings.min_reviews, settings.combine, settings.exclude_own_committee) == (3, "mean", True)
    assert settings.criterion("聚焦主题") == settings.criterion("focus")


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("label: 放眼长远, weight: 10}", "label: 放眼长远, weight: 5}", "    criteria:", "各评审指标的权重之和应为 100，实际是 95"),
        ("label: 放眼长远, weight: 10}", "label: 放眼长远, weight: 0}", "weight: 0}", "权重应大于 0、不超过 100，实际是 0"),
        ("{id: long_term, label: 放眼长远", "{id: focus, label: 放眼长远", "{id: focus, label: 放眼长远", "id 和 label 不能重复"),
        ("combine: mean", "combine: median", "combine: median", "combine 应是 mean 或 trimmed_mean，实际是 'median'"),
        ("min_reviews: 3", "min_reviews: 0", "min_reviews: 0", "min_reviews 至少为 1，实际是 0"),
        ("exclude_own_committee: true", "exclude_own_committee: yes", "exclude_own_committee: yes", "应是 true 或 false，实际是 'yes'"),
        (
            "    min_reviews: 3",
            "    min_reviews: 3\n    quorum: 2",
            "quorum: 2",
            "未知的键 'quorum'；允许的键：criteria, min_reviews, combine, exclude_own_committee",
        ),
    ],
)
def test_r13_a_broken_review_section_is_refused_up_front_with_its_line(old: str, new: str, where: str, message: str) -> None:
    text = spec.packaged_text()
    assert text.count(old) == 1
    broken = text.replace(old, new)
    line = next(n for n, t in enumerate(broken.splitlines(), 1) if t.startswith(where) or (where in t and not where.startswith(" ")))
    with pytest.raises(SpecError) as caught:
        spec.parse(broken, "states.yaml")
    assert caught.value.message.startswith(f"状态配置文件有误：states.yaml 第 {line} 行（rules.review")
    assert caught.value.message.endswith(message)


def test_r13_an_override_input_must_require_another_input_of_the_same_transition() -> None:
    broken = spec.packaged_text().replace("requires: reason", "requires: motive")
    with pytest.raises(SpecError, match="requires 应是同一操作的另一个输入，实际是 'motive'"):
        spec.parse(broken)


# ---- aggregation ---------------------------------------------------------------------------------


def test_r13_trimmed_mean_drops_the_highest_and_lowest_total_from_five_reviews_on() -> None:
    mean, trimmed = ReviewSettings(), ReviewSettings(combine="trimmed_mean")
    four, five = [70.0, 80.0, 90.0, 100.0], [60.0, 80.0, 85.0, 90.0, 99.0]
    assert mean.panel(five) == 82.8
    assert trimmed.panel(five) == 85.0  # (80 + 85 + 90) / 3: 60 and 99 dropped
    assert trimmed.panel(four) == mean.panel(four) == 85.0  # fewer than five: nothing dropped
    assert trimmed.panel([]) is None
    reviews = [dict.fromkeys(CRITERIA, t) for t in five]
    assert trimmed.means(reviews, five) == dict.fromkeys(CRITERIA, 85.0)


def test_r13_a_review_total_is_the_weighted_sum_and_the_panel_score_keeps_two_decimals() -> None:
    settings = ReviewSettings()
    assert settings.total(dict(zip(CRITERIA, (95, 92, 94, 93, 92, 94, 90), strict=True))) == 93.0
    assert settings.panel([93.0, 92.75, 93.9]) == 93.22  # 93.2166…
    assert two_decimals(88.335) == 88.34 and two_decimals(84.93333) == 84.93


@sqlite_only
def test_r13_trimmed_mean_is_what_evaluate_writes_when_the_spec_says_so(bf: Bf, tmp_path: Path) -> None:
    states = tmp_path / "states.yaml"
    states.write_text(spec.packaged_text().replace("combine: mean", "combine: trimmed_mean"), encoding="utf-8")
    bf.ok("init", "--states", str(states), "--campaign", "2024")
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), *(a for r in PANEL for a in ("--reviewer", r)), user="zzb")
    for who, total in zip(PANEL, (60, 80, 85, 90, 99), strict=True):
        score(bf, cid, who, total)
    bf.ok("advance", str(cid), "evaluate", user="zzb", now=EVALUATION)
    assert bf.json("case", "show", str(cid), user="zzb")["score"] == 85.0


# ---- conflict of interest and assignment ----------------------------------------------------------


def test_r13_a_reviewer_of_the_cases_own_committee_is_refused_and_nothing_changes(bf: Bf) -> None:
    (cid,) = with_panel(bf, "文法学院第1学生党支部")
    before = snapshot(bf)
    result = bf("review", "assign", str(cid), "--reviewer", "r1", "--reviewer", "r5", user="zzb")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"申报 {cid} 不能分配这些评审专家：1 位须回避。",
        f"利益回避：评审专家 r5 属于{WENFA}，不能评审本分党委的申报 {cid}（文法学院第1学生党支部）。",
    ]
    assert snapshot(bf) == before
    with pytest.raises(Refused, match="须回避"):
        review.assign(bf.ws("zzb"), cid, ["r5"])


def test_r13_spread_assigns_evenly_skipping_conflicts(bf: Bf) -> None:
    cases = with_panel(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "建筑学院第1学生党支部", "理学院第1学生党支部")
    data = bf.json("review", "assign", "--state", "preliminary_review", "--reviewers", ",".join(PANEL), "--per-case", "3", user="zzb")
    by_case = {c["id"]: c for c in data["cases"]}
    assert sorted(by_case) == cases
    assert all(len(c["reviewers"]) == 3 and c["short"] == 0 for c in data["cases"])
    for cid in cases[:2]:  # 文法学院's cases: r5 skipped
        assert by_case[cid]["skipped"] == ["r5"] and "r5" not in by_case[cid]["reviewers"]
    loads = data["loads"]
    assert sum(loads.values()) == 12 and max(loads.values()) - min(loads.values()) <= 1
    # Again: everyone has their three, nothing is added.
    again = review.spread(bf.ws("zzb"), "preliminary_review", list(PANEL), 3)
    assert all(c["added"] == [] for c in again["cases"]) and again["loads"] == loads


def test_r13_spread_says_how_many_a_case_lacks_when_conflicts_leave_too_few(bf: Bf) -> None:
    (cid,) = with_panel(bf, "文法学院第1学生党支部")
    data = review.spread(bf.ws("zzb"), "preliminary_review", ["r1", "r5"], 2)
    assert data["cases"] == [
        {
            "id": cid,
            "branch": "文法学院第1学生党支部",
            "committee": WENFA,
            "added": ["r1"],
            "skipped": ["r5"],
            "short": 1,
            "reviewers": ["r1"],
        }
    ]


def test_r13_only_org_assigns_and_only_reviewers_are_assigned(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    assert bf("review", "assign", str(cid), "--reviewer", "r1", user="wenfa").exit_code == 1
    wrong = bf("review", "assign", str(cid), "--reviewer", "wenfa", user="zzb")
    assert wrong.exit_code == 2 and "不是评审专家" in wrong.stderr
    assert bf("review", "assign", str(cid), "--reviewer", "nobody", user="zzb").exit_code == 3
    assert bf("review", "assign", "999", "--reviewer", "r1", user="zzb").exit_code == 3
    assert bf("review", "assign", str(cid), "--state", "preliminary_review", user="zzb").exit_code == 2
    wrong_state = bf("review", "assign", "--state", "submitted", "--reviewers", "r1", "--per-case", "1", user="zzb")
    assert wrong_state.exit_code == 1 and "只能为处于“初审通过，待评审”（preliminary_review）的申报分配评审专家，不能为“已申报，待初审”的申报分配。" in wrong_state.stderr
    assert bf("review", "assign", "--state", "preliminary_review", "--reviewers", "r1", "--per-case", "2", user="zzb").exit_code == 2
    draft = ready_case(bf, "理学院第1学生党支部", user="zzb")
    refused = bf("review", "assign", str(draft), "--reviewer", "r1", user="zzb")
    assert refused.exit_code == 1 and "只有处于“初审通过，待评审”的申报可以分配评审专家" in refused.stderr


def test_r13_unassign_only_before_the_reviewer_submitted(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", "--reviewer", "r2", user="zzb")
    bf.ok("review", "unassign", str(cid), "--reviewer", "r2", user="zzb")
    assert bf("review", "unassign", str(cid), "--reviewer", "r2", user="zzb").exit_code == 3
    score(bf, cid, "r1", 90)
    refused = bf("review", "unassign", str(cid), "--reviewer", "r1", user="zzb")
    assert refused.exit_code == 1 and refused.stderr == f"评审专家 r1 已提交申报 {cid} 的评分，不能再取消分配。\n"
    assert [r["reviewer"] for r in bf.json("review", "list", user="zzb")] == ["r1"]


# ---- scores ---------------------------------------------------------------------------------------


def test_r13_every_criterion_is_required_in_range_and_chinese_labels_are_keys(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", user="zzb")
    base = ["review", "score", str(cid)]
    six = marks(90)[:-2]
    missing = bf(*base, *six, user="r1")
    assert missing.exit_code == 2 and missing.stderr == "每项评审指标都须评分，缺少：long_term（放眼长远）。请加 --score long_term=…。\n"
    over = bf(*base, *six, "--score", "long_term=101", user="r1")
    assert over.exit_code == 2 and "评审指标 放眼长远 的分数 101 超出范围 0–100。" in over.stderr
    unknown = bf(*base, *marks(90), "--score", "luck=1", user="r1")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("没有评审指标 'luck'：可用的指标为 focus（聚焦主题）")
    chinese = ["--score", "聚焦主题=80", *marks(90)[2:]]
    done = bf.json(*base, *chinese, user="r1")
    assert done["scores"]["focus"] == 80 and done["total"] == 88.5 and done["changed"] is False


def test_r13_a_reviewer_scores_only_assigned_cases_and_changes_until_evaluated_each_audited(bf: Bf) -> None:
    cid, other = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部")
    bf.ok("review", "assign", str(cid), *(a for r in PANEL[:3] for a in ("--reviewer", r)), user="zzb")
    not_mine = bf("review", "score", str(other), *marks(90), user="r1")
    assert not_mine.exit_code == 1 and "没有分配给评审专家 r1" in not_mine.stderr
    assert bf("review", "score", str(cid), *marks(90), user="zzb").exit_code == 1  # org is not a reviewer
    score(bf, cid, "r1", 80)
    changed = bf.json("review", "score", str(cid), *marks(85), user="r1", now="2024-05-21T10:00")
    assert changed["changed"] is True and changed["total"] == 85
    rows = [h for h in bf.json("case", "history", str(cid), user="zzb") if h["trigger"] == "review_score"]
    assert [(h["actor"], h["inputs"]["total"], h["comment"]) for h in rows] == [("r1", 80, "提交评分"), ("r1", 85, "修改评分")]
    assert rows[0]["inputs"]["scores"] == dict.fromkeys(CRITERIA, 80)
    for who in ("r2", "r3"):
        score(bf, cid, who, 90)
    bf.ok("advance", str(cid), "evaluate", user="zzb", now=EVALUATION)
    late = bf("review", "score", str(cid), *marks(99), user="r1", now=EVALUATION)
    assert late.exit_code == 1 and "评分不能再修改" in late.stderr


# ---- minimum reviews, override, approve -----------------------------------------------------------


def test_r13_evaluation_is_refused_until_the_minimum_number_of_reviews_is_in(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), *(a for r in PANEL[:3] for a in ("--reviewer", r)), user="zzb")
    score(bf, cid, "r1", 95, 92, 94, 93, 92, 94, 90)
    score(bf, cid, "r2", 94, 93, 92, 95, 90, 93, 92)
    before = snapshot(bf)
    refused = bf("advance", str(cid), "evaluate", user="zzb", now=EVALUATION)
    assert refused.exit_code == 1
    assert "R13 专家评审：已提交 2 份评审意见，至少需要 3 份" in refused.stderr
    assert snapshot(bf) == before
    with pytest.raises(RuleRefused) as caught:
        engine.advance(bf.ws("zzb", EVALUATION), cid, "evaluate")
    assert caught.value.extra["rules"] == ["R13"]
    score(bf, cid, "r3", 96, 94, 93, 92, 94, 95, 93)
    bf.ok("advance", str(cid), "evaluate", user="zzb", now=EVALUATION)
    case = bf.json("case", "show", str(cid), user="zzb")
    assert case["score"] == 93.22  # (93 + 92.75 + 93.9) / 3, two decimals
    assert case["criteria"]["focus"] == 95.0
    last = bf.json("case", "history", str(cid), user="zzb")[-1]
    assert last["inputs"]["panel"] == {"reviews": 3, "score": 93.22} and last["comment"] == ""
    bf.ok("advance", str(cid), "approve", user="zzb", now="2024-06-03T10:00")  # R9 against the panel's score


def test_r13_advance_many_evaluates_each_case_with_its_own_panel_score(bf: Bf) -> None:
    a, b, c = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部", "外国语学院第3教工党支部")
    review.spread(bf.ws("zzb"), "preliminary_review", list(PANEL[:3]), 3)
    for cid, total in ((a, 95), (b, 85)):
        for who in PANEL[:3]:
            score(bf, cid, who, total)
    result = bf("advance-many", "evaluate", "--state", "preliminary_review", user="zzb", now=EVALUATION)
    assert result.exit_code == 1 and f"申报 {c}：未执行" in result.stdout and "已提交 0 份评审意见" in result.stdout
    assert [bf.json("case", "show", str(i), user="zzb")["score"] for i in (a, b)] == [95, 85]
    dry = bf.json("advance-many", "approve", "--state", "evaluated", "--dry-run", user="zzb", now="2024-06-03T10:00")
    assert [(o["id"], o["ok"]) for o in dry] == [(a, True), (b, False)]


def test_r13_an_override_needs_a_reason_and_is_audited_as_such(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", user="zzb")
    score(bf, cid, "r1", 80)
    before = snapshot(bf)
    bare = bf("advance", str(cid), "evaluate", "--data", "score=92", user="zzb", now=EVALUATION)
    assert bare.exit_code == 2
    assert (
        bare.stderr == "输入 score（人工覆盖的评审总分（默认取专家组评分））须同时给出 reason（人工覆盖的理由）：请加 --data reason=…。\n"
    )
    assert bf("advance", str(cid), "evaluate", "--data", "score=92", "--data", "reason= ", user="zzb", now=EVALUATION).exit_code == 2
    with pytest.raises(UsageError):
        engine.advance(bf.ws("zzb", EVALUATION), cid, "evaluate", {"score": "92"})
    assert snapshot(bf) == before
    bf.ok("advance", str(cid), "evaluate", "--data", "score=92", "--data", "reason=党委会复议", user="zzb", now=EVALUATION)
    last = bf.json("case", "history", str(cid), user="zzb")[-1]
    assert last["comment"] == "人工覆盖（专家组评分 80，1 份评审意见）：党委会复议"
    assert last["inputs"]["panel"] == {"reviews": 1, "score": 80.0, "override": True}
    (row,) = bf.json("review", "summary", user="zzb")
    assert (row["panel"], row["override"], row["override_reason"], row["score"], row["excellent"]) == (80.0, 92.0, "党委会复议", 92.0, True)


# ---- blind and scoped -----------------------------------------------------------------------------


def test_r13_a_reviewer_sees_the_plan_of_assigned_cases_only_and_no_one_elses_scores(bf: Bf) -> None:
    mine, other = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部")
    bf.ok("review", "assign", str(mine), "--reviewer", "r1", "--reviewer", "r2", user="zzb")
    score(bf, mine, "r2", 90)
    shown = bf.json("case", "show", str(mine), user="r1")
    assert shown["expected_outcomes"] and {a["kind"] for a in shown["attachments"]} == {"form", "stamped_scan"}
    assert shown["score"] is None
    assert bf("case", "show", str(other), user="r1").exit_code == 1
    assert bf("case", "history", str(mine), user="r1").exit_code == 1
    assert [c["id"] for c in bf.json("status", user="r1")] == [mine]
    listed = bf.json("review", "list", user="r1")
    assert [(r["id"], r["reviewer"], r["submitted"], r["total"]) for r in listed] == [(mine, "r1", False, None)]
    assert bf("review", "list", "--reviewer", "r2", user="r1").exit_code == 1
    assert bf("review", "summary", user="r1").exit_code == 1
    with pytest.raises(PermissionDenied):
        queries.history(bf.ws("r1"), mine)
    assert [c["id"] for c in queries.status(bf.ws("r1"))["cases"]] == [mine]


def test_r13_a_committee_never_sees_reviewers_or_their_scores_only_the_total_once_evaluated(bf: Bf) -> None:
    (cid,) = with_panel(bf, "文法学院第1学生党支部")
    bf.ok("review", "assign", str(cid), *(a for r in PANEL[:3] for a in ("--reviewer", r)), user="zzb")
    for who in PANEL[:3]:
        score(bf, cid, who, 91)
    assert bf("review", "list", user="wenfa").exit_code == 1
    assert bf("review", "summary", user="wenfa").exit_code == 1
    assert bf.json("case", "show", str(cid), user="wenfa")["score"] is None
    bf.ok("advance", str(cid), "evaluate", user="zzb", now=EVALUATION)
    assert bf.json("case", "show", str(cid), user="wenfa")["score"] == 91
    seen = bf.json("case", "history", str(cid), user="wenfa")
    assert not any(h["trigger"].startswith("review_") for h in seen) and seen[-1]["trigger"] == "evaluate"
    text = bf("case", "history", str(cid), user="wenfa").stdout
    assert not any(name in text for name in PANEL[:3])
    org = [h["trigger"] for h in bf.json("case", "history", str(cid), user="zzb")]
    assert org.count("review_assign") == 3 and org.count("review_score") == 3
    with pytest.raises(PermissionDenied):
        review.listing(bf.ws("wenfa"))
    with pytest.raises(NotFound):
        review.listing(bf.ws("zzb"), reviewer="nobody")


# ---- the ranked summary and its export -------------------------------------------------------------


def test_r13_the_summary_ranks_by_panel_score_and_exports_text_never_a_formula(bf: Bf, tmp_path: Path) -> None:
    a, b, c = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部", "外国语学院第3教工党支部")
    review.spread(bf.ws("zzb"), "preliminary_review", list(PANEL[:3]), 3)
    for cid, total in ((a, 85), (b, 95)):
        for who in PANEL[:3]:
            score(bf, cid, who, total)
    score(bf, c, "r1", 99)
    bf.ok("advance", str(b), "evaluate", "--data", "score=96", "--data", "reason==HYPERLINK(1)", user="zzb", now=EVALUATION)
    out = tmp_path / "评审汇总表.csv"
    rows = bf.json("review", "summary", "--csv", str(out), "--xlsx", str(tmp_path / "评审汇总表.xlsx"), user="zzb")
    assert [(r["rank"], r["id"], r["reviews"], r["score"], r["excellent"]) for r in rows] == [
        (1, c, 1, 99.0, True),
        (2, b, 3, 96.0, True),
        (3, a, 3, 85.0, False),
    ]
    assert rows[0]["enough"] is False and rows[1]["panel"] == 95.0
    with out.open(encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    assert table[0][:4] == ["名次", "编号", "支部", "分党委"] and "聚焦主题（均分）" in table[0]
    assert table[2][table[0].index("人工覆盖理由")] == "'=HYPERLINK(1)"
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "评审汇总表.xlsx").active
    assert sheet.freeze_panes == "A2"
    assert sheet.cell(1, 1).value == "名次" and sheet.column_dimensions["C"].width > 10
    reason = sheet.cell(3, table[0].index("人工覆盖理由") + 1)
    assert (reason.value, reason.data_type) == ("=HYPERLINK(1)", "s")


# ---- reminders -------------------------------------------------------------------------------------


def test_r13_reviewers_are_reminded_once_of_the_cases_they_have_not_scored(bf: Bf) -> None:
    a, b = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部")
    bf.ok("review", "assign", str(a), "--reviewer", "r1", "--reviewer", "r2", user="zzb")
    bf.ok("review", "assign", str(b), "--reviewer", "r1", "--reviewer", "r2", user="zzb")
    bf.ok("user", "add", "r6", "--role", "reviewer")  # no email: cannot be reminded
    bf.ok("review", "assign", str(b), "--reviewer", "r6", user="zzb")
    score(bf, a, "r2", 90)
    first = sweep(bf, "2024-05-24T09:00")  # preliminary_review is due 2024-05-31: the 7-day reminder
    review_rows = {(p.case_id, p.offset, p.recipient) for p in first.queued if p.kind == "review"}
    assert review_rows == {(a, "7d", "r1@example.edu.cn"), (b, "7d", "r1@example.edu.cn"), (b, "7d", "r2@example.edu.cn")}
    sent = {r.recipient: r for r in first.results if r.status == "sent"}
    assert sent["r1@example.edu.cn"].cases == (a, b)  # one message listing both
    assert sent["r2@example.edu.cn"].cases == (b,)
    assert sweep(bf, "2024-05-24T09:15").queued == []
    assert not [p for p in sweep(bf, "2024-05-25T09:00").queued if p.kind == "review"]
    later = {(p.case_id, p.recipient) for p in sweep(bf, "2024-05-28T09:00").queued if p.kind == "review"}  # the 3-day one
    assert later == {(a, "r1@example.edu.cn"), (b, "r1@example.edu.cn"), (b, "r2@example.edu.cn")}


@sqlite_only
def test_r13_a_reviewer_who_scores_before_the_reminder_is_sent_is_not_reminded(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", user="zzb")
    import sys

    from workflow import outbox as outbox_mod

    sweep_mod = sys.modules["workflow.reminders.sweep"]  # the module (the package exports its function `sweep`)
    ws = bf.ws("zzb", "2024-05-24T09:00")
    with ws.store.write() as s:  # the reminder is queued, as a sweep interrupted before sending leaves it
        planned, _ = sweep_mod.decide(s, ws.spec, ws.now, ["console"])
        sweep_mod.queue(s, [p for p in planned if p.kind == "review"], ws.now)
    score(bf, cid, "r1", 90, now="2024-05-24T09:05")
    report = sweep(bf, "2024-05-24T09:10")
    assert "r1@example.edu.cn" not in {r.recipient for r in report.results}
    (row,) = [r for r in outbox_mod.listing(bf.ws("zzb"), "cancelled") if r.recipient == "r1@example.edu.cn"]
    assert "评审专家已评分" in row.last_error


# ---- what the web's 评审 pages read from the library ----------------------------------------------------


def test_r13_a_reviewer_lists_their_own_scores_and_comment_to_change_them_and_no_one_elses(bf: Bf) -> None:
    (cid,) = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", "--reviewer", "r2", user="zzb")
    score(bf, cid, "r2", 88)
    (mine,) = review.listing(bf.ws("r1"))
    assert (mine["title"], mine["submitted"], mine["scores"], mine["comment"]) == ("建筑学院第1学生党支部特色创建", False, {}, "")
    (theirs,) = review.listing(bf.ws("r2"))
    assert theirs["scores"] == dict.fromkeys(CRITERIA, 88.0) and theirs["comment"] == "r2的意见"
    assert {r["reviewer"]: r["total"] for r in review.listing(bf.ws("zzb"))} == {"r1": None, "r2": 88.0}


def test_r13_the_score_form_is_the_declared_criteria_with_their_range() -> None:
    settings = spec.parse(spec.packaged_text()).rules.review
    fields = review.criteria_fields(settings)
    assert [(f["id"], f["label"], f["weight"]) for f in fields] == [(c.id, c.label, c.weight) for c in settings.criteria]
    assert {(f["min"], f["max"]) for f in fields} == {(0, 100)}
    with pytest.raises(UsageError, match="超出范围 0–100"):
        review.parse_scores(settings, {**dict.fromkeys(CRITERIA, 90), "focus": 100.5})


def test_r13_a_missing_criterion_is_named_without_command_line_words_and_the_cli_adds_them(bf: Bf) -> None:
    settings = spec.parse(spec.packaged_text()).rules.review
    with pytest.raises(UsageError) as caught:
        review.parse_scores(settings, dict.fromkeys(CRITERIA[:5], 90))
    err = caught.value
    assert err.text == "每项评审指标都须评分，缺少：promotion（推广经验）、long_term（放眼长远）。请为缺少的评审指标打分。"
    assert (err.field, err.value) == ("scores", ["promotion", "long_term"])
    import cli

    assert cli.say(err) == "每项评审指标都须评分，缺少：promotion（推广经验）、long_term（放眼长远）。请加 --score promotion=… --score long_term=…。"


def test_r13_only_org_lists_the_reviewers_who_may_be_assigned(bf: Bf) -> None:
    with_panel(bf)
    bf.ok("user", "disable", "r4", user="zzb")
    listed = review.reviewers(bf.ws("zzb"))
    assert [(r["name"], r["committee"]) for r in listed] == [("expert", ""), ("r1", ""), ("r2", ""), ("r3", ""), ("r5", WENFA)]
    for who in ("r1", "wenfa"):
        with pytest.raises(PermissionDenied):
            review.reviewers(bf.ws(who))


def test_r13_a_reviewer_reads_the_files_of_an_assigned_case_but_fires_nothing(bf: Bf) -> None:
    from workflow import attachments

    mine, other = with_panel(bf, "建筑学院第1学生党支部", "理学院第1学生党支部")
    bf.ok("review", "assign", str(mine), "--reviewer", "r1", user="zzb")
    assert {f.kind for f in attachments.files(bf.ws("r1"), mine)} == {"form", "stamped_scan"}
    assert bf("case", "files", str(mine), user="r1").exit_code == 0
    assert engine.options(bf.ws("r1"), mine) == []
    for read in (attachments.files, engine.options):
        with pytest.raises(PermissionDenied):
            read(bf.ws("r1"), other)
