"""Logging in and out, and changing one's own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from web.context import COOKIE, Me, client_address, csrf_checked, current_user, identify, quote, render, web_of
from workflow import BranchflowError, auth, sso

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path on this site (never //host or a full URL)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie: the random id only, HttpOnly, SameSite=Lax, Secure behind https."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=web_of(request).secure, path="/")


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The login form (用户名, 密码, 登录)."""
    if identify(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error="", name="", cas=_cas_link(request, next))


def _cas_link(request: Request, next: str) -> str:
    """The 统一身份认证登录 link ('' when BRANCHFLOW_CAS_URL is not set)."""
    return f"/login/cas?next={quote(_safe_next(next))}" if web_of(request).cas is not None else ""


def _service(request: Request, next: str) -> str:
    """The address the CAS server sends the browser back to (the same when the ticket is checked): under
    BRANCHFLOW_BASE_URL behind a proxy, else this request's own address."""
    web = web_of(request)
    base = web.base_url or str(request.base_url).rstrip("/")
    return f"{base}/login/cas?next={quote(_safe_next(next))}"


@router.get("/login/cas")
def cas_login(request: Request, next: str = "/", ticket: str = "") -> Response:
    """统一身份认证登录: off to the CAS server, and back with a ticket, which is checked and mapped to an existing
    user (never a new one); the session is made as a password login makes it."""
    web = web_of(request)
    if web.cas is None:
        return render(request, "login.html", 404, next=_safe_next(next), error="未启用统一身份认证：请用用户名和密码登录。", name="", cas="")
    service = _service(request, next)
    if not ticket:
        return RedirectResponse(sso.login_url(web.cas, service), status_code=303)
    try:
        account = sso.validate(web.cas, ticket, service)
        done = auth.sso_login(web.store, account, client_address(request), web.now())
    except (sso.SsoFailed, auth.SsoRefused) as exc:
        status = 403 if isinstance(exc, auth.SsoRefused) else 401
        return render(request, "login.html", status, next=_safe_next(next), error=exc.text, name="", cas=_cas_link(request, next))
    target = "/password" if done.must_change else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, done.token)
    return response


@router.post("/login")
def login_submit(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    """Check the password; one message for a wrong name or password; 429 when locked."""
    web = web_of(request)
    try:
        done = auth.login(web.store, name, password, client_address(request), web.now())
    except (auth.LoginFailed, auth.Throttled) as exc:
        status = 429 if isinstance(exc, auth.Throttled) else 401
        return render(request, "login.html", status, next=_safe_next(next), error=exc.text, name=name, cas=_cas_link(request, next))
    target = "/password" if done.must_change else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, done.token)
    return response


@router.post("/logout")
def logout(request: Request, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """退出: end this session."""
    auth.logout(web_of(request).store, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/password")
def password_page(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """Change one's own password (required after a temporary one)."""
    return render(request, "password.html", error="")


@router.post("/password")
def password_submit(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    old: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    again: Annotated[str, Form()] = "",
) -> Response:
    """Set the new password; every session of the user ends, so log in again."""
    if new != again:
        return render(request, "password.html", 400, error="两次输入的新密码不一致。")
    try:
        auth.change_own_password(web_of(request).store, me.name, old, new, web_of(request).now())
    except BranchflowError as exc:
        return render(request, "password.html", 400, error=exc.text)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
