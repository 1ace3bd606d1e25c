"""One test per rule of the notice (R1–R9, R13), each read as the rule, through the CLI on a real database.

The sample roster (demo/sample.py): 文法学院分党委 has 12 branches, among them the national model branch
文法学院第4学生党支部 (cultivation cycle 2023-2025) and 文法学院第12教工党支部, which took part last year;
外国语学院分党委 has 8 branches (第1学生 and 第2教工 took part last year); 艺术学院分党委 has 5.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import Result
from conftest import PLAN, Bf, ready_case
from helpers import spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

from demo import sample

ROOT = Path(__file__).resolve().parents[1]
MODEL = "文法学院第4学生党支部"
# The tests whose queries count or compare (R2/R4 participation, R3 live cases, R5 quota, R8 dates, R13 scores)
# run on every backend; the others on SQLite only, which keeps the suite fast without losing a dialect difference.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
REVIEW, EVALUATION, APPROVAL = "2024-05-10T10:00", "2024-05-25T10:00", "2024-06-01T10:00"


def submit(bf: Bf, cid: int, user: str = "wenfa", now: str | None = None) -> Result:
    return bf("advance", str(cid), "submit", "--data", "attest=true", user=user, now=now)


def state_of(bf: Bf, cid: int) -> str:
    return bf.json("case", "show", str(cid))["state"]


def refusal(result: Result, *rules: str) -> str:
    """The refusal's text, after checking it is a rule refusal (exit 1) naming exactly these rules."""
    assert result.exit_code == 1, result.output
    named = [line.split(" ", 1)[0] for line in result.output.splitlines()[1:]]
    assert named == list(rules), result.output
    return result.output


def evaluate(bf: Bf, cid: int, score: str) -> None:
    bf.ok("advance", str(cid), "pass_review", user="zzb", now=REVIEW)
    bf.ok(
        "advance", str(cid), "evaluate", "--data", f"score={score}", "--data", "reason=测试：人工录入评审结果", user="zzb", now=EVALUATION
    )


def approved(bf: Bf, cid: int) -> None:
    """Walk a submitted case through review and evaluation to approved (a participation)."""
    evaluate(bf, cid, "95")
    bf.ok("advance", str(cid), "approve", user="zzb", now=APPROVAL)


def next_year(bf: Bf) -> Bf:
    """The same database a year later, with the 2025 campaign opened."""
    later = dataclasses.replace(bf, now="2025-04-25T09:00")
    later.ok("init", "--campaign", "2025")
    return later


def reimport(bf: Bf, changes: dict[str, tuple[str, str, str]]) -> None:
    """Re-import the sample roster with (上年度参与, 样板支部, 培育周期) changed for some branches."""
    rows = [r[:5] + list(changes[r[1]]) if r[1] in changes else r for r in sample.rows()]
    bf.ok("roster", "import", str(sample.write_csv(bf.tmp / "roster2.csv", rows)))


