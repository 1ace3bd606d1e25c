"""Roles and scopes are enforced in workflow/, not in the CLI: these tests call the library directly."""

from __future__ import annotations

import pytest
from conftest import Bf, ready_case
from helpers import spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

from demo import sample
from workflow.errors import PermissionDenied
from workflow.intake import roster
from workflow.lifecycle import engine
from workflow.records import attachments, cases, deadlines, users
from workflow.reports import queries

# Scope filtering in queries and the history columns run on every backend; the rest on SQLite only (speed).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
OWN, OTHER = "文法学院第1学生党支部", "文法学院第2教工党支部"  # zhibu1 is the branch user of OWN


def to_september_check(bf: Bf, cid: int) -> None:
    """Org walks a ready case from draft to 已通过跟踪检查 (submitting on behalf of the committee)."""
    steps = [
        ("submit", {"attest": "true"}, "2024-05-01T09:00"),
        ("pass_review", {}, "2024-05-10T09:00"),
        ("evaluate", {"score": "95", "reason": "测试：人工录入评审结果"}, "2024-05-25T09:00"),
        ("approve", {}, "2024-06-01T09:00"),
        ("pass_check", {}, "2024-09-25T09:00"),
    ]
    for trigger, inputs, now in steps:
        engine.advance(bf.ws("zzb", now), cid, trigger, inputs)


def history(bf: Bf, cid: int) -> list[dict[str, object]]:
    return queries.history(bf.ws("zzb"), cid)


def test_org_fires_a_committee_trigger_on_behalf_of_the_owner_and_history_says_so(bf: Bf) -> None:
    cid = ready_case(bf)
    fired = engine.advance(bf.ws("zzb"), cid, "submit", {"attest": "true"}, comment="分党委委托组织部代为提交")
    assert (fired.source, fired.dest) == ("draft", "submitted")
    last = history(bf, cid)[-1]
    assert (last["actor"], last["role"], last["on_behalf_of"], last["comment"]) == ("zzb", "org", "committee", "分党委委托组织部代为提交")


@SQLITE_ONLY
def test_org_acting_for_the_branch_is_recorded_on_behalf_of_the_branch(bf: Bf) -> None:
    cid = ready_case(bf)
    to_september_check(bf, cid)
    engine.advance(bf.ws("zzb", "2025-04-20T09:00"), cid, "submit_results")
    rows = history(bf, cid)
    assert [(h["trigger"], h["on_behalf_of"]) for h in rows if h["source"] != h["dest"]] == [
        ("create", ""),
        ("submit", "committee"),
        ("pass_review", ""),
        ("evaluate", ""),
        ("approve", ""),
        ("pass_check", ""),
        ("submit_results", "branch"),
    ]


def test_committee_acts_only_on_its_own_committees_branches(bf: Bf) -> None:
    cid = ready_case(bf)
    waiguo = bf.ws("waiguo")
    with pytest.raises(PermissionDenied, match="权限不足：分党委用户 waiguo 不能操作该申报（不在其管辖范围内）。"):
        engine.advance(waiguo, cid, "submit", {"attest": "true"})
    with pytest.raises(PermissionDenied, match="不能操作该申报"):
        cases.set_fields(waiguo, cid, {"title": "改名"})
    with pytest.raises(PermissionDenied, match="不能操作该申报"):
        attachments.attach(waiguo, cid, "form", path=bf.file("x.pdf"))
    with pytest.raises(PermissionDenied, match="用户 waiguo 不能查看该申报"):
        queries.show(waiguo, cid)
    with pytest.raises(PermissionDenied, match="不能查看该申报"):
        queries.history(waiguo, cid)
    with pytest.raises(PermissionDenied, match="不能查看该申报"):
        engine.options(waiguo, cid)
    with pytest.raises(PermissionDenied, match="不能操作支部“文法学院第2教工党支部”"):
        cases.create(waiguo, OTHER, "越权申报", "人才培养")
    assert queries.status(waiguo)["cases"] == []
    assert [c["id"] for c in queries.status(bf.ws("wenfa"))["cases"]] == [cid]
    assert queries.show(bf.ws("zzb"), cid)["version"] == 4


@SQLITE_ONLY
def test_committee_fires_only_triggers_that_list_its_role(bf: Bf) -> None:
    cid = ready_case(bf)
    engine.advance(bf.ws("wenfa"), cid, "submit", {"attest": "true"})
    wenfa = bf.ws("wenfa", "2024-05-10T09:00")
    with pytest.raises(PermissionDenied, match="“初审通过”（pass_review）只能由党委组织部执行；用户 wenfa 的角色是分党委（committee）"):
        engine.advance(wenfa, cid, "pass_review")
    assert [o.trigger for o in engine.options(wenfa, cid)] == ["withdraw"]
    assert [o.trigger for o in engine.options(bf.ws("zzb", "2024-05-10T09:00"), cid)] == ["return", "pass_review", "reject", "withdraw"]


