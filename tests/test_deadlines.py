"""`workflow.records.deadlines` as a web page will call it: extensions of one case or a whole state, waivers;
each changed case gets its next version through the repository's one versioned update, and its own history row."""

from __future__ import annotations

import pytest
from conftest import Bf, at
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

from workflow.errors import Conflict
from workflow.lifecycle import repository
from workflow.records import deadlines

BRANCHES = ["文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部"]


def drafts(bf: Bf, n: int) -> list[int]:
    branches = BRANCHES[:n]
    return [int(bf.json("case", "new", "--branch", b, "--title", "特色创建", "--theme", "人才培养", user="zzb")["id"]) for b in branches]


def test_extending_a_state_gives_each_case_its_next_version_and_its_own_audited_row(bf: Bf) -> None:
    ids = drafts(bf, 3)
    bf.ok("case", "set", str(ids[0]), "innovation=导师制", user="zzb")  # version 2: each case keeps its own count
    before = {cid: bf.json("case", "show", str(cid))["version"] for cid in ids}
    deadlines.extend_state(bf.ws("zzb"), "draft", at("2024-05-20T23:59:59"), "统一延期")
    for cid in ids:
        shown = bf.json("case", "show", str(cid))
        assert shown["version"] == before[cid] + 1
        last = bf.json("case", "history", str(cid))[-1]
        assert (last["trigger"], last["actor"], last["role"], last["comment"]) == ("extend", "zzb", "org", "统一延期")
        assert last["inputs"]["state"] == "draft" and last["inputs"]["until"].startswith("2024-05-20T23:59:59")


def test_a_batch_update_refuses_if_any_case_moved_on_and_writes_nothing(bf: Bf) -> None:
    ids = drafts(bf, 2)
    bf.ok("case", "set", str(ids[1]), "innovation=导师制", user="zzb")  # now at version 2, not 1
    before = snapshot(bf)
    ws = bf.ws("zzb")
    with pytest.raises(Conflict, match="刚被他人修改"), ws.store.write() as s:
        repository.update_cases(s, {ids[0]: 1, ids[1]: 1}, ws.now, title="改名")
    assert snapshot(bf) == before
    with ws.store.write() as s:
        repository.update_cases(s, {ids[0]: 1, ids[1]: 2}, ws.now, title="改名")
    assert [bf.json("case", "show", str(cid))["version"] for cid in ids] == [2, 3]
