"""The web application in-process (Starlette's TestClient over a real SQLite database): login, sessions,
CSRF, headers, scoping, every page for every role, the case page's forms, uploads and downloads, the
conflict page, bulk preview, exports, and the JSON API's shapes against the CLI's --json."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, Bf, at, ready_case
from fastapi.testclient import TestClient
from helpers import Seeded, seed_roster_and_users, spec_parsed_once  # noqa: F401

import cli as cli_words
from cli import cli
from web.app import create_app

PASSWORDS = {name: f"{name}-Pass-2024" for name in ("admin", "zzb", "wenfa", "waiguo", "yishu", "zhibu1", "expert")}
ROLES = {"zzb": "org", "wenfa": "committee", "zhibu1": "branch", "expert": "reviewer"}
START = at("2024-05-02T09:00")


def set_password(b: Bf, name: str, password: str) -> None:
    result = CliRunner().invoke(cli, ["--db", b.url, "--now", b.now, "user", "password", name], input=password + "\n")
    assert result.exit_code == 0, result.output


def build(b: Bf) -> None:
    seed_roster_and_users(b)
    for name, password in PASSWORDS.items():
        set_password(b, name, password)
    ready_case(b)  # 1: 文法学院 (wenfa)
    ready_case(b, "外国语学院第1学生党支部", "waiguo")  # 2: 外国语学院 (waiguo)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return Seeded(tmp_path_factory.mktemp("seeded"), build)


class Clock:
    """The app's `now`, moved by the test (sessions expire without sleeping)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    b = seeded.copy(tmp_path, monkeypatch)
    b.now = "2024-05-02T09:00"
    return b


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def app(db: Bf, clock: Clock) -> Iterator[Any]:
    yield create_app(db.url, clock=clock)


def client(app: Any) -> TestClient:
    return TestClient(app, follow_redirects=False)


def login(app: Any, name: str, password: str | None = None) -> tuple[TestClient, str]:
    """A client logged in through the real form; returns it and the page's CSRF token."""
    c = client(app)
    r = c.post("/login", data={"name": name, "password": password or PASSWORDS[name], "next": "/"})
    assert r.status_code == 303, r.text
    return c, csrf_of(c.get("/").text)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


# ---- login, sessions, headers ----------------------------------------------------------------------


def test_login_page_has_the_labelled_fields_and_strict_headers(app: Any) -> None:
    r = client(app).get("/login")
    assert r.status_code == 200
    assert '<label for="name">用户名</label>' in r.text and '<label for="password">密码</label>' in r.text and ">登录</button>" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text and "onclick" not in r.text  # nothing inline: the CSP would block it


