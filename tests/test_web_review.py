"""The 评审 pages (a reviewer's assignments and score form; org's assignment page, ranked summary and its export)
and the 分党委 page, in-process over a real SQLite database, as tests/test_web.py does: each page for every role
that may see it and refused for the others, scoring through the form, CSRF, scoping, exports read back."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import Bf, at, ready_case
from helpers import Seeded, snapshot, spec_parsed_once  # noqa: F401
from test_web import PASSWORDS, Clock, build, client, set_password

from web.app import create_app
from workflow import review

REVIEW, SCORING, EVALUATION = "2024-05-10T10:00", "2024-05-20T10:00", "2024-05-28T10:00"
PANEL = ("r1", "r2", "r3", "r4", "r5")  # r5 belongs to 文法学院分党委 (conflict of interest for case 1)
PASS = {**PASSWORDS, **{name: f"{name}-Pass-2024" for name in PANEL}}
CRITERIA = ("focus", "feature", "quality", "effect", "process", "promotion", "long_term")
WHO = ("zzb", "wenfa", "zhibu1", "expert", "r1")  # org, committee, branch, an unassigned reviewer, an assigned one


def build_panel(b: Bf) -> None:
    """test_web's database (cases 1 文法学院, 2 外国语学院 in draft), plus cases 3 建筑学院 and 4 理学院; 1, 3, 4 passed
    preliminary review; reviewers r1–r5; r1, r2, r3 on case 1 and r1 on case 3."""
    build(b)
    ready_case(b, "建筑学院第1学生党支部", user="zzb")
    ready_case(b, "理学院第1学生党支部", user="zzb")
    for cid in ("1", "3", "4"):
        b.ok("advance", cid, "submit", "--data", "attest=true", user="zzb")
        b.ok("advance", cid, "pass_review", user="zzb", now=REVIEW)
    for name in PANEL[:4]:
        b.ok("user", "add", name, "--role", "reviewer", "--email", f"{name}@example.edu.cn")
    b.ok("user", "add", "r5", "--role", "reviewer", "--committee", "文法学院分党委")
    for name in PANEL:
        set_password(b, name, PASS[name])
    b.ok("review", "assign", "1", "--reviewer", "r1", "--reviewer", "r2", "--reviewer", "r3", user="zzb", now=REVIEW)
    b.ok("review", "assign", "3", "--reviewer", "r1", user="zzb", now=REVIEW)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(tmp_path_factory.mktemp("seeded"), build_panel)


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    b = seeded.copy(tmp_path, monkeypatch)
    b.now = SCORING
    return b


@pytest.fixture
def app(db: Bf) -> Iterator[Any]:
    yield create_app(db.url, clock=Clock(at(SCORING)))


def login(app: Any, name: str) -> tuple[Any, str]:
    """A client logged in through the real form, and its CSRF token."""
    c = client(app)
    r = c.post("/login", data={"name": name, "password": PASS[name], "next": "/"})
    assert r.status_code == 303, r.text
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text)
    assert found
    return c, found.group(1)


def marks(value: float, **other: float) -> dict[str, str]:
    """The score form's fields: every criterion `value`, except those given."""
    return {f"score_{k}": f"{other.get(k, value):g}" for k in CRITERIA}


# ---- who sees which page --------------------------------------------------------------------------


@pytest.mark.parametrize("name", WHO)
def test_every_new_page_renders_for_who_may_see_it_and_is_refused_for_the_others(app: Any, name: str) -> None:
    c, _ = login(app, name)
    org, reviewer, committee = name == "zzb", name in ("expert", "r1"), name == "wenfa"
    r = c.get("/review")
    assert r.status_code == (303 if org else 200 if reviewer else 403), r.text[:300]
    if org:
        assert r.headers["location"] == "/review/assign"
    for path in ("/review/assign", "/review/summary", "/review/summary.xlsx", "/review/summary.csv"):
        assert c.get(path).status_code == (200 if org else 403), path
    r = c.get("/committee")
    assert r.status_code == (200 if org or committee else 403)
    if r.status_code == 403:
        assert "权限不足" in r.text
    home = c.get("/").text
    assert ('href="/review"' in home) == (org or reviewer)
    assert ('href="/committee"' in home) == (org or committee)


