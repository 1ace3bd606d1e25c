"""The lifecycle library as a web page will call it: one decider for one case or many, `apply`, the due date on arrival.

Sample roster (demo/sample.py): 文法学院分党委 has 12 branches (quota 2; 第4学生 is the national model branch).
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import Bf, at, ready_case
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)

from workflow.errors import Conflict, InvalidTrigger, PermissionDenied, RuleRefused, UsageError
from workflow.lifecycle import engine, facts, repository
from workflow.spec import rules

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ATTEST = {"attest": "true"}


def rows(bf: Bf, *ids: int) -> list[facts.CaseRow]:
    with bf.ws().store.read() as s:
        return [repository.load_case(s, i) for i in ids]


def test_a_single_case_is_a_batch_of_one_decided_without_writing(bf: Bf) -> None:
    cid = ready_case(bf)
    ws = bf.ws("wenfa")
    before = snapshot(bf)
    with ws.store.read() as s:
        actor = ws.actor(s)
        row = repository.load_case(s, cid)
        decision = engine.Decider(s, ws.spec, actor, "submit", ATTEST, ws.now, [row]).decide(row)
    assert (decision.row.id, decision.transition.trigger, decision.dest) == (cid, "submit", "submitted")
    assert decision.inputs == {"attest": True}  # typed
    assert decision.due == at("2024-05-17T23:59:59")  # the calendar's date for `submitted`
    assert snapshot(bf) == before


def test_a_rule_refusal_carries_the_rule_ids_as_data(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "t", "--theme", "人才培养", user="wenfa")["id"]
    ws = bf.ws("wenfa")
    with ws.store.read() as s:
        row = repository.load_case(s, cid)
        unattested = engine.Decider(s, ws.spec, ws.actor(s), "submit", {"attest": "false"}, ws.now, [row])
        assert [r.rule for r in unattested.refusals(row)] == ["R1", "R7", "R8"]
        with pytest.raises(UsageError):  # `attest` is a required input: checked before the rules
            engine.Decider(s, ws.spec, ws.actor(s), "submit", {}, ws.now, [row]).decide(row)
        with pytest.raises(RuleRefused) as refused:
            engine.Decider(s, ws.spec, ws.actor(s), "submit", ATTEST, ws.now, [row]).decide(row)
    assert refused.value.extra["rules"] == ["R7", "R8"]
    assert refused.value.details[0].startswith("R7 方案不完整：缺少预期成果")


def test_every_condition_answers_its_rule_id_and_a_reason_naming_it(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "t", "--theme", "人才培养", user="wenfa")["id"]
    ws = bf.ws("wenfa", "2024-05-07T09:00")  # past the draft's due date (R8) and with nothing filled in
    with ws.store.read() as s:
        (row,) = rows(bf, cid)
        f = facts.Batch(s, ws.spec, [row]).facts(row, ws.now, {})
    refused = {name: c(f) for name, c in rules.CONDITIONS.items()}
    assert {name for name, r in refused.items() if r is not None} == {
        "r1_attested",
        "r7_complete_plan",
        "r8_attachments",
        "r8_on_time",
        "r9_excellent",
        "r13_enough_reviews",
    }
    for name, refusal in refused.items():
        if refusal is not None:
            assert refusal.rule == rules.CONDITIONS[name].rule and refusal.reason.startswith(refusal.rule + " ")


def test_the_checks_come_in_order_version_graph_role_scope(bf: Bf) -> None:
    mine = ready_case(bf)
    theirs = ready_case(bf, "外国语学院第3教工党支部", user="waiguo")
    ws = bf.ws("wenfa")
    with ws.store.read() as s:
        row, other = rows(bf, mine, theirs)
        actor = ws.actor(s)
        with pytest.raises(Conflict):
            engine.Decider(s, ws.spec, actor, "submit", ATTEST, ws.now, [row]).decide(row, expect_version=row.version - 1)
        with pytest.raises(InvalidTrigger):  # not from draft, and not a trigger at all
            engine.Decider(s, ws.spec, actor, "approve", {}, ws.now, [row]).decide(row)
        with pytest.raises(InvalidTrigger):
            engine.Decider(s, ws.spec, actor, "fly", {}, ws.now, [row]).decide(row)
        branch = bf.ws("zhibu1").actor(s)  # the case's own branch: in scope, but `submit` is the committee's
        with pytest.raises(PermissionDenied, match="只能由"):
            engine.Decider(s, ws.spec, branch, "submit", ATTEST, ws.now, [row]).decide(row)
        with pytest.raises(PermissionDenied, match="不在其管辖范围内"):
            engine.Decider(s, ws.spec, actor, "submit", ATTEST, ws.now, [other]).decide(other)


def test_a_batch_counts_the_cases_it_decided_before_r5(bf: Bf) -> None:
    """Three drafts of one committee (quota 2) decided in one batch: the third is refused, and nothing is written."""
    cases = [ready_case(bf, b) for b in ("文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部")]
    ws = bf.ws("wenfa")
    before = snapshot(bf)
    with ws.store.read() as s:
        batch = rows(bf, *cases)
        decider = engine.Decider(s, ws.spec, ws.actor(s), "submit", ATTEST, ws.now, batch)
        assert [decider.decide(r).dest for r in batch[:2]] == ["submitted", "submitted"]
        with pytest.raises(RuleRefused) as refused:
            decider.decide(batch[2])
    assert refused.value.extra["rules"] == ["R5"]
    assert snapshot(bf) == before


def test_apply_writes_a_versioned_update_and_one_history_row(bf: Bf) -> None:
    cid = ready_case(bf)
    ws = bf.ws("zzb")  # org acting for the committee
    with ws.store.write() as s:
        (row,) = rows(bf, cid)
        decision = engine.Decider(s, ws.spec, ws.actor(s), "submit", ATTEST, ws.now, [row]).decide(row)
        fired = engine.apply(s, ws.spec, ws.actor(s), decision, ws.now, "代为提交")
    assert (fired.source, fired.dest, fired.version) == ("draft", "submitted", row.version + 1)
    last = bf.json("case", "history", str(cid))[-1]
    assert (last["actor"], last["role"], last["on_behalf_of"], last["trigger"], last["comment"]) == (
        "zzb",
        "org",
        "committee",
        "submit",
        "代为提交",
    )
    assert last["inputs"] == {"attest": True}
    with ws.store.write() as s, pytest.raises(Conflict):  # the decision was made on a version that is gone
        engine.apply(s, ws.spec, ws.actor(s), decision, ws.now)


def test_the_due_date_on_arrival_is_one_function() -> None:
    from workflow.spec import packaged_text, parse

    spec = parse(packaged_text())
    now = at("2024-05-20T09:00")
    calendar = at("2024-05-17T23:59:59")
    assert engine.due_on_arrival(spec, "completed", calendar, None, now) is None  # terminal
    assert engine.due_on_arrival(spec, "draft", calendar, date(2024, 5, 30), now) == at("2024-05-30T23:59:59")  # a return's `until`
    assert engine.due_on_arrival(spec, "submitted", calendar, None, now) == at("2024-05-27T23:59:59")  # late entry: 7 days
    assert engine.due_on_arrival(spec, "submitted", at("2024-05-31T23:59:59"), None, now) == at("2024-05-31T23:59:59")
    with pytest.raises(UsageError, match="已经过去"):
        engine.require_future_until({"until": date(2024, 5, 19)}, now)


@SQLITE_ONLY
def test_options_say_what_blocks_each_trigger_through_the_same_decider(bf: Bf) -> None:
    cid = bf.json("case", "new", "--branch", "文法学院第1学生党支部", "--title", "t", "--theme", "人才培养", user="wenfa")["id"]
    by_trigger = {o.trigger: o for o in engine.options(bf.ws("wenfa"), cid)}
    assert not by_trigger["submit"].allowed
    assert [r.split(" ", 1)[0] for r in by_trigger["submit"].blocked_by] == ["R7", "R8"]  # attest assumed
    assert by_trigger["withdraw"].allowed
