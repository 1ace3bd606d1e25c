"""The pages: 待办, 申报 (list, export, new), 申报详情 (plan, attachments, triggers, history), 看板, 批量操作 (用户 and the other administration pages: admin_pages)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from web.context import Me, Year, csrf_checked, current_user, quote, render, web_of
from workflow import (
    UsageError,
    access,
    attachments,
    bulk,
    cases,
    clock,
    deadlines,
    engine,
    errors,
    export,
    ics,
    outbox,
    present,
    queries,
    reminders,
    spec,
    users,
)

router = APIRouter()
PAGE = 20
PLAN_DAYS = 14  # the 看板's reminder plan: what goes out to whom in the next two weeks
PLAN_SHOWN = 200
RECORD_LABELS = {
    "create": "新建申报",
    "edit": "修改方案",
    "attach": "上传附件",
    "extend": "延期",
    "waive": "登记例外",
    "import": "导入",
    "review_assign": "分配评审专家",
    "review_unassign": "取消分配评审专家",
    "review_score": "专家评分",
}


def tag(row: dict[str, Any], now: Any, warn_days: int = spec.WebSettings.warn_days) -> dict[str, Any]:
    """红/黄/绿 and the days left for a listed case (no tag without a due date); 黄 within `web.warn_days` of states.yaml."""
    due = row.get("due_at")
    if due is None:
        return {"colour": "", "text": "", "days": None}
    if due < now:  # calendar days late, as the CLI and the reminders count them (due 05-06: 2 days on 05-08)
        days = max(clock.days_late(now, due), 1)
        return {"colour": "red", "text": f"逾期 {days} 天", "days": -days}
    days = clock.days_late(due, now)  # calendar days left (0 on the due day itself)
    return {"colour": "yellow" if days <= warn_days else "green", "text": f"剩 {days} 天", "days": days}


def download_headers(name: str) -> dict[str, str]:
    """Content-Disposition for a download under its original (Chinese) name, RFC 6266 / RFC 5987."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


def read_case(me: Me, case_id: int) -> dict[str, Any]:
    """The case as `case show --json` gives it; a case outside the user's scope is simply not found (ids don't leak)."""
    try:
        return queries.show(me.ws, case_id)
    except errors.PermissionDenied:
        raise errors.NotFound(f"没有编号为 {case_id} 的申报。") from None


def _me_row(me: Me) -> dict[str, Any]:
    return next(iter(users.listing(me.ws, me.name)), {"name": me.name, "role": "", "committee": "", "branch": ""})


# ---- 待办 ----------------------------------------------------------------------------------------


def todo_data(me: Me) -> dict[str, Any]:
    """The cases where the user can act now, and those where an action is blocked, soonest due first."""
    now = me.ws.now
    listed = queries.listing(me.ws, order="due", limit=100)
    terminal = {st.id for st in me.ws.spec.states if st.terminal}
    ready: list[dict[str, Any]] = []
    blocked: list[dict[str, Any]] = []
    open_rows = [row for row in listed["cases"] if row["state"] not in terminal]
    every = engine.options_many(me.ws, [row["id"] for row in open_rows])
    for row in open_rows:
        options = every[row["id"]]
        if not options:
            continue
        item = {**row, "tag": tag(row, now, me.ws.spec.web.warn_days), "options": options}
        (ready if any(o.allowed for o in options) else blocked).append(item)
    overdue = len([r for r in ready + blocked if r["tag"]["colour"] == "red"])
    return {"ready": ready, "blocked": blocked, "overdue": overdue}


