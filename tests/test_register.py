"""The library behind the 延期与例外 and 用户 pages: the register of every extension and waiver
(deadlines.register, org only), and a user's API tokens listed without their secret and revoked one by one."""

from __future__ import annotations

import pytest
from conftest import Bf, at, ready_case

from workflow import auth, clock, deadlines, errors, present


def test_the_register_lists_every_extension_and_waiver_newest_first_with_who_when_why(bf: Bf) -> None:
    one, two = ready_case(bf), ready_case(bf, "外国语学院第1学生党支部", "waiguo")
    org = bf.ws("zzb")
    deadlines.extend_case(org, one, at("2024-05-10T23:59"), "盖章延误")
    deadlines.extend_state(bf.ws("zzb", "2024-04-26T09:00"), "draft", at("2024-05-20T23:59"), "统一延期")
    deadlines.waive(org, two, "R2", "学校党委同意")
    rows = deadlines.register(org)
    # The state's extension was registered a day later than the others: newest first by time, then by entry.
    assert [(r["kind"], r["scope"], r["reason"]) for r in rows] == [
        ("extend", "state", "统一延期"),
        ("extend", "state", "统一延期"),
        ("waive", "case", "学校党委同意"),
        ("extend", "case", "盖章延误"),
    ]
    assert {r["case"] for r in rows[:2]} == {one, two} and (rows[2]["case"], rows[3]["case"]) == (two, one)
    first_extension = rows[-1]
    assert first_extension["actor"] == "zzb" and first_extension["branch"] == "文法学院第1学生党支部"
    assert first_extension["committee"] == "文法学院分党委" and first_extension["campaign"] == 2024
    assert first_extension["until"] == at("2024-05-10T23:59") and clock.show(first_extension["from"]) == "2024-05-06 23:59"
    assert rows[2]["rule"] == "R2" and rows[2]["until"] is None
    assert clock.show(rows[2]["at"]) == "2024-04-25 09:00"
    assert [r["at"] for r in deadlines.register(org, limit=1)] == [at("2024-04-26T09:00")]
    assert deadlines.register(org, 2024) == rows


def test_the_register_is_orgs_alone(bf: Bf) -> None:
    deadlines.extend_case(bf.ws("zzb"), ready_case(bf), at("2024-05-10T23:59"), "盖章延误")
    for name in ("wenfa", "zhibu1", "expert"):
        with pytest.raises(errors.PermissionDenied, match="只有党委组织部可以查看延期与例外登记"):
            deadlines.register(bf.ws(name))


def test_the_register_sheet_speaks_in_labels(bf: Bf) -> None:
    cid = ready_case(bf)
    org = bf.ws("zzb")
    deadlines.waive(org, cid, "R2", "同意")
    deadlines.extend_case(org, cid, at("2024-05-10T23:59"), "延误")
    sheet = present.register_sheet(org.spec, deadlines.register(org))
    assert sheet.name == "延期与例外登记" and list(sheet.headers.values())[:3] == ["登记时间", "类型", "范围"]
    assert [(r["kind"], r["scope"], r["state"]) for r in sheet.rows] == [
        ("延期", "单个申报", "草稿（申报材料准备）"),
        ("例外（R2）", "单个申报", "草稿（申报材料准备）"),
    ]


def test_tokens_are_listed_without_their_secret_and_revoked_one_by_one(bf: Bf) -> None:
    org = bf.ws("zzb")
    first = auth.new_token(org, "wenfa", "统计脚本")
    second = auth.new_token(org, "wenfa", "门户")
    listed = auth.tokens(org, "wenfa")
    assert [t["label"] for t in listed] == ["统计脚本", "门户"]
    assert all(first["token"] not in str(t.values()) and "token" not in t for t in listed)
    assert auth.revoke_token(org, "wenfa", first["id"]) == {"name": "wenfa", "revoked": 1}
    assert auth.token_identity(org.store, first["token"], org.now) is None
    assert auth.token_identity(org.store, second["token"], org.now) is not None
    with pytest.raises(errors.NotFound, match="没有编号为"):
        auth.revoke_token(org, "wenfa", first["id"])  # already revoked: nothing to do, said so
    with pytest.raises(errors.NotFound):
        auth.revoke_token(org, "waiguo", second["id"])  # another user's token is not theirs to revoke
    with pytest.raises(errors.PermissionDenied):
        auth.revoke_token(bf.ws("waiguo"), "wenfa", second["id"])
