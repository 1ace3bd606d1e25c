"""Exports staff keep (issue 8 items 5, 6): text never a formula in any export, Chinese labels, fitted widths,
a frozen header, an auto-filter, real Excel dates; an export file's name must end in its format's suffix."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from conftest import Bf
from openpyxl import load_workbook
from servers import draft_case

from workflow import export

PREFIXES = ["=", "+", "-", "@"]


def read_xlsx(path: Path) -> tuple[list[str], list[list[object]], object]:
    sheet = load_workbook(path).worksheets[0]
    rows = [[c for c in r] for r in sheet.iter_rows()]
    return [str(c.value) for c in rows[0]], rows[1:], sheet


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_user_text_is_text_in_every_export(bf: Bf, prefix: str) -> None:
    title = f"{prefix}SUM(1,2)"
    cid = int(bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", title, "--theme", "人才培养", user="wenfa")["id"])
    bf.ok("advance", str(cid), "withdraw", "--comment", f"{prefix}cmd|' /C calc'!A0", user="wenfa")
    live = int(bf.json("case", "new", "--branch", "文法学院第5教工党支部", "--title", title, "--theme", "人才培养", user="wenfa")["id"])
    bf.ok("user", "add", "--role", "committee", "--committee", "文法学院分党委", "--email", "wang@example.edu.cn", "--", f"{prefix}王老师", user="zzb")
    bf.ok("remind", now="2024-05-03T09:00", user="zzb")
    exports = {
        "status": (["status"], "项目名称", title),
        "overdue": (["overdue"], "项目名称", title),
        "history": (["case", "history", str(cid)], "说明", f"{prefix}cmd|' /C calc'!A0"),
        "outbox": (["outbox", "--case", str(live)], "收件人", f"{prefix}王老师"),
    }
    for name, (argv, column, text) in exports.items():
        xlsx, csv_path = bf.tmp / f"{name}.xlsx", bf.tmp / f"{name}.csv"
        bf.ok(*argv, "--xlsx", str(xlsx), "--csv", str(csv_path), user="zzb", now="2024-05-08T09:00")
        heads, rows, _ = read_xlsx(xlsx)
        cells = [r[heads.index(column)] for r in rows if r[heads.index(column)].value == text]
        assert cells and all(c.data_type == "s" for c in cells), (name, [(c.value, c.data_type) for c in cells])
        assert "'" + text in [r[column] for r in read_csv(csv_path)], name


def test_the_csv_neutralises_each_formula_start() -> None:
    assert [export.csv_text(p + "1") for p in ["=", "+", "-", "@", "\t", "\r"]] == ["'=1", "'+1", "'-1", "'@1", "'\t1", "'\r1"]
    assert export.csv_text("党建+育人") == "党建+育人" and export.csv_text(-3) == -3


def test_the_history_export_speaks_chinese_with_real_dates(bf: Bf) -> None:
    cid = draft_case(bf)
    bf.ok("case", "set", str(cid), "expected_outcomes=形成工作法", "schedule=五月启动", user="wenfa")
    path = bf.tmp / "审计.xlsx"
    bf.ok("case", "history", str(cid), "--xlsx", str(path), user="zzb")
    heads, rows, sheet = read_xlsx(path)
    assert heads == ["时间", "操作人", "角色", "代为", "操作", "原状态", "新状态", "输入", "说明"]
    edit = [[c.value for c in r] for r in rows][1]
    assert edit[2:8] == ["分党委", None, "修改申报", "草稿（申报材料准备）", "草稿（申报材料准备）", "预期成果=形成工作法；进度安排=五月启动"]
    assert isinstance(rows[0][0].value, datetime) and rows[0][0].is_date and rows[0][0].number_format == "yyyy-mm-dd hh:mm"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:I{len(rows) + 1}"
    assert sheet.column_dimensions["H"].width >= len("预期成果=形成工作法；进度安排=五月启动") * 2 - 10


def test_the_status_export_has_labels_not_ids(bf: Bf) -> None:
    draft_case(bf)
    path = bf.tmp / "进度.csv"
    bf.ok("status", "--csv", str(path), user="zzb")
    [row] = read_csv(path)
    assert row["状态"] == "草稿（申报材料准备）" and "draft" not in row.values()


@pytest.mark.parametrize(("option", "name"), [("--xlsx", "进度.csv"), ("--csv", "进度.xlsx"), ("--xlsx", "进度")])
def test_an_export_name_must_end_in_its_format(bf: Bf, option: str, name: str) -> None:
    result = bf("status", option, str(bf.tmp / name), user="zzb")
    assert result.exit_code == 2 and "导出文件应以 ." in result.stderr
    assert not (bf.tmp / name).exists()
