"""`case import FILE`: a committee's 申报汇总表 creates draft cases or updates the branch's draft; any bad row, nothing imported."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest
from conftest import PLAN, Bf, ready_case
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

# What a real file of each kind starts with (the import checks the signature of every attachment).
SIGNATURE = {".docx": b"PK\x03\x04", ".pdf": b"%PDF-", ".doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".jpg": b"\xff\xd8\xff", ".png": b"\x89PNG\r\n\x1a\n"}



def content_of(cell: str) -> bytes:
    """The bytes `sheet` writes for the attachment a cell names: its kind's signature, then a text naming it."""
    return SIGNATURE.get(Path(cell).suffix.lower(), b"") + f"content of {cell}".encode()


HEADERS = [
    "支部名称",
    "项目名称",
    "创建方向",
    "方向说明",
    "预期成果",
    "进度安排",
    "特色与创新点",
    "交流推广方案",
    "纪律处分条例学习活动",
    "申报表文件",
    "盖章扫描件",
]
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def line(branch: str, title: str = "", theme: str = "人才培养", note: str = "", form: str = "", scan: str = "", **plan: str) -> list[str]:
    """One row of the sheet, with the complete sample plan unless overridden."""
    values = {**PLAN, **plan}
    return [
        branch,
        title or f"{branch}特色创建",
        theme,
        note,
        values["expected_outcomes"],
        values["schedule"],
        values["innovation"],
        values["promotion_plan"],
        values["discipline_activity"],
        form,
        scan,
    ]