# ---- a reviewer's assignments and the score form ---------------------------------------------------------


def test_a_reviewer_sees_only_their_assignments_each_with_the_form_of_the_declared_criteria(app: Any, db: Bf) -> None:
    c, _ = login(app, "r1")
    page = c.get("/review").text
    assert "建筑学院第1学生党支部特色创建" in page and "文法学院第1学生党支部特色创建" in page and "建筑学院分党委" in page
    assert "理学院" not in page  # case 4 is not assigned to r1
    assert page.count("未评分") == 2
    criteria = db.ws("zzb").spec.rules.review.criteria
    for cr in criteria:
        assert f"{cr.label}（0–100 分，权重 {cr.weight:g}）" in page
        assert f'name="score_{cr.id}" type="number" min="0" max="100"' in page
    assert page.count('name="score_') == 2 * len(criteria) and page.count('name="comment"') == 2
    # An assigned case's plan and files are readable (not its history); an unassigned one does not exist for r1.
    shown = c.get("/cases/1")
    assert shown.status_code == 200 and "以支部为单元的导师制" in shown.text
    assert c.get("/cases/4").status_code == 404
    assert "理学院" not in login(app, "expert")[0].get("/review").text


def test_a_reviewer_cannot_score_a_case_not_assigned_to_them(app: Any, db: Bf) -> None:
    c, token = login(app, "r1")
    before = snapshot(db)
    r = c.post("/review/4/score", data={"csrf": token, **marks(90)})
    assert r.status_code == 404 and "没有编号为 4 的申报" in r.text
    with pytest.raises(Exception, match="没有分配给评审专家 r1"):  # the library refuses on its own, whatever the page does
        review.score(db.ws("r1"), 4, dict.fromkeys(CRITERIA, 90))
    assert snapshot(db) == before


def test_reviewers_score_through_the_form_and_the_summary_ranks_the_case(app: Any, db: Bf) -> None:
    for who, value in (("r1", 90), ("r2", 94), ("r3", 92)):
        c, token = login(app, who)
        r = c.post("/review/1/score", data={"csrf": token, **marks(value), "comment": f"{who}：特色鲜明"})
        assert r.status_code == 303, r.text
        assert "已提交" in c.get(r.headers["location"]).text
    c, token = login(app, "r1")
    r = c.post("/review/3/score", data={"csrf": token, **marks(80, long_term=70), "comment": ""})
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "已提交申报 3（建筑学院第1学生党支部）的评分，总分 79" in page
    assert 'value="90"' in page and "r1：特色鲜明" in page  # the form shows one's own scores and comment to change them
    # r1 changes their mind: audited as a change
    r = c.post("/review/1/score", data={"csrf": token, **marks(96), "comment": "复核后上调"})
    assert "已修改" in c.get(r.headers["location"]).text
    scored = [h for h in db.json("case", "history", "1", user="zzb") if h["trigger"] == "review_score"]
    assert [h["actor"] for h in scored] == ["r1", "r2", "r3", "r1"] and scored[-1]["comment"] == "修改评分"
    rows = db.json("review", "summary", user="zzb")
    assert [(r["id"], r["rank"], r["panel"]) for r in rows] == [(1, 1, 94.0), (3, 2, 79.0), (4, None, None)]
    org, _ = login(app, "zzb")
    page = org.get("/review/summary").text
    first, second = page.index("文法学院第1学生党支部"), page.index("建筑学院第1学生党支部")
    assert first < second < page.index("理学院第1学生党支部")
    assert '<td data-label="专家组评分">94.0</td>' in page and '<td data-label="名次">1</td>' in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({k: v for k, v in marks(90).items() if k != "score_long_term"}, "每项评审指标都须评分，缺少：long_term（放眼长远）。"),
        (marks(90, long_term=101), "评审指标 放眼长远 的分数 101 超出范围 0–100。"),
        (marks(90, focus=-1), "评审指标 聚焦主题 的分数 -1 超出范围 0–100。"),
        ({**marks(90), "score_focus": "九十"}, "评审指标 聚焦主题 的分数 '九十' 不是数字：请写成 0 到 100 之间的数。"),
    ],
)
def test_a_wrong_score_is_refused_in_chinese_and_changes_nothing(app: Any, db: Bf, fields: dict[str, str], message: str) -> None:
    c, token = login(app, "r1")
    before = snapshot(db)
    r = c.post("/review/1/score", data={"csrf": token, **fields})
    shown = html.unescape(r.text.split('role="alert">')[1].split("</p>")[0])
    assert r.status_code == 400 and message in shown
    assert "--" not in shown  # no command-line flags on a page
    assert snapshot(db) == before


