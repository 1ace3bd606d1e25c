"""R14: who is reminded, when, and that every reminder is decided once (simulated clock, console channel)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Bf, ready_case
from servers import draft_case, queued, smtp_env, smtp_server, sweep

from workflow import reminders, spec
from workflow.dates import clock
from workflow.errors import PermissionDenied, SpecError, UsageError
from workflow.reminders import transports

DATA = Path(__file__).resolve().parent / "data"
FIRST = "文法学院第1学生党支部"

# Tests whose SQL cannot differ between backends run on SQLite only; the rest run on both.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def contact(bf: Bf, branch: str = FIRST) -> str:
    """The branch's contact e-mail from the roster."""
    return next(b["email"] for b in bf.json("branch", "list") if b["name"] == branch)


def test_r14_before_the_due_date_the_branch_contact_and_the_committee_users_are_reminded(bf: Bf) -> None:
    cid = draft_case(bf)
    report = sweep(bf, "2024-04-29T09:00")  # draft is due 2024-05-06: the 7-day reminder went out at 08:30
    assert queued(report) == {(cid, "7d", contact(bf)), (cid, "7d", "wenfa@example.edu.cn")}
    assert {r.recipient for r in report.results if r.status == "sent"} == {contact(bf), "wenfa@example.edu.cn"}


@sqlite_only
def test_r14_an_org_owned_state_reminds_the_org_users_who_have_an_email(bf: Bf) -> None:
    cid = ready_case(bf)
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa", now="2024-04-30T10:00")
    report = sweep(bf, "2024-05-16T09:00")  # submitted is due 2024-05-17, owned by org
    assert {(c, o, r) for c, o, r in queued(report) if c == cid} == {(cid, "1d", "zzb@example.edu.cn")}


@sqlite_only
def test_no_reminder_before_its_time(bf: Bf) -> None:
    draft_case(bf)
    assert sweep(bf, "2024-04-27T09:00").queued == []  # 7d is 04-29, 3wd is 04-28 (a 调休 Sunday)
    assert sweep(bf, "2024-04-28T08:29").queued == []


@sqlite_only
def test_a_working_day_reminder_across_the_may_day_holiday_goes_out_on_the_adjusted_sunday(bf: Bf) -> None:
    cid = draft_case(bf)
    # Three working days before Monday 6 May 2024: 30 April, 29 April and Sunday 28 April (调休).
    assert queued(sweep(bf, "2024-04-28T08:30")) == {(cid, "3wd", contact(bf)), (cid, "3wd", "wenfa@example.edu.cn")}


def test_a_reminder_is_decided_once_however_many_sweeps_run(bf: Bf) -> None:
    draft_case(bf)
    first = sweep(bf, "2024-04-29T09:00")
    assert len(first.queued) == 2
    for when in ("2024-04-29T09:00", "2024-04-29T09:15", "2024-04-30T18:00"):
        again = sweep(bf, when)
        assert again.queued == [] and again.results == []
    assert len(bf.json("outbox")) == 2


def test_one_message_per_recipient_and_sweep_lists_all_its_cases(bf: Bf) -> None:
    ids = [draft_case(bf, f"文法学院第{n}教工党支部") for n in (2, 3, 5)]
    report = sweep(bf, "2024-05-05T09:00")
    to_committee = [r for r in report.results if r.recipient == "wenfa@example.edu.cn"]
    assert len(to_committee) == 1 and set(to_committee[0].cases) == set(ids)
    assert len(report.results) == 4  # the committee user, and each of the three branch contacts
    assert all(len(r.cases) == 1 for r in report.results if r.recipient != "wenfa@example.edu.cn")


def test_after_three_days_of_downtime_only_the_latest_reminder_goes_out(bf: Bf) -> None:
    cid = draft_case(bf)
    sweep(bf, "2024-04-29T09:00")  # 7d sent, then the scheduler was off 3 days (3wd and nothing else missed)
    report = sweep(bf, "2024-05-05T09:00")  # 1d is due now; 3wd (04-28) is stale and not sent
    assert queued(report) == {(cid, "1d", contact(bf)), (cid, "1d", "wenfa@example.edu.cn")}


def test_after_downtime_past_the_due_date_only_the_overdue_notice_goes_out(bf: Bf) -> None:
    cid = draft_case(bf)
    report = sweep(bf, "2024-05-08T09:00")  # nothing ran since before 7d; the draft became overdue on 05-06
    assert queued(report) == {(cid, "overdue", contact(bf)), (cid, "overdue", "wenfa@example.edu.cn")}
    assert sweep(bf, "2024-05-09T09:00").queued == []  # one overdue notice, not one a day


