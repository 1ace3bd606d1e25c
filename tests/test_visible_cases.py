"""access owns who may see what (issue 7 item 3): one `visible_cases` for every listing, one committee lookup,
and no role literal tested outside access.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Bf
from servers import draft_case
from sqlalchemy import select
from sqlmodel import col

from workflow import access
from workflow.db.models import Case
from workflow.errors import NotFound

ROOT = Path(__file__).resolve().parents[1]


def visible(bf: Bf, user: str, committee: str | None = None) -> set[int]:
    ws = bf.ws(user)
    with ws.store.read() as s:
        actor = ws.actor(s)
        committee_id = access.committee_id(s, committee) if committee else None
        return set(s.execute(access.visible_cases(select(col(Case.id)), actor, committee_id)).scalars())


def test_each_role_sees_its_own_cases_and_a_committee_narrows_them(bf: Bf) -> None:
    ours = draft_case(bf)  # 文法学院第1学生党支部, the branch user zhibu1's
    other = draft_case(bf, "文法学院第5教工党支部")
    theirs = draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    assert visible(bf, "zzb") == {ours, other, theirs}
    assert visible(bf, "zzb", "外国语学院分党委") == {theirs}
    assert visible(bf, "wenfa") == {ours, other}
    assert visible(bf, "wenfa", "外国语学院分党委") == set()  # a committee never sees past its own
    assert visible(bf, "zhibu1") == {ours}
    assert visible(bf, "expert") == set()  # a reviewer sees the cases assigned to them only


def test_the_listings_and_the_calendar_agree_with_visible_cases(bf: Bf) -> None:
    draft_case(bf)
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    for user in ("zzb", "wenfa", "zhibu1"):
        assert {r["id"] for r in bf.json("status", user=user)} == visible(bf, user)
    assert {r["id"] for r in bf.json("status", "--committee", "外国语学院分党委", user="zzb")} == visible(bf, "zzb", "外国语学院分党委")


def test_one_committee_lookup_with_one_message(bf: Bf) -> None:
    ws = bf.ws("zzb")
    with ws.store.read() as s, pytest.raises(NotFound) as caught:
        access.committee_id(s, "不存在学院分党委")
    assert (caught.value.field, caught.value.value) == ("committee", "不存在学院分党委")
    expected = "没有名为“不存在学院分党委”的分党委：请检查名称（branch list 可查看）。"
    for argv in (["status"], ["overdue"], ["advance-many", "withdraw", "--state", "draft"]):
        result = bf(*argv, "--committee", "不存在学院分党委", user="zzb")
        assert (result.exit_code, result.stderr.strip()) == (3, expected), argv
    result = bf("calendar", "--ics", str(bf.tmp / "x.ics"), "--committee", "不存在学院分党委", user="zzb")
    assert (result.exit_code, result.stderr.strip()) == (3, expected)


def test_no_role_is_tested_by_its_literal_outside_access() -> None:
    """Who may see and do what is asked of access's predicates (is_org, is_committee, …), not of `actor.role == "org"`."""
    literal = re.compile(r"""(?:\.role|\[["']role["']\])\s*(?:==|!=|in|not in)\s*\(?\s*["'](?:org|committee|branch|reviewer)["']""")
    sources = [*(ROOT / "workflow").rglob("*.py"), *(ROOT / "web").rglob("*.py"), *(ROOT / "jobs").rglob("*.py"), ROOT / "cli.py"]
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted(sources)
        if path.name != "access.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []


def test_no_role_id_is_tested_by_its_literal_outside_access_and_the_spec() -> None:
    """A role given as input (a user being added or changed) is asked of access too (needs_committee, scope_fields, …);
    only the spec, which declares the role ids, names them."""
    literal = re.compile(r"""\brole\s*(?:==|!=|in|not in)\s*\(?\s*["'](?:org|committee|branch|reviewer)["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "workflow").rglob("*.py"))
        if path.name != "access.py" and "spec" not in path.relative_to(ROOT).parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []
