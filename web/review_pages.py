"""评审: a reviewer's assignments with the score form of the criteria; org's assignment page and ranked summary (with export)."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from web.api import answer
from web.context import Me, Year, csrf_checked, current_user, render
from web.pages import download_headers, read_case
from workflow import UsageError, export, present, review

router = APIRouter()
MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _done(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?" + urlencode({"done": message}), status_code=303)


# ---- the reviewer's assignments ------------------------------------------------------------------


@router.get("/review")
def review_home(request: Request, me: Annotated[Me, Depends(current_user)]) -> Response:
    """评审: a reviewer's own assignments, each with its score form (org goes on to the assignment page)."""
    if me.is_org:
        return RedirectResponse("/review/assign", status_code=303)
    rows = review.listing(me.ws)  # the library shows a reviewer only their own, and refuses committees and branches
    return render(
        request,
        "review.html",
        rows=rows,
        criteria=review.criteria_fields(me.ws.spec.rules.review),
        in_review=set(review.review_states(me.ws.spec)),
        notice=request.query_params.get("done", ""),
    )


@router.post("/review/{case_id}/score")
async def review_score(request: Request, case_id: int, me: Annotated[Me, Depends(csrf_checked)]) -> Response:
    """Submit (or change) one's scores for an assigned case, as `review score` does; an unassigned case is not found."""
    read_case(me, case_id)
    form = await request.form()
    raw = {c.id: str(form.get(f"score_{c.id}", "")).strip() for c in me.ws.spec.rules.review.criteria}
    done = review.score(me.ws, case_id, {k: v for k, v in raw.items() if v}, str(form.get("comment", "")))
    verb = "已修改" if done["changed"] else "已提交"
    return _done("/review", f"{verb}申报 {done['id']}（{done['branch']}）的评分，总分 {done['total']:g}。")


# ---- org: assignment ------------------------------------------------------------------------------


@router.get("/review/assign")
def review_assign_page(request: Request, me: Annotated[Me, Depends(current_user)], year: Year = None) -> Response:
    """分配评审专家 (org): which reviewers are on which case, with assign / unassign forms and the spread over a state."""
    panel = review.reviewers(me.ws)  # org only: the library refuses anyone else
    spec = me.ws.spec
    in_review = review.review_states(spec)
    assigned: dict[int, list[dict[str, Any]]] = {}
    for row in review.listing(me.ws, year=year):
        assigned.setdefault(row["id"], []).append(row)
    cases = [{**c, "on_it": assigned.get(c["id"], [])} for c in review.summary(me.ws, year) if c["state"] in in_review]
    cases.sort(key=lambda c: c["id"])
    return render(
        request,
        "review_assign.html",
        cases=cases,
        panel=panel,
        states=[spec.by_id[s] for s in in_review],
        year=year or "",
        notice=request.query_params.get("done", ""),
    )