def test_scores_cannot_change_once_the_case_is_evaluated(app: Any, db: Bf) -> None:
    for who in ("r1", "r2", "r3"):
        db.ok("review", "score", "1", *(a for k in CRITERIA for a in ("--score", f"{k}=91")), user=who)
    db.ok("advance", "1", "evaluate", user="zzb", now=EVALUATION)
    c, token = login(app, "r1")
    page = c.get("/review").text
    assert "申报已离开评审阶段，评分不能再修改" in page
    r = c.post("/review/1/score", data={"csrf": token, **marks(99)})
    assert r.status_code == 422 and "评分不能再修改" in r.text


# ---- org: assignment and unassignment ------------------------------------------------------------------


def test_org_sees_who_reviews_what_and_assigns_and_unassigns_through_the_page(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    page = c.get("/review/assign").text
    assert "r1 · 未评分" in page and "理学院第1学生党支部" in page and "（尚未分配）" in page
    assert "初审通过，待评审 · 已评分 0/3" in page and "初审通过，待评审 · 已评分 0/0" in page
    assert "r5（文法学院分党委）" in page
    r = c.post("/review/assign", data={"csrf": token, "case_id": "4", "reviewer": ["r2", "r4"]})
    assert r.status_code == 303, r.text
    assert "新分配 r2、r4" in c.get(r.headers["location"]).text
    assert [x["reviewer"] for x in db.json("review", "list", user="zzb") if x["id"] == 4] == ["r2", "r4"]
    r = c.post("/review/unassign", data={"csrf": token, "case_id": "4", "reviewer": "r4"})
    assert r.status_code == 303 and "已取消评审专家 r4" in c.get(r.headers["location"]).text
    assert [x["reviewer"] for x in db.json("review", "list", user="zzb") if x["id"] == 4] == ["r2"]
    history = [h["trigger"] for h in db.json("case", "history", "4", user="zzb")]
    assert history[-3:] == ["review_assign", "review_assign", "review_unassign"]


def test_a_conflict_of_interest_or_a_scored_reviewer_is_refused_in_chinese_and_nothing_changes(app: Any, db: Bf) -> None:
    db.ok("review", "score", "3", *(a for k in CRITERIA for a in ("--score", f"{k}=80")), user="r1")
    c, token = login(app, "zzb")
    before = snapshot(db)
    r = c.post("/review/assign", data={"csrf": token, "case_id": "1", "reviewer": ["r4", "r5"]})
    assert r.status_code == 422 and "利益回避：评审专家 r5 属于文法学院分党委" in r.text
    r = c.post("/review/unassign", data={"csrf": token, "case_id": "3", "reviewer": "r1"})
    assert r.status_code == 422 and "已提交申报 3 的评分，不能再取消分配" in r.text
    r = c.post("/review/assign", data={"csrf": token, "case_id": "4"})
    assert r.status_code == 400 and "没有指定评审专家" in r.text
    assert snapshot(db) == before


def test_org_spreads_a_state_over_the_panel_from_the_page(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    r = c.post("/review/spread", data={"csrf": token, "state": "preliminary_review", "reviewer": list(PANEL), "per_case": "3"})
    assert r.status_code == 303, r.text
    assert "已为 3 个申报分配评审专家（每个 3 位）" in c.get(r.headers["location"]).text
    per_case: dict[int, list[str]] = {}
    for row in db.json("review", "list", user="zzb"):
        per_case.setdefault(row["id"], []).append(row["reviewer"])
    assert {cid: len(names) for cid, names in per_case.items()} == {1: 3, 3: 3, 4: 3}
    assert "r5" not in per_case[1]


def test_a_change_without_the_csrf_token_is_403_and_changes_nothing(app: Any, db: Bf) -> None:
    reviewer, _ = login(app, "r1")
    org, _ = login(app, "zzb")
    before = snapshot(db)
    assert reviewer.post("/review/1/score", data=marks(90)).status_code == 403
    assert reviewer.post("/review/1/score", data={"csrf": "forged", **marks(90)}).status_code == 403
    for path, data in (
        ("/review/assign", {"case_id": "4", "reviewer": "r2"}),
        ("/review/unassign", {"case_id": "1", "reviewer": "r1"}),
        ("/review/spread", {"state": "preliminary_review", "reviewer": list(PANEL), "per_case": "3"}),
    ):
        r = org.post(path, data=data)
        assert r.status_code == 403 and "CSRF" in r.text, path
    assert snapshot(db) == before


def test_only_org_assigns_whatever_the_page_offers(app: Any, db: Bf) -> None:
    clients = [login(app, name) for name in ("wenfa", "r1")]
    before = snapshot(db)
    for c, token in clients:
        r = c.post("/review/assign", data={"csrf": token, "case_id": "4", "reviewer": "r2"})
        assert r.status_code == 403 and "只有党委组织部可以分配评审专家" in r.text
    assert snapshot(db) == before


# ---- the summary's exports ----------------------------------------------------------------------------


def test_the_summary_exports_read_back_with_chinese_headers_and_text_never_a_formula(app: Any, db: Bf) -> None:
    for who, value in (("r1", 90), ("r2", 94), ("r3", 92)):
        db.ok("review", "score", "1", *(a for k in CRITERIA for a in ("--score", f"{k}={value}")), user=who)
    db.ok("advance", "4", "evaluate", "--data", "score=95", "--data", "reason==HYPERLINK(1)", user="zzb", now=EVALUATION)
    headers = list(review.headers(db.ws("zzb").spec).values())
    c, _ = login(app, "zzb")
    page = c.get("/review/summary").text
    assert 'href="/review/summary.xlsx"' in page and 'href="/review/summary.csv"' in page and "导出 Excel" in page
    r = c.get("/review/summary.xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''%E8%AF%84%E5%AE%A1%E6%B1%87%E6%80%BB%E8%A1%A8.xlsx" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet.title == "评审汇总表" and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == headers and "聚焦主题（均分）" in headers
    by_id = {row[1]: dict(zip(headers, row, strict=True)) for row in rows[1:]}
    assert by_id[4]["人工覆盖理由"] == "=HYPERLINK(1)" and by_id[4]["评审分"] == 95 and by_id[1]["专家组评分"] == 92
    reason_cell = next(cell for cell in sheet.iter_rows(min_row=2) if cell[1].value == 4)[headers.index("人工覆盖理由")]
    assert reason_cell.data_type == "s"
    r = c.get("/review/summary.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == headers and len(table) == 4
    assert {row[1]: row[headers.index("人工覆盖理由")] for row in table[1:]}["4"] == "'=HYPERLINK(1)"
    assert c.get("/review/summary.pdf").status_code == 400


# ---- 分党委 -------------------------------------------------------------------------------------------------


def test_a_committee_sees_its_branches_cases_quota_and_r2_r4_and_nothing_of_another_committee(app: Any, db: Bf) -> None:
    db.ok("case", "new", "--branch", "文法学院第12教工党支部", "--title", "重复参与", "--theme", "人才培养", user="wenfa")
    c, _ = login(app, "wenfa")
    page = c.get("/committee").text
    assert "<h1>文法学院分党委</h1>" in page and page.count('data-label="支部"') == 12
    assert 'href="/cases/1"' in page and "初审通过，待评审" in page
    assert "已用 1 / 可推荐 2" in page  # 12 branches: two may be recommended; case 1 counts, a draft does not
    assert "R2 不重复参与：该支部上一年度已参与创建" in page  # 第12教工党支部 took part in 2023
    assert "样板支部（培育周期 2023-2025）：本周期尚未参与，可参与一次，不占推荐名额" in page  # 第4学生党支部
    assert "外国语" not in page and 'name="committee"' not in page  # no picker: one's own committee only
    r = c.get("/committee", params={"committee": "外国语学院分党委"})
    assert r.status_code == 404 and "外国语学院第1学生党支部" not in r.text


def test_org_picks_any_committee_and_sees_the_first_by_default(app: Any, db: Bf) -> None:
    c, _ = login(app, "zzb")
    page = c.get("/committee").text
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == sorted(options) and len(options) > 3 and f'<option value="{options[0]}" selected>' in page
    assert f"<h1>{options[0]}</h1>" in page
    page = c.get("/committee", params={"committee": "外国语学院分党委"}).text
    assert "<h1>外国语学院分党委</h1>" in page and 'href="/cases/2"' in page and "草稿（申报材料准备）" in page
    assert "已用 0 / 可推荐" in page and "R2 不重复参与" in page
    assert c.get("/committee", params={"committee": "没有这个分党委"}).status_code == 404


def test_a_wrong_spread_is_refused_in_chinese_without_command_line_words_and_changes_nothing(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    before = snapshot(db)
    for per_case, message in (("9", "每个申报的评审专家人数应在 1 到专家组人数 5 之间，实际是 9。"), ("三", "请填写每个申报的评审专家人数（一个整数）。")):
        r = c.post("/review/spread", data={"csrf": token, "state": "preliminary_review", "reviewer": list(PANEL), "per_case": per_case})
        shown = html.unescape(r.text.split('role="alert">')[1].split("</p>")[0])
        assert r.status_code == 400 and message in shown and "--" not in shown
    assert snapshot(db) == before
    assert "请改正 --per-case" in db("review", "assign", "--state", "preliminary_review", "--reviewers", "r1,r2", "--per-case", "3", user="zzb").output


# ---- the JSON twins -----------------------------------------------------------------------------------------


def test_the_api_answers_review_list_summary_and_score_as_the_cli_json_does(app: Any, db: Bf) -> None:
    tokens = {name: db.ok("user", "token", name).output.splitlines()[-1] for name in ("r1", "zzb", "wenfa")}
    c = client(app)

    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    scores = {"聚焦主题": 95, **{k: 90 for k in CRITERIA[1:]}}
    r = c.post("/api/v1/review/1/score", headers=auth("r1"), json={"scores": scores, "comment": "接口评分"})
    assert r.status_code == 200, r.text
    assert r.json() == {**r.json(), "id": 1, "reviewer": "r1", "total": 90.75, "changed": False}
    assert json.loads(c.get("/api/v1/review", headers=auth("r1")).text) == db.json("review", "list", user="r1")
    assert json.loads(c.get("/api/v1/review", headers=auth("zzb")).text) == db.json("review", "list", user="zzb")
    assert json.loads(c.get("/api/v1/review/summary", headers=auth("zzb")).text) == db.json("review", "summary", user="zzb")
    assert c.get("/api/v1/review/summary", headers=auth("wenfa")).status_code == 403
    r = c.post("/api/v1/review/4/score", headers=auth("r1"), json={"scores": scores})
    assert r.status_code == 404 and r.json()["code"] == 3
    r = c.post("/api/v1/review/1/score", headers=auth("r1"), json={"scores": {"focus": 90}})
    assert r.status_code == 400 and r.json()["code"] == 2 and "缺少" in r.json()["error"] and "--" not in r.json()["error"]
    # A session (cookie) needs the CSRF header, as every change through the API does.
    s, _ = login(app, "r1")
    assert s.post("/api/v1/review/1/score", json={"scores": scores}).status_code == 403


def test_the_api_gives_a_committee_its_own_overview_only(app: Any, db: Bf) -> None:
    token = db.ok("user", "token", "wenfa").output.splitlines()[-1]
    c = client(app)
    auth = {"Authorization": f"Bearer {token}"}
    found = c.get("/api/v1/committee", headers=auth).json()
    assert found["committee"] == "文法学院分党委" and (found["quota_used"], found["quota_limit"]) == (1, 2)
    assert [b["name"] for b in found["branches"]][:2] == ["文法学院第1学生党支部", "文法学院第2教工党支部"]
    r = c.get("/api/v1/committee", headers=auth, params={"committee": "外国语学院分党委"})
    assert r.status_code == 404 and "外国语学院第1" not in r.text