@SQLITE_ONLY
def test_branch_user_acts_only_on_its_own_case_and_only_through_triggers_listing_its_role(bf: Bf) -> None:
    own, other = ready_case(bf, OWN), ready_case(bf, OTHER)
    zhibu = bf.ws("zhibu1")
    assert engine.options(zhibu, own) == []
    with pytest.raises(PermissionDenied, match="“提交申报”（submit）只能由分党委（直属党总支）执行；用户 zhibu1 的角色是党支部（branch）"):
        engine.advance(zhibu, own, "submit", {"attest": "true"})
    with pytest.raises(PermissionDenied, match="党支部用户不能新建申报"):
        cases.create(zhibu, OWN, "支部自建", "人才培养")

    for cid in (own, other):
        to_september_check(bf, cid)
    zhibu = bf.ws("zhibu1", "2025-04-20T09:00")
    assert [o.trigger for o in engine.options(zhibu, own)] == ["submit_results"]
    with pytest.raises(PermissionDenied, match="不能查看该申报"):
        engine.options(zhibu, other)
    with pytest.raises(PermissionDenied, match="权限不足：党支部用户 zhibu1 不能操作该申报"):
        engine.advance(zhibu, other, "submit_results")
    fired = engine.advance(zhibu, own, "submit_results", comment="结项材料")
    assert fired.dest == "closing"
    last = history(bf, own)[-1]
    assert (last["actor"], last["role"], last["on_behalf_of"]) == ("zhibu1", "branch", "")
    assert [c["id"] for c in queries.status(zhibu)["cases"]] == [own]
    assert queries.show(bf.ws("zzb"), other)["state"] == "september_check"


@SQLITE_ONLY
def test_reviewer_sees_nothing_of_a_case_not_assigned_to_them_and_cannot_act(bf: Bf) -> None:
    # Issue 10 (R13, blind and scoped): a reviewer no longer reads every case, only those assigned to them.
    cid = ready_case(bf)
    engine.advance(bf.ws("wenfa"), cid, "submit", {"attest": "true"})
    expert = bf.ws("expert", "2024-05-10T09:00")
    with pytest.raises(PermissionDenied, match="权限不足：用户 expert 不能查看该申报"):
        queries.show(expert, cid)
    with pytest.raises(PermissionDenied, match="权限不足：用户 expert 不能查看该申报"):
        queries.history(expert, cid)
    assert queries.status(expert)["cases"] == []
    with pytest.raises(PermissionDenied, match="权限不足：用户 expert 不能查看该申报"):
        engine.options(expert, cid)
    with pytest.raises(PermissionDenied, match="“初审通过”（pass_review）只能由党委组织部执行；用户 expert 的角色是评审专家（reviewer）"):
        engine.advance(expert, cid, "pass_review")
    with pytest.raises(PermissionDenied, match="权限不足：评审专家用户 expert 不能操作"):
        cases.create(expert, OTHER, "评审专家申报", "人才培养")
    with pytest.raises(PermissionDenied, match="只有党委组织部可以延期"):
        deadlines.extend_case(expert, cid, expert.now.replace(month=6), "想延期")
    with pytest.raises(PermissionDenied, match="只有党委组织部可以登记规则例外"):
        deadlines.waive(expert, cid, "R2", "想豁免")
    assert queries.show(bf.ws("zzb"), cid)["version"] == 5


@SQLITE_ONLY
def test_only_org_manages_users_the_roster_and_deadlines(bf: Bf) -> None:
    cid = ready_case(bf)
    wenfa = bf.ws("wenfa")
    with pytest.raises(PermissionDenied, match="只有党委组织部可以添加用户"):
        users.add(wenfa, "newcomer", "committee", committee="文法学院分党委")
    with pytest.raises(PermissionDenied, match="只有党委组织部可以导入支部名单"):
        roster.import_file(wenfa, sample.write_csv(bf.tmp / "r.csv", sample.rows()[:3]))
    with pytest.raises(PermissionDenied, match="只有党委组织部可以调整阶段截止日期"):
        deadlines.extend_state(wenfa, "draft", wenfa.now.replace(month=6), "全体延期")
    with pytest.raises(PermissionDenied, match="只有党委组织部可以延期"):
        deadlines.extend_case(wenfa, cid, wenfa.now.replace(month=6), "延期")
    assert queries.show(bf.ws("zzb"), cid)["due_at"].date().isoformat() == "2024-05-06"
    assert "newcomer" not in [u["name"] for u in users.listing(bf.ws("zzb"))]
