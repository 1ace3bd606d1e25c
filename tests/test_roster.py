"""Roster import: the encodings Chinese Excel writes, .xlsx, re-import, and every bad row listed with nothing imported.

Every file is written by the test itself (demo/sample.py or by hand); nothing is read from ../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from conftest import Bf
from helpers import (
    Seeded,
    snapshot,
    spec_parsed_once,  # noqa: F401  (autouse: parse states.yaml once)
)
from openpyxl import Workbook

from demo import sample
from workflow.intake.roster import HEADERS

ROWS = sample.rows()  # 52 branches in 6 committees
HEADER_LINE = ",".join(HEADERS)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    def build(b: Bf) -> None:
        b.ok("init", "--campaign", "2024")
        b.ok("user", "add", "zzb", "--role", "org")

    return Seeded(tmp_path_factory.mktemp("seeded"), build)


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    """An initialised database without roster."""
    return seeded.copy(tmp_path, monkeypatch)


def import_json(db: Bf, path: Path, *extra: str) -> dict[str, object]:
    result = db("roster", "import", str(path), *extra, json_out=True)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def write_text(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def refused(result: Result) -> list[str]:
    """A refused import: exit 2, no traceback, the message lines."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    return result.stderr.splitlines()


def branches(db: Bf) -> list[dict[str, object]]:
    return list(db.json("branch", "list"))


