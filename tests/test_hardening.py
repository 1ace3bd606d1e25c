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


# ---------------------------------------------------------------- 6 encodings and spreadsheet bombs

ROSTER_HEADER = "分党委,支部名称,党员人数,联系人,邮箱,上年度参与,样板支部,培育周期"


def _roster_line(name: str, contact: str = "李老师") -> str:
    return f"文法学院分党委,{name},12,{contact},,否,否,"


def test_6_bad_encodings_and_nul_bytes_are_one_line_naming_the_row(db: Bf) -> None:
    good = _roster_line("新支部甲")
    files = {
        "bom_then_gbk.csv": b"\xef\xbb\xbf" + f"{ROSTER_HEADER}\n{good}\n".encode() + _roster_line("新支部乙").encode("gbk") + b"\n",
        "nul_utf8.csv": f"{ROSTER_HEADER}\n{good}\n".encode() + b"\xe6\x96\xb0\x00,x\n",
        "nul_gbk.csv": f"{ROSTER_HEADER}\n{good}\n".encode("gbk") + "新支部丙".encode("gbk") + b"\x00\n",
        "a_database.csv": b"SQLite format 3\x00\x10\x00\x02\x02\x00@  \x00\x00\x00\x05",
    }
    expected = {"bom_then_gbk.csv": "第 3 行", "nul_utf8.csv": "第 3 行", "nul_gbk.csv": "第 3 行", "a_database.csv": "第 1 行"}
    cases: list[tuple[list[str], int, str]] = []
    for name, data in files.items():
        (db.tmp / name).write_bytes(data)
        cases.append((["roster", "import", str(db.tmp / name)], 2, expected[name]))
        cases.append((["case", "import", str(db.tmp / name)], 2, expected[name]))
    all_refused(db, cases)


