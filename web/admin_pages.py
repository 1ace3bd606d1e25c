"""The staff's administration pages: 导入 (roster, 申报汇总表, templates), 延期与例外 (and its register), 用户."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from web.context import Me, csrf_checked, current_user, quote, render, web_of
from web.pages import download_headers
from workflow import (
    UsageError,
    access,
    attachments,
    auth,
    case_import,
    clock,
    deadlines,
    errors,
    export,
    present,
    roster,
    users,
    values,
)

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}
REGISTER_SHOWN = 200  # the page shows the newest rows; the export has them all


def download(data: bytes, name: str, media: str) -> Response:
    """A file to save, under its Chinese name."""
    return Response(data, media_type=media, headers=download_headers(name))


def done(path: str, text: str) -> RedirectResponse:
    """Back to a page after a change, with what happened (POST → redirect → GET)."""
    return RedirectResponse(f"{path}?" + urlencode({"done": text}), status_code=303)


# ---- 导入 ------------------------------------------------------------------------------------------


def _upload(file: UploadFile | None) -> tuple[bytes, str]:
    """The uploaded sheet's bytes and name, refused when missing or larger than the upload limit."""
    if file is None or not file.filename:
        raise UsageError("没有选择文件。", hint="请选择要导入的 .xlsx 或 .csv 文件。", field="file")
    limit = attachments.max_upload_bytes()
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"文件太大（超过 {limit // (1 << 20)} MB）。", hint="请拆分后分批导入。", field="file")
    return data, file.filename


def _import_page(request: Request, status: int = 200, **data: Any) -> Response:
    return render(request, "import.html", status, **data)