def test_utf8_csv_is_imported_and_the_encoding_reported(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS, encoding="utf-8")
    result = db("roster", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == "已导入 52 行（编码：UTF-8）：新建分党委 6 个，新建支部 52 个，更新支部 0 个。\n"
    listed = branches(db)
    assert len(listed) == 52
    model = next(b for b in listed if b["name"] == "文法学院第4学生党支部")
    assert (model["committee"], model["model_branch"], model["cycle"], model["took_part_last_year"]) == (
        "文法学院分党委",
        True,
        "2023-2025",
        False,
    )
    assert sum(1 for b in listed if b["committee"] == "文法学院分党委") == 12


def test_utf8_with_bom_csv_is_imported_and_the_bom_is_not_part_of_the_first_header(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert import_json(db, path) == {
        "encoding": "utf-8-sig",
        "rows": 52,
        "committees_created": 6,
        "branches_created": 52,
        "branches_updated": 0,
        "branches_not_listed": 0,
    }
    assert {b["committee"] for b in branches(db)} == {r[0] for r in ROWS}


def test_gbk_csv_with_crlf_as_chinese_excel_writes_it_is_detected(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS)  # GBK, CRLF
    data = path.read_bytes()
    assert b"\r\n" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert import_json(db, path)["encoding"] == "gb18030"
    assert {b["name"] for b in branches(db)} == {r[1] for r in ROWS}


def test_xlsx_is_imported_with_numbers_as_excel_stores_them(db: Bf) -> None:
    path = sample.write_xlsx(db.tmp / "名单.xlsx", ROWS)
    assert import_json(db, path) == {"encoding": "xlsx", "rows": 52, "committees_created": 6, "branches_created": 52, "branches_updated": 0, "branches_not_listed": 0}
    first = branches(db)[0]
    assert (first["name"], first["members"]) == (ROWS[0][1], int(ROWS[0][2]))


def test_encoding_option_overrides_detection(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS[:3], encoding="gbk")
    assert import_json(db, path, "--encoding", "gbk")["encoding"] == "gbk"


def test_a_wrong_encoding_option_is_refused_and_imports_nothing(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS[:3], encoding="gbk")
    before = snapshot(db)
    [line] = refused(db("roster", "import", str(path), "--encoding", "utf-8"))
    assert line.startswith("文件不是 UTF-8 编码（第 ") and line.endswith("字节处无法解码）：请去掉 --encoding 让程序自动识别。")
    [line] = refused(db("roster", "import", str(path), "--encoding", "klingon"))
    assert line == "未知的编码 'klingon'：可用 utf-8、gbk、gb18030 等。"
    assert snapshot(db) == before


def test_reimport_updates_branches_instead_of_duplicating_them(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS)
    import_json(db, path)
    changed = [list(r) for r in ROWS]
    changed[0][3:6] = ["新联系人", "new@example.edu.cn", "是"]
    changed.append(["医学院分党委", "医学院第1党支部", "9", "王伟", "", "否", "否", ""])
    again = import_json(db, sample.write_csv(db.tmp / "名单2.csv", changed))
    assert again == {"encoding": "gb18030", "rows": 53, "committees_created": 1, "branches_created": 1, "branches_updated": 52, "branches_not_listed": 0}
    listed = branches(db)
    assert len(listed) == 53 and len({b["name"] for b in listed}) == 53
    first = next(b for b in listed if b["name"] == ROWS[0][1])
    assert (first["contact"], first["email"], first["took_part_last_year"]) == ("新联系人", "new@example.edu.cn", True)


def test_every_bad_row_is_listed_with_its_row_number_and_nothing_is_imported(db: Bf) -> None:
    good = ",".join(ROWS[0])
    path = write_text(
        db.tmp / "名单.csv",
        [
            HEADER_LINE,
            good,  # row 2
            "文法学院分党委,,12,张三,,否,否,",  # row 3: no branch name
            "文法学院分党委,文法学院第2教工党支部,二十,张三,zhang@,也许,否,",  # row 4: members, email, yes/no
            "",  # row 5: blank lines are skipped but keep their number
            "文法学院分党委,文法学院第9教工党支部,9,李四,,否,是,",  # row 6: model branch without cycle
            "文法学院分党委,文法学院第10学生党支部,9,李四,,否,是,2025-2023",  # row 7: cycle backwards
            good,  # row 8: duplicate of row 2
            "文法学院分党委,文法学院第11教工党支部,9,李四,,否,否,,多余",  # row 9: more cells than headers
            ",文法学院第12教工党支部,9,李四,,否,否,",  # row 10: no committee
        ],
        encoding="utf-8",
    )
    before = snapshot(db)
    lines = refused(db("roster", "import", str(path)))
    assert lines == [
        "名单有 9 处错误，未导入任何数据；请改正后重新导入。",
        "第 3 行：支部名称不能为空",
        "第 4 行：党员人数应是非负整数，实际是“二十”",
        "第 4 行：邮箱格式不对：“zhang@”",
        "第 4 行：上年度参与应填“是”或“否”，实际是“也许”",
        "第 6 行：样板支部须填写培育周期（如 2023-2025）",
        "第 7 行：培育周期应写成 2023-2025，实际是“2025-2023”",
        f"第 8 行：支部“{ROWS[0][1]}”与第 2 行重复",
        "第 9 行的列数（9）多于表头（8）",
        "第 10 行：分党委不能为空",
    ]
    assert snapshot(db) == before
    doc = db.json("roster", "import", str(path))
    assert (doc["code"], doc["encoding"], len(doc["details"])) == (2, "utf-8", 9)


def test_bad_rows_of_an_xlsx_are_numbered_as_excel_shows_them(db: Bf) -> None:
    rows = [list(r) for r in ROWS[:4]]
    rows[2][6] = "不是"
    path = sample.write_xlsx(db.tmp / "名单.xlsx", rows)
    assert refused(db("roster", "import", str(path)))[1:] == ["第 4 行：样板支部应填“是”或“否”，实际是“不是”"]
    assert branches(db) == []


def test_missing_headers_are_all_named(db: Bf) -> None:
    path = write_text(db.tmp / "名单.csv", ["分党委,支部名称,党员人数,联系人", "文法学院分党委,文法学院第1学生党支部,20,张三"])
    assert refused(db("roster", "import", str(path))) == [
        "表头缺少：邮箱、上年度参与、样板支部。第一行应包含：分党委、支部名称、党员人数、联系人、邮箱、上年度参与、样板支部。",
        "实际表头：分党委、支部名称、党员人数、联系人",
    ]
    assert branches(db) == []


def test_an_empty_file_and_a_file_without_rows_are_refused(db: Bf) -> None:
    empty = db.tmp / "空.csv"
    empty.write_bytes(b"")
    assert refused(db("roster", "import", str(empty))) == [f"文件是空的：{empty}。"]
    header_only = write_text(db.tmp / "表头.csv", [HEADER_LINE])
    assert refused(db("roster", "import", str(header_only))) == ["名单中没有数据行：请检查文件。"]
    blank_sheet = db.tmp / "空表.xlsx"
    Workbook().save(blank_sheet)
    assert refused(db("roster", "import", str(blank_sheet))) == [f"工作表是空的：{blank_sheet}。"]
    assert branches(db) == []


def test_xls_and_other_file_types_are_refused_with_what_to_do(db: Bf) -> None:
    old = db.tmp / "名单.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    assert refused(db("roster", "import", str(old))) == [
        "不支持的文件类型 .xls：请提供 .csv 或 .xlsx 文件（.xls 请先在 Excel 中另存为 .xlsx）。"
    ]
    fake = db.tmp / "名单.xlsx"
    fake.write_bytes(b"this is not a zip file")
    [line] = refused(db("roster", "import", str(fake)))
    assert line.startswith(f"无法读取 Excel 文件 {fake}：") and line.endswith("请确认是 .xlsx 格式。")
    assert branches(db) == []
