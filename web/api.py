"""The JSON API (/api/v1): the same shapes as the CLI's --json, Bearer tokens or the session cookie plus X-CSRF-Token."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response

from web.auth_routes import set_session_cookie
from web.context import Me, client_address, csrf_checked, current_user, web_of
from web.pages import download_headers, read_case, store_upload
from workflow import UsageError, auth, bulk, cases, engine, present, queries, users

router = APIRouter(prefix="/api/v1", tags=["api"])


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def answer(data: Any, status: int = 200) -> Response:
    """JSON exactly as `--json` prints it (times to the second, Chinese kept)."""
    return Response(json.dumps(data, ensure_ascii=False, default=_default), status_code=status, media_type="application/json")


@router.post("/login")
def api_login(request: Request, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Log in with `name` and `password`; sets the session cookie and answers its CSRF token."""
    web = web_of(request)
    done = auth.login(web.store, str(body.get("name", "")), str(body.get("password", "")), client_address(request), web.now())
    response = answer({"name": done.name, "csrf": done.csrf, "must_change": done.must_change})
    set_session_cookie(request, response, done.token)
    return response


@router.get("/me")
def me_(me: Annotated[Me, Depends(current_user)]) -> Response:
    """Who is logged in: name, role, role_label, committee, branch."""
    row = next(u for u in users.listing(me.ws) if u["name"] == me.name)
    role = str(row["role"])
    return answer({"name": me.name, "role": role, "role_label": me.ws.spec.roles.get(role, role), "committee": row["committee"], "branch": row["branch"]})


@router.get("/cases")
def list_cases(
    me: Annotated[Me, Depends(current_user)],
    campaign: int | None = None,
    committee: str | None = None,
    state: str | None = None,
    overdue: bool = False,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Response:
    """A JSON array of case objects (the rows `status --json` prints)."""
    found = queries.listing(me.ws, committee, state, campaign, text=q, overdue_only=overdue, limit=limit, offset=offset)
    return answer(found["cases"])


@router.post("/cases")
def create_case(me: Annotated[Me, Depends(csrf_checked)], body: Annotated[dict[str, Any], Body()]) -> Response:
    """New draft (`branch`, `title`, `theme`, `theme_note`): answers {"id": …} like `case new --json`."""
    cid = cases.create(me.ws, str(body.get("branch", "")), str(body.get("title", "")), str(body.get("theme", "")), str(body.get("theme_note", "")))
    return answer(present.case_created(cid), 201)


def case_object(me: Me, case_id: int) -> dict[str, Any]:
    """`case show --json`, with the attachments listed with their ids."""
    data = read_case(me, case_id)
    data["attachments"] = queries.attachments(me.ws, case_id)
    return data


@router.get("/cases/{case_id}")
def get_case(case_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """One case with its plan fields and attachments."""
    return answer(case_object(me, case_id))


@router.patch("/cases/{case_id}")
def patch_case(case_id: int, me: Annotated[Me, Depends(csrf_checked)], body: Annotated[dict[str, Any], Body()]) -> Response:
    """Edit plan fields of a draft (optional `expect_version`): {"id", "version"} like `case set --json`."""
    read_case(me, case_id)
    expect = body.pop("expect_version", None)
    if expect is not None and not isinstance(expect, int):
        raise UsageError("expect_version 应是整数。")
    version = cases.set_fields(me.ws, case_id, {k: str(v) for k, v in body.items()}, expect)
    return answer(present.case_updated(case_id, version))


@router.post("/cases/{case_id}/attachments")
async def upload(case_id: int, me: Annotated[Me, Depends(csrf_checked)], file: UploadFile, kind: Annotated[str, Form()] = "") -> Response:
    """Upload (multipart `file`, `kind`): answers the attachment object."""
    read_case(me, case_id)
    return answer(await store_upload(me, case_id, file, kind), 201)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download(case_id: int, attachment_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """The file, under its original name."""
    read_case(me, case_id)
    found = queries.attachment_file(me.ws, case_id, attachment_id)
    return FileResponse(found["path"], media_type="application/octet-stream", headers=download_headers(found["name"]))


@router.get("/cases/{case_id}/triggers")
def triggers(case_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """What `triggers --json` prints."""
    read_case(me, case_id)
    return answer(present.options(engine.options(me.ws, case_id)))


@router.post("/cases/{case_id}/advance")
def advance(case_id: int, me: Annotated[Me, Depends(csrf_checked)], body: Annotated[dict[str, Any], Body()]) -> Response:
    """Fire a trigger (`trigger`, `data`, `comment`, `expect_version`): what `advance --json` prints."""
    read_case(me, case_id)
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise UsageError("data 应是对象，如 {\"attest\": true}。")
    fired = engine.advance(me.ws, case_id, str(body.get("trigger", "")), data, str(body.get("comment", "")), body.get("expect_version"))
    return answer(
        {
            "id": fired.case_id,
            "branch": fired.branch,
            "committee": fired.committee,
            "trigger": fired.trigger,
            "source": fired.source,
            "state": fired.dest,
            "state_label": me.ws.spec.label(fired.dest),
            "due_at": fired.due_at,
            "version": fired.version,
        }
    )


@router.get("/cases/{case_id}/history")
def history(case_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """What `case history --json` prints."""
    read_case(me, case_id)
    return answer(queries.history(me.ws, case_id))


@router.get("/overdue")
def overdue(me: Annotated[Me, Depends(current_user)], committee: str | None = None, campaign: int | None = None, limit: int | None = None) -> Response:
    """What `overdue --json` prints."""
    return answer(queries.overdue(me.ws, committee, campaign, limit))


@router.get("/status")
def status(
    me: Annotated[Me, Depends(current_user)], committee: str | None = None, state: str | None = None, campaign: int | None = None, limit: int | None = None
) -> Response:
    """What `status --json` prints (the cases)."""
    return answer(queries.status(me.ws, committee, state, campaign, limit)["cases"])


@router.post("/advance-many")
def advance_many(me: Annotated[Me, Depends(csrf_checked)], body: Annotated[dict[str, Any], Body()]) -> Response:
    """`trigger` on `ids` or `state`/`committee`, with `data` and `dry_run`: one object per case, as `advance-many --json`."""
    ids = body.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise UsageError("ids 应是整数数组。")
    data = body.get("data") or {}
    dry_run = bool(body.get("dry_run", False))
    trigger = str(body.get("trigger", ""))
    run = bulk.advance_many(
        me.ws,
        trigger,
        state=body.get("state"),
        ids=ids,
        committee=body.get("committee"),
        inputs={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in data.items()},
        comment=str(body.get("comment", "")),
        dry_run=dry_run,
    )
    outcomes = present.Outcomes(me.ws.spec, trigger, dry_run)
    out = [outcomes.item(o) for chunk in run for o in chunk]
    return answer(out)
