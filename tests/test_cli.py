"""The command line: help with examples, --json shapes, exports for leaders, the overdue list, layering.

The database (built once, copied per test) holds five cases of the 2024 campaign:
1 文法学院第1学生党支部 draft, never submitted (due 2024-05-06)
2 文法学院第2教工党支部 submitted, never reviewed (due 2024-05-17)
3 艺术学院第1学生党支部 approved (due 2024-09-30, the September check)
4 外国语学院第3教工党支部 past the September check (due 2025-04-30)
5 文法学院第3教工党支部 rejected (terminal: never overdue)
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner
from conftest import Bf, ready_case
from helpers import (
    Seeded,
    seed_roster_and_users,
    spec_parsed_once,  # noqa: F401  (autouse: parse states.yaml once)
)
from openpyxl import load_workbook

from cli import cli
from workflow import present

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
LATE_SEPTEMBER, EARLY_OCTOBER = "2024-09-25T09:00", "2024-10-08T09:00"
CASE_KEYS = {"id", "branch", "committee", "state", "state_label", "due_at", "version"}
HISTORY_KEYS = {"at", "actor", "role", "trigger", "source", "dest", "comment"}


def build(b: Bf) -> None:
    seed_roster_and_users(b)
    ids = [
        ready_case(b, "文法学院第1学生党支部"),
        ready_case(b, "文法学院第2教工党支部"),
        ready_case(b, "艺术学院第1学生党支部", "yishu"),
        ready_case(b, "外国语学院第3教工党支部", "waiguo"),
        ready_case(b, "文法学院第3教工党支部"),
    ]
    assert ids == [1, 2, 3, 4, 5]
    for cid, user in ((2, "wenfa"), (3, "yishu"), (4, "waiguo"), (5, "wenfa")):
        b.ok("advance", str(cid), "submit", "--data", "attest=true", user=user)
    b.ok("advance", "5", "reject", "--comment", "材料不符合要求", user="zzb", now="2024-05-10T09:00")
    for cid in ("3", "4"):
        b.ok("advance", cid, "pass_review", user="zzb", now="2024-05-10T09:00")
        b.ok(
            "advance",
            cid,
            "evaluate",
            "--data",
            "score=95",
            "--data",
            "focus=96",
            "--data",
            "reason=测试：人工录入评审结果",
            user="zzb",
            now="2024-05-25T09:00",
        )
        b.ok("advance", cid, "approve", user="zzb", now="2024-06-01T09:00")
    b.ok("advance", "4", "pass_check", user="zzb", now=LATE_SEPTEMBER)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(tmp_path_factory.mktemp("seeded"), build)


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    return seeded.copy(tmp_path, monkeypatch)


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand, as its path of names."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def at(text: str) -> datetime:
    """A JSON time: ISO-8601 with its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def shanghai(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


@pytest.mark.parametrize("path", [(), *commands()], ids=lambda p: " ".join(p) or "branchflow")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    paragraphs = [" ".join(p.split()) for p in result.output.split("\n\n")]  # click wraps long examples
    examples = [p for p in paragraphs if p.startswith("Example:") and "branchflow " in p]
    assert examples, f"branchflow {' '.join(path)} --help has no 'Example: … branchflow …'"
    assert " ".join(path) in examples[0]


def test_help_is_in_chinese_and_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "特色支部创建工作流（Branchflow）" in result.output
    for name in ("init", "check-states", "roster", "case", "triggers", "advance", "extend", "waive", "status", "overdue", "graph"):
        assert f"  {name} " in result.output, name


def test_status_json_is_a_bare_array_of_case_objects(db: Bf) -> None:
    cases = db.json("status")
    assert isinstance(cases, list) and [c["id"] for c in cases] == [1, 2, 3, 4, 5]
    assert all(set(c) >= CASE_KEYS for c in cases)
    first = cases[0]
    assert (first["branch"], first["committee"], first["state"], first["state_label"], first["version"]) == (
        "文法学院第1学生党支部",
        "文法学院分党委",
        "draft",
        "草稿（申报材料准备）",
        4,
    )
    assert at(first["due_at"]) == shanghai(2024, 5, 6, 23, 59, 59)
    assert [c["state"] for c in db.json("status", "--state", "approved")] == ["approved"]
    assert [c["id"] for c in db.json("status", "--committee", "艺术学院分党委")] == [3]


def test_status_for_people_shows_chinese_labels_and_counts_per_state(db: Bf) -> None:
    output = db.ok("status").output
    assert output.splitlines()[0].split() == ["编号", "支部", "分党委", "项目名称", "状态名称", "负责方", "可推进方", "截止时间", "年度"]
    assert "文法学院第2教工党支部" in output and "已申报，待初审" in output
    assert output.splitlines()[-1] == (
        "各状态数量：草稿（申报材料准备） 1，已申报，待初审 1，已立项，创建中 1，已通过跟踪检查，创建中 1，初审未通过 1；合计 5（2024 年度）。"
    )


def test_case_show_json_is_a_case_object_with_plan_score_and_attachments(db: Bf) -> None:
    case = db.json("case", "show", "3")
    assert set(case) >= CASE_KEYS
    assert (case["id"], case["state"], case["score"], case["criteria"]) == (3, "approved", 95, {"focus": 96})
    assert at(case["due_at"]) == shanghai(2024, 9, 30, 23, 59, 59)
    assert [a["kind"] for a in case["attachments"]] == ["form", "stamped_scan"]
    assert case["expected_outcomes"] == "形成一套党建+育人工作法"


def test_overdue_as_of_late_september_and_early_october_most_overdue_first(db: Bf) -> None:
    # Days overdue are calendar days late (issue 9 item 16): due 05-06, on 09-25 that is 142 days.
    september = db.json("overdue", now=LATE_SEPTEMBER)
    assert [(c["id"], c["state"], c["days_overdue"]) for c in september] == [(1, "draft", 142), (2, "submitted", 131)]
    october = db.json("overdue", now=EARLY_OCTOBER)
    assert [(c["id"], c["state"], c["days_overdue"]) for c in october] == [(1, "draft", 155), (2, "submitted", 144), (3, "approved", 8)]
    assert all(set(c) >= CASE_KEYS for c in october)
    assert [c["id"] for c in db.json("overdue", "--committee", "艺术学院分党委", now=EARLY_OCTOBER)] == [3]
    # The September check is due at the end of 30 September: a minute before, case 3 is not yet overdue.
    assert [c["id"] for c in db.json("overdue", now="2024-09-30T23:59")] == [1, 2]


def test_overdue_for_people_names_the_owner_and_the_days(db: Bf) -> None:
    lines = db.ok("overdue", now=EARLY_OCTOBER).output.splitlines()
    assert lines[0].split() == ["编号", "支部", "分党委", "状态名称", "负责方", "可推进方", "截止时间", "年度", "逾期天数"]
    assert lines[1].split()[0] == "1" and lines[1].split()[-1] == "155" and "分党委（直属党总支）" in lines[1]
    assert lines[3].split()[0] == "3" and lines[3].split()[-1] == "8" and "党支部" in lines[3]
    assert lines[-1] == "共 3 个逾期（2024 年度）。"


def test_triggers_json_gives_trigger_dest_and_inputs(db: Bf) -> None:
    options = db.json("triggers", "1", user="wenfa")
    assert [(o["trigger"], o["dest"], o["allowed"]) for o in options] == [("submit", "submitted", True), ("withdraw", "withdrawn", True)]
    assert options[0]["inputs"] == [
        {"name": "attest", "type": "bool", "required": True, "label": "分党委确认支部具备基本条件且材料真实、准确、可行"}
    ]
    late = db.json("triggers", "1", user="wenfa", now=LATE_SEPTEMBER)[0]
    assert late["allowed"] is False and [r.split(" ", 1)[0] for r in late["blocked_by"]] == ["R8"]
    evaluate = db.json("triggers", "2", user="zzb", now="2024-05-10T09:00")
    assert [o["trigger"] for o in evaluate] == ["return", "pass_review", "reject", "withdraw"]
    assert evaluate[0]["inputs"] == [{"name": "until", "type": "date", "required": True, "label": "修改后重新提交的截止日期"}]


def test_history_json_gives_who_when_from_to_and_why(db: Bf) -> None:
    rows = db.json("case", "history", "5")
    assert all(set(h) >= HISTORY_KEYS for h in rows)
    assert [(h["trigger"], h["source"], h["dest"]) for h in rows if h["source"] != h["dest"]] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("reject", "submitted", "rejected"),
    ]
    last = rows[-1]
    assert (last["actor"], last["role"], last["comment"]) == ("zzb", "org", "材料不符合要求")
    assert at(last["at"]) == shanghai(2024, 5, 10, 9, 0)


