"""统一身份认证 (CAS single sign-on), against a small CAS server of our own on 127.0.0.1 (a real http.server in a
thread answering /cas/login, /cas/serviceValidate and /cas/p3/serviceValidate as CAS 2.0 and 3.0 do).

The CAS account (or its 工号 attribute) maps to an existing user through `user set NAME --sso-id ID`, audited; an
account no user has is refused in Chinese and creates nobody; a disabled user is refused; the session is made as
a password login makes it (a new id, in the database)."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from conftest import Bf
from fastapi.testclient import TestClient
from servers import free_port, http_server

from cli import cli
from demo import sample
from web.app import create_app
from web.context import COOKIE
from workflow import Store, auth, clock, sso, users

NOW = "2024-05-02T09:00"
NS = "http://www.yale.edu/tp/cas"


@dataclass
class Cas:
    """The CAS server's state: who logs in next, the tickets it issued (each valid once, for its service)."""

    port: int = 0
    person: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, tuple[str, str, dict[str, str]]] = field(default_factory=dict)
    validations: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, query)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cas/"


def _success(user: str, attributes: dict[str, str]) -> bytes:
    attrs = "".join(f"<cas:{k}>{escape(v)}</cas:{k}>" for k, v in attributes.items())
    return (
        f'<cas:serviceResponse xmlns:cas="{NS}"><cas:authenticationSuccess><cas:user>{escape(user)}</cas:user>'
        f"<cas:attributes>{attrs}</cas:attributes></cas:authenticationSuccess></cas:serviceResponse>"
    ).encode()


def _failure(ticket: str) -> bytes:
    return (
        f'<cas:serviceResponse xmlns:cas="{NS}"><cas:authenticationFailure code="INVALID_TICKET">'
        f"Ticket {escape(ticket)} not recognized</cas:authenticationFailure></cas:serviceResponse>"
    ).encode()