@router.get("/")
def home(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """待办 (home)."""
    return render(request, "home.html", **todo_data(me), who=_me_row(me))


@router.get("/todo/counts")
def home_counts(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """The counters of 待办, for htmx polling every 30 s."""
    return render(request, "counts.html", **todo_data(me))


# ---- 申报 list -------------------------------------------------------------------------------------


def list_filters(year: int | None, committee: str, state: str, overdue: bool, q: str, sort: str) -> dict[str, Any]:
    return {
        "year": year,
        "committee": committee or None,
        "state": state or None,
        "overdue_only": overdue,
        "text": q or None,
        "order": sort or "id",
    }


@router.get("/cases")
def case_list(
    request: Request,
    me: Annotated[Me, Depends(current_user)],
    year: Year = None,
    committee: str = "",
    state: str = "",
    overdue: bool = False,
    q: str = "",
    sort: str = "id",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """申报: filters, sorting, paging, counts per state as chips, export links of exactly the filtered rows."""
    f = list_filters(year, committee, state, overdue, q, sort)
    result = queries.listing(me.ws, **f, limit=PAGE, offset=(page - 1) * PAGE)
    query = {
        k: v
        for k, v in {
            "year": year,
            "committee": committee,
            "state": state,
            "overdue": "true" if overdue else "",
            "q": q,
            "sort": sort,
        }.items()
        if v
    }
    chips = [{**c, "href": "/cases?" + urlencode({**query, "state": c["state"]})} for c in result["counts"]]
    pages = max(1, -(-result["matched"] // PAGE))
    rows = [{**r, "tag": tag(r, me.ws.now, me.ws.spec.web.warn_days)} for r in result["cases"]]
    committees = queries.committee_names(me.ws)
    return render(
        request,
        "cases.html",
        rows=rows,
        chips=chips,
        total=result["total"],
        matched=result["matched"],
        page=page,
        pages=pages,
        query=query,
        qs=urlencode(query),
        prev_href="/cases?" + urlencode({**query, "page": page - 1}) if page > 1 else "",
        next_href="/cases?" + urlencode({**query, "page": page + 1}) if page < pages else "",
        all_href="/cases?" + urlencode({k: v for k, v in query.items() if k != "state"}),
        states=me.ws.spec.states,
        committees=committees,
        f=f,
        years=queries.campaign_years(me.ws),
        triggers=me.ws.spec.transitions,
    )


@router.get("/cases/export.{fmt}")
def case_export(
    request: Request,
    me: Annotated[Me, Depends(current_user)],
    fmt: str,
    year: Year = None,
    committee: str = "",
    state: str = "",
    overdue: bool = False,
    q: str = "",
    sort: str = "id",
) -> Response:
    """导出 Excel / CSV: exactly the filtered rows (all pages), with the CLI's Chinese headers."""
    if fmt not in ("xlsx", "csv"):
        raise UsageError("导出格式应是 xlsx 或 csv。")
    f = list_filters(year, committee, state, overdue, q, sort)
    first = queries.listing(me.ws, **f, limit=1)
    rows = queries.listing(me.ws, **f, limit=max(1, first["matched"]))["cases"] if first["matched"] else []
    folder = Path(tempfile.mkdtemp(prefix="bf-export-"))
    path = export.write(folder / f"申报.{fmt}", present.CASE_HEADERS, rows, "申报进度")
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return FileResponse(path, media_type=media, headers=download_headers(f"申报.{fmt}"))


@router.get("/cases/new")
def case_new_page(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """新建申报: the branch (from the user's scope), title, theme."""
    branches = queries.branches(me.ws)
    return render(request, "case_new.html", branches=branches, themes=[*me.ws.spec.rules.themes, me.ws.spec.rules.other_theme], error="")


@router.post("/cases/new")
def case_new(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    branch: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    theme: Annotated[str, Form()] = "",
    theme_note: Annotated[str, Form()] = "",
) -> Response:
    """Create the draft and go to its page."""
    cid = cases.create(me.ws, branch, title, theme, theme_note)
    return RedirectResponse(f"/cases/{cid}", status_code=303)


# ---- 申报详情 ----------------------------------------------------------------------------------------


def input_field(i: Any) -> dict[str, Any]:
    """A form field from a declared input: bool → checkbox, date → date, number → number with its range, text → textarea."""
    widget = {"bool": "checkbox", "date": "date", "number": "number"}.get(i.type, "textarea")
    return {"name": i.name, "label": i.label or i.name, "widget": widget, "required": i.required, "min": i.min, "max": i.max}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """申报详情."""
    data = read_case(me, case_id)
    options = engine.options(me.ws, case_id)
    forms = [
        {
            "trigger": o.trigger,
            "label": o.label,
            "dest_label": o.dest_label,
            "allowed": o.allowed,
            "blocked_by": o.blocked_by,
            "fields": [input_field(i) for i in o.inputs],
        }
        for o in options
    ]
    try:
        history = queries.history(me.ws, case_id)
    except errors.PermissionDenied:  # a reviewer reads an assigned case's plan and files, never its history
        history = []
    spec = me.ws.spec
    editable = data["state"] == spec.initial.id and any(o.trigger for o in options)
    plan = [{"name": k, "label": label, "value": data.get(k) or ""} for k, label in cases.EDITABLE.items()]
    return render(
        request,
        "case.html",
        case=data,
        tag=tag(data, me.ws.now, spec.web.warn_days),
        forms=forms,
        history=history,
        plan=plan,
        editable=editable,
        attachments=queries.attachments(me.ws, case_id),
        kinds=cases.rules.ATTACHMENT_KINDS,
        labels={**RECORD_LABELS, **{st.id: st.label for st in spec.states}, **{t.trigger: t.label for t in spec.transitions}},
        roles=spec.roles,
        is_org=access.is_org(me.ws.current),
    )


@router.post("/cases/{case_id}/extend")
def case_extend(
    request: Request,
    case_id: int,
    me: Annotated[Me, Depends(csrf_checked)],
    until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """延期 one case (org; a reason is required), audited."""
    read_case(me, case_id)
    deadlines.extend_case(me.ws, case_id, clock.parse_deadline(until), reason)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/waive")
def case_waive(
    request: Request,
    case_id: int,
    me: Annotated[Me, Depends(csrf_checked)],
    rule: Annotated[str, Form()] = "R2",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Register an R2 exception for one case (org; a reason is required), audited."""
    read_case(me, case_id)
    deadlines.waive(me.ws, case_id, rule, reason)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.get("/calendar.ics")
def calendar(request: Request, me: Annotated[Me, Depends(current_user)], committee: str = "", year: Year = None) -> Response:
    """日历: the deadlines as an .ics file (all, or one committee's), for Outlook or DingTalk."""
    found = ics.export(me.ws, committee or None, year)
    return Response(found.text.encode("utf-8"), media_type="text/calendar; charset=utf-8", headers=download_headers("截止日期.ics"))


@router.post("/cases/{case_id}/advance")
async def case_advance(request: Request, case_id: int, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """Fire one trigger with its declared inputs, at the version the page showed (stale → the conflict page)."""
    read_case(me, case_id)
    form = await request.form()
    trigger = str(form.get("trigger", ""))
    transition = me.ws.spec.by_trigger.get(trigger)
    if transition is None:
        raise UsageError(f"没有操作 {trigger!r}。")
    data: dict[str, Any] = {}
    for i in transition.inputs:
        value = form.get(f"in_{i.name}")
        if i.type == "bool":
            data[i.name] = "true" if value else "false"
        elif isinstance(value, str) and value.strip():
            data[i.name] = value.strip()
    version = str(form.get("version", ""))
    engine.advance(me.ws, case_id, trigger, data, str(form.get("comment", "")), int(version) if version.isdigit() else None)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/fields")
async def case_fields(request: Request, case_id: int, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """Save the plan fields of a draft (only those changed), at the version shown."""
    current = read_case(me, case_id)
    form = await request.form()
    changed = {k: str(form[k]) for k in cases.EDITABLE if k in form and str(form[k]) != (current.get(k) or "")}
    if changed:
        version = str(form.get("version", ""))
        cases.set_fields(me.ws, case_id, changed, int(version) if version.isdigit() else None)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/attachments")
async def case_upload(
    request: Request, case_id: int, me: Annotated[Me, Depends(csrf_checked)], file: UploadFile, kind: Annotated[str, Form()] = ""
) -> Response:
    """Upload an attachment (kind: 申报表电子版 or 盖章扫描件), kept under its original name."""
    read_case(me, case_id)
    await store_upload(me, case_id, file, kind)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def store_upload(me: Me, case_id: int, file: UploadFile, kind: str) -> dict[str, Any]:
    """Hand the bytes to the library under the original name; it checks size, name and content (one policy for
    every front end). At most one byte past the limit is read: enough for the library to refuse the file."""
    name = Path((file.filename or "").replace("\\", "/")).name
    if not name:
        raise UsageError("请选择要上传的文件。")
    content = await file.read(attachments.max_upload_bytes() + 1)
    done = attachments.attach(me.ws, case_id, kind, content=content, name=name)
    found = [a for a in queries.attachments(me.ws, case_id) if a["sha256"] == done.sha256 and a["kind"] == kind]
    return found[-1] if found else present.attached(done)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def case_download(request: Request, case_id: int, attachment_id: int, me: Annotated[Me, Depends(current_user)]) -> Response:
    """Download under the original name (Content-Disposition: attachment; filename*=UTF-8''…)."""
    read_case(me, case_id)
    found = queries.attachment_file(me.ws, case_id, attachment_id)
    return FileResponse(found["path"], media_type="application/octet-stream", headers=download_headers(found["name"]))


# ---- 看板 ------------------------------------------------------------------------------------------


@router.get("/board")
def board(request: Request, me: Annotated[Me, Depends(current_user)], year: Year = None, asof: str = "") -> Response:
    """组织部看板: state × committee counts (each cell links to the filtered list), overdue per committee, due this week."""
    ws = me.ws
    if asof:
        from workflow import Workspace

        ws = Workspace(ws.store, clock.parse_deadline(asof), me.name)
    result = queries.board(ws, year=year)
    states = [ws.spec.by_id[s] for s in result["states"]]
    counts: dict[str, int] = {}
    failed: list[dict[str, Any]] = []
    is_org = access.is_org(me.ws.current)
    if is_org:  # the outbox is org's (the library refuses anyone else)
        for row in outbox.listing(ws):
            counts[row.status] = counts.get(row.status, 0) + 1
        failed = present.outbox_rows(ws.spec, outbox.listing(ws, "failed"))
    return render(
        request,
        "board.html",
        matrix=result["matrix"],
        states=states,
        per_committee=result["overdue_per_committee"],
        per_state=result["per_state"],
        committees_total=result["committees_total"],
        late=result["overdue"],
        late_total=result["overdue_total"],
        week=result["week"],
        year=year or "",
        years=queries.campaign_years(ws),
        asof=asof,
        ycount=result["total"],
        reminders=counts,
        failed=failed,
        plan_days=PLAN_DAYS,
        is_org=is_org,
        statuses={"pending": "待发", "sent": "已发送", "failed": "失败", "cancelled": "已作废"},
    )


@router.get("/board/plan")
def board_plan(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """The 看板's reminder plan (org): what the sweeps would send to whom in the next 14 days if no case moved;
    loaded after the board (htmx), as it reads further ahead than the board itself."""
    web = web_of(request)
    names = () if web.reminder_problem else web.reminder_channels
    plan = reminders.plan(me.ws, names, PLAN_DAYS)  # org's: the library refuses anyone else
    template = "plan_part.html" if request.headers.get("hx-request") else "plan.html"
    return render(
        request, template, plan=plan[:PLAN_SHOWN], plan_total=len(plan), plan_days=PLAN_DAYS, plan_problem=web.reminder_problem
    )


@router.post("/outbox/{outbox_id}/retry")
def outbox_retry(request: Request, outbox_id: int, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """重新发送: put a failed reminder back in the queue (sent at the next sweep)."""
    outbox.retry(me.ws, outbox_id)
    return RedirectResponse("/board", status_code=303)


# ---- 批量操作 ----------------------------------------------------------------------------------------


def _bulk_run(me: Me, form: Any, dry_run: bool) -> tuple[str, list[Any], Any]:
    trigger = str(form.get("trigger", ""))
    ids = [int(v) for v in form.getlist("ids") if str(v).isdigit()]
    state = str(form.get("state", "")) or None
    if not ids and not state:
        raise UsageError("请先在列表中勾选申报，或选择“该状态的全部申报”。")
    transition = me.ws.spec.by_trigger.get(trigger)
    if transition is None:
        raise UsageError("请选择要执行的操作。")
    # The preview assumes the confirmations the run will ask for (as the case page's buttons do); the run needs them ticked.
    inputs = {i.name: "true" for i in transition.inputs if i.type == "bool" and (form.get(f"in_{i.name}") or (dry_run and i.required))}
    inputs.update(
        {
            i.name: str(form.get(f"in_{i.name}")).strip()
            for i in transition.inputs
            if i.type != "bool" and str(form.get(f"in_{i.name}") or "").strip()
        }
    )
    run = bulk.advance_many(
        me.ws, trigger, state=state, ids=None if state else ids, inputs=inputs, comment=str(form.get("comment", "")), dry_run=dry_run
    )
    outcomes = [o for chunk in run for o in chunk]
    return trigger, outcomes, transition


@router.post("/bulk/preview")
async def bulk_preview(request: Request, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """批量操作 step 1: each case's verdict (would be done / refused and why); nothing written."""
    form = await request.form()
    trigger, outcomes, transition = _bulk_run(me, form, dry_run=True)
    ends = me.ws.spec.by_id[transition.dest].terminal
    return render(
        request,
        "bulk.html",
        trigger=trigger,
        transition=transition,
        outcomes=outcomes,
        form=form,
        ids=form.getlist("ids"),
        preview=True,
        ends=ends,
    )


@router.post("/bulk/run")
async def bulk_run(request: Request, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """批量操作 step 2 (确认执行): the result per case; a decision that ends cases needs a comment and a second confirmation."""
    form = await request.form()
    transition = me.ws.spec.by_trigger.get(str(form.get("trigger", "")))
    if transition is not None and me.ws.spec.by_id[transition.dest].terminal:
        if not str(form.get("comment", "")).strip():
            raise UsageError(f"“{transition.label}”会结束申报：请填写说明。")
        if form.get("confirm_end") != "yes":
            raise UsageError(f"“{transition.label}”会结束申报：请勾选“我确认结束这些申报”。")
    trigger, outcomes, transition = _bulk_run(me, form, dry_run=False)
    return render(
        request, "bulk.html", trigger=trigger, transition=transition, outcomes=outcomes, form=form, ids=[], preview=False, ends=False
    )