def test_a_page_without_login_redirects_to_login_and_the_api_answers_401(app: Any) -> None:
    r = client(app).get("/cases/1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcases%2F1"
    r = client(app).get("/api/v1/cases")
    assert r.status_code == 401 and r.json()["code"] == 1 and "登录" in r.json()["error"]


def test_login_sets_an_httponly_lax_cookie_with_a_random_id(app: Any) -> None:
    r = client(app).post("/login", data={"name": "wenfa", "password": PASSWORDS["wenfa"]})
    cookie = r.headers["set-cookie"]
    assert "bf_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = cookie.split("bf_session=")[1].split(";")[0]
    assert len(token) >= 40 and "wenfa" not in token


def test_behind_https_the_cookie_is_secure(db: Bf, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_BASE_URL", "https://dj.example.edu.cn/branchflow")
    r = client(create_app(db.url, clock=clock)).post("/login", data={"name": "wenfa", "password": PASSWORDS["wenfa"]})
    assert "Secure" in r.headers["set-cookie"]


def test_wrong_name_and_wrong_password_get_the_same_page(app: Any) -> None:
    one = client(app).post("/login", data={"name": "wenfa", "password": "wrong-password"})
    two = client(app).post("/login", data={"name": "nobody", "password": "wrong-password"})
    assert one.status_code == two.status_code == 401
    assert "用户名或密码错误" in one.text and "用户名或密码错误" in two.text


def test_five_failures_lock_the_name_and_the_api_says_429(app: Any) -> None:
    c = client(app)
    for _ in range(5):
        assert c.post("/login", data={"name": "wenfa", "password": "nope-nope"}).status_code == 401
    r = c.post("/login", data={"name": "wenfa", "password": PASSWORDS["wenfa"]})
    assert r.status_code == 429 and "请 15 分钟后再试" in r.text
    r = c.post("/api/v1/login", json={"name": "wenfa", "password": PASSWORDS["wenfa"]})
    assert r.status_code == 429 and "请 15 分钟后再试" in r.json()["error"]


def test_sessions_expire_after_2_idle_hours(app: Any, clock: Clock) -> None:
    c, _ = login(app, "wenfa")
    clock.now = START + timedelta(hours=1, minutes=50)
    assert c.get("/").status_code == 200
    clock.now += timedelta(hours=2, minutes=1)
    assert c.get("/").status_code == 303


def test_sessions_end_after_12_hours_even_when_active(app: Any, clock: Clock) -> None:
    c, _ = login(app, "wenfa")
    for _ in range(11):
        clock.now += timedelta(hours=1)
        assert c.get("/").status_code == 200
    clock.now += timedelta(hours=1, minutes=1)
    assert c.get("/").status_code == 303


def test_a_password_reset_by_org_ends_the_users_sessions(app: Any, db: Bf) -> None:
    c, _ = login(app, "wenfa")
    org, token = login(app, "zzb")
    assert org.post("/users/wenfa/password", data={"csrf": token, "password": "Temp-Pass-99"}).status_code == 303
    assert c.get("/").status_code == 303
    # the temporary password must be changed before anything else
    c2 = client(app)
    r = c2.post("/login", data={"name": "wenfa", "password": "Temp-Pass-99"})
    assert r.headers["location"] == "/password"
    assert c2.get("/cases").status_code == 422
    page = c2.get("/password")
    r = c2.post("/password", data={"csrf": csrf_of(page.text), "old": "Temp-Pass-99", "new": "Fresh-Pass-2024", "again": "Fresh-Pass-2024"})
    assert r.status_code == 303
    login(app, "wenfa", "Fresh-Pass-2024")


def test_a_role_change_ends_the_session(app: Any, db: Bf) -> None:
    import sqlalchemy as sa

    c, _ = login(app, "wenfa")
    engine = sa.create_engine(db.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE app_user SET committee_id = (SELECT committee_id FROM branch WHERE name = '艺术学院第1学生党支部') WHERE name = 'wenfa'"
            )
        )
    engine.dispose()
    assert c.get("/").status_code == 303


def test_logout_is_a_post_with_the_csrf_token_and_ends_the_session(app: Any) -> None:
    c, token = login(app, "wenfa")
    assert c.get("/logout").status_code == 405
    assert c.post("/logout").status_code == 403
    assert c.get("/").status_code == 200
    assert c.post("/logout", data={"csrf": token}).status_code == 303
    assert c.get("/").status_code == 303


# ---- pages for every role ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ROLES))
def test_every_page_renders_for_every_role(app: Any, name: str) -> None:
    c, _ = login(app, name)
    for path in ("/", "/todo/counts", "/cases", "/cases?sort=due&overdue=true", "/cases/new", "/board", "/users", "/password"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:400])
        assert r.headers["content-security-policy"]
    visible = {"zzb": [1, 2], "wenfa": [1], "zhibu1": [1], "expert": []}[name]  # a reviewer reads only the cases assigned to them
    for cid in visible:
        assert c.get(f"/cases/{cid}").status_code == 200
    for cid in {1, 2} - set(visible):
        assert c.get(f"/cases/{cid}").status_code == 404


def test_the_simulated_clock_is_shown_on_every_page(db: Bf) -> None:
    app = create_app(db.url, at("2024-09-25T09:00"))
    c, _ = login(app, "zzb")
    for path in ("/", "/cases", "/board", "/cases/1"):
        assert "模拟时间 2024-09-25 09:00" in c.get(path).text
    assert "模拟时间" not in client(create_app(db.url, clock=Clock(START))).get("/login").text


def test_home_lists_what_the_user_can_do_with_a_deadline_tag(app: Any) -> None:
    c, _ = login(app, "wenfa")
    page = c.get("/").text
    assert "文法学院第1学生党支部" in page and "外国语学院第1学生党支部" not in page
    assert "提交申报" in page and 'class="tag yellow">剩 4 天' in page  # due 2024-05-06, warn within 7 days
    assert 'hx-trigger="every 30s"' in page