def custom_states(bf: Bf, old: str, new: str) -> None:
    """Load a states.yaml with one setting changed into the database (`init --states`)."""
    text = (ROOT / "states.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = bf.tmp / "custom_states.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    bf.ok("init", "--states", str(path), "--campaign", "2024")


@SQLITE_ONLY
def test_r1_submission_needs_the_committees_attestation(bf: Bf) -> None:
    cid = ready_case(bf)
    out = refusal(bf("advance", str(cid), "submit", "--data", "attest=false", user="wenfa"), "R1")
    assert "R1 基本条件：提交时分党委须确认支部具备基本条件、材料真实准确可行（请加 --data attest=true）。" in out
    assert state_of(bf, cid) == "draft"
    assert submit(bf, cid).exit_code == 0
    assert state_of(bf, cid) == "submitted"
    history = bf.json("case", "history", str(cid))
    assert history[-1]["trigger"] == "submit" and history[-1]["inputs"] == {"attest": True}


@SQLITE_ONLY
def test_r2_last_years_participant_is_refused_unless_org_waived_it(bf: Bf) -> None:
    cid = ready_case(bf, "外国语学院第1学生党支部", "waiguo")
    out = refusal(submit(bf, cid, "waiguo"), "R2")
    assert "R2 不重复参与：该支部上一年度已参与创建，原则上不参加本年度" in out
    assert "waive --rule R2" in out

    refused = bf("waive", str(cid), "--rule", "R2", "--reason", "分党委自己说可以", user="waiguo")
    assert refused.exit_code == 1 and "只有党委组织部可以登记规则例外" in refused.output
    assert submit(bf, cid, "waiguo").exit_code == 1

    bf.ok("waive", str(cid), "--rule", "R2", "--reason", "校党委同意继续培育", user="zzb")
    assert submit(bf, cid, "waiguo").exit_code == 0
    case = bf.json("case", "show", str(cid))
    assert case["state"] == "submitted"
    assert [(w["rule"], w["reason"], w["actor"]) for w in case["waivers"]] == [("R2", "校党委同意继续培育", "zzb")]
    waived = [h for h in bf.json("case", "history", str(cid)) if h["trigger"] == "waive"]
    assert [(h["actor"], h["role"], h["comment"], h["inputs"]) for h in waived] == [("zzb", "org", "校党委同意继续培育", {"rule": "R2"})]


@SQLITE_ONLY
def test_r2_a_waiver_covers_only_the_case_it_was_granted_for(bf: Bf) -> None:
    first = ready_case(bf, "文法学院第12教工党支部")
    bf.ok("waive", str(first), "--rule", "R2", "--reason", "例外", user="zzb")
    bf.ok("advance", str(first), "withdraw", user="wenfa")
    second = ready_case(bf, "文法学院第12教工党支部")
    refusal(submit(bf, second), "R2")


def test_r2_participation_is_read_from_last_years_campaign_in_the_database_before_the_roster(bf: Bf) -> None:
    took_part = ready_case(bf, "艺术学院第1学生党支部", "yishu")  # roster: did not take part in 2023
    assert submit(bf, took_part, "yishu").exit_code == 0
    approved(bf, took_part)
    later = next_year(bf)

    again = ready_case(later, "艺术学院第1学生党支部", "yishu")
    refusal(submit(later, again, "yishu"), "R2")
    # The roster says 外国语学院第1学生党支部 took part "last year", but the database knows 2024: it did not.
    fresh = ready_case(later, "外国语学院第1学生党支部", "waiguo")
    assert submit(later, fresh, "waiguo").exit_code == 0


@SQLITE_ONLY
def test_r2_a_case_that_went_no_further_than_submission_is_no_participation(bf: Bf) -> None:
    cid = ready_case(bf, "艺术学院第2教工党支部", "yishu")
    assert submit(bf, cid, "yishu").exit_code == 0
    bf.ok("advance", str(cid), "reject", user="zzb", now=REVIEW)
    later = next_year(bf)
    again = ready_case(later, "艺术学院第2教工党支部", "yishu")
    assert submit(later, again, "yishu").exit_code == 0


def test_r3_a_branch_has_one_live_case_per_campaign(bf: Bf) -> None:
    cid = ready_case(bf)
    second = bf("case", "new", "--branch", "文法学院第1学生党支部", "--title", "第二个申报", "--theme", "教学科研", user="wenfa")
    assert second.exit_code == 1
    assert second.output == "R3 不联合申报：支部“文法学院第1学生党支部”在2024年特色支部创建中已有有效申报，不能再建第二个。\n"
    assert len(bf.json("status")) == 1

    bf.ok("advance", str(cid), "withdraw", user="wenfa")
    renewed = ready_case(bf)
    assert submit(bf, renewed).exit_code == 0
    bf.ok("advance", str(renewed), "reject", user="zzb", now=REVIEW)
    third = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "第三个", "--theme", "学科建设", user="wenfa")
    assert third["id"] > renewed
    assert [c["branch"] for c in bf.json("status")] == ["文法学院第1学生党支部"] * 3


