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
        shown = big[:20]
        cases += [
            (["case", "show", big], 2, shown),
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
    rows = [
        "文法学院分党委,新支部甲,٣,李,,否,否,",
        "文法学院分党委,新支部乙,99999999999999999999,李,,否,否,",
        "文法学院分党委,新支部丙,1_0,李,,否,否,",
    ]
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


# ---------------------------------------------------------------- 8 a --db that is not a database

READ_COMMANDS = [["status"], ["overdue"], ["case", "show", "1"], ["user", "list"], ["branch", "list"], ["outbox"], ["case", "history", "1"]]
WRITE_COMMANDS = [
    ["advance", "1", "submit", "--data", "attest=true"],
    ["user", "add", "某人", "--role", "reviewer"],
    ["db", "upgrade"],
    ["init"],
]


def test_8_a_db_that_is_not_a_database_is_a_usage_error_naming_the_path_for_every_command(tmp_path: Path) -> None:
    csv = tmp_path / "roster.csv"
    csv.write_text("分党委,支部名称\n文法学院分党委,第1支部\n", encoding="utf-8")
    xlsx = tmp_path / "名单.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    text = tmp_path / "notes.db"
    text.write_bytes(b"SQLite format 2\x00 not quite")
    for target, shown in (
        (csv, str(csv)),
        (xlsx, str(xlsx)),
        (text, str(text)),
        (Path("/dev/null"), "/dev/null"),
        (tmp_path, str(tmp_path)),
    ):
        before = target.read_bytes() if target.is_file() else None
        for url in (str(target), f"sqlite:///{target}"):
            for argv in READ_COMMANDS + WRITE_COMMANDS:
                refused(Bf(url, tmp_path)(*argv), 2, shown)
        assert (target.read_bytes() if target.is_file() else None) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db", "roster.csv", "名单.xlsx"]


def test_8_a_read_command_never_creates_a_database_file_and_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    missing = tmp_path / "branchflow.db"
    for where in (missing, tmp_path / "elsewhere" / "branchflow.db"):
        for argv in [*READ_COMMANDS, WRITE_COMMANDS[0], WRITE_COMMANDS[1]]:
            refused(Bf(str(where), tmp_path)(*argv), 2, str(where))
    assert list(tmp_path.iterdir()) == []
    Bf(str(missing), tmp_path).ok("init", "--campaign", "2024")  # init (and db upgrade) do create it
    assert missing.exists()


def test_8_a_locked_sqlite_database_says_it_waits_then_exit_4(db: Bf) -> None:
    import sqlite3
    import subprocess
    import sys
    import time

    path = db.url.removeprefix("sqlite:///")
    before = snapshot(db)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    env = {**__import__("os").environ, "BRANCHFLOW_BUSY_TIMEOUT": "1"}
    root = Path(__file__).resolve().parents[1]
    try:
        for argv in (["advance", "1", "submit", "--data", "attest=true"], ["user", "add", "某人", "--role", "reviewer"]):
            started = time.monotonic()
            done = subprocess.run(
                [
                    sys.executable,
                    str(root / "cli.py"),
                    "--db",
                    db.url,
                    "--now",
                    db.now,
                    "--as",
                    "wenfa" if argv[0] == "advance" else "zzb",
                    *argv,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert done.returncode == 4, done.stderr
            assert done.stdout == ""
            lines = done.stderr.splitlines()
            assert lines[0].startswith("正在等待…") and lines[1:] == ["数据库正被另一个操作占用，请稍后重试（未做任何修改）。"], done.stderr
            assert time.monotonic() - started < 30
    finally:
        holder.rollback()
        holder.close()
    assert snapshot(db) == before


# ---------------------------------------------------------------- 14 permissions


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(("umask_env", "file_mode", "dir_mode"), [(None, 0o600, 0o700), ("027", 0o640, 0o750), ("077", 0o600, 0o700)])
def test_14_database_wal_shm_and_attachments_are_never_world_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_env: str | None, file_mode: int, dir_mode: int
) -> None:
    import os
    import sqlite3

    if umask_env:
        monkeypatch.setenv("BRANCHFLOW_UMASK", umask_env)
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "store" / "files"))
    old = os.umask(0o000)  # the most permissive process umask: the product sets its own modes
    try:
        b = Bf(str(tmp_path / "bf.db"), tmp_path)
        seed_roster_and_users(b)
        cid = ready_case(b)
        reader = sqlite3.connect(tmp_path / "bf.db")  # keeps -wal and -shm in place to look at
        reader.execute("SELECT count(*) FROM cases").fetchone()
        b.ok("case", "set", str(cid), "title=改名", user="wenfa")
        for name in ("bf.db", "bf.db-wal", "bf.db-shm"):
            assert _mode(tmp_path / name) == file_mode, name
        reader.close()
        files = tmp_path / "store" / "files"
        stored = [p for p in files.rglob("*") if p.is_file()]
        assert len(stored) == 2
        assert {_mode(p) for p in stored} == {file_mode}
        assert {_mode(p) for p in files.rglob("*") if p.is_dir()} | {_mode(files)} == {dir_mode}
    finally:
        os.umask(old)


def test_14_a_umask_that_would_let_everyone_read_is_refused_naming_the_variable(db: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(db)
    for value in ("022", "0", "abc", "1777", "-1"):
        monkeypatch.setenv("BRANCHFLOW_UMASK", value)
        refused(db("status", user="zzb"), 2, "BRANCHFLOW_UMASK")
    assert snapshot(db) == before