def _xlsx_with(path: Path, cell: str) -> Path:
    """A roster .xlsx whose contact cell is `cell`, written into the sheet's XML (openpyxl would cut it at 32,767)."""
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "支部名单"
    ws.append(ROSTER_HEADER.split(","))
    ws.append(["文法学院分党委", "新支部甲", 12, "PLACEHOLDER", "", "否", "否", ""])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"PLACEHOLDER" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"PLACEHOLDER", cell.encode("utf-8"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


def _zip_bomb(path: Path, inflated: int) -> Path:
    """A .xlsx whose sheet inflates to `inflated` bytes (written in pieces: the test itself stays small)."""
    import zipfile

    _xlsx_with(path, "李")
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist() if n != "xl/worksheets/sheet1.xml"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            chunk = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(inflated // len(chunk)):
                out.write(chunk)
            out.write(b"</sheetData></worksheet>")
    return path


def test_6_spreadsheet_bombs_and_huge_cells_are_refused_before_they_are_stored(db: Bf) -> None:
    import random

    noise = "".join(random.Random(9).choice("党支部建设学习教育实践创新") for _ in range(40_000))  # does not compress away
    long_csv = db.tmp / "long_cell.csv"
    long_csv.write_text(f"{ROSTER_HEADER}\n{_roster_line('新支部甲', noise)}\n", encoding="utf-8")
    huge_csv = db.tmp / "huge_cell.csv"
    huge_csv.write_text(f"{ROSTER_HEADER}\n{_roster_line('新支部甲', noise * 5)}\n", encoding="utf-8")
    cases: list[tuple[list[str], int, str]] = [
        (["roster", "import", str(long_csv)], 2, "第 2 行第 4 列"),
        (["roster", "import", str(huge_csv)], 2, "超过"),
        (["case", "import", str(long_csv)], 2, "第 2 行第 4 列"),
        (["roster", "import", str(_xlsx_with(db.tmp / "long_cell.xlsx", noise))], 2, "第 2 行第 4 列"),
        (["roster", "import", str(_zip_bomb(db.tmp / "bomb.xlsx", 60 << 20))], 2, "xl/worksheets/sheet1.xml"),
        (["case", "import", str(db.tmp / "bomb.xlsx")], 2, "压缩比"),
    ]
    all_refused(db, cases)
    # At the cap itself a cell is still read.
    db.ok("roster", "import", str(_xlsx_with(db.tmp / "at_cap.xlsx", noise[:32_767])), user="zzb")


# ---------------------------------------------------------------- 9 names that print the same are the same name

LOOK_ALIKES = [
    "文法学院分党委\u200b",
    "\ufeff文法学院分党委",
    "文法学院分党委 ",
    "文法学院分党委\u3000",
    "文法 学院分党委",
    "文法学院分党委\u2060",
]


def test_9_names_that_print_the_same_are_the_same_name_on_every_command(db: Bf) -> None:
    committees = {r["committee"] for r in db.json("branch", "list", user="zzb")}
    for i, name in enumerate(LOOK_ALIKES):
        if " " in name.strip():
            continue  # inner blanks collapse: "文法 学院分党委" is another spelling, not the same name
        # A user of a look-alike committee joins the existing one, not a second committee.
        db.ok("user", "add", f"委员{i}", "--role", "committee", "--committee", name, user="zzb")
        assert db.json("status", "--committee", name, user="zzb") == db.json("status", "--committee", "文法学院分党委", user="zzb")
        assert [r["id"] for r in db.json("overdue", "--committee", name, user="zzb", now="2024-06-01")] == [1, 2]
    assert {r["committee"] for r in db.json("branch", "list", user="zzb")} == committees
    users = {u["name"]: u["committee"] for u in db.json("user", "list", user="zzb")}
    assert {users[f"委员{i}"] for i in (0, 1, 2, 3, 5)} == {"文法学院分党委"}
    # A user name typed with a zero-width space or full-width letters is the same user.
    refused(db("user", "add", "ｚｚｂ", "--role", "reviewer", user="zzb"), 2, "用户 'zzb' 已存在")
    refused(db("user", "add", "zzb\u200b", "--role", "reviewer", user="zzb"), 2, "用户 'zzb' 已存在")
    assert db.json("case", "show", "1", user="ｚｚｂ")["id"] == 1
    # A branch and a theme as typed with invisible characters.
    refused(
        db("case", "new", "--branch", "\ufeff文法学院第1学生党支部\u200b", "--title", "再建", "--theme", "人才培养 ", user="wenfa"), 1, "R3"
    )


def test_9_a_row_differing_from_another_only_by_invisible_characters_is_reported(db: Bf) -> None:
    rows = [
        "艺术学院分党委,新支部甲,12,李老师,,否,否,",
        "艺术学院分党委\u200b,新支部乙,12,李老师,,否,否,",
        "艺术学院分党委,新支部甲\ufeff,12,李老师,,否,否,",
        "艺术学院分党委,ｎｅｗ支部,12,李老师,,否,否,",
        "艺术学院分党委,new支部,12,李老师,,否,否,",
    ]
    path = db.tmp / "look_alike.csv"
    path.write_text(ROSTER_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    before = snapshot(db)
    result = db("roster", "import", str(path), user="zzb")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[1:] == [
        "第 3 行：分党委“艺术学院分党委”的写法与第 2 行只差空白、全角/半角或不可见字符：请统一写法（按同一个分党委处理）",
        "第 4 行：支部“新支部甲”与第 2 行只差空白、全角/半角或不可见字符，是同一个名称（重复）",
        "第 6 行：支部“new支部”与第 5 行只差空白、全角/半角或不可见字符，是同一个名称（重复）",
    ]
    assert snapshot(db) == before
    sheet = db.tmp / "cases.csv"
    head = "支部名称,项目名称,创建方向,方向说明,预期成果,进度安排,特色与创新点,交流推广方案,纪律处分条例学习活动"
    plan = ",成果,进度,创新,推广,学习"
    sheet.write_text(
        f"{head}\n文法学院第1学生党支部,甲,人才培养,{plan}\n文法学院第1学生党支部\u200b,乙,人才培养,{plan}\n", encoding="utf-8"
    )
    result = db("case", "import", str(sheet), user="wenfa")
    assert result.exit_code == 2 and "第 3 行：支部“文法学院第1学生党支部”与第 2 行只差空白" in result.stderr, result.output
    assert snapshot(db) == before


# ---------------------------------------------------------------- 10 control characters

CONTROLS = ["\n", "\r", "\x1b[2J", "\x00", "\u202e", "\u2066", "\x7f", "\u2028", "\x85"]


def test_10_control_and_bidi_characters_are_refused_in_every_name_and_text_field(db: Bf) -> None:
    cases: list[tuple[list[str], int, str]] = []
    for ch in CONTROLS:
        cases += [
            (["user", "add", f"王{ch}老师", "--role", "reviewer"], 2, "用户名含有不可见的控制字符"),
            (["user", "add", "王老师", "--role", "reviewer", "--email", f"w{ch}@example.edu.cn"], 2, "邮箱"),
            (["user", "add", "王老师", "--role", "committee", "--committee", f"文法学院{ch}分党委"], 2, "分党委名称"),
            (["case", "set", "1", f"title=改{ch}名"], 2, "项目名称"),
            (["case", "set", "1", f"theme_note=说{ch}明"], 2, "方向说明"),
        ]
        if ch not in "\n\r":  # line breaks are allowed in comments, reasons and plan texts, nowhere else
            cases += [
                (["extend", "1", "--until", "2024-06-01", "--reason", f"原{ch}因"], 2, "原因"),
                (["advance", "2", "pass_review", "--comment", f"好{ch}"], 2, "说明"),
                (["case", "set", "1", f"schedule=五月{ch}启动"], 2, "进度安排"),
            ]
        cases.append((["case", "new", "--branch", "艺术学院第1教工党支部", "--title", f"标{ch}题", "--theme", "人才培养"], 2, "项目名称"))
    all_refused(db, cases)
    db.ok("case", "set", "1", "schedule=五月启动\n\t九月中期\r\n次年四月总结", user="zzb")


def test_10_uploaded_file_names_lose_control_and_bidi_characters(db: Bf) -> None:
    # Each file starts with its type's signature: a form must be a .doc/.docx/.wps/.pdf (issue 8 item 4).
    signature = {".docx": b"PK\x03\x04", ".pdf": b"%PDF-"}
    for raw, shown in (("gpj.\u202excod.pdf", "gpj.xcod.pdf"), ("申报\x1b[2J表.docx", "申报[2J表.docx"), ("扫描\n件.pdf", "扫描件.pdf")):
        path = db.tmp / raw
        path.write_bytes(signature[Path(shown).suffix] + raw.encode("utf-8"))
        data = db.json("case", "attach", "1", str(path), "--kind", "form", user="wenfa")
        assert data["name"] == shown
        assert shown in {a["name"] for a in db.json("case", "show", "1", user="zzb")["attachments"]}


# ---------------------------------------------------------------- 7 channel settings checked before anything is sent

KEY = "wecomKEY-5f3a9c"
TOKEN = "dingTOKEN-77e1b2"
SECRET = "SECdingSIGN-0c4d"
REMIND_AT = "2024-05-03T09:00"


def _with_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for var in [v for v in __import__("os").environ if v.startswith("BRANCHFLOW_") and v not in ("BRANCHFLOW_FILES",)]:
        monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value)


def test_7_every_malformed_channel_setting_is_exit_2_naming_it_before_anything_is_sent(
    db: Bf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mail = {"BRANCHFLOW_CHANNELS": "email", "BRANCHFLOW_SMTP_HOST": "127.0.0.1", "BRANCHFLOW_SMTP_SECURITY": "none"}
    mail["BRANCHFLOW_SMTP_FROM"] = "dwzzb@example.edu.cn"
    wecom = {"BRANCHFLOW_CHANNELS": "wecom"}
    ding = {"BRANCHFLOW_CHANNELS": "dingtalk"}
    base = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    settings: list[tuple[dict[str, str], str]] = [
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"{base}?key={KEY} x"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"http://[::1/send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"http://[fe80::zz]/send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"http://127.0.0.1:99999/send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"http:///send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"ftp://example.edu.cn/send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        ({**wecom, "BRANCHFLOW_WECOM_WEBHOOK": f"http://exa mple.edu.cn/send?key={KEY}"}, "BRANCHFLOW_WECOM_WEBHOOK"),
        (
            {**ding, "BRANCHFLOW_DINGTALK_WEBHOOK": f"https://oapi.dingtalk.com/robot/send?access_token=\n{TOKEN}"},
            "BRANCHFLOW_DINGTALK_WEBHOOK",
        ),
        (
            {**ding, "BRANCHFLOW_DINGTALK_WEBHOOK": "https://oapi.dingtalk.com/robot/send", "BRANCHFLOW_DINGTALK_SECRET": "SEC\x1bx"},
            "BRANCHFLOW_DINGTALK_SECRET",
        ),
        ({**mail, "BRANCHFLOW_SMTP_PORT": "abc"}, "BRANCHFLOW_SMTP_PORT"),
        ({**mail, "BRANCHFLOW_SMTP_PORT": "²"}, "BRANCHFLOW_SMTP_PORT"),
        ({**mail, "BRANCHFLOW_SMTP_PORT": "٢٥"}, "BRANCHFLOW_SMTP_PORT"),
        ({**mail, "BRANCHFLOW_SMTP_PORT": "70000"}, "BRANCHFLOW_SMTP_PORT"),
        ({**mail, "BRANCHFLOW_SMTP_PORT": "99999999999999999999"}, "BRANCHFLOW_SMTP_PORT"),
        ({**mail, "BRANCHFLOW_SMTP_HOST": "smtp example.edu.cn"}, "BRANCHFLOW_SMTP_HOST"),
        ({**mail, "BRANCHFLOW_SMTP_HOST": "fe80::zz"}, "BRANCHFLOW_SMTP_HOST"),
        ({**mail, "BRANCHFLOW_SMTP_FROM": "dwzzb@exam\x1bple.edu.cn"}, "BRANCHFLOW_SMTP_FROM"),
        ({**mail, "BRANCHFLOW_SMTP_USER": "dwzzb", "BRANCHFLOW_SMTP_PASSWORD": "pass\nword"}, "BRANCHFLOW_SMTP_PASSWORD"),
    ]
    config = tmp_path / "channels.toml"
    for value in ("'abc'", "'nan'", "'inf'", "-1", "1e9"):
        settings.append(({"BRANCHFLOW_CONFIG": str(config), "BRANCHFLOW_CHANNELS": "console", "_timeout": value}, "timeout"))
    before = snapshot(db)
    for env, named in settings:
        if "_timeout" in env:
            config.write_text(f"timeout = {env.pop('_timeout')}\n", encoding="utf-8")
        _with_env(monkeypatch, env)
        for argv in (["remind"], ["remind", "--dry-run"]):
            line = refused(db(*argv, user="zzb", now=REMIND_AT), 2, named)
            assert KEY not in line and TOKEN not in line and "pass" not in line, line
    assert snapshot(db) == before


# ---------------------------------------------------------------- 11 a message the server accepted is delivered, once


def _remind(db: Bf, when: str = REMIND_AT) -> Result:
    result = db("remind", user="zzb", now=when)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("quit_mode", ["421", "drop"])
def test_11_smtp_accepting_the_data_then_failing_at_quit_is_sent_once_with_a_warning(
    db: Bf, monkeypatch: pytest.MonkeyPatch, quit_mode: str
) -> None:
    from servers import smtp_env, smtp_server

    with smtp_server() as box:
        box.quit = quit_mode
        _with_env(monkeypatch, smtp_env(box.port))
        _remind(db)
        sent = len(box.messages)
        assert sent >= 1
        rows = db.json("outbox", user="zzb")
        assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}
        assert all("按已发送处理" in r["last_error"] for r in rows), rows
        # Later sweeps, after every backoff has run out, send nothing again.
        for later in ("2024-05-03T12:00", "2024-05-04T09:00"):
            _remind(db, later)
        assert len(box.messages) == sent
        assert len({m["Message-ID"] for m in box.messages}) == sent


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"\xff\xfe not utf-8", b"[1, 2"])
def test_11_a_robot_answering_200_with_a_body_that_is_not_json_got_the_message(
    db: Bf, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    from servers import webhook

    with webhook() as hook:
        hook.replies.extend([(200, body)] * 10)
        _with_env(monkeypatch, {"BRANCHFLOW_CHANNELS": "wecom", "BRANCHFLOW_WECOM_WEBHOOK": hook.url.replace("access_token", "key")})
        _remind(db)
        posted = len(hook.posts)
        assert posted >= 1
        _remind(db, "2024-05-03T12:00")
        assert len(hook.posts) == posted  # not sent again
    rows = db.json("outbox", user="zzb")
    assert {r["status"] for r in rows} == {"sent"} and all("不是 JSON" in r["last_error"] for r in rows), rows


def test_11_a_robot_that_hangs_past_the_timeout_is_retried(db: Bf, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from servers import webhook

    config = tmp_path / "channels.toml"
    config.write_text("timeout = 0.5\n", encoding="utf-8")
    with webhook() as hook:
        hook.delay = 1.5
        _with_env(monkeypatch, {"BRANCHFLOW_CONFIG": str(config), "BRANCHFLOW_CHANNELS": "wecom", "BRANCHFLOW_WECOM_WEBHOOK": hook.url})
        _remind(db)
        rows = db.json("outbox", user="zzb")
        assert {r["status"] for r in rows} == {"pending"} and all("超时" in r["last_error"] for r in rows)
        hook.delay = 0
        _remind(db, "2024-05-03T10:00")
    assert {r["status"] for r in db.json("outbox", user="zzb")} == {"sent"}


# ---------------------------------------------------------------- 12 secrets never leave


def test_12_no_secret_appears_in_any_output_log_or_column_after_faults_on_every_channel(
    db: Bf, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from servers import FROM, smtp_env, smtp_server, webhook

    wrong = "Wr0ng-Pa55word!"
    outputs: list[str] = []
    with caplog.at_level(logging.DEBUG), webhook() as wecom, webhook() as ding, smtp_server(auth=True) as box:
        box.echo_auth = True
        wecom_url = f"http://127.0.0.1:{wecom.port}/cgi-bin/webhook/send?key={KEY}"
        ding_url = f"http://127.0.0.1:{ding.port}/robot/send?access_token={TOKEN}"
        env = {
            **smtp_env(box.port, BRANCHFLOW_SMTP_USER="dwzzb", BRANCHFLOW_SMTP_PASSWORD=wrong),
            "BRANCHFLOW_CHANNELS": "email,wecom,dingtalk",
            "BRANCHFLOW_WECOM_WEBHOOK": wecom_url,
            "BRANCHFLOW_DINGTALK_WEBHOOK": ding_url,
            "BRANCHFLOW_DINGTALK_SECRET": SECRET,
        }
        _with_env(monkeypatch, env)
        faults: list[tuple[int, dict[str, object] | bytes]] = [
            (200, {"errcode": 93000, "errmsg": f"invalid webhook url, key={KEY}, hint: [{TOKEN}]"}),
            (500, {"errcode": 0, "errmsg": f"upstream {KEY}"}),
            (200, {"errcode": 45009, "errmsg": f"api freq out of limit, access_token={TOKEN}&sign={SECRET}"}),
        ]
        for when in (REMIND_AT, "2024-05-03T12:00", "2024-05-04T09:00"):
            for hook in (wecom, ding):
                hook.replies.clear()
                hook.replies.extend(faults * 3)
            outputs.append(_remind(db, when).output)
            outputs.append(db("--json", "outbox", user="zzb").output)
            outputs.append(db("outbox", user="zzb").output)
        assert FROM and box.logins and all(password == wrong for _, password in box.logins)
    dump = "\n".join(snapshot(db)["rows"])
    assert "535" in dump and "93000" in dump  # the faults did happen and were recorded
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))  # not the test server's own log
    seen = "\n".join(outputs) + logged + dump
    for secret in (KEY, TOKEN, SECRET, wrong):
        assert secret not in seen, secret
    import base64

    assert base64.b64encode(wrong.encode()).decode() not in seen


# ---------------------------------------------------------------- 13 hard links in case import

PLAN_HEAD = "支部名称,项目名称,创建方向,方向说明,预期成果,进度安排,特色与创新点,交流推广方案,纪律处分条例学习活动,申报表文件,盖章扫描件"


def test_13_a_hard_link_in_case_import_is_refused_whatever_it_points_to(db: Bf, tmp_path: Path) -> None:
    import os

    sheet_dir = tmp_path / "上报"
    (sheet_dir / "附件").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"someone else's file")
    os.link(outside, sheet_dir / "附件" / "form.docx")  # a hard link to a file outside the folder
    (sheet_dir / "附件" / "scan.pdf").write_bytes(b"%PDF-scan")
    os.link(sheet_dir / "附件" / "scan.pdf", sheet_dir / "附件" / "scan-copy.pdf")  # two names inside: still ambiguous
    (sheet_dir / "附件" / "own.docx").write_bytes(b"PK\x03\x04own form")  # a real form starts like a ZIP (issue 8 item 4)
    os.symlink(outside, sheet_dir / "附件" / "link.docx")
    rows = {
        "附件/form.docx": "硬链接",
        "附件/scan-copy.pdf": "硬链接",
        "附件/link.docx": "文件夹之外",
    }
    before = snapshot(db)
    for cell, phrase in rows.items():
        sheet = sheet_dir / "汇总.csv"
        sheet.write_text(f"{PLAN_HEAD}\n文法学院第1学生党支部,题目,人才培养,,成果,进度,创新,推广,学习,{cell},\n", encoding="utf-8")
        result = db("case", "import", str(sheet), user="wenfa")
        assert result.exit_code == 2, result.output
        assert phrase in result.stderr and "Traceback" not in result.output, result.stderr
    assert snapshot(db) == before
    sheet.write_text(f"{PLAN_HEAD}\n文法学院第1学生党支部,题目,人才培养,,成果,进度,创新,推广,学习,附件/own.docx,\n", encoding="utf-8")
    db.ok("case", "import", str(sheet), user="wenfa")  # a file of its own is taken
    assert "own.docx" in {a["name"] for a in db.json("case", "show", "1", user="zzb")["attachments"]}


