"""The roster and 申报汇总表 formats, documented and forgiving (issue 8 item 7): templates to fill in, a title
row above the header, tab-separated and UTF-16 text, encodings named as people name them, and a re-import
that says which branches the file left out.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import PLAN, Bf
from helpers import Seeded, snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)
from openpyxl import Workbook, load_workbook

from demo import sample
from workflow import case_import, roster, spec
from workflow.intake import tabular

ROWS = sample.rows()  # 52 branches in 6 committees
README = Path(__file__).resolve().parent.parent / "README.md"


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


def text_file(path: Path, rows: list[list[str]], encoding: str, delimiter: str = ",", bom: bytes = b"") -> Path:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(bom + out.getvalue().encode(encoding))
    return path


def sheet_rows(data: bytes, name: str | None = None) -> list[list[object]]:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[name] if name else wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


# ---------------------------------------------------------------- templates


def test_roster_template_has_the_importers_headers_one_example_row_and_the_column_notes() -> None:
    data = roster.template()
    rows = sheet_rows(data, "支部名单")
    assert rows[0] == roster.HEADERS
    assert len(rows) == 2 and rows[1][1] == "文法学院第1学生党支部"
    notes = sheet_rows(data, "填写说明")
    assert notes[0] == ["列", "是否必填", "填写方式"] and [r[0] for r in notes[1:]] == roster.HEADERS
    wb = load_workbook(io.BytesIO(data))
    assert all(c.data_type == "s" for c in wb["支部名单"][2] if c.value)  # text cells, as the importer reads them
    # The template as written is a roster the importer accepts.
    table = tabular.parse(data, "支部名单.xlsx", sheet="支部名单", expected=roster.HEADERS)
    [parsed] = roster.parse_rows(table)
    assert (parsed["committee"], parsed["members"], parsed["model_branch"]) == ("文法学院分党委", 25, False)


def test_case_template_has_the_importers_headers_and_the_themes_of_the_spec() -> None:
    s = spec.parse(spec.packaged_text())
    data = case_import.template(s.rules.themes, s.rules.other_theme)
    rows = sheet_rows(data)
    assert rows[0] == case_import.HEADERS and set(case_import.REQUIRED) <= set(rows[0])
    assert len(rows) == 2 and rows[1][2] in s.rules.themes
    notes = {r[0]: r[2] for r in sheet_rows(data, "填写说明")[1:]}
    assert all(t in str(notes["创建方向"]) for t in s.rules.themes)


def test_roster_template_command_writes_the_file_and_it_imports(db: Bf) -> None:
    target = db.tmp / "模板.xlsx"
    result = db("roster", "template", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == f"已写出支部名单模板：{target}（填写后用 branchflow roster import 导入）\n"
    assert sheet_rows(target.read_bytes())[0] == roster.HEADERS
    done = db.json("roster", "import", str(target))
    assert (done["rows"], done["branches_created"]) == (1, 1)


def test_case_template_command_writes_the_file_and_needs_no_database(tmp_path: Path) -> None:
    b = Bf(f"sqlite:///{tmp_path / 'none.db'}", tmp_path)
    result = b("case", "template", str(tmp_path / "申报汇总表.xlsx"))
    assert result.exit_code == 0, result.output
    assert sheet_rows((tmp_path / "申报汇总表.xlsx").read_bytes())[0] == case_import.HEADERS
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("command", ["roster", "case"])
def test_a_template_file_must_end_in_xlsx(tmp_path: Path, command: str) -> None:
    b = Bf(f"sqlite:///{tmp_path / 'none.db'}", tmp_path)
    result = b(command, "template", str(tmp_path / "模板.csv"))
    assert result.exit_code == 2
    assert "应以 .xlsx 结尾" in result.stderr and not (tmp_path / "模板.csv").exists()


# ---------------------------------------------------------------- a title row above the header


def test_a_title_row_and_a_blank_row_above_the_csv_header_are_skipped(db: Bf) -> None:
    rows = [["2024年各分党委支部名单", "", "", "", "", "", "", ""], [""] * 8, roster.HEADERS, *map(list, ROWS[:3])]
    path = text_file(db.tmp / "名单.csv", rows, "gbk")
    done = db.json("roster", "import", str(path))
    assert (done["rows"], done["branches_created"]) == (3, 3)


def test_a_merged_title_row_above_the_xlsx_header_is_skipped_and_rows_keep_their_numbers(db: Bf) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "支部名单"
    ws.append(["2024年各分党委支部名单"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    ws.append(roster.HEADERS)
    ws.append(list(ROWS[0]))
    ws.append([ROWS[1][0], ROWS[1][1], "很多", *ROWS[1][3:]])
    path = db.tmp / "名单.xlsx"
    wb.save(path)
    before = snapshot(db)
    result = db("roster", "import", str(path))
    assert result.exit_code == 2
    assert "第 4 行：党员人数应是非负整数，实际是“很多”" in result.stderr  # the sheet's own row number
    assert snapshot(db) == before
    table = tabular.parse(path.read_bytes(), "名单.xlsx", expected=roster.HEADERS)
    assert (table.header_row, [n for n, _ in table.rows]) == (2, [3, 4])


def test_without_expected_headers_the_first_row_is_the_header() -> None:
    data = "2024年名单\n分党委,支部名称\n甲,乙\n".encode()
    assert tabular.parse(data, "x.csv").headers == ["2024年名单"]
    assert tabular.parse(data, "x.csv", expected=["分党委"]).headers == ["分党委", "支部名称"]


def test_a_note_row_above_the_header_is_skipped_too_but_only_within_the_first_rows() -> None:
    data = "2024年名单\n填报单位：组织部,填报日期：2024-04-01\n分党委,支部名称\n甲,乙\n".encode()
    table = tabular.parse(data, "x.csv", expected=["分党委"])
    assert (table.header_row, table.rows) == (3, [(4, {"分党委": "甲", "支部名称": "乙"})])
    deep = ("标题\n" * (tabular.TITLE_ROWS_MAX + 1) + "分党委,支部名称\n").encode()
    assert tabular.parse(deep, "x.csv", expected=["分党委"]).header_row == 1  # too far down: the first row is the header


# ---------------------------------------------------------------- tab-separated and UTF-16 text


def test_a_tab_separated_text_file_is_read_like_a_csv() -> None:
    path_rows = [roster.HEADERS, list(ROWS[0])]
    out = io.StringIO(newline="")
    csv.writer(out, delimiter="\t").writerows(path_rows)
    table = tabular.parse(out.getvalue().encode("gbk"), "名单.txt", expected=roster.HEADERS)
    assert table.headers == roster.HEADERS and table.rows[0][1]["支部名称"] == ROWS[0][1]
    assert table.encoding_label == "GBK"


def test_excel_unicode_text_utf16_with_bom_and_tabs_is_imported(db: Bf) -> None:
    rows = [["2024年各分党委支部名单"], roster.HEADERS, *map(list, ROWS[:5])]
    path = text_file(db.tmp / "名单.txt", rows, "utf-16-le", delimiter="\t", bom=b"\xff\xfe")
    result = db("roster", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == "已导入 5 行（编码：UTF-16（Unicode 文本））：新建分党委 1 个，新建支部 5 个，更新支部 0 个。\n"


def test_a_case_sheet_saved_as_unicode_text_is_imported(bf: Bf) -> None:
    row = ["文法学院第1学生党支部", "读书会", "人才培养", "", *PLAN.values(), "", ""]
    path = text_file(bf.tmp / "申报汇总表.txt", [["文法学院申报汇总表"], case_import.HEADERS, row], "utf-16-le", "\t", b"\xff\xfe")
    result = bf("case", "import", str(path), user="wenfa")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("已导入 1 行（编码：UTF-16（Unicode 文本））：新建申报 1 个，更新 0 个，未变 0 个，上传附件 0 个。\n")


# ---------------------------------------------------------------- encodings as people name them


@pytest.mark.parametrize(
    ("codec", "label"),
    [("gb18030", "GBK"), ("gbk", "GBK"), ("utf_8", "UTF-8"), ("utf-8-sig", "UTF-8"), ("xlsx", "Excel 文件"), ("utf-16", "UTF-16（Unicode 文本）")],
)
def test_encoding_labels_are_the_names_people_use(codec: str, label: str) -> None:
    assert tabular.encoding_label(codec) == label


def test_import_messages_say_gbk_and_excel_file(db: Bf) -> None:
    gbk = sample.write_csv(db.tmp / "名单.csv", ROWS)
    assert "（编码：GBK）" in db.ok("roster", "import", str(gbk)).output
    xlsx = sample.write_xlsx(db.tmp / "名单.xlsx", ROWS)
    assert "（编码：Excel 文件）" in db.ok("roster", "import", str(xlsx)).output


def test_a_wrong_encoding_option_is_named_as_people_name_it(db: Bf) -> None:
    path = sample.write_csv(db.tmp / "名单.csv", ROWS[:3], encoding="gbk")
    result = db("roster", "import", str(path), "--encoding", "utf_8")
    assert result.exit_code == 2 and result.stderr.startswith("文件不是 UTF-8 编码（第 ")


# ---------------------------------------------------------------- a re-import names what the file left out


def test_a_reimport_says_how_many_branches_the_file_did_not_mention_and_they_stay(db: Bf) -> None:
    db.ok("roster", "import", str(sample.write_csv(db.tmp / "全部.csv", ROWS)))
    fewer = sample.write_csv(db.tmp / "部分.csv", ROWS[:-3])
    result = db("roster", "import", str(fewer))
    assert result.exit_code == 0, result.output
    assert result.output == (
        "已导入 49 行（编码：GBK）：新建分党委 0 个，新建支部 0 个，更新支部 49 个。数据库中已有、此名单未列出的支部 3 个，保留不变。\n"
    )
    assert db.json("roster", "import", str(fewer))["branches_not_listed"] == 3
    assert len(db.json("branch", "list")) == 52


# ---------------------------------------------------------------- the format documented


def test_roster_import_help_lists_every_column_and_the_value_formats(db: Bf) -> None:
    result = db("roster", "import", "--help")
    assert result.exit_code == 0
    for header in roster.HEADERS:
        assert header in result.output
    assert "是 / 否" in result.output and "2023-2025" in result.output and "必填" in result.output
    assert "roster template" in result.output and "Unicode 文本" in result.output


def test_readme_documents_the_roster_columns_the_template_and_the_forgiving_reader() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### 支部名单的格式") : text.index("### 一个年度怎样用命令行走完")]
    for header, *_ in roster.COLUMNS:
        assert f"| {header} |" in section
    for words in ("branchflow roster template", "branchflow case template", "标题行", "制表符", "Unicode 文本", "保留不变"):
        assert words in section, words