EXPORTS = [
    (["status"], present.STATUS_EXPORT, 5),  # rows carry their campaign (年度) since every year is in view
    (["overdue"], present.OVERDUE_EXPORT, 3),
    (["case", "history", "3"], present.HISTORY_EXPORT, 8),
]


@pytest.mark.parametrize(("argv", "headers", "count"), EXPORTS, ids=["status", "overdue", "history"])
def test_exports_to_xlsx_and_csv_with_chinese_headers(db: Bf, argv: list[str], headers: dict[str, str], count: int) -> None:
    xlsx, csv_path = db.tmp / "导出.xlsx", db.tmp / "导出.csv"
    result = db(*argv, "--xlsx", str(xlsx), "--csv", str(csv_path), now=EARLY_OCTOBER)
    assert result.exit_code == 0, result.output
    assert f"已导出 {count} 行到 {xlsx}" in result.stderr

    sheet = load_workbook(xlsx, read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == list(headers.values()) and len(table) == count + 1
    assert all(any(ord(ch) > 0x4E00 for ch in h) for h in table[0])

    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == list(headers.values()) and len(rows) == count + 1
    # Excel holds times as dates (Asia/Shanghai, no zone), the CSV as the text people read.
    shown = [f"{v:%Y-%m-%d %H:%M}" if isinstance(v, datetime) else str(v if v is not None else "") for v in (r[0] for r in table[1:])]
    assert [r[0] for r in rows[1:]] == shown


def test_the_overdue_export_holds_the_same_cases_as_the_screen(db: Bf) -> None:
    path = db.tmp / "逾期.csv"
    db.ok("overdue", "--csv", str(path), now=EARLY_OCTOBER)
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["编号"], r["支部"], r["逾期天数"]) for r in rows] == [
        ("1", "文法学院第1学生党支部", "155"),
        ("2", "文法学院第2教工党支部", "144"),
        ("3", "艺术学院第1学生党支部", "8"),
    ]