@SQLITE_ONLY
def test_r3_the_same_branch_may_take_part_in_another_campaign(bf: Bf) -> None:
    ready_case(bf)
    later = next_year(bf)
    new = ("case", "new", "--branch", "文法学院第1学生党支部", "--title", "再次申报", "--theme", "人才培养")
    assert later(*new, user="wenfa").exit_code == 0  # the latest campaign: 2025
    assert later(*new, "--campaign", "2024", user="wenfa").exit_code == 1


def test_r4_model_branch_is_not_counted_in_the_quota(bf: Bf) -> None:
    model = ready_case(bf, MODEL)
    assert submit(bf, model).exit_code == 0
    first, second = ready_case(bf, "文法学院第1学生党支部"), ready_case(bf, "文法学院第2教工党支部")
    assert submit(bf, first).exit_code == 0
    assert submit(bf, second).exit_code == 0
    third = ready_case(bf, "文法学院第3教工党支部")
    assert "已推荐 2 个" in refusal(submit(bf, third), "R5")


@SQLITE_ONLY
def test_r4_model_branch_is_not_blocked_by_r2(bf: Bf) -> None:
    # Took part in 2023, before its cultivation cycle 2024-2026 began: R2 would refuse an ordinary branch.
    reimport(bf, {MODEL: ("是", "是", "2024-2026")})
    cid = ready_case(bf, MODEL)
    assert submit(bf, cid).exit_code == 0


@SQLITE_ONLY
def test_r4_model_branch_takes_part_once_per_cycle_counting_the_roster_column(bf: Bf) -> None:
    reimport(bf, {MODEL: ("是", "是", "2023-2025")})  # took part in 2023, inside its cycle
    cid = ready_case(bf, MODEL)
    out = refusal(submit(bf, cid), "R4")
    assert "R4 样板支部：该样板支部在本培育创建周期内已参与过一次特色支部创建，不能再次参与。" in out


def test_r4_model_branch_takes_part_once_per_cycle_counting_earlier_campaigns_in_the_database(bf: Bf) -> None:
    cid = ready_case(bf, MODEL)
    assert submit(bf, cid).exit_code == 0
    approved(bf, cid)
    later = next_year(bf)
    again = ready_case(later, MODEL)
    refusal(submit(later, again), "R4")
    not_waivable = later("waive", str(again), "--rule", "R4", "--reason", "再参与一次", user="zzb")
    assert not_waivable.exit_code == 2 and not_waivable.output == "规则 R4 不能豁免；可豁免的规则：R2。\n"


@SQLITE_ONLY
def test_r4_a_participation_from_the_roster_column_still_counts_later_in_the_cycle(bf: Bf) -> None:
    reimport(bf, {MODEL: ("是", "是", "2023-2025")})
    refusal(submit(bf, ready_case(bf, MODEL)), "R4")
    bf.ok("advance", "1", "withdraw", user="wenfa")
    later = next_year(bf)
    refusal(submit(later, ready_case(later, MODEL)), "R4")


@SQLITE_ONLY
def test_r4_next_years_roster_saying_no_does_not_erase_an_earlier_participation(bf: Bf) -> None:
    reimport(bf, {MODEL: ("是", "是", "2023-2025")})  # imported for 2024: took part in 2023
    later = next_year(bf)
    reimport(later, {MODEL: ("否", "是", "2023-2025")})  # imported for 2025: did not take part in 2024
    refusal(submit(later, ready_case(later, MODEL)), "R4")


def test_r5_committee_with_ten_or_more_branches_recommends_two(bf: Bf) -> None:
    cases = [ready_case(bf, f"文法学院第{n}教工党支部") for n in (2, 3, 5)]
    assert submit(bf, cases[0]).exit_code == 0
    assert submit(bf, cases[1]).exit_code == 0
    out = refusal(submit(bf, cases[2]), "R5")
    assert "R5 推荐名额：该分党委本年度最多推荐 2 个支部，已推荐 2 个；请先撤回其他申报再提交。" in out


