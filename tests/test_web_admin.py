"""The administration pages (issue 11 pages 7–9): 导入, 延期与例外 with its register, 用户 — per role, all or
nothing, through the library, every change behind the CSRF token."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import openpyxl
import test_web
from conftest import PLAN, Bf
from helpers import snapshot
from test_web import PASSWORDS, client, login

from workflow import auth, case_import, roster

# test_web's fixtures: a seeded database (two ready cases, every role with a password), its clock, the app.
seeded = test_web.seeded
db = test_web.db
clock = test_web.clock
app = test_web.app
spec_parsed_once = test_web.spec_parsed_once

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROSTER_ROW = ["文法学院分党委", "文法学院第99教工党支部", "18", "孙老师", "sun@example.edu.cn", "否", "否", ""]


def csv_bytes(rows: list[list[str]], encoding: str = "gbk") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def case_sheet(branch: str) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["文法学院分党委 2024 年申报汇总表"])
    ws.append(case_import.HEADERS)
    ws.append([branch, f"{branch}读书会", "人才培养", "", *PLAN.values(), "", ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(name: str, data: bytes, media: str = "text/csv") -> dict[str, Any]:
    return {"file": (name, data, media)}


# ---- who sees which page ------------------------------------------------------------------------------


def test_import_renders_for_org_and_committees_and_is_refused_to_others(app: Any) -> None:
    org, _ = login(app, "zzb")
    page = org.get("/import")
    assert page.status_code == 200 and "导入支部名单" in page.text and "导入申报汇总表" in page.text
    committee, _ = login(app, "wenfa")
    page = committee.get("/import")
    assert page.status_code == 200 and "导入申报汇总表" in page.text and "导入支部名单" not in page.text
    for name in ("zhibu1", "expert"):
        r = login(app, name)[0].get("/import")
        assert r.status_code == 403 and "只有党委组织部或分党委可以导入申报" in r.text


def test_extensions_render_for_org_only(app: Any) -> None:
    page = login(app, "zzb")[0].get("/extensions")
    assert page.status_code == 200
    assert "延期一个申报" in page.text and "调整一个阶段的截止日期" in page.text and "登记规则例外" in page.text
    for name in ("wenfa", "zhibu1", "expert"):
        c, _ = login(app, name)
        assert c.get("/extensions").status_code == 403
        assert c.get("/extensions/export.xlsx").status_code == 403


def test_the_nav_offers_each_role_its_pages(app: Any) -> None:
    links = {name: login(app, name)[0].get("/").text for name in ("zzb", "wenfa", "zhibu1", "expert")}
    assert 'href="/import"' in links["zzb"] and 'href="/extensions"' in links["zzb"]
    assert 'href="/import"' in links["wenfa"] and 'href="/extensions"' not in links["wenfa"]
    for name in ("zhibu1", "expert"):
        assert 'href="/import"' not in links[name] and 'href="/extensions"' not in links[name]


def test_a_user_page_renders_for_org_and_for_the_user_themself_and_is_not_found_for_others(app: Any) -> None:
    org, _ = login(app, "zzb")
    page = org.get("/users/wenfa")
    assert page.status_code == 200 and "修改用户信息" in page.text and "停用用户" in page.text and "API 令牌" in page.text
    own = login(app, "zhibu1")[0].get("/users/zhibu1")
    assert own.status_code == 200 and "修改用户信息" not in own.text and "API 令牌" in own.text
    assert login(app, "wenfa")[0].get("/users/zzb").status_code == 404  # a committee sees only its own people


# ---- 导入 -----------------------------------------------------------------------------------------------


def test_a_roster_with_a_bad_row_imports_nothing_and_the_page_names_the_row(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    bad = [*ROSTER_ROW[:2], "很多", *ROSTER_ROW[3:]]
    data = csv_bytes([["2024年各分党委支部名单"], roster.HEADERS, [*ROSTER_ROW[:1], "文法学院第98教工党支部", *ROSTER_ROW[2:]], bad])
    before = snapshot(db)
    r = c.post("/import/roster", data={"csrf": token}, files=upload("名单.csv", data))
    assert r.status_code == 400
    assert "未导入任何数据" in r.text and "第 4 行：党员人数应是非负整数，实际是“很多”" in r.text
    assert snapshot(db) == before


def test_a_roster_upload_imports_and_says_what_it_did(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    r = c.post("/import/roster", data={"csrf": token}, files=upload("名单.csv", csv_bytes([roster.HEADERS, ROSTER_ROW])))
    assert r.status_code == 200, r.text
    assert "已导入 1 行（编码：GBK）：新建分党委 0 个，新建支部 1 个，更新支部 0 个。数据库中已有、此名单未列出的支部 52 个，保留不变。" in r.text
    assert "文法学院第99教工党支部" in {b["name"] for b in db.json("branch", "list")}


def test_a_committee_imports_its_sheet_and_not_another_committees_branch(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    r = c.post("/import/cases", data={"csrf": token}, files=upload("汇总表.xlsx", case_sheet("文法学院第2教工党支部"), XLSX))
    assert r.status_code == 200, r.text
    assert "新建申报 1 个" in r.text and "（编码：Excel 文件）" in r.text
    assert any(row["branch"] == "文法学院第2教工党支部" for row in db.json("status", user="zzb"))
    before = snapshot(db)
    r = c.post("/import/cases", data={"csrf": token}, files=upload("汇总表.xlsx", case_sheet("外国语学院第2教工党支部"), XLSX))
    assert r.status_code == 400 and "第 3 行：支部“外国语学院第2教工党支部”不属于用户 wenfa 所在的分党委" in r.text
    assert snapshot(db) == before


def test_a_roster_upload_by_a_committee_is_refused(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    before = snapshot(db)
    r = c.post("/import/roster", data={"csrf": token}, files=upload("名单.csv", csv_bytes([roster.HEADERS, ROSTER_ROW])))
    assert r.status_code == 403 and snapshot(db) == before


def test_the_two_templates_download_as_xlsx(app: Any) -> None:
    c, _ = login(app, "wenfa")
    for path, headers in (("/import/roster-template.xlsx", roster.HEADERS), ("/import/case-template.xlsx", case_import.HEADERS)):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"] == XLSX and "filename*=UTF-8''" in r.headers["content-disposition"]
        first = next(openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
        assert list(first) == headers


# ---- 延期与例外 -------------------------------------------------------------------------------------------


def test_org_extends_a_whole_state_from_the_page_and_the_register_lists_each_case(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    form = {"csrf": token, "state": "draft", "until": "2024-05-20", "reason": "系统维护，统一延期"}
    r = c.post("/extensions/state", data=form)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "阶段截止时间已从 2024-05-06 23:59 调整为 2024-05-20 23:59，涉及 2 个申报" in page
    for cid in ("1", "2"):
        assert db.json("case", "show", cid)["due_at"].startswith("2024-05-20")
    assert page.count("系统维护，统一延期") == 2 and "整个阶段" in page
    assert c.post("/extensions/state", data={**form, "reason": ""}).status_code == 400


def test_org_extends_one_case_and_registers_a_waiver_from_the_page(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    assert c.post("/extensions/case", data={"csrf": token, "case_id": "1", "until": "2024-05-10", "reason": "盖章延误"}).status_code == 303
    assert c.post("/extensions/waive", data={"csrf": token, "case_id": "2", "rule": "R2", "reason": "学校党委同意"}).status_code == 303
    page = c.get("/extensions").text
    assert "盖章延误" in page and "学校党委同意" in page and "例外（R2）" in page and "单个申报" in page
    assert db.json("case", "show", "1")["due_at"].startswith("2024-05-10")
    r = c.post("/extensions/case", data={"csrf": token, "case_id": "一", "until": "2024-05-10", "reason": "x"})
    assert r.status_code == 400 and "申报编号" in r.text


def test_the_register_exports_as_excel_and_csv_with_chinese_headers_and_no_formulas(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    c.post("/extensions/case", data={"csrf": token, "case_id": "1", "until": "2024-05-10", "reason": "=SUM(1,2)"})
    r = c.get("/extensions/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows())
    headers = [cell.value for cell in rows[0]]
    assert headers[:4] == ["登记时间", "类型", "范围", "申报"] and "新截止时间" in headers and "原因" in headers
    row = {h: cell for h, cell in zip(headers, rows[1], strict=True)}
    assert row["类型"].value == "延期" and row["范围"].value == "单个申报" and row["申报"].value == 1
    assert isinstance(row["新截止时间"].value, datetime) and isinstance(row["登记时间"].value, datetime)
    assert row["原因"].value == "=SUM(1,2)" and row["原因"].data_type == "s"
    text = c.get("/extensions/export.csv").content.decode("utf-8-sig")
    [first] = list(csv.DictReader(text.splitlines()))
    assert first["原因"] == "'=SUM(1,2)" and first["新截止时间"] == "2024-05-10 23:59"


# ---- 用户 -------------------------------------------------------------------------------------------------


def test_changing_a_users_committee_from_the_page_ends_their_sessions(app: Any, db: Bf) -> None:
    wenfa, _ = login(app, "wenfa")
    org, token = login(app, "zzb")
    form = {"csrf": token, "role": "committee", "committee": "艺术学院分党委", "branch": "", "email": "wenfa@example.edu.cn"}
    r = org.post("/users/wenfa/set", data=form)
    assert r.status_code == 303
    assert "已修改用户 wenfa 的分党委，其网页登录已失效（1 个）" in org.get(r.headers["location"]).text
    assert wenfa.get("/").status_code == 303  # back to the login page
    [row] = [u for u in db.json("user", "list", user="zzb") if u["name"] == "wenfa"]
    assert row["committee"] == "艺术学院分党委"
    assert org.post("/users/wenfa/set", data=form).status_code == 400  # nothing to change: refused, not audited


def test_an_email_change_keeps_the_session(app: Any, db: Bf) -> None:
    wenfa, _ = login(app, "wenfa")
    org, token = login(app, "zzb")
    form = {"csrf": token, "role": "committee", "committee": "文法学院分党委", "branch": "", "email": "new@example.edu.cn"}
    assert org.post("/users/wenfa/set", data=form).status_code == 303
    assert wenfa.get("/").status_code == 200


def test_disabling_a_user_from_the_page_ends_their_sessions_and_enabling_needs_a_new_password(app: Any, db: Bf) -> None:
    branch, _ = login(app, "zhibu1")
    org, token = login(app, "zzb")
    assert org.post("/users/zhibu1/disable", data={"csrf": token, "reason": "调离"}).status_code == 303
    assert branch.get("/").status_code == 303
    assert client(app).post("/login", data={"name": "zhibu1", "password": PASSWORDS["zhibu1"]}).status_code == 401
    assert "已停用" in org.get("/users/zhibu1").text
    assert org.post("/users/zhibu1/enable", data={"csrf": token}).status_code == 303
    assert org.post("/users/zhibu1/password", data={"csrf": token, "password": "Back-Again-2024"}).status_code == 303
    r = client(app).post("/login", data={"name": "zhibu1", "password": "Back-Again-2024"})
    assert r.status_code == 303 and r.headers["location"] == "/password"


def test_the_token_list_shows_label_and_times_never_the_secret_and_one_can_be_revoked(app: Any, db: Bf) -> None:
    made = db.json("user", "token", "wenfa", "--label", "统计脚本", user="zzb")
    secret = made["token"]
    assert client(app).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    org, token = login(app, "zzb")
    page = org.get("/users/wenfa").text
    assert "统计脚本" in page and "有效" in page and secret not in page and secret[-12:] not in page
    [listed] = auth.tokens(db.ws("zzb"), "wenfa")
    assert set(listed) == {"id", "label", "created_at", "last_used_at", "revoked_at"}  # the secret is not even stored
    r = org.post(f"/users/wenfa/tokens/{listed['id']}/revoke", data={"csrf": token})
    assert r.status_code == 303
    assert client(app).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "已吊销" in org.get("/users/wenfa").text
    assert org.post(f"/users/wenfa/tokens/{listed['id']}/revoke", data={"csrf": token}).status_code == 404


def test_a_committee_user_cannot_change_or_disable_anyone(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    before = snapshot(db)
    assert c.post("/users/wenfa/disable", data={"csrf": token}).status_code == 403
    form = {"csrf": token, "role": "org", "committee": "", "branch": "", "email": ""}
    assert c.post("/users/wenfa/set", data=form).status_code == 403
    assert snapshot(db) == before


# ---- CSRF -------------------------------------------------------------------------------------------------


def test_every_admin_change_without_the_csrf_token_is_403_and_changes_nothing(app: Any, db: Bf) -> None:
    c, _ = login(app, "zzb")
    before = snapshot(db)
    posts: list[tuple[str, dict[str, str], dict[str, Any] | None]] = [
        ("/import/roster", {}, upload("名单.csv", csv_bytes([roster.HEADERS, ROSTER_ROW]))),
        ("/import/cases", {}, upload("汇总表.xlsx", case_sheet("文法学院第2教工党支部"), XLSX)),
        ("/extensions/state", {"state": "draft", "until": "2024-05-20", "reason": "统一延期"}, None),
        ("/extensions/case", {"case_id": "1", "until": "2024-05-20", "reason": "延期"}, None),
        ("/extensions/waive", {"case_id": "1", "rule": "R2", "reason": "例外"}, None),
        ("/users/wenfa/set", {"role": "committee", "committee": "艺术学院分党委", "branch": "", "email": ""}, None),
        ("/users/wenfa/disable", {"reason": "x"}, None),
        ("/users/wenfa/revoke", {}, None),
    ]
    for path, form, files in posts:
        for sent in (form, {**form, "csrf": "forged"}):
            r = c.post(path, data=sent, files=files)
            assert r.status_code == 403 and "CSRF" in r.text, path
    assert snapshot(db) == before