@sqlite_only
def test_a_case_that_left_the_state_gets_no_reminder_for_it(bf: Bf) -> None:
    cid = ready_case(bf)
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa", now="2024-04-30T10:00")
    assert {o for c, o, r in queued(sweep(bf, "2024-05-05T09:00")) if c == cid} == set()  # no draft 1d; submitted not due yet


def test_extending_one_case_arms_new_reminders(bf: Bf) -> None:
    cid = draft_case(bf)
    sweep(bf, "2024-05-05T09:00")  # 1d before 05-06
    bf.ok("extend", str(cid), "--until", "2024-05-20", "--reason", "盖章流程延误", user="zzb", now="2024-05-05T10:00")
    assert sweep(bf, "2024-05-05T10:30").queued == []  # the first reminder for 05-20 is 7d, on 05-13
    assert queued(sweep(bf, "2024-05-13T09:00")) == {(cid, "7d", contact(bf)), (cid, "7d", "wenfa@example.edu.cn")}


@sqlite_only
def test_shifting_a_whole_state_arms_new_reminders(bf: Bf) -> None:
    cid = draft_case(bf)
    sweep(bf, "2024-05-05T09:00")
    bf.ok("extend", "--state", "draft", "--until", "2024-05-10", "--reason", "五一假期顺延", user="zzb", now="2024-05-05T10:00")
    assert {o for _, o, _ in queued(sweep(bf, "2024-05-07T09:00"))} == {"3wd"}  # 3 working days before Friday 05-10
    assert {c for c, _, _ in queued(sweep(bf, "2024-05-09T09:00"))} == {cid}


@sqlite_only
def test_repeats_are_capped_per_case_state_and_recipient(bf: Bf) -> None:
    text = spec.packaged_text().replace("max_per_state: 5 ", "max_per_state: 2 ")
    states = bf.tmp / "states-cap2.yaml"
    states.write_text(text, encoding="utf-8")
    bf.ok("init", "--states", str(states), "--campaign", "2024")
    cid = draft_case(bf)
    days = ["2024-05-05", "2024-05-07", "2024-05-09", "2024-05-11"]
    for day, until in zip(days, [*days[1:], "2024-05-13"], strict=True):
        sweep(bf, f"{day}T09:00")  # each time 1 day before the due date, then the date is moved again
        bf.ok("extend", str(cid), "--until", until, "--reason", "再次延期", user="zzb", now=f"{day}T10:00")
    rows = [r for r in bf.json("outbox", "--case", str(cid)) if r["recipient"] == "wenfa@example.edu.cn"]
    assert len(rows) == 2


def test_the_overdue_digest_goes_to_org_once_a_day(bf: Bf) -> None:
    late = draft_case(bf)
    other = draft_case(bf, "外国语学院第1学生党支部", user="waiguo")
    report = sweep(bf, "2024-05-08T08:30", digest=True)
    digest = [r for r in report.results if r.recipient == "zzb@example.edu.cn"]
    assert len(digest) == 1 and set(digest[0].cases) == {late, other}
    assert [r for r in sweep(bf, "2024-05-08T15:00", digest=True).results if r.recipient == "zzb@example.edu.cn"] == []
    assert {o for _, o, r in queued(sweep(bf, "2024-05-09T08:30", digest=True)) if r == "zzb@example.edu.cn"} == {"digest:2024-05-09"}


@sqlite_only
def test_a_dry_run_writes_nothing_and_sends_nothing(bf: Bf) -> None:
    cid = draft_case(bf)
    preview = sweep(bf, "2024-04-29T09:00", dry_run=True)
    assert {(r.recipient, r.status) for r in preview.results} == {(contact(bf), "dry-run"), ("wenfa@example.edu.cn", "dry-run")}
    assert bf.json("outbox") == []
    assert queued(sweep(bf, "2024-04-29T09:00")) == {(cid, "7d", contact(bf)), (cid, "7d", "wenfa@example.edu.cn")}


@sqlite_only
def test_remind_json_gives_one_object_per_message(bf: Bf) -> None:
    cid = draft_case(bf)
    result = bf("remind", now="2024-05-03T09:00", json_out=True)
    out = json.loads(result.stdout)  # the console channel writes the messages themselves to stderr
    assert sorted((m["channel"], m["recipient"], m["cases"], m["status"]) for m in out) == [
        ("console", contact(bf), [cid], "sent"),
        ("console", "wenfa@example.edu.cn", [cid], "sent"),
    ]
    assert json.loads(bf("remind", now="2024-05-03T09:00", json_out=True).stdout) == []


@sqlite_only
def test_remind_prints_what_it_sent_and_the_messages_go_to_stderr(bf: Bf) -> None:
    draft_case(bf)
    result = bf.ok("remind", now="2024-05-03T09:00")
    assert "新排入 2 条提醒；发出 2 封" in result.stdout
    assert "【特色支部创建】截止提醒" in result.stderr and "还剩 3 天" in result.stderr