@router.get("/import")
def import_page(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """导入: the roster (org) and a committee's 申报汇总表 (org, committees), the templates to download."""
    access.require_case_importer(me.ws.current)
    return _import_page(request)


@router.post("/import/roster")
def import_roster(request: Request, me: Annotated[Me, Depends(csrf_checked)], file: UploadFile | None = None) -> Response:
    """Import the roster (org): all or nothing, every bad row named."""
    try:
        data, name = _upload(file)
        r = roster.import_bytes(me.ws, data, name)
    except UsageError as exc:
        return _import_page(request, 400, which="roster", error=exc.text, details=exc.details)
    return _import_page(request, which="roster", summary=present.roster_summary(r))


@router.post("/import/cases")
def import_cases(
    request: Request, me: Annotated[Me, Depends(csrf_checked)], file: UploadFile | None = None, year: Annotated[str, Form()] = ""
) -> Response:
    """Import a 申报汇总表 (org, or a committee for its own branches): all or nothing, every bad row named."""
    try:
        data, name = _upload(file)
        campaign = values.parse_int(year, "年度") if year.strip() else None
        r = case_import.import_bytes(me.ws, data, name, year=campaign)
    except UsageError as exc:
        return _import_page(request, 400, which="cases", error=exc.text, details=exc.details)
    return _import_page(request, which="cases", summary=present.cases_summary(r), rows=r.cases, actions=present.IMPORT_ACTIONS)


@router.get("/import/roster-template.xlsx")
def roster_template(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """The empty roster to fill in."""
    return download(roster.template(), "支部名单模板.xlsx", XLSX)


@router.get("/import/case-template.xlsx")
def case_template(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """The empty 申报汇总表 to fill in, with the themes of the spec in force."""
    rules = me.ws.spec.rules
    return download(case_import.template(rules.themes, rules.other_theme), "申报汇总表模板.xlsx", XLSX)


# ---- 延期与例外 ----------------------------------------------------------------------------------------


def _year(text: str) -> int | None:
    return values.parse_int(text, "年度") if text.strip() else None


@router.get("/extensions")
def extensions_page(request: Request, me: Annotated[Me, Depends(current_user)], year: str = "") -> Response:
    """延期与例外 (org): extend a case or a whole state, register an R2 waiver; the register of them all."""
    campaign = _year(year)
    rows = deadlines.register(me.ws, campaign, limit=REGISTER_SHOWN)  # org only: the library refuses anyone else
    spec = me.ws.spec
    query = urlencode({"year": campaign}) if campaign else ""
    return render(
        request,
        "extensions.html",
        rows=present.register_rows(spec, rows),
        shown=REGISTER_SHOWN,
        states=[st for st in spec.states if not st.terminal],
        waivable=spec.rules.waivable,
        year=campaign or "",
        qs=f"?{query}" if query else "",
        notice=request.query_params.get("done", ""),
    )


@router.get("/extensions/export.{fmt}")
def extensions_export(request: Request, me: Annotated[Me, Depends(current_user)], fmt: str, year: str = "") -> Response:
    """The whole register as .xlsx or .csv (Chinese headers, text never a formula)."""
    if fmt not in MEDIA:
        raise UsageError("导出格式应是 xlsx 或 csv。", field="format", value=fmt)
    sheet = present.register_sheet(me.ws.spec, deadlines.register(me.ws, _year(year)))
    out = io.BytesIO()
    export.write_to(out, fmt, sheet.headers, sheet.rows, sheet.name)
    return download(out.getvalue(), f"延期与例外登记.{fmt}", MEDIA[fmt])


@router.post("/extensions/case")
def extend_case(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    case_id: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """延期 one case (as `extend ID`)."""
    cid = values.parse_int(case_id, "申报编号", low=1)
    data = deadlines.extend_case(me.ws, cid, clock.parse_deadline(until, "新的截止日期"), reason)
    return done("/extensions", f"申报 {cid} 的截止时间已从 {present.cell(data.before)} 延至 {clock.show(data.until)}。")


@router.post("/extensions/state")
def extend_state(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    state: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    year: Annotated[str, Form()] = "",
) -> Response:
    """Move a whole state's due date (as `extend --state`): its cases move with it, unless extended later already."""
    data = deadlines.extend_state(me.ws, state, clock.parse_deadline(until, "新的截止日期"), reason, _year(year))
    label = me.ws.spec.label(data.state)
    return done(
        "/extensions",
        f"{data.campaign} 年“{label}”阶段截止时间已从 {clock.show(data.before)} 调整为 {clock.show(data.until)}，涉及 {len(data.cases)} 个申报。",
    )


@router.post("/extensions/waive")
def waive(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    case_id: Annotated[str, Form()] = "",
    rule: Annotated[str, Form()] = "R2",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Register an exception to a waivable rule (R2) for one case (as `waive`)."""
    cid = values.parse_int(case_id, "申报编号", low=1)
    data = deadlines.waive(me.ws, cid, rule, reason)
    return done("/extensions", f"已为申报 {cid} 登记 {data.rule} 例外。")


# ---- 用户 -------------------------------------------------------------------------------------------


def _visible_user(me: Me, name: str) -> dict[str, Any]:
    """The user as the list shows them, if the actor may see them (else simply not found)."""
    found = next(iter(users.listing(me.ws, name)), None)
    if found is None:
        raise errors.NotFound(f"没有用户 {name}。")
    return found


@router.get("/users")
def user_page(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """用户: who they are and whether they can log in; org adds users and opens one to change it."""
    rows = users.listing(me.ws)
    able = auth.can_log_in(web_of(request).store, (str(u["name"]) for u in rows))
    listed = [{**u, "can_login": u["name"] in able} for u in rows]
    return render(request, "users.html", users=listed, roles=me.ws.spec.roles, notice=request.query_params.get("done", ""))


@router.get("/users/{name}")
def user_detail(request: Request, name: str, me: Annotated[Me, Depends(current_user)]) -> Response:
    """One user: change (email, committee, branch, role), disable or enable, reset the password, the tokens."""
    found = _visible_user(me, name)
    try:
        tokens: list[dict[str, Any]] | None = auth.tokens(me.ws, str(found["name"]))
    except errors.PermissionDenied:
        tokens = None  # only org and the user themself see a user's tokens
    return render(
        request,
        "user.html",
        u=found,
        can_login=auth.has_password(web_of(request).store, str(found["name"])),
        tokens=tokens,
        roles=me.ws.spec.roles,
        notice=request.query_params.get("done", ""),
    )


@router.post("/users/new")
def user_add(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    committee: Annotated[str, Form()] = "",
    branch: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    """Add a user (org), as `user add` does; a password is set separately (重设密码)."""
    users.add(me.ws, name, role, committee or None, branch or None, email)
    return done("/users", f"已添加用户 {name.strip()}；请为其设置临时密码。")


@router.post("/users/{name}/set")
def user_set(
    request: Request,
    name: str,
    me: Annotated[Me, Depends(csrf_checked)],
    role: Annotated[str, Form()] = "",
    committee: Annotated[str, Form()] = "",
    branch: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    sso_id: Annotated[str | None, Form()] = None,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Change a user as `user set` does: the fields the form changed are given, the others kept."""
    was = _visible_user(me, name)
    asked = {"role": role.strip(), "committee": committee.strip(), "branch": branch.strip(), "email": email.strip()}
    if sso_id is not None:  # 统一身份认证账号: only when the form has the field ("" removes it)
        asked["sso_id"] = sso_id.strip()
    changed = {k: v for k, v in asked.items() if v != str(was[k] or "")}
    result = users.update(me.ws, str(was["name"]), comment=comment, **changed)
    words = "、".join(present.USER_HEADERS.get(k, k) for k in result.after)
    ended = f"，其网页登录已失效（{result.sessions_ended} 个）" if result.sessions_ended else ""
    return done(f"/users/{quote(result.name)}", f"已修改用户 {result.name} 的{words}{ended}。")


@router.post("/users/{name}/disable")
def user_disable(request: Request, name: str, me: Annotated[Me, Depends(csrf_checked)], reason: Annotated[str, Form()] = "") -> Response:
    """Disable a user (as `user disable`): their sessions, password and tokens end; history keeps the name."""
    result = users.disable(me.ws, name, reason)
    return done(f"/users/{quote(result.name)}", f"已停用用户 {result.name}（结束网页登录 {result.sessions_ended} 个）。")


@router.post("/users/{name}/enable")
def user_enable(request: Request, name: str, me: Annotated[Me, Depends(csrf_checked)], reason: Annotated[str, Form()] = "") -> Response:
    """Enable a disabled user again (as `user enable`); they need a new password for the web."""
    result = users.enable(me.ws, name, reason)
    return done(f"/users/{quote(result.name)}", f"已启用用户 {result.name}；请为其设置临时密码。")


@router.post("/users/{name}/password")
def user_reset(request: Request, name: str, me: Annotated[Me, Depends(csrf_checked)], password: Annotated[str, Form()] = "") -> Response:
    """Reset a password (temporary: the user changes it at the next login)."""
    auth.set_password(me.ws, name, password, temporary=True)
    return done("/users", f"已为 {name} 设置临时密码。")


@router.post("/users/{name}/revoke")
def user_revoke(request: Request, name: str, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """Revoke every API token of a user."""
    result = auth.revoke_tokens(me.ws, name)
    return done("/users", f"已吊销 {name} 的 {result['revoked']} 个令牌。")


@router.post("/users/{name}/tokens/{token_id}/revoke")
def user_revoke_one(request: Request, name: str, token_id: int, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """Revoke one API token of a user (by the id the token list shows)."""
    auth.revoke_token(me.ws, name, token_id)
    return done(f"/users/{quote(name)}", f"已吊销 {name} 的令牌 {token_id}。")
