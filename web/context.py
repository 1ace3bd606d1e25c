"""What every route shares: the app's Store and clock, who is logged in, the CSRF check, rendering, errors."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote as _quote

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BeforeValidator

from workflow import BranchflowError, Store, Workspace, access, auth, clock, errors, sso

HERE = Path(__file__).resolve().parent
COOKIE = "bf_session"
STATUS = [  # most specific first: the library's error tree to HTTP
    (auth.Throttled, 429),
    (auth.LoginFailed, 401),
    (sso.SsoFailed, 401),
    (auth.SsoRefused, 403),
    (errors.PermissionDenied, 403),
    (errors.Refused, 422),
    (errors.Conflict, 409),
    (errors.NotFound, 404),
    (errors.UsageError, 400),
]


def quote(text: str) -> str:
    """A URL query value."""
    return _quote(text, safe="")


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# A year picked in a filter form: the form's default (an empty value) means every year in view, not a mistake.
Year = Annotated[int | None, BeforeValidator(_blank_is_none)]


class LoginRequired(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


@dataclass
class Web:
    """The application's one Store, its clock, and how it renders."""

    store: Store
    fixed_now: datetime | None
    clock: Callable[[], datetime]
    secure: bool
    templates: Jinja2Templates
    base_url: str = ""
    cas: sso.CasSettings | None = None  # 统一身份认证 (BRANCHFLOW_CAS_URL), None when off
    reminder_channels: tuple[str, ...] = ("console",)  # the reminder channels configured (the 看板's plan is per channel)
    reminder_problem: str = ""  # why the reminder channels' settings could not be read ('' when fine)

    @classmethod
    def build(
        cls,
        db_url: str | None,
        now: datetime | None,
        clock_fn: Callable[[], datetime] | None,
        base_url: str,
        cas: sso.CasSettings | None = None,
        reminder_channels: tuple[str, ...] = ("console",),
        reminder_problem: str = "",
    ) -> Web:
        def fixed() -> datetime:
            assert now is not None
            return now

        templates = Jinja2Templates(directory=HERE / "templates")
        templates.env.filters["when"] = lambda v: clock.show(v) if isinstance(v, datetime) else ("" if v is None else v)
        return cls(
            Store(db_url),
            now,
            clock_fn or (fixed if now is not None else clock.real_now),
            base_url.startswith("https://"),
            templates,
            base_url.rstrip("/"),
            cas,
            reminder_channels,
            reminder_problem,
        )

    def now(self) -> datetime:
        """This request's `now`."""
        return self.clock()


def web_of(request: Request) -> Web:
    """The app's shared state."""
    web: Web = request.app.state.web
    return web


def wants_json(request: Request) -> bool:
    """API paths answer JSON."""
    return request.url.path.startswith("/api/")


def client_address(request: Request) -> str:
    """The client's address (uvicorn rewrites it from X-Forwarded-For only for --forwarded-allow-ips)."""
    return request.client.host if request.client else ""


@dataclass
class Me:
    """The logged-in user of one request, with a workspace at this request's `now`."""

    name: str
    csrf: str
    via: str
    must_change: bool
    ws: Workspace

    @property
    def is_org(self) -> bool:
        """Whether the layout offers org's pages (the library refuses anyone else all the same)."""
        return access.is_org(self.ws.current)

    @property
    def may_import(self) -> bool:
        """Whether the layout offers the 导入 page (org, committees)."""
        return access.may_import_cases(self.ws.current)

    @property
    def on_panel(self) -> bool:
        """Whether the layout offers the 评审 pages (reviewers, org)."""
        return access.works_on_panel(self.ws.current)

    @property
    def sees_committee(self) -> bool:
        """Whether the layout offers the 分党委 page (committees, org)."""
        return access.sees_committee_overview(self.ws.current)


def identify(request: Request) -> Me | None:
    """The user behind the request's Bearer token or session cookie (None: nobody)."""
    web = web_of(request)
    now = web.now()
    header = request.headers.get("authorization", "")
    ident = None
    if header.lower().startswith("bearer "):
        ident = auth.token_identity(web.store, header[7:].strip(), now)
    elif request.cookies.get(COOKIE):
        ident = auth.session_identity(web.store, request.cookies[COOKIE], now)
    if ident is None:
        return None
    ws = Workspace(web.store, now, ident.name)
    # The spec in force is read now, in its own connection: read lazily inside a library session it would hold a
    # second pooled connection, and enough concurrent requests doing so wait for each other until the pool times out.
    ws.spec  # noqa: B018
    return Me(ident.name, ident.csrf, ident.via, ident.must_change, ws)


def current_user(request: Request) -> Me:
    """Dependency: the logged-in user, or LoginRequired; a temporary password must be changed first."""
    me = identify(request)
    if me is None:
        raise LoginRequired()
    if me.must_change and request.url.path not in ("/password", "/logout") and not wants_json(request):
        raise errors.Refused("请先修改临时密码（/password）。")
    request.state.me = me
    return me


async def csrf_checked(request: Request) -> Me:
    """Dependency for every change: a session must send its CSRF token (form field or X-CSRF-Token); a Bearer token need not."""
    me = current_user(request)
    if me.via == "token":
        return me
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else ""
    if not sent or not secrets.compare_digest(sent, me.csrf):
        raise errors.PermissionDenied("安全校验失败（缺少或错误的 CSRF 令牌），未做任何修改：请刷新页面后重试。")
    return me


def render(request: Request, template: str, http_status: int = 200, **data: Any) -> HTMLResponse:
    """A page (or, with `block`, one block of it for htmx) with the layout's shared values."""
    web = web_of(request)
    me: Me | None = getattr(request.state, "me", None)
    banner = f"模拟时间 {clock.show(web.fixed_now)}" if web.fixed_now else ""
    context = {"me": me, "banner": banner, "now": web.now(), **data}
    return web.templates.TemplateResponse(request, template, context, status_code=http_status)


def status_of(exc: BranchflowError) -> int:
    """The HTTP status for a library error."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def error_response(request: Request, exc: BranchflowError) -> Response:
    """The one mapping of the library's errors: JSON `{"error", "code", …}` for the API, else a Chinese page."""
    status = status_of(exc)
    if wants_json(request):
        return JSONResponse(exc.as_json(), status_code=status)
    me: Me | None = getattr(request.state, "me", None)
    case_id = request.path_params.get("case_id")
    if isinstance(exc, errors.Conflict) and me is not None and case_id is not None:
        from workflow import queries

        found = queries.history(me.ws, int(case_id))
        last = found[-1] if found else None
        return render(request, "conflict.html", status, error=exc.text, case_id=int(case_id), last=last)
    return render(request, "error.html", status, error=exc.text, details=exc.details, status=status)


def message_response(request: Request, status: int, message: str, code: int) -> Response:
    """An error that did not come from the library (bad form, unknown page, internal)."""
    if wants_json(request):
        return JSONResponse({"error": message, "code": code}, status_code=status)
    return render(request, "error.html", status, error=message, details=[], status=status)