@SQLITE_ONLY
def test_r5_committee_with_fewer_than_ten_branches_recommends_one(bf: Bf) -> None:
    first, second = ready_case(bf, "外国语学院第3教工党支部", "waiguo"), ready_case(bf, "外国语学院第4学生党支部", "waiguo")
    assert submit(bf, first, "waiguo").exit_code == 0
    assert "最多推荐 1 个支部，已推荐 1 个" in refusal(submit(bf, second, "waiguo"), "R5")
    # Another committee's quota is its own.
    assert submit(bf, ready_case(bf, "艺术学院第1学生党支部", "yishu"), "yishu").exit_code == 0


def test_r5_withdrawn_rejected_and_returned_cases_are_not_counted(bf: Bf) -> None:
    a, b, c = (ready_case(bf, f"艺术学院第{n}教工党支部", "yishu") for n in (2, 3, 5))
    assert submit(bf, a, "yishu").exit_code == 0
    refusal(submit(bf, b, "yishu"), "R5")

    bf.ok("advance", str(a), "return", "--data", "until=2024-05-20", user="zzb", now="2024-05-01T09:00")
    assert submit(bf, b, "yishu", now="2024-05-02T10:00").exit_code == 0
    refusal(submit(bf, a, "yishu", now="2024-05-03T10:00"), "R5")

    bf.ok("advance", str(b), "reject", user="zzb", now="2024-05-04T09:00")
    assert submit(bf, a, "yishu", now="2024-05-04T10:00").exit_code == 0

    bf.ok("advance", str(a), "withdraw", user="yishu", now="2024-05-05T09:00")
    assert submit(bf, c, "yishu", now="2024-05-05T10:00").exit_code == 0


@SQLITE_ONLY
def test_r5_cases_further_on_keep_counting(bf: Bf) -> None:
    a, b = ready_case(bf, "艺术学院第2教工党支部", "yishu"), ready_case(bf, "艺术学院第3教工党支部", "yishu")
    assert submit(bf, a, "yishu").exit_code == 0
    evaluate(bf, a, "80")
    bf.ok("advance", str(a), "decline", user="zzb", now=APPROVAL)
    refusal(submit(bf, b, "yishu"), "R5")


def test_r5_every_branch_counts_towards_the_threshold_the_model_branch_included(bf: Bf) -> None:
    rows = [["医学院分党委", f"医学院第{n}党支部", "10", "王伟", "", "否", "否", ""] for n in range(1, 10)]
    rows.append(["医学院分党委", "医学院样板党支部", "10", "李娜", "", "否", "是", "2023-2025"])
    bf.ok("roster", "import", str(sample.write_csv(bf.tmp / "medicine.csv", rows)))
    bf.ok("user", "add", "yixue", "--role", "committee", "--committee", "医学院分党委")
    a, b, c = (ready_case(bf, f"医学院第{n}党支部", "yixue") for n in (1, 2, 3))
    assert submit(bf, a, "yixue").exit_code == 0
    assert submit(bf, b, "yixue").exit_code == 0
    assert "最多推荐 2 个支部" in refusal(submit(bf, c, "yixue"), "R5")


@SQLITE_ONLY
def test_r5_the_quota_numbers_come_from_states_yaml(bf: Bf) -> None:
    custom_states(bf, "threshold: 10", "threshold: 5")
    a, b, c = (ready_case(bf, f"艺术学院第{n}教工党支部", "yishu") for n in (2, 3, 5))
    assert submit(bf, a, "yishu").exit_code == 0
    assert submit(bf, b, "yishu").exit_code == 0
    assert "最多推荐 2 个支部" in refusal(submit(bf, c, "yishu"), "R5")