def test_the_list_filters_searches_pages_and_counts(app: Any) -> None:
    c, _ = login(app, "zzb")
    page = c.get("/cases").text
    assert "草稿（申报材料准备） 2" in page
    page = c.get("/cases", params={"q": "外国语"}).text
    assert "外国语学院第1学生党支部" in page and "文法学院第1学生党支部" not in page
    page = c.get("/cases", params={"committee": "文法学院分党委"}).text
    assert "共 1 个" in page


# ---- scoping -----------------------------------------------------------------------------------------


def test_a_committee_user_gets_404_for_another_committees_case_everywhere(app: Any) -> None:
    c, token = login(app, "wenfa")
    assert c.get("/cases/2").status_code == 404
    assert c.get("/cases/2/attachments/3").status_code == 404
    assert c.post("/cases/2/advance", data={"csrf": token, "trigger": "submit"}).status_code == 404
    assert c.get("/api/v1/cases/2").status_code == 404
    assert c.get("/api/v1/cases/2/history").status_code == 404
    assert [r["id"] for r in c.get("/api/v1/cases").json()] == [1]
    assert "外国语学院第1学生党支部" not in c.get("/cases").text
    assert "外国语" not in c.get("/cases/export.csv").content.decode("utf-8-sig")
    assert "外国语" not in c.get("/board").text


# ---- changes: CSRF, the case page, conflicts -------------------------------------------------------------