@sqlite_only
def test_only_org_may_send_reminders(bf: Bf) -> None:
    result = bf("remind", user="wenfa", now="2024-05-03T09:00")
    assert result.exit_code == 1 and "只有党委组织部可以发送提醒" in result.output


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        (
            "invalid_reminder_notify.yaml",
            14,
            "（reminders.states.draft.notify.1）：未知的提醒对象 'secretary'；可选：branch, committee, org",
        ),
        ("invalid_reminder_unquoted_time.yaml", 12, '（reminders.send_at）：时间应写成 "08:30"，实际是 \'510\'（请加引号："08:30"）'),
    ],
)
def test_a_broken_reminders_section_names_the_file_and_the_line(name: str, line: int, message: str) -> None:
    path = DATA / name
    with pytest.raises(SpecError) as err:
        spec.load_file(path)
    assert err.value.message == f"状态配置文件有误：{path} 第 {line} 行{message}"


@sqlite_only
def test_remind_dry_run_shows_per_message_the_kind_the_due_date_and_the_subject(bf: Bf) -> None:
    """Issue 8 item 14: dry runs at different dates tell which reminder each would be; --verbose the whole text."""
    cid = draft_case(bf)  # the draft is due 2024-05-06; 7d fires 04-29 08:30, 3wd 04-28 (调休 Sunday)
    kinds = {}
    for when in ("2024-04-27T09:00", "2024-04-28T09:00", "2024-04-29T09:00", "2024-05-07T09:00"):
        rows = bf.json("remind", "--dry-run", now=when)
        kinds[when] = {(i["case"], i["kind_label"], i["due_at"][:10]) for r in rows for i in r["items"]}
        assert all(r["subject"].startswith("【特色支部创建】") for r in rows) or not rows
    assert kinds["2024-04-27T09:00"] == set()
    assert kinds["2024-04-28T09:00"] == {(cid, "截止前 3 个工作日", "2024-05-06")}
    assert kinds["2024-04-29T09:00"] == {(cid, "截止前 7 天", "2024-05-06")}
    assert kinds["2024-05-07T09:00"] == {(cid, "逾期通知", "2024-05-06")}
    table = bf.ok("remind", "--dry-run", now="2024-04-29T09:00").stdout
    assert "截止前 7 天" in table and "主题" in table and "2024-05-06" in table
    verbose = bf.ok("remind", "--dry-run", "--verbose", now="2024-05-07T09:00").stdout
    assert "以下申报已超过截止时间" in verbose and "需要做的" in verbose
    digest = bf.json("remind", "--dry-run", "--digest", now="2024-05-07T09:00")
    assert "逾期汇总" in {i["kind_label"] for r in digest for i in r["items"]}
    # nothing was written by any of them
    assert bf.json("outbox") == []


# ---- where to see details: the web app's case page when BRANCHFLOW_BASE_URL is set ------------------------


BASE = "https://dj.example.edu.cn/branchflow"