@SQLITE_ONLY
def test_r6_one_theme_of_the_five_or_other_with_a_note(bf: Bf) -> None:
    new = ("case", "new", "--branch", "文法学院第1学生党支部", "--title", "党建创新")
    wrong = bf(*new, "--theme", "党建", user="wenfa")
    assert wrong.exit_code == 1
    assert wrong.output == (
        "R6 创建方向：“党建”不是可选方向，请从 人才培养、教学科研、学科建设、人才队伍建设、服务社会或师生、其他 中选一个。\n"
    )
    bare = bf(*new, "--theme", "其他", user="wenfa")
    assert bare.exit_code == 1
    assert bare.output == "R6 创建方向：选择“其他”时须填写方向说明（theme_note）。\n"
    assert bf.json("status") == []

    cid = bf.json(*new, "--theme", "其他", "--theme-note", "党建+校园文化", user="wenfa")["id"]
    for pair in ("theme=人才培养,教学科研", "theme_note="):
        refused = bf("case", "set", str(cid), pair, user="wenfa")
        assert refused.exit_code == 1 and refused.output.startswith("R6 创建方向："), refused.output
    case = bf.json("case", "show", str(cid))
    assert (case["theme"], case["theme_note"], case["version"]) == ("其他", "党建+校园文化", 1)
    bf.ok("case", "set", str(cid), "theme=教学科研", user="wenfa")
    assert bf.json("case", "show", str(cid))["theme"] == "教学科研"


@SQLITE_ONLY
def test_r7_every_missing_plan_item_is_named_in_chinese(bf: Bf) -> None:
    cid = ready_case(bf)
    bf.ok("case", "set", str(cid), "innovation=", "promotion_plan=   ", "discipline_activity=", user="wenfa")
    out = refusal(submit(bf, cid), "R7")
    assert "R7 方案不完整：缺少特色与创新点、交流推广方案、纪律处分条例学习活动；请用 case set 补全后再提交。" in out

    bf.ok("case", "set", str(cid), "expected_outcomes=", "schedule=", user="wenfa")
    out = refusal(submit(bf, cid), "R7")
    assert "缺少预期成果、进度安排、特色与创新点、交流推广方案、纪律处分条例学习活动" in out

    bf.ok("case", "set", str(cid), *(f"{k}={v}" for k, v in PLAN.items()), user="wenfa")
    assert submit(bf, cid).exit_code == 0


@SQLITE_ONLY
def test_r7_r8_and_r1_refusals_come_together_one_line_each(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "空白申报", "--theme", "人才培养", user="wenfa")["id"]
    out = refusal(bf("advance", str(cid), "submit", "--data", "attest=no", user="wenfa"), "R1", "R7", "R8")
    assert out.splitlines()[0] == "申报 1（文法学院第1学生党支部）不能“提交申报”：3 项规则不满足。"


@SQLITE_ONLY
def test_r8_both_attachments_are_part_of_a_submission(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "材料", "--theme", "人才培养", user="wenfa")["id"]
    bf.ok("case", "set", str(cid), *(f"{k}={v}" for k, v in PLAN.items()), user="wenfa")
    assert "R8 申报材料：缺少申报表电子版、盖章扫描件；请用 case attach 上传后再提交。" in refusal(submit(bf, cid), "R8")

    bf.ok("case", "attach", str(cid), bf.file("申报表.docx", b"PK\x03\x04sbody"), "--kind", "form", user="wenfa")
    assert "R8 申报材料：缺少盖章扫描件；" in refusal(submit(bf, cid), "R8")

    bf.ok("case", "attach", str(cid), bf.file("盖章.pdf", b"%PDF-1.4scan"), "--kind", "stamped_scan", user="wenfa")
    assert submit(bf, cid).exit_code == 0
    attachments = bf.json("case", "show", str(cid))["attachments"]
    assert [(a["kind"], a["name"], a["size"]) for a in attachments] == [("form", "申报表.docx", 9), ("stamped_scan", "盖章.pdf", 12)]
    # Stored under its hash, never under the name the user chose.
    stored = bf.tmp / "files" / attachments[0]["sha256"][:2] / attachments[0]["sha256"]
    assert stored.read_bytes() == b"PK\x03\x04sbody"
    assert not list((bf.tmp / "files").rglob("申报表.docx"))


