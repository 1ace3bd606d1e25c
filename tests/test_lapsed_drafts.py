"""Issue 8 item 3: a draft never submitted by its due date ends in 未按时申报 (lapsed), by org, one or all at once,
only after the due date; then it is no longer overdue and gets no reminders."""

from __future__ import annotations

import json

from conftest import Bf
from servers import draft_case, sweep

DUE = "2024-05-06"  # the draft's due date in the 2024 calendar


def test_a_draft_cannot_be_marked_lapsed_before_its_due_date(bf: Bf) -> None:
    cid = draft_case(bf)
    early = bf("advance", str(cid), "lapse", user="zzb", now=f"{DUE}T20:00")
    assert early.exit_code == 1 and "R8" in early.stderr and "尚未过去" in early.stderr
    assert bf.json("case", "show", str(cid))["state"] == "draft"


def test_only_org_marks_a_draft_lapsed(bf: Bf) -> None:
    cid = draft_case(bf)
    assert bf("advance", str(cid), "lapse", user="wenfa", now="2024-05-08T09:00").exit_code == 1


def test_a_lapsed_draft_is_no_longer_overdue_nor_reminded(bf: Bf) -> None:
    cid = draft_case(bf)
    late = "2024-05-08T09:00"
    assert [r["id"] for r in bf.json("overdue", now=late)] == [cid]
    done = bf.json("advance", str(cid), "lapse", "--comment", "名额已满，支部放弃", user="zzb", now=late)
    assert done["state"] == "lapsed" and done["state_label"] == "未按时申报"
    shown = bf.json("case", "show", str(cid), now=late)
    assert shown["state_label"] == "未按时申报" and shown["due_at"] is None
    assert bf.json("overdue", now="2025-06-09T09:00") == []
    assert sweep(bf, "2025-06-09T09:00", digest=True).queued == []
    history = bf.json("case", "history", str(cid))
    assert (history[-1]["trigger"], history[-1]["actor"], history[-1]["comment"]) == ("lapse", "zzb", "名额已满，支部放弃")


def test_advance_many_lapse_moves_every_draft_past_its_due_date_and_no_other(bf: Bf) -> None:
    first = draft_case(bf)
    second = draft_case(bf, "文法学院第2教工党支部")
    bf.ok("extend", str(second), "--until", "2024-05-20", "--reason", "盖章流程延误", user="zzb", now="2024-05-05T09:00")
    result = bf("--json", "advance-many", "lapse", "--state", "draft", user="zzb", now="2024-05-08T09:00")
    assert result.exit_code == 1  # the extended draft is refused by R8, the other done
    outcomes = {o["id"]: o for o in json.loads(result.stdout)}
    assert outcomes[first]["ok"] is True
    assert outcomes[second]["ok"] is False and outcomes[second]["rules"] == ["R8"]
    assert bf.json("case", "show", str(second))["state"] == "draft"
