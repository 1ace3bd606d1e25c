"""states.yaml is checked before use: each broken file in tests/data gives its exact message, file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from workflow import spec
from workflow.errors import SpecError, UsageError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
BAD = "状态配置文件有误"

# One tiny broken file per mistake, with the line of the offending value and the message.
INVALID = [
    (
        "invalid_malformed_yaml.yaml",
        8,
        "状态配置文件不是合法的 YAML：{path} 第 8 行：expected <block end>, but found '<block mapping start>'。请检查缩进和冒号。",
    ),
    (
        "invalid_unknown_top_key.yaml",
        8,
        BAD
        + "：{path} 第 8 行（stages）：未知的键 'stages'；允许的键：version, timezone, roles, states, transitions, rules, campaigns, reminders, web",
    ),
    ("invalid_unknown_state.yaml", 8, BAD + "：{path} 第 8 行（transitions.0.dest）：未知的状态 'finished'"),
    ("invalid_unknown_role.yaml", 9, BAD + "：{path} 第 9 行（transitions.0.roles.1）：未知的角色 'secretary'；已定义的角色：org"),
    (
        "invalid_unknown_condition.yaml",
        10,
        BAD + "：{path} 第 10 行（transitions.0.conditions.1）：未知的条件 'r99_lucky'；可用的条件：r1_attested, r2_no_repeat, "
        "r3_single_case, r4_model_cycle, r5_quota, r6_one_theme, r7_complete_plan, r8_attachments, r8_on_time, r8_past_due, r9_excellent, r13_enough_reviews",
    ),
    (
        "invalid_no_way_out.yaml",
        4,
        BAD + "：{path} 第 4 行（states.1）：非终止状态没有出口：review（请加 transition 或标为 terminal: true）",
    ),
    ("invalid_unreachable_state.yaml", 5, BAD + "：{path} 第 5 行（states.2）：从初始状态无法到达：archived"),
    ("invalid_bad_date.yaml", 11, BAD + "：{path} 第 11 行（campaigns.2024.due.draft）：日期无效：'2024-02-30'；请写成 2024-05-06"),
    (
        "invalid_duplicate_trigger.yaml",
        8,
        BAD + "：{path} 第 8 行（transitions.1.trigger）：trigger 'finish' 重复定义；同一 trigger 的多个来源请写成 source 列表",
    ),
    ("invalid_duplicate_source.yaml", 7, BAD + "：{path} 第 7 行（transitions.0.source）：状态 'draft' 上的 trigger 'finish' 重复"),
    ("invalid_exit_from_terminal.yaml", 8, BAD + "：{path} 第 8 行（transitions.1.source）：终止状态 'done' 不能再有出口（reopen）"),
    (
        "invalid_two_initial_states.yaml",
        2,
        BAD + "：{path} 第 2 行（states）：须恰有一个 initial: true 的状态，实际有 2 个：['draft', 'review']",
    ),
    ("invalid_yes_is_not_true.yaml", 6, BAD + "：{path} 第 6 行（states.0.initial）：应是 true 或 false，实际是 'yes'"),
    ("invalid_duplicate_key.yaml", 6, BAD + "：{path} 第 6 行：键 label 重复出现，请只保留一个"),
    ("invalid_missing_due_date.yaml", 13, BAD + "：{path} 第 13 行（campaigns.2024.due）：2024 年缺少这些状态的截止日期：review"),
    # What the code relies on (checked once the file is otherwise valid).
    (
        "invalid_missing_role.yaml",
        1,
        BAD + "：{path} 第 1 行（roles）：缺少程序依赖的角色：committee（角色 id 须保留 org, committee, branch, reviewer；中文名可以改）",
    ),
    (
        "invalid_condition_input_missing.yaml",
        10,
        BAD + "：{path} 第 10 行（transitions.0.conditions.1）：条件 r1_attested 需要输入 attest（bool），请在“submit”的 inputs 中声明",
    ),
    (
        "invalid_condition_input_type.yaml",
        10,
        BAD + "：{path} 第 10 行（transitions.0.conditions.0）：条件 r1_attested 需要 bool 类型的输入 attest，实际声明为 text",
    ),
    (
        "invalid_score_not_declared.yaml",
        6,
        BAD
        + "：{path} 第 6 行（transitions.0.conditions.0）：条件 r9_excellent 需要输入 score（number 或 int），请在某个 transition 的 inputs 中声明",
    ),
    (
        "invalid_until_not_a_date.yaml",
        11,
        BAD + "：{path} 第 11 行（transitions.0.inputs.until.type）：输入 until 的类型须是 date，实际是 text（程序按这个类型读取它）",
    ),
    (
        "invalid_score_not_a_number.yaml",
        11,
        BAD
        + "：{path} 第 11 行（transitions.0.inputs.score.type）：输入 score 的类型须是 number 或 int，实际是 text（程序按这个类型读取它）",
    ),
    (
        "invalid_reserved_trigger.yaml",
        6,
        BAD + "：{path} 第 6 行（transitions.0.trigger）：trigger 'create' 是保留字（审计记录用 create, edit, attach, detach, extend, waive "
        "记新建、修改、上传、删除附件、延期、例外，用 review_… 记评审专家的操作），请换一个名字",
    ),
    ("invalid_version.yaml", 1, BAD + "：{path} 第 1 行（version）：version 应是 1（本程序只认识第 1 版的格式），实际是 2"),
    (
        "invalid_timezone.yaml",
        2,
        BAD + "：{path} 第 2 行（timezone）：timezone 只能是 Asia/Shanghai（截止时间、提醒都按北京时间计算），实际是 'UTC'",
    ),
    # web: what the pages show (the 黄 tag's days).
    ("invalid_web_warn_days.yaml", 11, BAD + "：{path} 第 11 行（web.warn_days）：warn_days 应在 0 到 400 之间（天），实际是 500"),
    ("invalid_web_warn_days_not_integer.yaml", 11, BAD + "：{path} 第 11 行（web.warn_days）：应是整数，实际是 '一周'"),
    ("invalid_web_unknown_key.yaml", 12, BAD + "：{path} 第 12 行（web.red_days）：未知的键 'red_days'；允许的键：warn_days"),
]

# The smallest valid file the broken ones differ from (kept inline so the data folder holds only broken files).
MINIMAL = """\
roles: {org: 党委组织部, committee: 分党委, branch: 党支部, reviewer: 评审专家}
states:
  - {id: draft, label: 草稿, owner: org, initial: true}
  - {id: done, label: 完成, terminal: true}