def test_r8_submission_after_the_due_date_is_refused_unless_org_extended_that_case(bf: Bf) -> None:
    cid, other = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    assert submit(bf, other, now="2024-05-06T23:59").exit_code == 0  # the last minute of the due day still counts
    out = refusal(submit(bf, cid, now="2024-05-07T00:00"), "R8")
    assert "R8 申报截止：申报已于 2024-05-06 23:59 截止；如需补报，请党委组织部为该申报延期（extend）。" in out

    by_committee = bf("extend", str(cid), "--until", "2024-05-10", "--reason", "盖章延误", user="wenfa", now="2024-05-07T09:00")
    assert by_committee.exit_code == 1 and "只有党委组织部可以延期" in by_committee.output
    bf.ok("extend", str(cid), "--until", "2024-05-10", "--reason", "盖章延误", user="zzb", now="2024-05-07T09:00")
    assert submit(bf, cid, now="2024-05-10T18:00").exit_code == 0
    extension = [h for h in bf.json("case", "history", str(cid)) if h["trigger"] == "extend"]
    assert [(h["actor"], h["comment"]) for h in extension] == [("zzb", "盖章延误")]


@SQLITE_ONLY
def test_r8_an_extension_of_one_case_does_not_open_the_others(bf: Bf) -> None:
    extended, late = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    bf.ok("extend", str(extended), "--until", "2024-05-10", "--reason", "盖章延误", user="zzb", now="2024-05-07T09:00")
    refusal(submit(bf, late, now="2024-05-08T09:00"), "R8")
    assert bf.json("case", "show", str(late))["due_at"].startswith("2024-05-06")


@SQLITE_ONLY
def test_r8_extend_state_moves_the_due_date_of_every_draft(bf: Bf) -> None:
    first, second = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    moved = bf.json("extend", "--state", "draft", "--until", "2024-05-13", "--reason", "五一调休顺延", user="zzb", now="2024-05-07T09:00")
    assert moved["cases"] == [first, second]
    assert submit(bf, first, now="2024-05-13T12:00").exit_code == 0
    assert submit(bf, second, now="2024-05-13T12:00").exit_code == 0
    # A case opened after the move takes the campaign's new date too.
    later = ready_case(bf, "艺术学院第1学生党支部", "yishu")
    assert bf.json("case", "show", str(later))["due_at"].startswith("2024-05-13")


@SQLITE_ONLY
def test_extend_state_moves_the_september_check_for_cases_that_reach_it_later(bf: Bf) -> None:
    cid = ready_case(bf)
    assert submit(bf, cid).exit_code == 0
    evaluate(bf, cid, "95")
    moved = bf.json("extend", "--state", "approved", "--until", "2024-10-15", "--reason", "跟踪检查推迟到十月", user="zzb", now=APPROVAL)
    assert moved["cases"] == []
    bf.ok("advance", str(cid), "approve", user="zzb", now=APPROVAL)
    assert bf.json("case", "show", str(cid))["due_at"].startswith("2024-10-15")
    assert bf.json("overdue", now="2024-10-08T09:00") == []


@SQLITE_ONLY
def test_extend_state_keeps_a_later_extension_of_one_case(bf: Bf) -> None:
    extended, other = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    bf.ok("extend", str(extended), "--until", "2024-05-31", "--reason", "个别延期", user="zzb", now="2024-05-07T09:00")
    moved = bf.json("extend", "--state", "draft", "--until", "2024-05-13", "--reason", "全体顺延", user="zzb", now="2024-05-07T09:00")
    assert moved["cases"] == [other]
    assert bf.json("case", "show", str(extended))["due_at"].startswith("2024-05-31")
    assert bf.json("case", "show", str(other))["due_at"].startswith("2024-05-13")