@router.post("/review/assign")
def review_assign(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    case_id: Annotated[str, Form()] = "",
    reviewer: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Assign reviewers to one case, as `review assign ID --reviewer …` does (a conflict of interest refuses all)."""
    if not case_id.isdigit():
        raise UsageError("请选择要分配的申报。", field="case_id")
    done = review.assign(me.ws, int(case_id), [r for r in reviewer or [] if r.strip()])
    added = "、".join(done["added"]) or "无"
    return _done("/review/assign", f"申报 {done['id']}（{done['branch']}）：新分配 {added}；评审专家：{'、'.join(done['reviewers'])}。")


@router.post("/review/spread")
def review_spread(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    state: Annotated[str, Form()] = "",
    reviewer: Annotated[list[str] | None, Form()] = None,
    per_case: Annotated[str, Form()] = "",
) -> Response:
    """Spread a state's cases over the panel, as `review assign --state … --reviewers … --per-case N` does."""
    if not per_case.strip().isdigit():
        raise UsageError("请填写每个申报的评审专家人数（一个整数）。", field="per_case")
    done = review.spread(me.ws, state, reviewer or [], int(per_case))
    loads = "，".join(f"{name} {n} 个" for name, n in done["loads"].items())
    short = sum(c["short"] for c in done["cases"])
    tail = f"；因回避还差 {short} 人次" if short else ""
    return _done("/review/assign", f"已为 {len(done['cases'])} 个申报分配评审专家（每个 {done['per_case']} 位）：{loads}{tail}。")


@router.post("/review/unassign")
def review_unassign(
    request: Request,
    me: Annotated[Me, Depends(csrf_checked)],
    case_id: Annotated[str, Form()] = "",
    reviewer: Annotated[str, Form()] = "",
) -> Response:
    """Take a reviewer off a case before they scored it, as `review unassign` does."""
    if not case_id.isdigit():
        raise UsageError("请选择申报。", field="case_id")
    done = review.unassign(me.ws, int(case_id), reviewer)
    return _done("/review/assign", f"已取消评审专家 {done['reviewer']} 对申报 {done['id']}（{done['branch']}）的评审任务。")


# ---- org: the ranked summary ------------------------------------------------------------------------


@router.get("/review/summary")
def review_summary_page(request: Request, me: Annotated[Me, Depends(current_user)], year: Year = None) -> Response:
    """评审汇总表 (org): the same rows as `review summary`, best first, with the export links."""
    rows = review.summary(me.ws, year)
    headers = review.headers(me.ws.spec)
    return render(
        request,
        "review_summary.html",
        rows=rows,
        headers={k: v for k, v in headers.items() if k not in ("override_reason",)},
        criteria=me.ws.spec.rules.review.criteria,
        qs=urlencode({"year": year}) if year else "",
        year=year or "",
    )


@router.get("/review/summary.{fmt}")
def review_summary_export(request: Request, me: Annotated[Me, Depends(current_user)], fmt: str, year: Year = None) -> Response:
    """导出 Excel / CSV of the summary, as `review summary --xlsx/--csv` writes it (Chinese headers, text never a formula)."""
    if fmt not in MEDIA:
        raise UsageError("导出格式应是 xlsx 或 csv。")
    sheet = present.Sheet("评审汇总表", review.headers(me.ws.spec), review.summary(me.ws, year))
    out = io.BytesIO()
    export.write_to(out, fmt, sheet.headers, sheet.rows, sheet.name)
    return Response(out.getvalue(), media_type=MEDIA[fmt], headers=download_headers(f"评审汇总表.{fmt}"))


# ---- the JSON twins (/api/v1): what `review list / summary / score --json` print --------------------------


@router.get("/api/v1/review", tags=["api"])
def api_review_list(me: Annotated[Me, Depends(current_user)], reviewer: str | None = None, state: str | None = None, year: Year = None) -> Response:
    """`review list --json`: a reviewer's own assignments; org's, of every reviewer (or one)."""
    return answer(review.listing(me.ws, reviewer, state, year))


@router.get("/api/v1/review/summary", tags=["api"])
def api_review_summary(me: Annotated[Me, Depends(current_user)], year: Year = None) -> Response:
    """`review summary --json` (org): one row per case with the panel, ranked."""
    return answer(review.summary(me.ws, year))


@router.post("/api/v1/review/{case_id}/score", tags=["api"])
def api_review_score(case_id: int, me: Annotated[Me, Depends(csrf_checked)], body: Annotated[dict[str, Any], Body()]) -> Response:
    """`review score --json`: JSON `scores` (criterion id or label → number) and `comment`; an unassigned case is not found."""
    read_case(me, case_id)
    scores = body.get("scores")
    if not isinstance(scores, dict):
        raise UsageError("请在 scores 中给出每项评审指标的分数（指标 → 分数）。", field="scores")
    return answer(review.score(me.ws, case_id, scores, str(body.get("comment", ""))))
