"""分党委: a committee's branches from the roster, which have a case this year, the R5 quota, and each branch's R2/R4 standing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from web.api import answer
from web.context import Me, Year, current_user, render
from workflow import present, queries

router = APIRouter()


@router.get("/committee")
def committee_page(request: Request, me: Annotated[Me, Depends(current_user)], committee: str = "", year: Year = None) -> Response:
    """A committee user sees its own committee; org picks any (the first by default). Others are refused by the library."""
    found = queries.committee_overview(me.ws, committee or None, year)
    branches = [{**b, "r2_text": present.r2_standing(b), "r4_text": present.r4_standing(b)} for b in found["branches"]]
    return render(
        request,
        "committee.html",
        o=found,
        branches=branches,
        committees=queries.committee_names(me.ws) if me.is_org else [],
        year=year or "",
    )


@router.get("/api/v1/committee", tags=["api"])
def api_committee(me: Annotated[Me, Depends(current_user)], committee: str = "", year: Year = None) -> Response:
    """The 分党委 page's data as JSON: `queries.committee_overview` (a committee sees only its own)."""
    return answer(queries.committee_overview(me.ws, committee or None, year))