@contextmanager
def cas_server() -> Iterator[Cas]:
    state = Cas()
    serial = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
            if parts.path == "/cas/login":  # the person "logs in" and is sent back with a ticket
                ticket = f"ST-{next(serial)}-fake"
                state.tickets[ticket] = (query["service"], state.person, dict(state.attributes))
                back = query["service"] + ("&" if "?" in query["service"] else "?") + urllib.parse.urlencode({"ticket": ticket})
                self.send_response(302)
                self.send_header("Location", back)
                self.end_headers()
                return
            if parts.path in ("/cas/serviceValidate", "/cas/p3/serviceValidate"):
                state.validations.append((parts.path, query))
                issued = state.tickets.pop(query.get("ticket", ""), None)  # a ticket is good once
                ok = issued is not None and issued[0] == query.get("service")
                body = _success(issued[1], issued[2]) if ok and issued else _failure(query.get("ticket", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http_server(Handler) as state.port:
        yield state


@pytest.fixture
def cas() -> Iterator[Cas]:
    with cas_server() as found:
        yield found


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    b = Bf(f"sqlite:///{tmp_path / 'bf.db'}", tmp_path, now=NOW)
    b.ok("init", "--campaign", "2024")
    b.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    b.ok("user", "add", "zzb", "--role", "org")
    b.ok("user", "add", "文法张老师", "--role", "committee", "--committee", "文法学院分党委")
    b.ok("user", "set", "文法张老师", "--sso-id", "zhangsan", user="zzb")
    return b


def app_for(db: Bf, monkeypatch: pytest.MonkeyPatch, cas: Cas | None, **env: str) -> TestClient:
    if cas is not None:
        monkeypatch.setenv("BRANCHFLOW_CAS_URL", cas.url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return TestClient(create_app(db.url, now=clock.parse_now(NOW)), follow_redirects=False)


def through_cas(c: TestClient, cas: Cas, person: str, next: str = "/", **attributes: str) -> Any:
    """The browser's round trip: our /login/cas → the CAS server's login → back to us with a ticket."""
    cas.person, cas.attributes = person, attributes
    r = c.get("/login/cas", params={"next": next})
    assert r.status_code == 303 and r.headers["location"].startswith(cas.url + "login?service="), r.text
    return _back(c, r.headers["location"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _back(c: TestClient, cas_login: str) -> Any:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(cas_login)
        raise AssertionError("the CAS server should redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        location = exc.headers["Location"]
    assert location.startswith("http://testserver/login/cas?")
    return c.get(location)


def sessions(db: Bf) -> int:
    import sqlite3

    path = db.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM web_session").fetchone()[0])


# ---- the login page and the round trip -----------------------------------------------------------------


def test_the_login_page_offers_cas_only_when_it_is_configured(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = TestClient(create_app(db.url, now=clock.parse_now(NOW)), follow_redirects=False)
    assert "统一身份认证登录" not in plain.get("/login").text
    assert plain.get("/login/cas").status_code == 404
    c = app_for(db, monkeypatch, cas)
    page = c.get("/login?next=/cases").text
    assert '<a class="button" href="/login/cas?next=%2Fcases">统一身份认证登录</a>' in page


def test_a_cas_login_maps_the_account_to_its_user_and_makes_a_session_as_a_password_login_does(
    db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = app_for(db, monkeypatch, cas)
    c.cookies.set(COOKIE, "planted-by-someone-else")  # session fixation: the old id is never kept
    r = through_cas(c, cas, "zhangsan", next="/cases")
    assert r.status_code == 303 and r.headers["location"] == "/cases", r.text
    token = r.cookies[COOKIE]
    assert token != "planted-by-someone-else" and len(token) >= 40
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert sessions(db) == 1
    found = auth.session_identity(Store(db.url), token, clock.parse_now(NOW))
    assert found is not None and found.name == "文法张老师" and found.via == "session"
    assert "文法张老师" in c.get("/cases").text
    # the ticket was checked by CAS 3.0's p3/serviceValidate for exactly the service the browser was sent with
    [(path, query)] = cas.validations
    assert path == "/cas/p3/serviceValidate"
    assert query["service"] == "http://testserver/login/cas?next=%2Fcases" and query["ticket"].startswith("ST-")


def test_a_ticket_is_good_once_and_a_forged_one_is_refused(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    c = app_for(db, monkeypatch, cas)
    r = through_cas(c, cas, "zhangsan")
    assert r.status_code == 303
    again = TestClient(c.app, follow_redirects=False).get("/login/cas", params={"next": "/", "ticket": cas.validations[0][1]["ticket"]})
    assert again.status_code == 401 and "统一身份认证未通过：票据无效或已过期。请重新登录。" in again.text
    forged = TestClient(c.app, follow_redirects=False).get("/login/cas", params={"ticket": "ST-999-forged"})
    assert forged.status_code == 401 and COOKIE not in forged.cookies
    assert sessions(db) == 1


def test_an_account_no_user_has_is_refused_in_chinese_and_creates_nobody(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    before = users.listing(db.ws("zzb"))
    c = app_for(db, monkeypatch, cas)
    r = through_cas(c, cas, "lisi")
    assert r.status_code == 403
    assert "统一身份认证账号 lisi 尚未对应本系统的任何用户，不能登录。请联系党委组织部" in r.text
    assert COOKIE not in r.cookies and sessions(db) == 0
    assert users.listing(db.ws("zzb")) == before


def test_a_disabled_user_is_refused(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    db.ok("user", "disable", "文法张老师", "--reason", "调离", user="zzb")
    c = app_for(db, monkeypatch, cas)
    r = through_cas(c, cas, "zhangsan")
    assert r.status_code == 403 and "用户 文法张老师 已停用，不能登录。" in r.text
    assert sessions(db) == 0


def test_the_gonghao_attribute_names_the_user_when_configured(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    db.ok("user", "set", "zzb", "--sso-id", "20190001", user="zzb")
    c = app_for(db, monkeypatch, cas, BRANCHFLOW_CAS_ATTRIBUTE="employeeNumber")
    r = through_cas(c, cas, "wangwu", employeeNumber="20190001", cn="王五")
    assert r.status_code == 303, r.text
    assert auth.session_identity(Store(db.url), r.cookies[COOKIE], clock.parse_now(NOW)).name == "zzb"  # type: ignore[union-attr]
    # the CAS user name itself no longer counts, and an answer without the attribute is refused
    r = through_cas(TestClient(c.app, follow_redirects=False), cas, "zhangsan")
    assert r.status_code == 401 and "统一身份认证没有返回账号 zhangsan 的属性 employeeNumber" in r.text


def test_cas_2_uses_service_validate(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    c = app_for(db, monkeypatch, cas, BRANCHFLOW_CAS_VERSION="2")
    assert through_cas(c, cas, "zhangsan").status_code == 303
    assert [path for path, _ in cas.validations] == ["/cas/serviceValidate"]


def test_the_service_address_is_under_the_base_url_behind_a_proxy(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    c = app_for(db, monkeypatch, cas, BRANCHFLOW_BASE_URL="https://dj.example.edu.cn/branchflow")
    r = c.get("/login/cas", params={"next": "/board"})
    service = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["location"]).query)["service"][0]
    assert service == "https://dj.example.edu.cn/branchflow/login/cas?next=%2Fboard"


def test_a_cas_server_that_cannot_be_reached_is_said_plainly(db: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHFLOW_CAS_URL", f"http://127.0.0.1:{free_port()}/cas/")
    c = TestClient(create_app(db.url, now=clock.parse_now(NOW)), follow_redirects=False)
    r = c.get("/login/cas", params={"ticket": "ST-1-x"})
    assert r.status_code == 401 and "统一身份认证服务暂时无法验证登录（ConnectionError）。请稍后再试，或用用户名和密码登录。" in r.text
    assert sessions(db) == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BRANCHFLOW_CAS_URL": "cas.example.edu.cn"}, "环境变量 BRANCHFLOW_CAS_URL 应是统一身份认证服务的地址"),
        ({"BRANCHFLOW_CAS_URL": "https://cas.example.edu.cn/cas", "BRANCHFLOW_CAS_VERSION": "4"}, "BRANCHFLOW_CAS_VERSION 应是 2 或 3"),
    ],
)
def test_cas_settings_are_checked_up_front(env: dict[str, str], message: str) -> None:
    with pytest.raises(Exception) as caught:
        sso.settings(env)
    assert message in str(caught.value)
    assert sso.settings({}) is None
    assert sso.settings({"BRANCHFLOW_CAS_URL": "https://cas.example.edu.cn/cas"}) == sso.CasSettings("https://cas.example.edu.cn/cas/", 3, "")


# ---- user set --sso-id ---------------------------------------------------------------------------------


def test_user_set_sso_id_is_audited_unique_and_removable(db: Bf) -> None:
    out = db.json("user", "set", "zzb", "--sso-id", "20190001", user="zzb")
    assert out["before"] == {"sso_id": ""} and out["after"] == {"sso_id": "20190001"}
    import sqlite3

    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as conn:
        last = conn.execute("SELECT actor, action, before, after FROM user_history ORDER BY id DESC LIMIT 1").fetchone()
    assert last[:2] == ("zzb", "set") and json.loads(last[2]) == {"sso_id": ""} and json.loads(last[3]) == {"sso_id": "20190001"}
    taken = db("user", "set", "文法张老师", "--sso-id", "20190001", user="zzb")
    assert taken.exit_code == 2 and "统一身份认证账号 20190001 已对应用户 zzb" in taken.output
    assert db("user", "set", "文法张老师", "--sso-id", "a b", user="zzb").exit_code == 2
    assert db("user", "set", "zzb", "--sso-id", "lisi", user="文法张老师").exit_code == 1  # org only
    out = db.json("user", "set", "文法张老师", "--sso-id", "", user="zzb")
    assert out["after"] == {"sso_id": ""}
    human = db.ok("user", "set", "文法张老师", "--sso-id", "20200002", user="zzb").output
    assert "统一身份认证账号：（空） → 20200002" in human


def test_changing_the_account_ends_the_users_web_sessions(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    c = app_for(db, monkeypatch, cas)
    token = through_cas(c, cas, "zhangsan").cookies[COOKIE]
    out = db.json("user", "set", "文法张老师", "--sso-id", "zhangsan2", user="zzb")
    assert out["sessions_ended"] == 1
    assert auth.session_identity(Store(db.url), token, clock.parse_now(NOW)) is None


def test_the_cli_help_names_the_option() -> None:
    result = CliRunner().invoke(cli, ["user", "set", "--help"])
    assert "--sso-id" in result.output and "统一身份认证" in result.output


def test_org_registers_the_account_on_the_user_page_and_the_user_then_logs_in(db: Bf, cas: Cas, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["--db", db.url, "user", "password", "zzb"], input="zzb-Pass-2024\n")
    assert result.exit_code == 0, result.output
    c = app_for(db, monkeypatch, cas)
    assert c.post("/login", data={"name": "zzb", "password": "zzb-Pass-2024"}).status_code == 303
    page = c.get("/users/文法张老师").text
    assert '<input name="sso_id" value="zhangsan">' in page
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    form = {"csrf": csrf, "role": "committee", "committee": "文法学院分党委", "branch": "", "email": "", "sso_id": "20190002"}
    r = c.post("/users/文法张老师/set", data=form)
    assert r.status_code == 303 and "统一身份认证账号" in urllib.parse.unquote(r.headers["location"])
    assert {u["name"]: u["sso_id"] for u in users.listing(db.ws("zzb"))}["文法张老师"] == "20190002"
    other = TestClient(c.app, follow_redirects=False)
    assert through_cas(other, cas, "zhangsan").status_code == 403  # the old account no longer maps
    assert through_cas(other, cas, "20190002").status_code == 303
