"""Issue 9: no input a user, a file or a server can send makes the product crash, lie, leak or send twice.

One test per class of input, each trying several members of the class through the CLI: the exit code, one
Chinese line on stderr and no traceback, and a database dump equal before and after. The database (built
once, copied per test): the sample roster and users of conftest's `bf`, case 1 文法学院第1学生党支部 (a draft
ready to submit) and case 2 文法学院第2教工党支部 (submitted).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result
from conftest import Bf, ready_case
from helpers import (
    Seeded,
    seed_roster_and_users,
    snapshot,
    spec_parsed_once,  # noqa: F401  (autouse: parse states.yaml once)
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def build(b: Bf) -> None:
    seed_roster_and_users(b)
    assert ready_case(b, "文法学院第1学生党支部") == 1
    assert ready_case(b, "文法学院第2教工党支部") == 2
    b.ok("advance", "2", "submit", "--data", "attest=true", user="wenfa")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(tmp_path_factory.mktemp("seeded"), build)


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    return seeded.copy(tmp_path, monkeypatch)


def refused(result: Result, code: int, phrase: str = "") -> str:
    """Exit `code`, nothing on stdout, one Chinese line on stderr (holding `phrase`), no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert CJK.search(lines[0]) and phrase in lines[0], lines[0]
    assert "Traceback" not in result.output and "Error" not in result.output
    return lines[0]


def all_refused(db: Bf, cases: list[tuple[list[str], int, str]], user: str = "zzb") -> None:
    """Every invocation refused as `refused` says, and the database unchanged by all of them."""
    before = snapshot(db)
    for argv, code, phrase in cases:
        refused(db(*argv, user=user), code, phrase)
    assert snapshot(db) == before


# ---------------------------------------------------------------- 1–2 numbers

TOO_BIG = ["99999999999999999999", "9223372036854775808", "1" + "0" * 400]
NOT_DIGITS = ["1_0", "٣", "²", "+1", "1e3", "0x10", "१", "1.0", " ", "1\u200b"]


def test_1_numbers_too_big_for_the_database_are_a_usage_error_naming_the_value(db: Bf) -> None:
    cases: list[tuple[list[str], int, str]] = []
    for big in TOO_BIG:
        shown = repr(big)[:40]
        cases += [
            (["case", "show", big], 2, shown[:20]),
            (["advance", big, "submit"], 2, "申报编号"),
            (["case", "history", big], 2, "申报编号"),
            (["triggers", big], 2, "申报编号"),
            (["waive", big, "--rule", "R2", "--reason", "例外"], 2, "申报编号"),
            (["extend", big, "--until", "2024-06-01", "--reason", "延期"], 2, "申报编号"),
            (["status", "--limit", big], 2, "--limit"),
            (["overdue", "--limit", big], 2, "--limit"),
            (["status", "--campaign", big], 2, "--campaign"),
            (["advance-many", "pass_review", "--state", "submitted", "--chunk-size", big], 2, "--chunk-size"),
            (["advance-many", "pass_review", "--ids", f"1,{big}"], 2, "--ids"),
            (["outbox", "retry", big], 2, "发件箱编号"),
            (["outbox", "--case", big], 2, "申报编号"),
            (["case", "set", "1", "title=新", "--expect-version", big], 2, "--expect-version"),
        ]
    # A sane bound on a chunk: one transaction must not hold its locks for minutes.
    cases.append((["advance-many", "pass_review", "--state", "submitted", "--chunk-size", "100001"], 2, "100000"))
    all_refused(db, cases)


def test_2_numbers_that_are_not_plain_digits_are_refused_not_read_as_another_case(db: Bf) -> None:
    cases: list[tuple[list[str], int, str]] = []
    for text in NOT_DIGITS:
        cases += [
            (["advance", text, "pass_review"], 2, "数字 0–9"),
            (["case", "show", text], 2, "数字 0–9"),
            (["status", "--limit", text], 2, "--limit"),
            (["overdue", "--limit", f"-{text}"], 2, "--limit"),
            (["advance-many", "pass_review", "--ids", f"2,{text}x"], 2, "--ids"),
            (["outbox", "retry", text], 2, "发件箱编号"),
        ]
    cases.append((["advance-many", "pass_review", "--ids", "12,²"], 2, "'²' 不是编号"))
    all_refused(db, cases)
    # Full-width digits are what a Chinese input method types: they are read as the ASCII digits.
    assert db.json("case", "show", "２", user="zzb")["id"] == 2
    assert db.json("status", "--limit", "１", user="zzb")[0]["id"] == 1


def test_2_a_roster_count_in_other_digits_is_a_row_error(db: Bf) -> None:
    header = "分党委,支部名称,党员人数,联系人,邮箱,上年度参与,样板支部,培育周期\n"
    rows = ["文法学院分党委,新支部甲,٣,李,,否,否,", "文法学院分党委,新支部乙,99999999999999999999,李,,否,否,", "文法学院分党委,新支部丙,1_0,李,,否,否,"]
    path = db.tmp / "counts.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    before = snapshot(db)
    result = db("roster", "import", str(path), user="zzb")
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if "党员人数" in line] == [
        "第 2 行：党员人数应是非负整数，实际是“٣”",
        "第 3 行：党员人数应是非负整数，实际是“99999999999999999999”",
        "第 4 行：党员人数应是非负整数，实际是“1_0”",
    ]
    assert "Traceback" not in result.output
    assert snapshot(db) == before
