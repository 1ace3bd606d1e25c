"""The application factory: one FastAPI app over one cached Store, its routers, headers and error handler."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from web import context
from web.context import LoginRequired, Web

HERE = Path(__file__).resolve().parent

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(db_url: str | None = None, now: datetime | None = None, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The web app over the database `db_url`; `now` fixes a simulated clock (shown on every page),
    `clock` (tests) supplies the time per request; neither: the real clock in Asia/Shanghai."""
    from workflow import BranchflowError, channels, sso

    try:  # the 看板 plans reminders for the channels the sweeps use; a mistake there is shown, not fatal here
        names, problem = channels.load(os.environ).channels, ""
    except BranchflowError as exc:
        names, problem = (), exc.text
    web = Web.build(db_url, now, clock, os.environ.get("BRANCHFLOW_BASE_URL", ""), sso.settings(os.environ), names, problem)
    app = FastAPI(title="Branchflow 特色支部创建", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.web = web
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def strict_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # How long the server spent on the request (browsers' developer tools and the benchmark read it).
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from workflow import BranchflowError

    @app.exception_handler(BranchflowError)
    def library_error(request: Request, exc: BranchflowError) -> Response:
        return context.error_response(request, exc)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired) -> Response:
        if context.wants_json(request):
            return JSONResponse({"error": "请先登录（或使用 Authorization: Bearer 令牌）。", "code": 1}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={context.quote(target)}", status_code=303)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> Response:
        fields = "、".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return context.message_response(request, 400, f"请求格式错误：请检查 {fields}。", 2)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        text = {404: "页面不存在。", 405: "不支持该请求方式。", 403: "禁止访问。"}.get(exc.status_code, str(exc.detail))
        return context.message_response(request, exc.status_code, text, 3 if exc.status_code == 404 else 2)

    @app.exception_handler(Exception)
    def internal(request: Request, exc: Exception) -> Response:
        if os.environ.get("BRANCHFLOW_DEBUG"):
            raise exc
        return context.message_response(request, 500, f"内部错误，操作未完成：请把这条信息发给维护人员。{type(exc).__name__}", 70)

    from web import admin_pages, api, auth_routes, committee_pages, pages, review_pages

    app.include_router(auth_routes.router)
    app.include_router(pages.router)
    app.include_router(admin_pages.router)
    app.include_router(review_pages.router)
    app.include_router(committee_pages.router)
    app.include_router(api.router)
    return app


def factory() -> Any:
    """For `uvicorn --factory web.app:factory` (several workers): settings from the environment `serve` sets."""
    from workflow import clock

    text = os.environ.get("BRANCHFLOW_NOW")
    return create_app(os.environ.get("BRANCHFLOW_DB"), clock.parse_now(text) if text else None)
