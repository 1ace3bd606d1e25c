"""The outbox: every reminder delivered exactly once, across sweeps, processes, crashes and failures."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import Bf, ready_case
from servers import at, draft_case, free_port, from_env, smtp_env, smtp_server, sweep

from workflow.reminders import outbox

ROOT = Path(__file__).resolve().parents[1]
WENFA = "wenfa@example.edu.cn"

# Tests whose SQL cannot differ between backends run on SQLite only; the rest run on both.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def rows(bf: Bf, *args: str) -> list[dict]:
    return bf.json("outbox", *args)


def test_two_sweeps_in_two_processes_at_the_same_time_send_each_reminder_once(bf: Bf) -> None:
    ids = [draft_case(bf, f"文法学院第{n}教工党支部") for n in (2, 3, 5)]
    with smtp_server() as box:
        box.delay = 0.2  # each message takes a while, so the two senders overlap
        env = {**os.environ, **smtp_env(box.port)}
        argv = [sys.executable, "cli.py", "--db", bf.url, "--now", "2024-05-03T09:00", "remind"]
        procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        recipients = sorted(str(m["To"]).rsplit("<", 1)[-1].rstrip(">") for m in box.messages)
    assert len(recipients) == 4 and len(set(recipients)) == 4  # the committee user and three branch contacts, once each
    assert len({m["Message-ID"] for m in box.messages}) == 4
    assert {r["case"] for r in rows(bf)} == set(ids)
    assert all(r["status"] == "sent" and r["attempts"] == 1 for r in rows(bf))


@sqlite_only
def test_two_sweeps_one_after_the_other_send_each_reminder_once(bf: Bf) -> None:
    draft_case(bf)
    with smtp_server() as box:
        chans = from_env(smtp_env(box.port))
        sweep(bf, "2024-05-03T09:00", chans)
        sweep(bf, "2024-05-03T09:15", chans)
        sweep(bf, "2024-05-03T09:15", chans)
    assert len(box.to(WENFA)) == 1 and len(box.messages) == 2


def test_a_sender_that_died_mid_send_holds_its_claim_only_until_the_lease_runs_out(bf: Bf, caplog: pytest.LogCaptureFixture) -> None:
    draft_case(bf)
    ws = bf.ws(now="2024-05-03T09:00")
    with smtp_server() as box:
        chans = from_env(smtp_env(box.port))
        sweep(bf, "2024-05-03T09:00", chans, should_stop=lambda: True)  # queued, nothing sent yet
        dead, _ = outbox.claim(ws.store, ws.spec, ws.now, "crashed-sender", "email", WENFA)  # claimed, then the process died
        assert dead is not None
        sweep(bf, "2024-05-03T09:05", chans)
        assert box.to(WENFA) == []  # still leased: the second sender skips it
        with caplog.at_level(logging.WARNING):
            sweep(bf, "2024-05-03T09:15", chans)  # the lease (10 minutes) ran out
    [mail] = box.to(WENFA)
    assert mail["Message-ID"] == f"<{dead.message.message_key}@example.edu.cn>"  # a resend is recognisable
    assert mail["X-Branchflow-Attempt"] == "2"
    assert "发送方中断，现重发" in caplog.text


def test_backoff_first_retry_within_an_hour_and_never_more_than_six_hours_between_tries() -> None:
    waits = [outbox.backoff(n) for n in range(1, 12)]
    assert waits[0] <= timedelta(hours=1)
    assert max(waits) == timedelta(hours=6)
    assert waits == sorted(waits)


def test_an_undeliverable_reminder_is_retried_then_listed_as_failed_and_retry_puts_it_back(bf: Bf) -> None:
    draft_case(bf)
    dead_port = from_env(smtp_env(free_port()))  # nothing listens there: connection refused, a temporary failure
    now = at("2024-05-03T09:00")
    sweep(bf, now.isoformat(), dead_port)
    for tries in range(1, outbox.MAX_ATTEMPTS):
        [mine] = [r for r in rows(bf) if r["recipient"] == WENFA]
        assert (mine["status"], mine["attempts"]) == ("pending", tries)
        wait = datetime.fromisoformat(mine["next_try_at"]) - now
        assert wait <= (timedelta(hours=1) if tries == 1 else timedelta(hours=6))
        if tries == 1:  # backoff runs on the sweep's clock: not before its time
            assert sweep(bf, (now + wait - timedelta(minutes=1)).isoformat(), dead_port).results == []
        now += wait
        sweep(bf, now.isoformat(), dead_port)
    [failed] = [r for r in rows(bf, "--status", "failed") if r["recipient"] == WENFA]
    assert failed["attempts"] == outbox.MAX_ATTEMPTS and "无法连接 SMTP 服务器" in failed["last_error"]
    assert bf.json("outbox", "retry", str(failed["id"]), now=now.isoformat())["status"] == "pending"
    with smtp_server() as box:
        sweep(bf, now.isoformat(), from_env(smtp_env(box.port)))
    assert len(box.to(WENFA)) == 1
    assert [r["status"] for r in rows(bf) if r["id"] == failed["id"]] == ["sent"]


def test_a_reminder_waiting_for_a_retry_is_cancelled_when_the_case_leaves_the_state(bf: Bf) -> None:
    cid = ready_case(bf)
    sweep(bf, "2024-05-03T09:00", from_env(smtp_env(free_port())))
    assert {r["status"] for r in rows(bf)} == {"pending"}
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa", now="2024-05-03T10:00")
    with smtp_server() as box:
        report = sweep(bf, "2024-05-03T12:00", from_env(smtp_env(box.port)))
    assert box.messages == [] and report.cancelled == 2
    assert {r["status"] for r in rows(bf)} == {"cancelled"}


@sqlite_only
def test_outbox_json_gives_one_object_per_row_with_the_issue_s_keys(bf: Bf) -> None:
    cid = draft_case(bf)
    sweep(bf, "2024-05-03T09:00")
    [row] = [r for r in rows(bf, "--case", str(cid), "--status", "sent") if r["recipient"] == WENFA]
    assert {"id", "case", "state", "recipient", "channel", "status", "attempts", "last_error"} <= set(row)
    assert (row["case"], row["state"], row["channel"], row["status"], row["attempts"], row["last_error"]) == (
        cid,
        "draft",
        "console",
        "sent",
        1,
        "",
    )
    assert rows(bf, "--status", "failed") == []


@sqlite_only
def test_outbox_retry_refuses_a_row_that_has_not_failed_and_an_unknown_id(bf: Bf) -> None:
    draft_case(bf)
    sweep(bf, "2024-05-03T09:00")
    sent = rows(bf)[0]["id"]
    refused = bf("outbox", "retry", str(sent))
    assert refused.exit_code == 1 and "只有 failed（发送失败）的提醒可以重试" in refused.output
    assert bf("outbox", "retry", "9999").exit_code == 3
    assert bf("outbox", user="wenfa").exit_code == 1  # org only