# ---------------------------------------------------------------- 16 the last second of a deadline


def test_16_the_last_second_of_the_due_day_is_on_time_and_days_overdue_are_calendar_days(db: Bf) -> None:
    # Case 1 is a draft due 2024-05-06 (by the end of that day, Beijing time).
    for moment in ("2024-05-06T23:59:59.5", "2024-05-06T23:59:59.999999", "2024-05-06T15:59:59.75+00:00"):
        assert [c["id"] for c in db.json("overdue", user="zzb", now=moment) if c["id"] == 1] == []
        assert all("R8" not in line for line in db.json("triggers", "1", user="wenfa", now=moment)[0]["blocked_by"])
    db.ok("advance", "1", "submit", "--data", "attest=true", user="wenfa", now="2024-05-06T23:59:59.5")
    assert db.json("case", "show", "1", user="zzb")["state"] == "submitted"
    # Case 2 (submitted, due 05-17): one second after its day it is overdue, and counted in calendar days.
    for moment, days in (("2024-05-18T00:00:00", 1), ("2024-05-18T23:59:59", 1), ("2024-05-19T00:30", 2), ("2024-05-20T23:00", 3)):
        found = {c["id"]: c["days_overdue"] for c in db.json("overdue", user="zzb", now=moment)}
        assert found.get(2) == days, (moment, found)
    assert 2 not in {c["id"] for c in db.json("overdue", user="zzb", now="2024-05-17T23:59:59.9")}