def test_a_change_without_the_csrf_token_is_403_and_changes_nothing(app: Any, db: Bf) -> None:
    c, _ = login(app, "wenfa")
    before = db.json("case", "history", "1")
    r = c.post("/cases/1/advance", data={"trigger": "submit", "in_attest": "true", "version": "3"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post("/cases/1/advance", data={"csrf": "forged", "trigger": "submit", "in_attest": "true"})
    assert r.status_code == 403
    r = c.post("/api/v1/cases/1/advance", json={"trigger": "submit", "data": {"attest": True}})
    assert r.status_code == 403 and r.json()["code"] == 1
    assert db.json("case", "history", "1") == before
    assert db.json("case", "show", "1")["state"] == "draft"


def test_the_case_page_has_one_form_per_trigger_from_its_declared_inputs(app: Any) -> None:
    c, _ = login(app, "wenfa")
    page = c.get("/cases/1").text
    assert "提交申报" in page
    assert 'type="checkbox" name="in_attest"' in page and "分党委确认支部具备基本条件" in page
    assert 'name="version" value="' in page
    org, _ = login(app, "zzb")
    page = org.get("/cases/1").text
    assert "提交申报" in page  # org may act for the committee


def test_submit_from_the_page_then_org_returns_it_with_a_date(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    version = db.json("case", "show", "1")["version"]
    r = c.post(
        "/cases/1/advance", data={"csrf": token, "trigger": "submit", "in_attest": "true", "version": str(version), "comment": "请审核"}
    )
    assert r.status_code == 303, r.text
    assert db.json("case", "show", "1")["state"] == "submitted"
    org, otoken = login(app, "zzb")
    page = org.get("/cases/1").text
    assert 'type="date" name="in_until"' in page and "退回修改" in page
    r = org.post(
        "/cases/1/advance",
        data={"csrf": otoken, "trigger": "return", "in_until": "2024-05-10", "version": str(version + 1), "comment": "补充进度安排"},
    )
    assert r.status_code == 303, r.text
    history = db.json("case", "history", "1")
    assert history[-1]["trigger"] == "return" and history[-1]["comment"] == "补充进度安排" and history[-1]["actor"] == "zzb"
    assert "补充进度安排" in org.get("/cases/1").text


def test_a_blocked_trigger_is_disabled_with_the_rule_and_reason(app: Any, db: Bf) -> None:
    cid = db.json("case", "new", "--branch", "文法学院第3教工党支部", "--title", "未完成的方案", "--theme", "人才培养", user="wenfa")["id"]
    c, _ = login(app, "wenfa")
    page = c.get(f"/cases/{cid}").text
    assert "提交申报（不可执行）" in page and "disabled" in page
    assert re.search(r"R7[^<]*预期成果", page), page


def test_a_stale_form_gets_the_conflict_page_with_who_changed_it(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    version = db.json("case", "show", "1")["version"]
    db.ok("case", "set", "1", "schedule=五月启动，十月中期检查", user="zzb")
    r = c.post("/cases/1/advance", data={"csrf": token, "trigger": "submit", "in_attest": "true", "version": str(version)})
    assert r.status_code == 409
    assert "申报已被修改" in r.text and "zzb" in r.text and 'href="/cases/1"' in r.text
    assert db.json("case", "show", "1")["state"] == "draft"


def test_a_refusal_by_rule_is_422_with_the_reason(app: Any, db: Bf) -> None:
    db.ok("case", "set", "1", "innovation=", user="wenfa")
    c, token = login(app, "wenfa")
    version = db.json("case", "show", "1")["version"]
    r = c.post("/cases/1/advance", data={"csrf": token, "trigger": "submit", "in_attest": "true", "version": str(version)})
    assert r.status_code == 422 and "特色与创新点" in r.text


def test_plan_fields_are_saved_from_the_page(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    version = db.json("case", "show", "1")["version"]
    r = c.post(
        "/cases/1/fields",
        data={"csrf": token, "version": str(version), "innovation": "新的创新点", **{k: v for k, v in PLAN.items() if k != "innovation"}},
    )
    assert r.status_code == 303
    shown = db.json("case", "show", "1")
    assert shown["innovation"] == "新的创新点" and shown["version"] == version + 1


# ---- attachments ---------------------------------------------------------------------------------------


def test_upload_and_download_under_the_chinese_name(app: Any, db: Bf) -> None:
    c, token = login(app, "wenfa")
    r = c.post(
        "/cases/1/attachments",
        data={"csrf": token, "kind": "form"},
        files={"file": ("申报表（文法学院）.docx", b"PK\x03\x04docx bytes", "application/octet-stream")},
    )
    assert r.status_code == 303, r.text
    found = [a for a in c.get("/api/v1/cases/1").json()["attachments"] if a["name"] == "申报表（文法学院）.docx"]
    assert len(found) == 1 and set(found[0]) == {"id", "kind", "name", "size", "sha256", "uploaded_at", "uploaded_by"}
    r = c.get(f"/cases/1/attachments/{found[0]['id']}")
    assert r.status_code == 200 and r.content == b"PK\x03\x04docx bytes"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "申报表（文法学院）.docx"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [  # the library's one upload policy (records/attachments), not a list of the web's own
        ("run.exe", b"MZ", "申报表电子版只能是 .doc、.docx、.wps 或 .pdf 文件，run.exe 不是"),
        ("empty.pdf", b"", "文件 empty.pdf 是空的（0 字节）"),
        ("big.pdf", b"%PDF-" + b"0" * (20 * 1024 * 1024), "超过上限 20 MB"),
        ("fake.pdf", b"MZ", "文件 fake.pdf 的内容不是PDF 文件"),
    ],
)
def test_uploads_are_limited_in_type_and_size(app: Any, db: Bf, name: str, content: bytes, message: str) -> None:
    c, token = login(app, "wenfa")
    before = len(db.json("case", "show", "1")["attachments"])
    r = c.post("/cases/1/attachments", data={"csrf": token, "kind": "form"}, files={"file": (name, content, "application/octet-stream")})
    assert r.status_code == 400 and message in r.text
    assert len(db.json("case", "show", "1")["attachments"]) == before


# ---- bulk and exports ----------------------------------------------------------------------------------------


def test_bulk_preview_writes_nothing_then_running_gives_each_case_its_history(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    before = [db.json("case", "history", str(i)) for i in (1, 2)]
    r = c.post("/bulk/preview", data={"csrf": token, "trigger": "submit", "ids": ["1", "2"]})
    assert r.status_code == 200, r.text
    assert "预览" in r.text and "可以执行 1 个，拒绝 1 个" in r.text and "R2 不重复参与" in r.text
    assert [db.json("case", "history", str(i)) for i in (1, 2)] == before
    r = c.post("/bulk/run", data={"csrf": token, "trigger": "submit", "ids": ["1"], "in_attest": "true", "comment": "集中提交"})
    assert r.status_code == 200 and "已完成 1 个" in r.text
    last = db.json("case", "history", "1")[-1]
    assert last["trigger"] == "submit" and last["comment"] == "集中提交" and last["actor"] == "zzb"
    assert db.json("case", "history", "2") == before[1]


def test_a_bulk_decision_that_ends_cases_needs_a_comment_and_a_second_confirmation(app: Any, db: Bf) -> None:
    db.ok("waive", "2", "--rule", "R2", "--reason", "学校党委同意继续参与", user="zzb")
    db.ok("advance-many", "submit", "--ids", "1,2", "--data", "attest=true", user="zzb")
    c, token = login(app, "zzb")
    preview = c.post("/bulk/preview", data={"csrf": token, "trigger": "reject", "ids": ["1", "2"]}).text
    assert "我确认结束这些申报" in preview
    r = c.post("/bulk/run", data={"csrf": token, "trigger": "reject", "ids": ["1", "2"], "comment": ""})
    assert r.status_code == 400 and "请填写说明" in r.text
    r = c.post("/bulk/run", data={"csrf": token, "trigger": "reject", "ids": ["1", "2"], "comment": "材料不符"})
    assert r.status_code == 400 and "我确认结束这些申报" in r.text
    assert db.json("case", "show", "1")["state"] == "submitted"


def test_exports_hold_exactly_the_filtered_rows(app: Any) -> None:
    c, _ = login(app, "zzb")
    r = c.get("/cases/export.xlsx", params={"committee": "外国语学院分党委"})
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "支部", "分党委") and [row[1] for row in rows[1:]] == ["外国语学院第1学生党支部"]
    text = c.get("/cases/export.csv").content.decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 3


# ---- the JSON API -------------------------------------------------------------------------------------------


def test_api_login_me_and_cookie_changes_need_the_csrf_header(app: Any, db: Bf) -> None:
    c = client(app)
    r = c.post("/api/v1/login", json={"name": "wenfa", "password": PASSWORDS["wenfa"]})
    assert r.status_code == 200
    csrf = r.json()["csrf"]
    assert c.get("/api/v1/me").json() == {
        "name": "wenfa",
        "role": "committee",
        "role_label": "分党委（直属党总支）",
        "committee": "文法学院分党委",
        "branch": "",
    }
    assert c.patch("/api/v1/cases/1", json={"schedule": "改"}).status_code == 403
    r = c.patch("/api/v1/cases/1", json={"schedule": "改"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["id"] == 1
    assert client(app).post("/api/v1/login", json={"name": "wenfa", "password": "bad"}).status_code == 401


def test_api_bearer_tokens_need_no_csrf_and_answer_like_the_cli(app: Any, db: Bf) -> None:
    token = db.ok("user", "token", "wenfa").output.splitlines()[-1]
    c = client(app)
    auth = {"Authorization": f"Bearer {token}"}
    cli_cases = db.json("status", user="wenfa")
    assert json.loads(c.get("/api/v1/cases", headers=auth).text) == cli_cases
    assert json.loads(c.get("/api/v1/status", headers=auth).text) == cli_cases
    assert json.loads(c.get("/api/v1/cases/1/triggers", headers=auth).text) == db.json("triggers", "1", user="wenfa")
    assert json.loads(c.get("/api/v1/cases/1/history", headers=auth).text) == db.json("case", "history", "1", user="wenfa")
    assert json.loads(c.get("/api/v1/overdue", headers=auth).text) == db.json("overdue", user="wenfa")
    shown = c.get("/api/v1/cases/1", headers=auth).json()
    cli_shown = db.json("case", "show", "1", user="wenfa")
    assert {k: v for k, v in shown.items() if k != "attachments"} == {k: v for k, v in cli_shown.items() if k != "attachments"}
    r = c.post("/api/v1/cases/1/advance", headers=auth, json={"trigger": "submit", "data": {"attest": True}, "expect_version": 1})
    assert r.status_code == 409 and r.json()["code"] == 4
    version = cli_shown["version"]
    r = c.post("/api/v1/cases/1/advance", headers=auth, json={"trigger": "submit", "data": {"attest": True}, "expect_version": version})
    assert r.status_code == 200, r.text
    assert r.json() == {**r.json(), "id": 1, "state": "submitted", "state_label": "已申报，待初审", "version": version + 1}
    r = c.post("/api/v1/cases/1/advance", headers=auth, json={"trigger": "approve"})
    assert r.status_code == 422 and r.json()["code"] == 1  # not possible from 已申报
    r = c.post("/api/v1/cases/1/advance", headers=auth, json={"trigger": "pass_review"})
    assert r.status_code == 403 and r.json()["code"] == 1 and "权限不足" in r.json()["error"]
    assert c.get("/api/v1/cases/999", headers=auth).json()["code"] == 3


def test_api_create_upload_and_advance_many(app: Any, db: Bf) -> None:
    token = db.ok("user", "token", "zzb").output.splitlines()[-1]
    c = client(app)
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post("/api/v1/cases", headers=auth, json={"branch": "艺术学院第1学生党支部", "title": "艺术党建", "theme": "人才培养"})
    assert r.status_code == 201 and set(r.json()) == {"id"}
    cid = r.json()["id"]
    r = c.post(
        f"/api/v1/cases/{cid}/attachments",
        headers=auth,
        data={"kind": "stamped_scan"},
        files={"file": ("盖章.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert r.status_code == 201 and r.json()["name"] == "盖章.pdf" and r.json()["uploaded_by"] == "zzb"
    assert c.get(f"/api/v1/cases/{cid}/attachments/{r.json()['id']}", headers=auth).content == b"%PDF-1.4"
    r = c.post(
        "/api/v1/advance-many", headers=auth, json={"trigger": "submit", "ids": [1, 2, cid], "data": {"attest": True}, "dry_run": True}
    )
    outcomes = {o["id"]: o for o in r.json()}
    assert outcomes[1]["ok"] and outcomes[2]["rules"] == ["R2"] and outcomes[cid]["rules"] == ["R7", "R8"]
    assert db.json("case", "show", "1")["state"] == "draft"
    # The same document as the CLI's, but for the advice: the CLI names its own commands ("waive --rule R2").
    api = [{**o, "details": [cli_words.reason(d) for d in o["details"]]} if "details" in o else o for o in r.json()]
    assert api == db.json("advance-many", "submit", "--ids", f"1,2,{cid}", "--data", "attest=true", "--dry-run", user="zzb")


def test_listing_filters_sorts_and_pages_on_every_backend(bf: Bf) -> None:
    """queries.listing, which the list page and the API use, on SQLite and PostgreSQL."""
    from workflow import queries

    ids = [ready_case(bf), ready_case(bf, "外国语学院第1学生党支部", "waiguo"), ready_case(bf, "艺术学院第1学生党支部", "yishu")]
    ws = bf.ws("zzb")
    for order in ("id", "due", "state", "committee"):
        page = queries.listing(ws, order=order, limit=2)
        assert len(page["cases"]) == 2 and page["total"] == 3 and page["matched"] == 3
        rest = queries.listing(ws, order=order, limit=2, offset=2)["cases"]
        assert sorted(r["id"] for r in page["cases"] + rest) == ids
    assert [r["branch"] for r in queries.listing(ws, text="艺术")["cases"]] == ["艺术学院第1学生党支部"]
    assert [r["id"] for r in queries.listing(ws, text="外国语学院第1学生党支部特色")["cases"]] == [ids[1]]
    assert queries.listing(ws, state="submitted")["matched"] == 0
    assert queries.listing(bf.ws("wenfa"))["total"] == 1
    assert queries.listing(ws, overdue_only=True)["total"] == 0
    assert queries.listing(bf.ws("zzb", now="2024-05-08T09:00"), overdue_only=True)["total"] == 3


def test_org_extends_a_case_and_registers_an_r2_waiver_from_the_case_page(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    page = c.get("/cases/2").text
    assert "登记 R2 例外" in page and "延期原因" in page
    assert "延期原因" not in login(app, "waiguo")[0].get("/cases/2").text
    assert c.post("/cases/2/extend", data={"csrf": token, "until": "2024-05-10", "reason": ""}).status_code == 400
    assert c.post("/cases/2/extend", data={"csrf": token, "until": "2024-05-10", "reason": "盖章流程延误"}).status_code == 303
    assert c.post("/cases/2/waive", data={"csrf": token, "rule": "R2", "reason": "学校党委同意继续参与"}).status_code == 303
    shown = db.json("case", "show", "2")
    assert shown["due_at"].startswith("2024-05-10") and shown["waivers"][0]["reason"] == "学校党委同意继续参与"
    assert [h["trigger"] for h in db.json("case", "history", "2")][-2:] == ["extend", "waive"]
    committee, ctoken = login(app, "waiguo")
    assert committee.post("/cases/2/waive", data={"csrf": ctoken, "rule": "R2", "reason": "自己豁免"}).status_code == 403


def test_the_calendar_downloads_as_ics_in_the_users_scope(app: Any) -> None:
    c, _ = login(app, "wenfa")
    r = c.get("/calendar.ics")
    assert r.status_code == 200 and r.text.startswith("BEGIN:VCALENDAR") and "filename*=UTF-8''" in r.headers["content-disposition"]


def test_org_adds_a_user_and_gives_a_temporary_password_others_are_refused(app: Any, db: Bf) -> None:
    c, token = login(app, "zzb")
    form = {"csrf": token, "name": "理学刘老师", "role": "committee", "committee": "理学院分党委", "email": "liu@example.edu.cn"}
    assert c.post("/users/new", data=form).status_code == 303
    assert c.post("/users/理学刘老师/password", data={"csrf": token, "password": "Liu-Temp-2024"}).status_code == 303
    assert "理学刘老师" in c.get("/users").text
    r = client(app).post("/login", data={"name": "理学刘老师", "password": "Liu-Temp-2024"})
    assert r.headers["location"] == "/password"
    other, otoken = login(app, "wenfa")
    assert other.post("/users/new", data={**form, "csrf": otoken, "name": "x"}).status_code == 403


def test_the_board_shows_org_the_reminder_outbox_by_status(app: Any, db: Bf) -> None:
    done = db("remind", now="2024-05-03T09:00")
    assert done.exit_code == 0, done.output
    statuses = {r["status"] for r in db.json("outbox", user="zzb")}
    assert statuses
    c, _ = login(app, "zzb")
    page = c.get("/board").text
    assert "提醒发件箱" in page
    for status in statuses:
        assert {"pending": "待发", "sent": "已发送", "failed": "失败", "cancelled": "已作废"}[status] in page
    assert "提醒发件箱" not in login(app, "wenfa")[0].get("/board").text


def test_the_year_picker_offers_every_campaign_and_defaults_to_the_years_in_view(app: Any, db: Bf) -> None:
    """看板 and 申报 pick a year from the campaigns that exist; left at its default (an empty value, as the form sends
    it) they cover every campaign with open cases, as status and overdue do."""
    CliRunner().invoke(cli, ["--db", db.url, "--now", "2024-05-02T09:00", "init", "--campaign", "2025"], catch_exceptions=False)
    c, _ = login(app, "zzb")
    for path in ("/board", "/cases"):
        page = c.get(path, params={"year": ""})
        assert page.status_code == 200, page.text[:300]
        assert '<option value="">在办年度（2024）</option>' in page.text
        assert '<option value="2025">2025</option><option value="2024">2024</option>' in page.text
        assert '<option value="2024" selected>2024</option>' in c.get(path, params={"year": "2024"}).text
    assert "共 2 个" in c.get("/cases", params={"year": ""}).text
    assert "共 0 个" in c.get("/cases", params={"year": "2025"}).text


def test_no_page_holds_two_pooled_connections_at_once(app: Any, db: Bf) -> None:
    """A request that opens a second connection while holding one can, with enough requests at once, leave every
    pooled connection waiting for another (the web benchmark's 20 clients did: 30 s pool timeouts, HTTP 500)."""
    import threading

    from sqlalchemy import event

    engine = app.state.web.store.engine
    held: dict[int, int] = {}
    deepest: dict[str, int] = {}
    current = {"path": ""}

    def out(*_: Any) -> None:
        me = threading.get_ident()
        held[me] = held.get(me, 0) + 1
        deepest[current["path"]] = max(deepest.get(current["path"], 0), held[me])

    def back(*_: Any) -> None:
        held[threading.get_ident()] -= 1

    event.listen(engine, "checkout", out)
    event.listen(engine, "checkin", back)
    try:
        for name in ("zzb", "wenfa", "expert"):
            c, _ = login(app, name)
            for path in ("/", "/cases", "/cases/1", "/board", "/users", "/review", "/committee", "/todo/counts", "/api/v1/cases"):
                current["path"] = f"{name} {path}"
                c.get(path)
    finally:
        event.remove(engine, "checkout", out)
        event.remove(engine, "checkin", back)
    assert deepest and {k: v for k, v in deepest.items() if v > 1} == {}
