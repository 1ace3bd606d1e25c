"""queries.committee_overview (the 分党委 page's data), directly in the library on every backend: a committee's
branches from the roster, each with its case of the year and its R2/R4 standing by the rules' own facts, and
the R5 quota used and allowed; scoped like every listing."""

from __future__ import annotations

import pytest
from conftest import Bf, ready_case

from demo import sample
from workflow import present, queries
from workflow.errors import NotFound, PermissionDenied

WENFA = "文法学院分党委"  # 12 branches: may recommend 2; 第4 is a model branch (2023-2025), 第12 took part in 2023


def branch(overview: dict, name: str) -> dict:
    return next(b for b in overview["branches"] if b["name"] == name)


def test_a_committee_sees_its_roster_its_cases_and_the_quota(bf: Bf) -> None:
    first = ready_case(bf)
    model = ready_case(bf, "文法学院第4学生党支部")
    ready_case(bf, "外国语学院第3教工党支部", "waiguo")
    o = queries.committee_overview(bf.ws("wenfa"))
    assert (o["committee"], o["campaign"], o["branch_count"], o["with_case"]) == (WENFA, 2024, 12, 2)
    assert [b["name"] for b in o["branches"]] == [b["name"] for b in queries.branches(bf.ws("wenfa"))]
    assert (o["quota_used"], o["quota_limit"]) == (0, 2)  # drafts are not counted (rules.quota.not_counted)
    assert branch(o, "文法学院第1学生党支部")["case"] == {
        "id": first,
        "title": "文法学院第1学生党支部特色创建",
        "state": "draft",
        "state_label": "草稿（申报材料准备）",
        "counted": False,
    }
    assert branch(o, "文法学院第2教工党支部")["case"] is None
    bf.ok("advance", str(first), "submit", "--data", "attest=true", user="wenfa")
    bf.ok("advance", str(model), "submit", "--data", "attest=true", user="wenfa")
    o = queries.committee_overview(bf.ws("wenfa"))
    # R4: a model branch inside its cycle does not count against the quota (R5).
    assert (o["quota_used"], o["quota_limit"]) == (1, 2)
    assert branch(o, "文法学院第1学生党支部")["case"]["counted"] is True
    assert branch(o, "文法学院第4学生党支部")["case"]["counted"] is False
    # The same count the rule reads: with the quota used up, R5 refuses the next submission in these numbers.
    bf.ok("advance", str(ready_case(bf, "文法学院第2教工党支部")), "submit", "--data", "attest=true", user="wenfa")
    o = queries.committee_overview(bf.ws("wenfa"))
    assert (o["quota_used"], o["quota_limit"]) == (2, 2)
    refused = bf("advance", str(ready_case(bf, "文法学院第3教工党支部")), "submit", "--data", "attest=true", user="wenfa")
    assert refused.exit_code == 1 and "最多推荐 2 个支部，已推荐 2 个" in refused.output


def test_r2_and_r4_standing_are_the_rules_own_verdicts(bf: Bf) -> None:
    o = queries.committee_overview(bf.ws("wenfa"))
    repeat, model, plain = (branch(o, f"文法学院第{n}") for n in ("12教工党支部", "4学生党支部", "2教工党支部"))
    assert repeat["took_part_last_year"] and repeat["r2"] == (
        "R2 不重复参与：该支部上一年度已参与创建，原则上不参加本年度；如确需参加，请党委组织部登记例外。"
    )
    assert present.r2_standing(repeat) == repeat["r2"]
    assert (model["model_in_cycle"], model["cycle"], model["r4"]) == (True, "2023-2025", None)
    assert present.r4_standing(model) == "样板支部（培育周期 2023-2025）：本周期尚未参与，可参与一次，不占推荐名额"
    assert (plain["r2"], plain["r4"], present.r2_standing(plain), present.r4_standing(plain)) == (None, None, "上年度未参与：可以参加", "非样板支部")
    # A waiver registered by org lifts R2 for that branch's case.
    cid = ready_case(bf, "文法学院第12教工党支部")
    bf.ok("waive", str(cid), "--rule", "R2", "--reason", "学校党委同意继续参与", user="zzb")
    waived = branch(queries.committee_overview(bf.ws("wenfa")), "文法学院第12教工党支部")
    assert (waived["r2"], waived["r2_waived"]) == (None, True)
    assert present.r2_standing(waived) == "上年度已参与；已登记 R2 例外，可以参加"


def test_a_model_branch_that_took_part_in_its_cycle_is_blocked_by_r4_not_r2(bf: Bf) -> None:
    rows = [[*r[:5], "是", *r[6:]] if r[1] == "文法学院第4学生党支部" else r for r in sample.rows()]
    bf.ok("roster", "import", str(sample.write_csv(bf.tmp / "roster2.csv", rows)))
    model = branch(queries.committee_overview(bf.ws("wenfa")), "文法学院第4学生党支部")
    assert (model["took_part_last_year"], model["model_in_cycle"], model["model_participations_in_cycle"]) == (True, True, 1)
    assert model["r2"] is None and present.r2_standing(model) == "上年度已参与；样板支部在培育周期内，不受 R2 限制"
    assert model["r4"] == "R4 样板支部：该样板支部在本培育创建周期内已参与过一次特色支部创建，不能再次参与。"
    assert present.r4_standing(model) == model["r4"]


def test_the_live_case_stands_for_its_branch_over_a_withdrawn_one(bf: Bf) -> None:
    old = ready_case(bf)
    bf.ok("advance", str(old), "withdraw", user="wenfa")
    new = ready_case(bf)
    assert branch(queries.committee_overview(bf.ws("wenfa")), "文法学院第1学生党支部")["case"]["id"] == new


def test_the_overview_is_scoped_a_committee_never_sees_another(bf: Bf) -> None:
    ready_case(bf, "外国语学院第1学生党支部", "waiguo")
    with pytest.raises(NotFound, match="没有名为“外国语学院分党委”的分党委"):
        queries.committee_overview(bf.ws("wenfa"), "外国语学院分党委")
    assert queries.committee_overview(bf.ws("wenfa"), WENFA)["committee"] == WENFA
    other = queries.committee_overview(bf.ws("zzb"), "外国语学院分党委")
    assert branch(other, "外国语学院第1学生党支部")["case"] is not None
    assert queries.committee_overview(bf.ws("zzb"))["committee"] == min(queries.committee_names(bf.ws("zzb")))
    for who in ("zhibu1", "expert"):
        with pytest.raises(PermissionDenied, match="分党委情况只有分党委和党委组织部可以查看"):
            queries.committee_overview(bf.ws(who))
    with pytest.raises(NotFound):
        queries.committee_overview(bf.ws("zzb"), "没有这个分党委")
