"""Issue 8 item 12 (corrections, each audited): org may correct an evaluation while the case is still 已评审, with a
reason; a correction that changes nothing is refused instead of writing an audit row that changes nothing
("截止时间未变", "已登记过 R2 例外", an unchanged score). The user corrections are in test_user_corrections."""

from __future__ import annotations

import pytest
from conftest import Bf, ready_case
from helpers import snapshot


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only (the write path is the one every backend shares; test_deadlines covers both)."""
    return sqlite_url


def _evaluated(bf: Bf) -> int:
    cid = ready_case(bf)
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa")
    bf.ok("advance", str(cid), "pass_review", user="zzb", now="2024-05-10T09:00")
    bf.ok("advance", str(cid), "evaluate", "--data", "score=85", "--data", "reason=会议评审", user="zzb", now="2024-05-25T09:00")
    return cid


def test_org_corrects_an_evaluation_while_the_case_is_still_evaluated_with_a_reason(bf: Bf) -> None:
    cid = _evaluated(bf)
    due = bf.json("case", "show", str(cid))["due_at"]
    before = snapshot(bf)
    no_reason = bf("advance", str(cid), "evaluate", "--data", "score=92", "--data", "reason=复核", user="zzb", now="2024-05-27T09:00")
    assert no_reason.exit_code == 2
    assert no_reason.stderr == (
        f"申报 {cid} 已是“已评审，待立项”：再次“录入评审结果”是更正，没有写明更正的理由（会记入审计记录）：请用 --comment 写明更正的理由。\n"
    )
    assert snapshot(bf) == before

    args = ("advance", str(cid), "evaluate", "--data", "score=92", "--data", "reason=复核", "--comment", "计分表第3项漏计")
    done = bf.json(*args, user="zzb", now="2024-05-27T09:00")
    assert (done["source"], done["state"], done["due_at"]) == ("evaluated", "evaluated", due)  # the due date is kept
    shown = bf.json("case", "show", str(cid))
    assert shown["score"] == 92
    last = bf.json("case", "history", str(cid))[-1]
    assert (last["trigger"], last["source"], last["dest"], last["actor"]) == ("evaluate", "evaluated", "evaluated", "zzb")
    assert last["comment"].endswith("计分表第3项漏计") and "复核" in last["comment"]
    assert "录入评审结果（更正）  已评审，待立项" in bf.ok("case", "history", str(cid)).stdout

    before = snapshot(bf)
    same = bf("advance", str(cid), "evaluate", "--data", "score=92", "--data", "reason=再看", "--comment", "再次确认", user="zzb")
    assert same.exit_code == 2 and "评审分未变（仍是 92 分）" in same.stderr
    assert snapshot(bf) == before
    assert bf("advance", str(cid), "evaluate", "--comment", "更正", user="wenfa").exit_code == 1  # org only

    bf.ok("advance", str(cid), "approve", user="zzb", now="2024-06-01T09:00")
    late = bf("advance", str(cid), "evaluate", "--data", "score=95", "--data", "reason=x", "--comment", "立项后", user="zzb")
    assert late.exit_code == 1 and "不能执行“录入评审结果”（evaluate）" in late.stderr


def test_an_extension_to_the_same_date_and_a_second_waiver_are_refused_and_change_nothing(bf: Bf) -> None:
    cid = ready_case(bf)
    bf.ok("extend", str(cid), "--until", "2024-05-10", "--reason", "盖章流程延误", user="zzb")
    before = snapshot(bf)
    again = bf("extend", str(cid), "--until", "2024/5/10", "--reason", "再次延期", user="zzb")
    assert again.exit_code == 2
    assert again.stderr == f"申报 {cid} 的截止时间未变（已是 2024-05-10 23:59）：没有要延期的内容。\n"
    assert snapshot(bf) == before

    bf.ok("extend", "--state", "approved", "--until", "2024-10-15", "--reason", "国庆假期顺延", user="zzb")
    before = snapshot(bf)
    state = bf("extend", "--state", "approved", "--until", "2024-10-15", "--reason", "再次顺延", user="zzb")
    assert state.exit_code == 2 and "2024 年“已立项，创建中”阶段的截止时间未变" in state.stderr
    assert snapshot(bf) == before

    bf.ok("waive", str(cid), "--rule", "R2", "--reason", "学校党委同意继续参与", user="zzb")
    before = snapshot(bf)
    twice = bf("waive", str(cid), "--rule", "r2", "--reason", "再登记一次", user="zzb")
    assert twice.exit_code == 2
    assert twice.stderr.startswith(f"申报 {cid} 已登记过 R2 例外（zzb，2024-04-25 09:00：学校党委同意继续参与）：无需重复登记。")
    assert snapshot(bf) == before