@SQLITE_ONLY
def test_r9_approval_only_with_an_excellent_score(bf: Bf) -> None:
    good, fair = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    for cid, score in ((good, "90"), (fair, "89.5")):
        assert submit(bf, cid).exit_code == 0
        evaluate(bf, cid, score)
    out = refusal(bf("advance", str(fair), "approve", user="zzb", now=APPROVAL), "R9")
    assert "R9 评审优秀：立项须评审分不低于 90，评审分 89.5；可选择“不予立项”（decline）。" in out
    assert state_of(bf, fair) == "evaluated"
    bf.ok("advance", str(fair), "decline", user="zzb", now=APPROVAL)
    bf.ok("advance", str(good), "approve", user="zzb", now=APPROVAL)
    assert (state_of(bf, good), state_of(bf, fair)) == ("approved", "not_approved")


@SQLITE_ONLY
def test_r9_the_excellent_score_comes_from_states_yaml(bf: Bf) -> None:
    custom_states(bf, "excellent_score: 90", "excellent_score: 85")
    cid = ready_case(bf)
    assert submit(bf, cid).exit_code == 0
    evaluate(bf, cid, "86")
    bf.ok("advance", str(cid), "approve", user="zzb", now=APPROVAL)
    assert state_of(bf, cid) == "approved"


def test_r13_the_evaluation_records_a_score_per_criterion(bf: Bf) -> None:
    cid = ready_case(bf)
    assert submit(bf, cid).exit_code == 0
    bf.ok("advance", str(cid), "pass_review", user="zzb", now=REVIEW)
    criteria = {"focus": "95", "feature": "92", "quality": "90", "effect": "88", "process": "91", "promotion": "93", "long_term": "94.5"}
    bf.ok(
        "advance",
        str(cid),
        "evaluate",
        "--data",
        "score=92",
        "--data=reason=测试：人工录入评审结果",
        *(f"--data={k}={v}" for k, v in criteria.items()),
        user="zzb",
        now=EVALUATION,
    )
    case = bf.json("case", "show", str(cid))
    assert case["score"] == 92
    assert case["criteria"] == {k: float(v) for k, v in criteria.items()}
    assert bf.json("case", "history", str(cid))[-1]["inputs"]["long_term"] == 94.5


@SQLITE_ONLY
def test_return_for_revision_sets_the_drafts_due_date_from_until(bf: Bf) -> None:
    cid = ready_case(bf)
    assert submit(bf, cid).exit_code == 0
    bf.ok("advance", str(cid), "return", "--data", "until=2024-05-20", "--comment", "请补充进度安排", user="zzb", now="2024-05-08T09:00")
    case = bf.json("case", "show", str(cid))
    assert case["state"] == "draft"
    assert case["due_at"].startswith("2024-05-20") and "23:59" in case["due_at"]
    assert bf.json("case", "history", str(cid))[-1]["comment"] == "请补充进度安排"
    bf.ok("case", "set", str(cid), "schedule=5月启动，6月中期，次年4月总结", user="wenfa", now="2024-05-15T09:00")
    assert submit(bf, cid, now="2024-05-20T20:00").exit_code == 0


def test_a_case_resubmitted_after_the_states_date_gets_late_entry_days_instead_of_being_overdue_at_once(bf: Bf) -> None:
    cid = ready_case(bf)
    assert submit(bf, cid).exit_code == 0
    bf.ok("advance", str(cid), "return", "--data", "until=2024-05-25", user="zzb", now="2024-05-10T09:00")
    assert submit(bf, cid, now="2024-05-20T09:00").exit_code == 0  # the calendar's 2024-05-17 has passed
    assert bf.json("case", "show", str(cid))["due_at"] == "2024-05-27T23:59:59+08:00"  # 7 days (rules.late_entry_days)
    assert bf.json("overdue", now="2024-05-21T09:00") == []
