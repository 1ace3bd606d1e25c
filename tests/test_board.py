"""The 组织部看板's figures come from the library as aggregates (never by loading every case): the counts per
committee and state agree with `status`, overdue per committee with `overdue`, and scope applies."""

from __future__ import annotations

from conftest import Bf
from servers import draft_case

from workflow.dates import clock
from workflow.db.store import Store
from workflow.reports import queries
from workflow.workspace import Workspace


def _ws(bf: Bf, user: str, now: str) -> Workspace:
    return Workspace(Store(bf.url), clock.parse_now(now), user)


def test_the_board_counts_what_status_and_overdue_count(bf: Bf) -> None:
    draft_case(bf)
    draft_case(bf, "文法学院第2教工党支部")
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    late = "2024-05-08T09:00"
    got = queries.board(_ws(bf, "zzb", late))
    assert got["matrix"] == {"文法学院分党委": {"draft": 2}, "外国语学院分党委": {"draft": 1}}
    assert got["total"] == queries.status(_ws(bf, "zzb", late))["total"] == 3
    assert got["overdue_per_committee"] == {"文法学院分党委": 2, "外国语学院分党委": 1}
    assert [r["id"] for r in got["overdue"]] == [r["id"] for r in queries.overdue(_ws(bf, "zzb", late))]
    assert got["states"] == ["draft"]
    # the week ahead of 1 May holds the drafts due 6 May; nothing is due in the week after 8 May
    assert len(queries.board(_ws(bf, "zzb", "2024-05-01T09:00"))["week"]) == 3
    assert queries.board(_ws(bf, "zzb", late))["week"] == []
    assert len(queries.board(_ws(bf, "zzb", late), limit=1)["overdue"]) == 1


def test_a_committee_user_sees_its_own_committee_on_the_board(bf: Bf) -> None:
    draft_case(bf)
    draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    got = queries.board(_ws(bf, "wenfa", "2024-05-08T09:00"))
    assert got["matrix"] == {"文法学院分党委": {"draft": 1}}
    assert got["overdue_per_committee"] == {"文法学院分党委": 1} and got["total"] == 1


def test_committee_names_for_a_filter_follow_the_scope(bf: Bf) -> None:
    every = queries.committee_names(_ws(bf, "zzb", "2024-05-01T09:00"))
    assert "文法学院分党委" in every and "外国语学院分党委" in every and every == sorted(every)
    assert queries.committee_names(_ws(bf, "wenfa", "2024-05-01T09:00")) == ["文法学院分党委"]
    assert len(queries.committee_names(_ws(bf, "zzb", "2024-05-01T09:00"), limit=1)) == 1