def test_with_a_base_url_each_emailed_reminder_links_the_case_page_and_names_no_command(
    bf: Bf, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = draft_case(bf)
    with smtp_server() as box:
        for key, value in smtp_env(box.port, BRANCHFLOW_BASE_URL=BASE + "/").items():
            monkeypatch.setenv(key, value)
        result = bf("remind", now="2024-04-29T09:00")  # the 7-day reminder of the draft
    assert result.exit_code == 0, result.output
    assert {m["To"].addresses[0].addr_spec for m in box.messages} == {contact(bf), "wenfa@example.edu.cn"}
    for mail in box.messages:
        text = mail.get_content()
        assert f"   详情：{BASE}/cases/{cid}\n" in text
        assert "branchflow " not in text and "请联系党委组织部。" not in text.split("\n")[-2]


def test_without_a_base_url_org_is_told_the_commands_and_the_others_whom_to_ask(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    draft_case(bf)
    with smtp_server() as box:
        for key, value in smtp_env(box.port).items():
            monkeypatch.setenv(key, value)
        assert bf("remind", now="2024-04-29T09:00").exit_code == 0
    texts = {m["To"].addresses[0].addr_spec: m.get_content() for m in box.messages}
    assert all("/cases/" not in t and "如需查看申报详情，请联系党委组织部。" in t for t in texts.values())


def test_a_reviewer_is_sent_the_case_link_instead_of_the_score_command(bf: Bf) -> None:
    from test_review import with_panel

    [cid] = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", user="zzb")
    out = io.StringIO()
    linked = sweep(bf, "2024-05-24T09:00", {"console": transports.ConsoleChannel(out)}, base_url=BASE)
    assert any(r.recipient == "r1@example.edu.cn" and r.status == "sent" for r in linked.results)
    to_r1 = next(m for m in out.getvalue().split("=====\n") if "r1@example.edu.cn" in m)
    assert "需要做的：按七项要求逐项评分并填写评审意见\n" in to_r1 and f"详情：{BASE}/cases/{cid}" in to_r1
    assert "branchflow review score" not in to_r1


def test_without_a_base_url_a_reviewer_is_still_told_the_score_command(bf: Bf) -> None:
    from test_review import with_panel

    [cid] = with_panel(bf, "建筑学院第1学生党支部")
    bf.ok("review", "assign", str(cid), "--reviewer", "r1", user="zzb")
    out = io.StringIO()
    sweep(bf, "2024-05-24T09:00", {"console": transports.ConsoleChannel(out)})
    to_r1 = next(m for m in out.getvalue().split("=====\n") if "r1@example.edu.cn" in m)
    assert "需要做的：按七项要求逐项评分并填写评审意见：branchflow review score 申报编号 --score 指标=分数 …" in to_r1


def test_a_robot_message_cut_to_size_points_to_the_web_list_when_there_is_one() -> None:
    long = transports.Message("wecom", "w@x.cn", "w", "【特色支部创建】逾期汇总", "很长" * 2000, "k" * 40, (1,), clock.parse_now("2024-05-09T09:00"))
    assert transports._robot_text(long, 2000).endswith("……（内容过长已截断；完整清单请运行 branchflow overdue 或查看邮件）")
    linked = dataclasses.replace(long, base_url=BASE + "/")
    cut = transports._robot_text(linked, 2000)
    assert cut.endswith(f"……（内容过长已截断；完整清单见 {BASE}/cases?overdue=true 或查看邮件）") and len(cut.encode()) <= 2000


# ---- the plan: what goes out to whom in the coming days (the 看板) ------------------------------------------


def test_the_plan_of_the_next_14_days_is_what_the_daily_sweeps_then_send(bf: Bf) -> None:
    cid = draft_case(bf)
    other = ready_case(bf, "外国语学院第1学生党支部", "waiguo")
    rows = reminders.plan(bf.ws("zzb", "2024-04-25T09:00"), ["console"], days=14)
    planned = {(r.day.isoformat(), r.case_id, r.kind_label, r.recipient) for r in rows}
    # the draft is due 05-06: 3 working days before is the 调休 Sunday 04-28, 7 days 04-29, 1 day 05-05, overdue 05-07
    mine = {(d, k) for d, c, k, r in planned if c == cid and r == contact(bf)}
    assert mine == {("2024-04-28", "截止前 3 个工作日"), ("2024-04-29", "截止前 7 天"), ("2024-05-05", "截止前 1 天"), ("2024-05-07", "逾期通知")}
    assert all(r.branch and r.committee and r.state_label == "草稿（申报材料准备）" for r in rows)
    assert bf.json("outbox") == []  # nothing written
    # then the real sweeps run, day by day: they send exactly the plan
    sent: set[tuple[str, int, str, str]] = set()
    for day in range(25, 25 + 15):
        when = f"2024-{4 + (day > 30):02d}-{day - 30 * (day > 30):02d}T23:00"
        for p in sweep(bf, when).queued:
            sent.add((when[:10], p.case_id, sweep_kind_label(p), p.recipient))
    assert sent == planned
    assert {c for _, c, _, _ in planned} == {cid, other}


def sweep_kind_label(p: Any) -> str:
    from workflow.reminders.sweep import kind_label

    return kind_label(p.kind, p.offset)


def test_the_plan_counts_what_is_already_in_the_outbox_and_is_orgs(bf: Bf) -> None:
    cid = draft_case(bf)
    sweep(bf, "2024-04-29T09:00")  # the 7-day reminder is sent
    rows = reminders.plan(bf.ws("zzb", "2024-04-29T10:00"), ["console"], days=14)
    assert "截止前 7 天" not in {r.kind_label for r in rows if r.case_id == cid}
    assert {r.kind_label for r in rows if r.case_id == cid} == {"截止前 1 天", "逾期通知"}
    with pytest.raises(PermissionDenied):
        reminders.plan(bf.ws("wenfa", "2024-04-29T10:00"), ["console"])
    with pytest.raises(UsageError):
        reminders.plan(bf.ws("zzb", "2024-04-29T10:00"), ["console"], days=61)
    with_digest = reminders.plan(bf.ws("zzb", "2024-05-06T10:00"), ["console"], days=3, digest=True)
    assert {r.day.isoformat() for r in with_digest if r.kind == "digest"} == {"2024-05-07", "2024-05-08", "2024-05-09"}
