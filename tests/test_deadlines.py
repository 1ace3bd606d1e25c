"""`workflow.records.deadlines` as a web page will call it: extensions of one case or a whole state, waivers;
each changed case gets its next version through the repository's one versioned update, and its own history row."""

from __future__ import annotations

import json

import pytest
from conftest import Bf, at
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

import cli
from workflow import present
from workflow.errors import Conflict, UsageError
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


def as_printed(doc: object) -> object:
    """A present dict as `--json` prints it (times in ISO form)."""
    return json.loads(json.dumps(doc, default=cli._json_default))


def test_extending_one_case_returns_what_was_done_and_the_cli_prints_its_present_dict(bf: Bf) -> None:
    [cid, other] = drafts(bf, 2)
    done = deadlines.extend(bf.ws("zzb"), cid, None, "2024-05-20", "盖章流程延误")  # the text a user types
    assert done == deadlines.Extended(cid, "draft", at("2024-05-06T23:59:59"), at("2024-05-20T23:59:59"))
    assert present.extended(done) == {"case": cid, "state": "draft", "from": done.before, "until": done.until}
    printed = bf.json("extend", str(other), "--until", "2024-05-20", "--reason", "盖章流程延误", user="zzb")
    assert printed == as_printed({**present.extended(done), "case": other})


def test_extending_a_state_returns_the_calendar_change_and_the_cases_moved(bf: Bf) -> None:
    ids = drafts(bf, 2)
    done = deadlines.extend(bf.ws("zzb"), None, "draft", at("2024-05-20T23:59:59"), "统一延期")
    assert done == deadlines.StateExtended(2024, "draft", at("2024-05-06T23:59:59"), at("2024-05-20T23:59:59"), ids)
    printed = bf.json("extend", "--state", "draft", "--until", "2024-05-21", "--reason", "再延", user="zzb")
    assert set(printed) == set(present.state_extended(done)) == {"campaign", "state", "from", "until", "cases"}
    assert (printed["from"], printed["cases"]) == (as_printed(present.state_extended(done))["until"], ids)  # type: ignore[index]


def test_extend_needs_exactly_one_of_a_case_and_a_state_and_says_so_without_a_flag(bf: Bf) -> None:
    [cid] = drafts(bf, 1)
    before = snapshot(bf)
    for case_id, state in ((None, None), (cid, "draft")):
        with pytest.raises(UsageError) as caught:
            deadlines.extend(bf.ws("zzb"), case_id, state, "2024-05-20", "延期")
        assert (caught.value.field, caught.value.hint) == ("state", "请给出申报编号，或指定阶段（二者选一）。")
        assert "--" not in caught.value.text
    assert snapshot(bf) == before


def test_a_waiver_returns_what_was_recorded(bf: Bf) -> None:
    [cid, other] = drafts(bf, 2)
    done = deadlines.waive(bf.ws("zzb"), cid, " r2 ", "学校党委同意继续参与")
    assert done == deadlines.Waived(cid, "R2", "学校党委同意继续参与")
    assert present.waived(done) == {"case": cid, "rule": "R2", "reason": "学校党委同意继续参与"}
    printed = bf.json("waive", str(other), "--rule", "R2", "--reason", "学校党委同意继续参与", user="zzb")
    assert printed == {**present.waived(done), "case": other}


def test_a_whole_states_worth_of_cases_is_one_plain_list_on_every_backend(bf: Bf) -> None:
    """12,000 ids (more than one UPDATE takes) that name no case: a Conflict, never a database error (a list of
    (id, version) pairs that long is too deep for PostgreSQL's parser)."""
    ws = bf.ws("zzb")
    with pytest.raises(Conflict), ws.store.write() as s:
        repository.update_cases(s, {case_id: 1 for case_id in range(10**6, 10**6 + 12_000)}, ws.now, title="改名")