transitions:
  - {trigger: finish, source: draft, dest: done, roles: [org]}
rules: {not_live: [done], participated: [done], quota: {not_counted: [draft]}}
campaigns:
  2024: {due: {draft: 2024-05-06}}
"""


def check_states(path: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-states", str(path)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("name", "line", "message"), INVALID, ids=[case[0].removesuffix(".yaml") for case in INVALID])
def test_invalid_states_file_is_refused_with_its_file_and_line(name: str, line: int, message: str) -> None:
    path = DATA / name
    with pytest.raises(SpecError) as caught:
        spec.load_file(path)
    assert caught.value.message == message.format(path=path)
    assert caught.value.code == 2
    assert caught.value.extra == {"file": str(path), "line": line}


def test_the_minimal_file_the_invalid_ones_start_from_is_valid() -> None:
    loaded = spec.parse(MINIMAL, "minimal.yaml")
    assert [s.id for s in loaded.states] == ["draft", "done"]
    assert loaded.calendars[2024].due["draft"].isoformat() == "2024-05-06"


def test_check_states_exits_0_for_the_shipped_file() -> None:
    code, output = check_states(ROOT / "states.yaml")
    assert code == 0
    assert output == f"{ROOT / 'states.yaml'} 有效：14 个状态，14 个操作，年度 2024, 2025, 2026, 2027。\n"


@pytest.mark.parametrize(("name", "line", "message"), INVALID[:3] + INVALID[7:8], ids=["malformed", "top_key", "state", "date"])
def test_check_states_exits_2_with_the_message_and_no_traceback(name: str, line: int, message: str) -> None:
    code, output = check_states(DATA / name)
    assert code == 2
    assert output == message.format(path=DATA / name) + "\n"
    assert "Traceback" not in output


def test_check_states_on_a_missing_file_exits_2() -> None:
    code, output = check_states(DATA / "no_such_states.yaml")
    assert code == 2
    assert output == f"找不到状态配置文件：{DATA / 'no_such_states.yaml'}。请检查路径。\n"


def test_a_states_file_not_in_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(MINIMAL.encode("gbk"))
    code, output = check_states(path)
    assert code == 2
    assert output == f"状态配置文件不是 UTF-8 编码：{path}。请另存为 UTF-8。\n"


def test_the_shipped_states_file_is_valid_and_the_packaged_copy_is_identical() -> None:
    shipped = (ROOT / "states.yaml").read_bytes()
    assert shipped == (ROOT / "workflow" / "spec" / "states.yaml").read_bytes()
    assert spec.packaged_text() == shipped.decode("utf-8")
    loaded = spec.load_file(ROOT / "states.yaml")
    assert loaded.initial.id == "draft"
    assert {s.id for s in loaded.states if s.terminal} == {
        "completed",
        "rejected",
        "not_approved",
        "withdrawn",
        "check_failed",
        "closing_failed",
        "lapsed",
    }
    assert loaded.rules.excellent_score == 90
    assert (loaded.rules.quota.threshold, loaded.rules.quota.small, loaded.rules.quota.large) == (10, 1, 2)
    assert loaded.calendars[2024].due["draft"].isoformat() == "2024-05-06"


def test_yes_no_on_off_stay_words_and_never_become_booleans() -> None:
    text = MINIMAL.replace("{id: done, label: 完成, terminal: true}", "{id: off, label: no, terminal: true}").replace(
        "dest: done", "dest: off"
    )
    text = text.replace("not_live: [done], participated: [done]", "not_live: [off], participated: [off]")
    loaded = spec.parse(text, "words.yaml")
    assert loaded.by_id["off"].label == "no"
    assert loaded.transitions[0].dest == "off"


def test_a_year_without_calendar_is_refused_with_the_years_there_are() -> None:
    loaded = spec.parse(MINIMAL, "minimal.yaml")
    with pytest.raises(UsageError) as caught:
        loaded.calendar(2031)
    assert caught.value.message == "states.yaml 中没有 2031 年的日程；已有：2024。请在 campaigns 下增加 2031 年的各阶段截止日期。"


@pytest.mark.parametrize("name", ["create", "edit", "attach", "detach", "extend", "waive", "review_score", "review_anything"])
def test_a_trigger_named_like_a_history_row_of_its_own_is_refused(name: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec.parse(MINIMAL.replace("trigger: finish", f"trigger: {name}"), "reserved.yaml")
    assert caught.value.message.startswith(f"{BAD}：reserved.yaml 第 6 行（transitions.0.trigger）：trigger {name!r} 是保留字")


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("version: 2", 1, "version 应是 1（本程序只认识第 1 版的格式），实际是 2"),
        ('version: "1"', 1, "version 应是 1（本程序只认识第 1 版的格式），实际是 '1'"),
        ("version: true", 1, "version 应是 1（本程序只认识第 1 版的格式），实际是 True"),
        ("timezone: Asia/Tokyo", 1, "timezone 只能是 Asia/Shanghai（截止时间、提醒都按北京时间计算），实际是 'Asia/Tokyo'"),
        ("timezone: +08:00", 1, "timezone 只能是 Asia/Shanghai（截止时间、提醒都按北京时间计算），实际是 '+08:00'"),
    ],
)
def test_version_and_timezone_other_than_what_the_program_implements_are_refused(header: str, line: int, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        spec.parse(f"{header}\n{MINIMAL}", "header.yaml")
    where = header.split(":")[0]
    assert caught.value.message == f"{BAD}：header.yaml 第 {line} 行（{where}）：{message}"


def test_version_1_and_asia_shanghai_are_accepted_and_role_labels_may_change() -> None:
    text = "version: 1\ntimezone: Asia/Shanghai\n" + MINIMAL.replace("committee: 分党委", "committee: 学院党委")
    assert spec.parse(text, "ok.yaml").roles["committee"] == "学院党委"


@pytest.mark.parametrize("dropped", ["org", "committee", "branch", "reviewer"])
def test_every_role_the_code_relies_on_is_required(dropped: str) -> None:
    roles = {"org": "党委组织部", "committee": "分党委", "branch": "党支部", "reviewer": "评审专家"}
    roles.pop(dropped)
    owner = "committee" if dropped == "org" else "org"
    text = MINIMAL.replace(MINIMAL.splitlines()[0], "roles: {" + ", ".join(f"{k}: {v}" for k, v in roles.items()) + "}")
    text = text.replace("owner: org", f"owner: {owner}").replace("roles: [org]", f"roles: [{owner}]")
    with pytest.raises(SpecError) as caught:
        spec.parse(text, "roles.yaml")
    assert caught.value.message.startswith(f"{BAD}：roles.yaml 第 1 行（roles）：缺少程序依赖的角色：{dropped}（")


def test_the_required_roles_are_exactly_the_roles_access_knows() -> None:
    from workflow import access
    from workflow.spec.model import REQUIRED_ROLES

    assert set(REQUIRED_ROLES) == set(access.ROLE_LABELS)


def test_the_shipped_submit_and_evaluate_declare_the_inputs_their_rules_read() -> None:
    loaded = spec.parse(spec.packaged_text())
    attest = loaded.by_trigger["submit"].input("attest")
    score = loaded.by_trigger["evaluate"].input("score")
    until = loaded.by_trigger["return"].input("until")
    assert (attest and attest.type, score and score.type, until and until.type) == ("bool", "number", "date")


def test_every_trigger_the_library_writes_to_history_itself_is_reserved() -> None:
    """A writer of its own history rows (record(…, "name", …), history_row(…, "name", …)) must not share a
    name with a transition a department may declare: add the name to RESERVED_TRIGGERS."""
    import re

    from workflow.spec.model import RESERVED_PREFIX, RESERVED_TRIGGERS

    call = re.compile(r"\b(?:record|_history|history_row)\(\s*[^,()]+,\s*[^,()]+,\s*[^,()]+,\s*\"([a-z_]+)\"")
    written = {m.group(1) for p in (ROOT / "workflow").rglob("*.py") for m in call.finditer(p.read_text(encoding="utf-8"))}
    assert {"create", "edit", "attach", "extend", "waive"} <= written  # the pattern finds the writers
    assert sorted(n for n in written if n not in RESERVED_TRIGGERS and not n.startswith(RESERVED_PREFIX)) == []