# ---------------------------------------------------------------- 15 no spurious conflicts between waive and extend


@pytest.mark.skipif(not __import__("conftest").PG, reason="PostgreSQL not reachable")
def test_15_concurrent_waive_and_extend_never_refuse_each_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from conftest import drop_pg_schema, make_pg_url

    url = make_pg_url()
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    try:
        b = Bf(url, tmp_path)
        seed_roster_and_users(b)
        ids = [ready_case(b, name) for name in ("文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部")]
        ids.append(ready_case(b, "外国语学院第3教工党支部", "waiguo"))
        before = {cid: b.json("case", "show", str(cid), user="zzb")["version"] for cid in ids}
        cli = [sys.executable, str(Path(__file__).resolve().parents[1] / "cli.py"), "--db", url, "--now", "2024-04-26T09:00", "--as", "zzb"]
        for round_ in range(2):
            # Eight processes at once: a waive and an extend on each case (the same case: they wait, not fail).
            procs = [
                subprocess.Popen([*cli, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for cid in ids
                for argv in (
                    ["waive", str(cid), "--rule", "R2", "--reason", "同意"],
                    ["extend", str(cid), "--until", f"2024-06-1{round_}", "--reason", "延期"],
                )
            ]
            outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
            waives, extends = outcomes[0::2], outcomes[1::2]
            assert all(code == 0 for code, _ in extends), outcomes
            if round_ == 0:
                assert all(code == 0 for code, _ in waives), outcomes
            else:  # the second waiver of a rule is a no-op, refused as such (not a conflict with the extend)
                assert all(code == 2 and "已登记过 R2 例外" in err for code, err in waives), outcomes
        after = {cid: b.json("case", "show", str(cid), user="zzb")["version"] for cid in ids}
        assert after == {cid: v + 3 for cid, v in before.items()}  # no update lost either
    finally:
        drop_pg_schema(url)
