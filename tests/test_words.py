"""Issue 8 item 9: labels are accepted where ids are asked (`--state 草稿`, `advance 4 提交申报`, `case set 1 预期成果=…`,
`--kind 盖章扫描件`, `--role 分党委`, the theme 其它 as 其他); ids keep working; a wrong name is a usage error (exit 2)
naming the closest names, each as `label（id）`. One resolver per vocabulary, in `workflow.spec.words`."""

from __future__ import annotations

import pytest
from conftest import PLAN, Bf

from workflow import spec, words
from workflow.errors import UsageError

SPEC = spec.parse(spec.packaged_text())


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the words are read before the database is asked anything."""
    return sqlite_url


# --- the resolvers, directly -------------------------------------------------------------------------------


def test_a_state_is_found_by_id_label_or_the_labels_head() -> None:
    states = words.states(SPEC)
    assert [states.find(w) for w in ("draft", "草稿（申报材料准备）", "草稿", "草稿(申报材料准备)", " 已申报 ")] == [
        "draft",
        "draft",
        "draft",
        "draft",
        "submitted",
    ]
    assert states.find("申报") is None
    assert SPEC.state("已立项").id == "approved"


def test_a_trigger_is_found_by_name_or_label_and_a_wrong_one_names_the_closest() -> None:
    triggers = words.triggers(SPEC)
    assert (triggers.resolve("提交申报"), triggers.resolve("submit"), triggers.resolve("SUBMIT")) == ("submit", "submit", "submit")
    with pytest.raises(UsageError) as caught:
        triggers.resolve("submitt")
    assert caught.value.code == 2 and caught.value.extra["closest"] == ["submit", "submit_results"]
    assert caught.value.message == "没有操作 'submitt'；您是否要输入 提交申报（submit）、提交结项材料（submit_results）？"
    with pytest.raises(UsageError, match="没有操作 'frobnicate'；可用的操作：提交申报（submit）、退回修改（return）"):
        triggers.resolve("frobnicate")


def test_roles_kinds_fields_and_themes_have_their_own_resolvers() -> None:
    roles = words.roles(SPEC)
    assert [roles.find(w) for w in ("分党委", "分党委（直属党总支）", "党委组织部", "党支部", "评审专家", "reviewer")] == [
        "committee",
        "committee",
        "org",
        "branch",
        "reviewer",
        "reviewer",
    ]
    assert roles.closest("组织部") == ["org"]
    assert (words.KINDS.find("盖章扫描件"), words.KINDS.find("申报表电子版"), words.KINDS.find("form")) == ("stamped_scan", "form", "form")
    assert words.KINDS.find("照片") is None
    assert (words.FIELDS.find("预期成果"), words.FIELDS.find("项目名称"), words.FIELDS.find("schedule")) == ("expected_outcomes", "title", "schedule")
    assert (words.theme(SPEC, "其它"), words.theme(SPEC, "其他"), words.theme(SPEC, "人才培养")) == ("其他", "其他", "人才培养")
    assert words.theme(SPEC, "随便") == "随便"  # left for R6 to refuse with the list
    assert words.states(SPEC).show("draft") == "草稿（申报材料准备）（draft）"


# --- through the command line ------------------------------------------------------------------------------


def test_labels_work_where_ids_are_asked_and_ids_keep_working(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "标签", "--theme", "其它", "--theme-note", "党建+志愿服务", user="wenfa")["id"]
    assert bf.json("case", "show", str(cid))["theme"] == "其他"
    labelled = {"预期成果": PLAN["expected_outcomes"], "进度安排": PLAN["schedule"], "特色与创新点": PLAN["innovation"]}
    bf.ok("case", "set", str(cid), *(f"{k}={v}" for k, v in labelled.items()), f"promotion_plan={PLAN['promotion_plan']}", user="wenfa")
    bf.ok("case", "set", str(cid), f"纪律处分条例学习活动={PLAN['discipline_activity']}", user="wenfa")
    shown = bf.json("case", "show", str(cid))
    assert shown["expected_outcomes"] == PLAN["expected_outcomes"] and shown["discipline_activity"] == PLAN["discipline_activity"]
    out = bf.ok("case", "attach", str(cid), bf.file("scan.pdf", b"%PDF-scan"), "--kind", "盖章扫描件", user="wenfa").stdout
    assert out == f"已上传 scan.pdf（盖章扫描件，stamped_scan，9 字节）到申报 {cid}。\n"
    bf.ok("case", "attach", str(cid), bf.file("form.docx", b"PK\x03\x04form"), "--kind", "form", user="wenfa")
    assert [r["id"] for r in bf.json("status", "--state", "草稿")] == [r["id"] for r in bf.json("status", "--state", "draft")] == [cid]
    done = bf.json("advance", str(cid), "提交申报", "--data", "attest=true", user="wenfa")
    assert (done["trigger"], done["state"]) == ("submit", "submitted")
    assert [h["trigger"] for h in bf.json("case", "history", str(cid))][-1] == "submit"
    assert bf.ok("user", "add", "李老师", "--role", "分党委", "--committee", "艺术学院分党委").stdout == "已添加用户 李老师（分党委，committee）。\n"
    assert {u["name"]: u["role"] for u in bf.json("user", "list")}["李老师"] == "committee"
    assert bf.json("advance-many", "pass_review", "--state", "已申报", "--dry-run")[0]["trigger"] == "pass_review"


def test_a_wrong_name_is_a_usage_error_with_the_closest_names(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "错名", "--theme", "人才培养", user="wenfa")["id"]
    wrong = bf("advance", str(cid), "submitt", "--data", "attest=true", user="wenfa")
    assert wrong.exit_code == 2
    assert wrong.stderr == "没有操作 'submitt'；您是否要输入 提交申报（submit）、提交结项材料（submit_results）？\n"
    assert bf.json("advance", str(cid), "提交", user="wenfa")["closest"] == ["submit", "submit_results"]
    kind = bf("case", "attach", str(cid), bf.file("x.pdf", b"%PDF-x"), "--kind", "照片", user="wenfa")
    assert kind.exit_code == 2 and "不是以下之一：form, stamped_scan" in kind.stderr
    state = bf("status", "--state", "草搞")
    assert state.exit_code == 2 and "您是否要输入 草稿（申报材料准备）（draft）？" in state.stderr
    role = bf("user", "add", "王老师", "--role", "组织部")
    assert role.exit_code == 2 and role.stderr == "没有角色 '组织部'；您是否要输入 党委组织部（org）？\n"
    field = bf("case", "set", str(cid), "预期成效=更多", user="wenfa")
    assert field.exit_code == 2 and "您是否要输入 预期成果（expected_outcomes）？" in field.stderr