def sheet(
    folder: Path, rows: list[list[str]], name: str = "申报汇总表.csv", encoding: str = "utf-8-sig", headers: list[str] = HEADERS
) -> Path:
    """Write the sheet (and the attachments it names, as small files) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for r in rows:
        for cell in r[9:11]:
            if cell and not cell.startswith(("/", "..")) and "missing" not in cell:
                target = folder / cell.replace("\\", "/")
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.write_bytes(content_of(cell))
    path = folder / name
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def test_import_creates_draft_cases_with_their_attachments(bf: Bf) -> None:
    path = sheet(
        bf.tmp / "wenfa",
        [
            line("文法学院第1学生党支部", form="附件/申报表1.docx", scan="附件/盖章1.pdf"),
            line("文法学院第2教工党支部", theme="其他", note="党建+社区治理"),
        ],
    )
    data = bf.json("case", "import", str(path), user="wenfa")
    assert data["created"] == 2 and data["updated"] == 0 and data["attachments"] == 2 and data["encoding"] == "utf-8-sig"
    assert [(c["row"], c["branch"], c["action"]) for c in data["cases"]] == [
        (2, "文法学院第1学生党支部", "created"),
        (3, "文法学院第2教工党支部", "created"),
    ]
    first = bf.json("case", "show", str(data["cases"][0]["id"]))
    assert first["state"] == "draft" and first["title"] == "文法学院第1学生党支部特色创建"
    assert {k: first[k] for k in PLAN} == PLAN
    digest = hashlib.sha256(content_of("附件/申报表1.docx")).hexdigest()
    assert [(a["kind"], a["name"], a["sha256"]) for a in first["attachments"]] == [
        ("form", "申报表1.docx", digest),
        ("stamped_scan", "盖章1.pdf", hashlib.sha256(content_of("附件/盖章1.pdf")).hexdigest()),
    ]
    assert (bf.tmp / "files" / digest[:2] / digest).read_bytes() == content_of("附件/申报表1.docx")
    assert [h["trigger"] for h in bf.json("case", "history", str(data["cases"][0]["id"]))] == ["create", "attach", "attach"]
    second = bf.json("case", "show", str(data["cases"][1]["id"]))
    assert (second["theme"], second["theme_note"], second["attachments"]) == ("其他", "党建+社区治理", [])
    # The imported case is ready: the committee can submit it at once.
    bf.ok("advance", str(data["cases"][0]["id"]), "submit", "--data", "attest=true", user="wenfa")


def test_reimport_updates_the_branchs_draft_instead_of_duplicating_it(bf: Bf) -> None:
    folder = bf.tmp / "sheet"
    first = bf.json("case", "import", str(sheet(folder, [line("文法学院第1学生党支部", form="f.docx")])), user="wenfa")
    cid = first["cases"][0]["id"]
    again = sheet(
        folder, [line("文法学院第1学生党支部", title="新的项目名称", form="f.docx", scan="s.pdf", schedule="全年")], name="第二版.csv"
    )
    data = bf.json("case", "import", str(again), user="wenfa")
    assert (data["created"], data["updated"], data["unchanged"], data["attachments"]) == (0, 1, 0, 1)
    assert data["cases"][0]["id"] == cid
    case = bf.json("case", "show", str(cid))
    assert (case["title"], case["schedule"], case["version"]) == ("新的项目名称", "全年", 2)
    assert [a["kind"] for a in case["attachments"]] == ["form", "stamped_scan"]  # the same form is not attached twice
    edit = [h for h in bf.json("case", "history", str(cid)) if h["trigger"] == "edit"]
    assert [h["inputs"] for h in edit] == [{"title": "新的项目名称", "schedule": "全年"}]
    # Importing the same sheet once more changes nothing at all.
    before = snapshot(bf)
    assert bf.json("case", "import", str(again), user="wenfa")["unchanged"] == 1
    assert snapshot(bf) == before


def test_a_withdrawn_case_does_not_block_a_new_draft(bf: Bf) -> None:
    old = ready_case(bf)
    bf.ok("advance", str(old), "withdraw", user="wenfa")
    data = bf.json("case", "import", str(sheet(bf.tmp / "s", [line("文法学院第1学生党支部")])), user="wenfa")
    assert data["created"] == 1 and data["cases"][0]["id"] != old


@SQLITE_ONLY
def test_xlsx_and_gbk_csv_are_read_like_the_roster(bf: Bf) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    ws.append(line("文法学院第1学生党支部", form="表.docx"))
    folder = bf.tmp / "x"
    sheet(folder, [line("x", form="表.docx")], name="unused.csv")
    wb.save(folder / "申报汇总表.xlsx")
    data = bf.json("case", "import", str(folder / "申报汇总表.xlsx"))
    assert (data["encoding"], data["created"], data["attachments"]) == ("xlsx", 1, 1)
    gbk = sheet(bf.tmp / "g", [line("文法学院第2教工党支部")], encoding="gbk")
    assert bf.json("case", "import", str(gbk))["encoding"] == "gb18030"


def test_every_bad_row_is_listed_with_its_number_and_nothing_is_imported(bf: Bf) -> None:
    submitted = ready_case(bf, "文法学院第3教工党支部")
    bf.ok("advance", str(submitted), "submit", "--data", "attest=true", user="wenfa")
    folder = bf.tmp / "bad"
    outside = bf.tmp / "outside.pdf"
    outside.write_bytes(b"secret")
    folder.mkdir()
    os.symlink(outside, folder / "link.pdf")
    path = sheet(
        folder,
        [
            line("文法学院第1学生党支部"),  # row 2: fine, but nothing is imported because of the others
            line("没有这个支部", form="/tmp/x.docx"),  # two errors in one row: both listed
            line("文法学院第2教工党支部", theme="党建引领"),
            line("文法学院第5教工党支部", theme="其他"),
            line("文法学院第1学生党支部"),
            line("文法学院第3教工党支部"),
            line("文法学院第6教工党支部", form="/etc/passwd"),
            line("文法学院第7学生党支部", scan="../outside.pdf"),
            line("文法学院第8教工党支部", scan="link.pdf"),
            line("文法学院第9教工党支部", form="missing.docx"),
            line("文法学院第10学生党支部", title=" "),
            line("文法学院第11教工党支部", form="C:\\申报表.docx"),
        ],
    )
    before = snapshot(bf)
    result = bf("case", "import", str(path), user="wenfa")
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0] == "申报汇总表有 12 处错误，未导入任何数据；请改正后重新导入。"
    assert lines[1:] == [
        "第 3 行：申报表文件“/tmp/x.docx”是绝对路径：请写成相对于表格所在文件夹的路径，如 附件/申报表.docx",
        "第 3 行：没有名为“没有这个支部”的支部（请先导入支部名单，或检查名称）",
        "第 4 行：R6 创建方向：“党建引领”不是可选方向，请从 人才培养、教学科研、学科建设、人才队伍建设、服务社会或师生、其他 中选一个。",
        "第 5 行：R6 创建方向：选择“其他”时须填写方向说明（theme_note）。",
        "第 6 行：支部“文法学院第1学生党支部”与第 2 行重复（每个支部只有一个申报）",
        f"第 7 行：支部“文法学院第3教工党支部”的申报 {submitted} 已是“已申报，待初审”，只有“草稿（申报材料准备）”状态的申报才能导入修改（如需修改，请党委组织部退回）",
        "第 8 行：申报表文件“/etc/passwd”是绝对路径：请写成相对于表格所在文件夹的路径，如 附件/申报表.docx",
        "第 9 行：盖章扫描件“../outside.pdf”含有“..”：附件须放在表格所在的文件夹内",
        "第 10 行：盖章扫描件“link.pdf”是指向表格所在文件夹之外的链接：请把文件本身放进该文件夹",
        "第 11 行：申报表文件“missing.docx”找不到：请确认文件在表格所在的文件夹内",
        "第 12 行：项目名称不能为空",
        "第 13 行：申报表文件“C:\\申报表.docx”是绝对路径：请写成相对于表格所在文件夹的路径，如 附件/申报表.docx",
    ]
    assert snapshot(bf) == before


def test_a_link_that_stays_inside_the_folder_and_a_windows_style_path_are_fine(bf: Bf) -> None:
    folder = bf.tmp / "ok"
    (folder / "附件").mkdir(parents=True)
    (folder / "附件" / "扫描.pdf").write_bytes(b"%PDF-scan")
    os.symlink(folder / "附件" / "扫描.pdf", folder / "scan-link.pdf")
    path = sheet(folder, [line("文法学院第1学生党支部", form="附件\\表.docx", scan="scan-link.pdf")])
    data = bf.json("case", "import", str(path), user="wenfa")
    assert data["attachments"] == 2


def test_a_committee_imports_only_its_own_branches(bf: Bf) -> None:
    path = sheet(bf.tmp / "s", [line("文法学院第1学生党支部"), line("外国语学院第3教工党支部")])
    before = snapshot(bf)
    result = bf("case", "import", str(path), user="wenfa")
    assert result.exit_code == 2
    assert result.output.splitlines()[1:] == ["第 3 行：支部“外国语学院第3教工党支部”不属于用户 wenfa 所在的分党委，不能导入"]
    assert snapshot(bf) == before
    for user in ("zhibu1", "expert"):
        refused = bf.json("case", "import", str(path), user=user)
        assert refused["code"] == 1 and refused["error"].startswith("权限不足：只有党委组织部或分党委可以导入申报")
    assert bf.json("case", "import", str(path), user="zzb")["created"] == 2


@SQLITE_ONLY
def test_a_sheet_without_the_required_headers_says_which(bf: Bf) -> None:
    path = sheet(bf.tmp / "s", [line("文法学院第1学生党支部")[:3]], headers=HEADERS[:3])
    result = bf("case", "import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith(
        "表头缺少：方向说明、预期成果、进度安排、特色与创新点、交流推广方案、纪律处分条例学习活动。"
    )