def test_graph_prints_the_machine_as_mermaid() -> None:
    result = CliRunner().invoke(cli, ["graph"], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "草稿（申报材料准备）" as draft' in lines
    assert "    [*] --> draft" in lines
    assert "    draft --> submitted: submit 提交申报" in lines
    assert "    evaluated --> approved: approve 评审优秀，予以立项" in lines
    assert "    completed --> [*]" in lines
    assert json.loads(CliRunner().invoke(cli, ["--json", "graph"]).output)["mermaid"] == result.output


def test_json_output_of_any_command_is_one_document(db: Bf) -> None:
    for argv in (
        ["user", "list"],
        ["branch", "list"],
        ["case", "show", "1"],
        ["init", "--campaign", "2024"],
        ["check-states", str(ROOT / "states.yaml")],
    ):
        result = db(*argv, json_out=True)
        assert result.exit_code == 0, (argv, result.output)
        json.loads(result.stdout)


def test_now_without_offset_is_asia_shanghai_and_a_bare_day_ends_at_midnight(db: Bf) -> None:
    late = db("advance", "1", "submit", "--data", "attest=true", user="wenfa", now="2024-05-06T16:00:00+00:00")
    assert late.exit_code == 1 and "R8 申报截止" in late.output  # 00:00 on 7 May in Shanghai
    db.ok("extend", "1", "--until", "2024-05-20", "--reason", "补报", now="2024-05-07T09:00")
    assert at(db.json("case", "show", "1")["due_at"]) == shanghai(2024, 5, 20, 23, 59, 59)


def test_global_options_come_from_the_environment(db: Bf) -> None:
    env = {"BRANCHFLOW_DB": db.url, "BRANCHFLOW_NOW": EARLY_OCTOBER, "BRANCHFLOW_USER": "yishu"}
    result = CliRunner().invoke(cli, ["--json", "overdue"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [c["id"] for c in json.loads(result.stdout)] == [3]  # yishu sees only 艺术学院分党委


def test_the_default_database_is_branchflow_db_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BRANCHFLOW_DB", "BRANCHFLOW_USER", "BRANCHFLOW_FILES"):
        monkeypatch.delenv(name, raising=False)
    first = CliRunner().invoke(cli, ["--now", "2024-04-25T09:00", "--json", "init"], catch_exceptions=False)
    assert json.loads(first.stdout) == {"campaign": 2024, "label": "2024年特色支部创建", "created": True}
    assert (tmp_path / "branchflow.db").is_file()
    again = CliRunner().invoke(cli, ["--now", "2024-04-25T09:00", "init"], catch_exceptions=False)
    assert again.exit_code == 0 and again.output.startswith("已存在：2024年特色支部创建（2024）")


HEAVY = ("sqlalchemy", "sqlmodel", "transitions", "apscheduler", "openpyxl")


def test_importing_cli_and_asking_for_help_stay_light() -> None:
    loaded = f"[m for m in {HEAVY!r} if m in sys.modules]"
    code = f"import sys, cli\nheavy = {loaded}\ntry:\n    cli.cli.main(['--help'])\nexcept SystemExit:\n    pass\nprint(heavy, {loaded})\n"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines()[-1] == "[] []"


def test_python_cli_py_runs_as_a_script() -> None:
    result = subprocess.run([sys.executable, "cli.py", "check-states", "states.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("states.yaml 有效：")
