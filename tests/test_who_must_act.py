"""Issue 8 item 13: who must act is shown beside the owner. An `approved` case overdue on 2024-10-08 is the
branch's (负责方 党支部), but only 组织部's `pass_check` can move it on: `overdue` and `status` (table, --json and
the exports) add the roles that can move the case next, from the spec's transitions out of its state."""

from __future__ import annotations

import csv

import pytest
from conftest import Bf, ready_case

from workflow import queries, spec

SPEC = spec.parse(spec.packaged_text())
EARLY_OCTOBER = "2024-10-08T09:00"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the roles come from the spec, not from the backend."""
    return sqlite_url


def test_the_roles_that_move_a_case_on_come_from_the_transitions_out_of_its_state() -> None:
    moved_by = {st.id: queries.next_roles(SPEC, st.id) for st in SPEC.states}
    assert moved_by["draft"] == ("committee",)  # submit (withdraw and lapse end the case)
    assert moved_by["submitted"] == ("org",)  # return, pass_review
    assert moved_by["approved"] == ("org",)  # pass_check: the owner is the branch
    assert SPEC.by_id["approved"].owner == "branch"
    assert moved_by["september_check"] == ("branch", "committee")  # submit_results
    assert moved_by["closing"] == ("org",)  # every way out ends the case: accept, fail_closing
    assert moved_by["completed"] == moved_by["withdrawn"] == ()


def test_overdue_and_status_show_who_can_move_the_case_beside_its_owner(bf: Bf) -> None:
    cid = ready_case(bf, "艺术学院第1学生党支部", "yishu")
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="yishu")
    bf.ok("advance", str(cid), "pass_review", user="zzb", now="2024-05-10T09:00")
    bf.ok("advance", str(cid), "evaluate", "--data", "score=95", "--data", "reason=测试：人工录入", user="zzb", now="2024-05-25T09:00")
    bf.ok("advance", str(cid), "approve", user="zzb", now="2024-06-01T09:00")
    draft = ready_case(bf)

    [late] = bf.json("overdue", "--committee", "艺术学院分党委", now=EARLY_OCTOBER)
    assert (late["id"], late["owner"], late["next_by"], late["next_roles"]) == (cid, "党支部", "党委组织部", ["org"])
    lines = bf.ok("overdue", "--committee", "艺术学院分党委", now=EARLY_OCTOBER).stdout.splitlines()
    head, row = lines[0].split(), lines[1].split()
    assert head[head.index("负责方") : head.index("负责方") + 2] == ["负责方", "可推进方"]
    assert row[head.index("负责方")] == "党支部" and row[head.index("可推进方")] == "党委组织部"

    rows = {r["id"]: r for r in bf.json("status", now=EARLY_OCTOBER)}
    assert (rows[draft]["owner"], rows[draft]["next_by"], rows[draft]["next_roles"]) == ("分党委（直属党总支）", "分党委（直属党总支）", ["committee"])
    assert rows[cid]["next_roles"] == ["org"] and set(rows[cid]) >= {"id", "owner", "state", "state_label", "due_at", "version"}

    shown = bf.json("case", "show", str(cid), now=EARLY_OCTOBER)
    assert (shown["owner"], shown["next_by"], shown["next_roles"]) == ("党支部", "党委组织部", ["org"])
    assert "可推进方：党委组织部" in bf.ok("case", "show", str(cid)).stdout

    path = bf.tmp / "逾期.csv"
    bf.ok("overdue", "--csv", str(path), now=EARLY_OCTOBER)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        exported = {r["编号"]: r for r in csv.DictReader(fh)}
    assert (exported[str(cid)]["负责方"], exported[str(cid)]["可推进方"]) == ("党支部", "党委组织部")
