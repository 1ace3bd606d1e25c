"""The library as a web page will call it: results as data and words at the edge (issue 7 items 5 and 6).

`present` turns typed results into the plain dicts `--json` prints; errors carry a hint in the user's words
and the field to fix, which the CLI rewords into flags; imports take bytes and a name; the .ics export
returns text; exports write to a stream; a workspace is opened over one cached Store per URL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import Bf, at, ready_case
from openpyxl import load_workbook

import cli
from demo import sample
from workflow import (
    Store,
    bulk,
    campaigns,
    case_import,
    cases,
    clock,
    deadlines,
    engine,
    export,
    ics,
    outbox,
    present,
    queries,
    reminders,
    roster,
    spec,
    workspace,
)
from workflow.errors import BranchflowError, ImportRowsError, NotFound, UsageError
from workflow.reminders import channels, transports

ROOT = Path(__file__).resolve().parents[1]


def test_a_library_error_says_what_is_wrong_and_what_to_do_without_a_flag(bf: Bf) -> None:
    ws = bf.ws("nobody")
    with pytest.raises(NotFound) as caught:
        engine.options(ws, 1)
    err = caught.value
    assert (err.message, err.hint, err.field, err.value) == ("没有用户 'nobody'。", "请检查用户名，或由党委组织部添加该用户。", "user", "nobody")
    assert "--" not in err.text and "branchflow" not in err.text
    # The CLI words the same advice as what to type: the line users saw before.
    assert cli.say(err) == "没有用户 'nobody'：请检查 --as，或由党委组织部用 user add 添加。"


def test_a_missing_input_names_its_field_and_the_cli_adds_the_data_flag(bf: Bf) -> None:
    cid = ready_case(bf)
    with pytest.raises(UsageError) as caught:
        engine.advance(bf.ws("wenfa"), cid, "submit", {})
    err = caught.value
    assert err.field == "attest" and "--data" not in err.text
    assert cli.say(err) == "“提交申报”缺少必填输入：attest（分党委确认支部具备基本条件且材料真实、准确、可行）。请加 --data attest=true。"


def test_a_rule_reason_is_in_the_users_words_and_the_cli_adds_the_command(bf: Bf) -> None:
    cid = ready_case(bf)
    [submit] = [o for o in engine.options(bf.ws("wenfa"), cid) if o.trigger == "submit"]
    assert submit.allowed  # the check assumes the attestation will be given
    reason = "R1 基本条件：提交时分党委须确认支部具备基本条件、材料真实准确可行（attest）。"
    assert cli.reason(reason) == "R1 基本条件：提交时分党委须确认支部具备基本条件、材料真实准确可行（请加 --data attest=true）。"
    assert cli.reason("R3 不联合申报：其他原因。") == "R3 不联合申报：其他原因。"


def test_no_library_message_speaks_in_command_line_flags() -> None:
    """The ~40 messages that said "请加 --data", "--reason", "--as", "branchflow case show" say it in words now
    (advance-many's own option checks, in lifecycle/bulk.py, are the command's and stay)."""
    flagged = re.compile(r"""(?:raise (?!RuntimeError)\w+\(|return )f?["'][^"'\n]*(?: --[a-z]|branchflow [a-z])""")
    offenders = []
    for path in sorted((ROOT / "workflow").rglob("*.py")):
        if path.name == "bulk.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if flagged.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_every_hint_the_cli_rewords_is_one_the_library_gives() -> None:
    """The CLI's phrasebook is keyed by the library's hints: a hint reworded in the library must not leave its
    CLI wording behind (it would silently fall back to the library's words)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "workflow").rglob("*.py"))
    stale = [hint for hint in cli.ADVICE if hint not in source and hint.replace("BRANCHFLOW_CONFIG", "{CONFIG_ENV}") not in source]
    stale += [tail for tail in cli.REASON_ADVICE if tail not in source]
    assert stale == []


def test_an_error_without_advice_for_the_cli_reads_as_the_library_says_it() -> None:
    err = UsageError("文件是空的。", hint="请换一个文件。", field="file")
    assert cli.say(err) == err.text == "文件是空的。请换一个文件。"
    assert err.as_json() == {"error": "文件是空的。请换一个文件。", "code": 2}


def test_fired_and_options_become_the_dicts_json_prints(bf: Bf) -> None:
    cid = ready_case(bf)
    ws = bf.ws("wenfa", "2024-04-30T10:00")
    fired = engine.advance(ws, cid, "submit", {"attest": "true"})
    doc = present.fired(fired, ws.spec)
    assert doc == {
        "id": cid,
        "branch": "文法学院第1学生党支部",
        "committee": "文法学院分党委",
        "trigger": "submit",
        "source": "draft",
        "state": "submitted",
        "state_label": "已申报，待初审",
        "due_at": fired.due_at,
        "version": fired.version,
    }
    cli_doc = bf.json("advance", str(cid), "withdraw", user="wenfa", now="2024-04-30T11:00")
    assert set(cli_doc) == set(doc)
    org = present.options(engine.options(bf.ws("zzb", "2024-05-01T09:00"), cid))
    assert [o["trigger"] for o in org] == [o["trigger"] for o in bf.json("triggers", str(cid), user="zzb", now="2024-05-01T09:00")]


def test_labels_of_roles_triggers_inputs_kinds_and_statuses(bf: Bf) -> None:
    spec = bf.ws().spec
    assert [present.role(spec, r) for r in ("org", "committee", "branch", "reviewer")] == ["党委组织部", "分党委", "党支部", "评审专家"]
    assert present.state(spec, "draft") == "草稿（申报材料准备）"
    assert (present.trigger(spec, "submit"), present.trigger(spec, "attach"), present.trigger(spec, "extend")) == ("提交申报", "上传附件", "延期")
    assert present.inputs(spec, "edit", {"expected_outcomes": "形成工作法", "schedule": "5月启动"}) == "预期成果=形成工作法；进度安排=5月启动"
    assert present.inputs(spec, "submit", {"attest": True}).endswith("=是")
    assert present.inputs(spec, "attach", {"kind": "stamped_scan", "name": "扫描.pdf"}) == "附件类型=盖章扫描件；文件名=扫描.pdf"
    assert present.inputs(spec, "extend", {"until": "2024-05-10T23:59:59+08:00"}) == f"新截止时间={present.cell(at('2024-05-10T23:59:59'))}"
    assert present.OUTBOX_STATUSES["failed"] == "发送失败" and present.REMINDER_KINDS["digest"] == "逾期汇总"
    assert present.cell(True) == "是" and present.cell("x" * 70).endswith("…") and len(present.cell("x" * 70)) == 60


def test_a_roster_imports_from_bytes_and_a_file_name(bf: Bf) -> None:
    path = sample.write_csv(bf.tmp / "again.csv", sample.rows()[:3])
    done = roster.import_bytes(bf.ws("zzb"), Path(path).read_bytes(), "名单.csv")
    assert (done.rows, done.branches_created, done.branches_updated) == (3, 0, 3)
    assert present.roster_imported(done)["branches_updated"] == 3
    with pytest.raises(UsageError, match=r"不支持的文件类型 \.pdf"):
        roster.import_bytes(bf.ws("zzb"), b"%PDF-1.4", "名单.pdf")


def test_a_case_sheet_imports_from_bytes_and_refuses_attachments_it_cannot_find(bf: Bf) -> None:
    header = ["支部名称", "项目名称", "创建方向", "方向说明", *present.PLAN_FIELDS.values(), "申报表文件", "盖章扫描件"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerow(["文法学院第1学生党支部", "上传的申报", "人才培养", "", "成果", "安排", "创新", "推广", "学习", "", ""])
    done = case_import.import_bytes(bf.ws("wenfa"), buf.getvalue().encode("utf-8"), "汇总表.csv")
    assert (done.rows, done.created, done.cases[0]["action"]) == (1, 1, "created")
    assert [h["trigger"] for h in bf.json("case", "history", str(done.cases[0]["id"]))] == ["create"]
    w.writerow(["文法学院第5教工党支部", "带附件", "人才培养", "", "成果", "安排", "创新", "推广", "学习", "附件/表.docx", ""])
    with pytest.raises(ImportRowsError) as caught:
        case_import.import_bytes(bf.ws("wenfa"), buf.getvalue().encode("utf-8"), "汇总表.csv")
    assert caught.value.details == ["第 3 行：申报表文件“附件/表.docx”无法找到：只上传了表格，附件须单独上传"]


def test_the_calendar_is_returned_as_text_and_nothing_is_written(bf: Bf) -> None:
    before = sorted(p.name for p in bf.tmp.iterdir() if not p.name.startswith("bf.db"))
    found = ics.export(bf.ws("wenfa"))
    assert found.text.startswith("BEGIN:VCALENDAR\r\n") and found.text.endswith("END:VCALENDAR\r\n")
    assert (found.campaign, found.events, found.case_events, found.scoped) == (2024, 7, 0, True)
    assert sorted(p.name for p in bf.tmp.iterdir() if not p.name.startswith("bf.db")) == before
    assert present.calendar(found, "x.ics")["note"] == "（仅含您管辖范围内的申报）"
    assert present.calendar(ics.export(bf.ws("zzb")), "x.ics")["note"] == ""


def test_an_export_writes_to_a_stream(bf: Bf) -> None:
    rows = bf.json("status")
    for fmt in export.FORMATS:
        stream = io.BytesIO()
        export.write_to(stream, fmt, present.CASE_HEADERS, rows, "申报进度")
        assert not stream.closed and stream.getvalue()
        if fmt == "csv":
            text = stream.getvalue().decode("utf-8-sig")
            assert next(csv.reader(io.StringIO(text))) == list(present.CASE_HEADERS.values())
        else:
            sheet = load_workbook(io.BytesIO(stream.getvalue())).active
            assert sheet is not None and [c.value for c in sheet[1]] == list(present.CASE_HEADERS.values())
    with pytest.raises(UsageError):
        export.write_to(io.BytesIO(), "pdf", present.CASE_HEADERS, rows)


def test_a_workspace_is_opened_over_one_store_per_url(bf: Bf) -> None:
    workspace.close_all()
    first = workspace.open(bf.url, "zzb", at("2024-05-01T09:00"))
    second = workspace.open(bf.url, "wenfa", at("2024-05-02T09:00"))
    assert first.store is second.store and (first.user, second.user) == ("zzb", "wenfa")
    assert second.now == at("2024-05-02T09:00")
    other = workspace.open(f"sqlite:///{bf.tmp / 'other.db'}", "zzb", at("2024-05-01T09:00"))
    assert other.store is not first.store
    workspace.close_all()
    assert workspace.open(bf.url, "zzb", at("2024-05-01T09:00")).store is not first.store
    workspace.close_all()


def test_the_reminder_links_each_case_when_a_base_url_is_configured(bf: Bf) -> None:
    cid = ready_case(bf)
    settings = channels.load({"BRANCHFLOW_BASE_URL": "https://bf.example.edu.cn/"})
    assert settings.base_url == "https://bf.example.edu.cn/"
    out = io.StringIO()
    reminders.sweep(bf.ws("zzb", "2024-05-03T09:00"), {"console": transports.ConsoleChannel(out)}, base_url=settings.base_url)
    text = out.getvalue()
    assert f"详情：https://bf.example.edu.cn/cases/{cid}" in text
    assert "branchflow" not in text.replace("（Branchflow）", "")


def test_without_a_base_url_only_org_is_told_the_commands(bf: Bf) -> None:
    cid = ready_case(bf)
    out = io.StringIO()
    reminders.sweep(bf.ws("zzb", "2024-05-03T09:00"), {"console": transports.ConsoleChannel(out)})
    messages = [m for m in out.getvalue().split("=====\n") if "收件人" in m]
    to_committee = [m for m in messages if "wenfa@example.edu.cn" in m]
    assert to_committee and all("branchflow case show" not in m and "请联系党委组织部" in m for m in to_committee)
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="wenfa", now="2024-05-03T10:00")
    out = io.StringIO()
    reminders.sweep(bf.ws("zzb", "2024-05-16T09:00"), {"console": transports.ConsoleChannel(out)})  # submitted: owned by org
    to_org = [m for m in out.getvalue().split("=====\n") if "zzb@example.edu.cn" in m]
    assert to_org and all("查看详情：branchflow case show 申报编号" in m for m in to_org)


def test_a_base_url_must_be_a_web_address() -> None:
    with pytest.raises(BranchflowError) as caught:
        channels.load({"BRANCHFLOW_BASE_URL": "bf.example.edu.cn"})
    assert caught.value.field == "base_url" and "环境变量 BRANCHFLOW_BASE_URL 应是 http(s) 地址" in caught.value.text


def printed(doc: object) -> object:
    """A present dict as `--json` prints it (times in ISO form)."""
    return json.loads(json.dumps(doc, default=cli._json_default))


def test_outbox_rows_are_typed_and_present_gives_what_outbox_json_prints(bf: Bf) -> None:
    cid = ready_case(bf)
    report = reminders.sweep(bf.ws("zzb", "2024-05-03T09:00"), {"console": transports.ConsoleChannel(io.StringIO())})
    listed = outbox.listing(bf.ws("zzb", "2024-05-03T09:00"))
    assert listed and all(isinstance(r, outbox.Listed) and r.case == cid and r.status == "sent" for r in listed)
    rows = present.outbox_rows(bf.ws().spec, listed)
    assert rows[0]["state_label"] == "草稿（申报材料准备）"
    assert bf.json("outbox", user="zzb", now="2024-05-03T09:00") == printed(rows)
    sent = present.sent(report)
    assert [(m["recipient"], m["status"]) for m in sent] == [(r.recipient, "sent") for r in report.results]
    assert present.sent_cells(sent)[0]["status"] == "已发送"


def test_a_dry_run_previews_each_message_as_table_rows(bf: Bf) -> None:
    cid = ready_case(bf)
    report = reminders.sweep(bf.ws("zzb", "2024-05-03T09:00"), {"console": transports.ConsoleChannel(io.StringIO())}, dry_run=True)
    sent = present.sent(report)
    assert sent and all(m["status"] == "dry-run" and m["items"] and m["text"] for m in sent)
    cells = present.preview_cells(sent)
    assert {c["case"] for c in cells} == {cid} and set(cells[0]) == set(present.PREVIEW_HEADERS)
    assert bf.json("remind", "--dry-run", user="zzb", now="2024-05-03T09:00") == printed(sent)


def test_init_and_check_states_results_become_the_dicts_json_prints(bf: Bf) -> None:
    new = spec.parse(spec.packaged_text().replace("2024-05-06", "2024-05-09"), "改期.yaml")
    found = campaigns.check(Store(bf.url), new)
    assert found is not None and found.dates_to_apply
    checked = present.checked(new, found)
    assert checked["ok"] is True and checked["changes"][0].endswith("（init 时将作用于该年度的申报）")
    assert present.checked(new, None).keys() == {"ok", "states", "transitions", "campaigns"}
    done = campaigns.init(Store(bf.url), new, 2024, bf.ws().now, "zzb")
    doc = present.initialized(done, states_given=True)
    assert (doc["campaign"], doc["created"], doc["states"]) == (2024, False, "改期.yaml")
    assert doc["changes"] == present.change_lines(done) and doc["changes"][0].endswith("个申报随之调整）")
    assert present.initialized(done, states_given=False).keys() == {"campaign", "label", "created"}


def test_advance_many_outcomes_are_present_dicts_and_the_cli_prints_them(bf: Bf) -> None:
    ok, other = ready_case(bf), ready_case(bf, "文法学院第2教工党支部")
    run = bulk.advance_many(bf.ws("wenfa", "2024-04-30T10:00"), "submit", ids=[ok, other, 999], inputs={"attest": "true"}, dry_run=True)
    found = [o for chunk in run for o in chunk]
    outcomes = present.Outcomes(bf.ws().spec, "submit", dry_run=True)
    done = outcomes.item(found[0])
    assert done == {
        "id": ok,
        "ok": True,
        "error": None,
        "version": found[0].version,
        "dry_run": True,
        "trigger": "submit",
        "source": "draft",
        "state": "submitted",
        "state_label": "已申报，待初审",
        "due_at": found[0].due_at,
    }
    refused = outcomes.item(found[2])
    assert (refused["id"], refused["ok"], refused["code"]) == (999, False, 3)
    assert outcomes.done_text(found[0]).startswith("可以执行，草稿（申报材料准备） → 已申报，待初审")
    # The CLI writes a done case's JSON faster, and the same object; a refusal in its own words.
    lines = cli._Outcomes("submit", bf.ws().spec, True)
    assert [json.loads(lines.json(o)) for o in found] == printed([outcomes.item(o, cli.error_json(o.error) if o.error else None) for o in found])
    cli_doc = bf.json("advance-many", "submit", "--ids", f"{ok},{other},999", "--data", "attest=true", "--dry-run", user="wenfa", now="2024-04-30T10:00")
    assert cli_doc == [json.loads(lines.json(o)) for o in found]


def test_no_input_name_or_option_check_speaks_in_command_line_flags() -> None:
    """The names the library's checks put into a message (`check_text(reason, "原因", field="reason")`) are words
    too, and so are advance-many's option checks: the CLI names the option (INPUT_FLAGS, ADVICE)."""
    flagged = re.compile(r"""(?:raise (?!RuntimeError)\w+\(|check_text\(|check_int\(|parse_int\(|parse_moment\(|return )[^\n]*["'][^"'\n]*(?: ?--[a-z]|branchflow [a-z]|case show)""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "workflow").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if flagged.search(line)
    ]
    assert offenders == []
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "workflow").rglob("*.py"))
    stale = [words for pairs in cli.INPUT_FLAGS.values() for words, _ in pairs if words.removesuffix("的") not in source]
    assert stale == []


def test_the_library_names_an_input_in_words_and_the_cli_by_its_option(bf: Bf) -> None:
    with pytest.raises(UsageError) as caught:
        clock.parse_now("明天上午")
    assert caught.value.field == "now" and caught.value.message.startswith("当前时间的时间格式不对：'明天上午'")
    assert cli.say(caught.value).startswith("--now 的时间格式不对：'明天上午'")
    with pytest.raises(UsageError) as caught:
        deadlines.extend(bf.ws("zzb"), 1, None, "2024-05-20", "原因\u202e")
    assert caught.value.message.startswith("原因含有不可见的控制字符") and caught.value.field == "reason"
    assert cli.say(caught.value).startswith("原因（--reason）含有不可见的控制字符")
    with pytest.raises(UsageError) as caught:
        bulk.advance_many(bf.ws("zzb"), "submit")
    assert "--" not in caught.value.text and caught.value.field == "state"
    assert cli.say(caught.value) == "请用 --state 指定一个状态，或用 --ids 列出申报编号（二者选一）。"
    with pytest.raises(UsageError) as caught:
        bulk.parse_ids("1,x")
    assert (caught.value.field, caught.value.value) == ("ids", "x") and "--" not in caught.value.text
    assert cli.say(caught.value) == "--ids 的格式应是用逗号分隔的申报编号，如 1,2,3；'x' 不是编号。"


def test_a_reviewer_refused_the_history_is_told_what_they_may_see_and_the_cli_how(bf: Bf) -> None:
    cid = ready_case(bf, user="zzb")
    bf.ok("advance", str(cid), "submit", "--data", "attest=true", user="zzb")
    bf.ok("advance", str(cid), "pass_review", user="zzb", now="2024-05-20T09:00")
    bf.ok("review", "assign", str(cid), "--reviewer", "expert", user="zzb", now="2024-05-20T09:00")
    with pytest.raises(BranchflowError) as caught:
        queries.history(bf.ws("expert", "2024-05-20T09:00"), cid)
    err = caught.value
    assert (err.message, err.hint) == ("权限不足：评审专家不能查看申报的操作记录（用户 expert）。", "可以查看该申报的方案和附件。")
    assert cli.say(err) == f"权限不足：评审专家不能查看申报的操作记录；用户 expert 可用 case show {cid} 查看方案和附件。"


def test_a_new_and_a_changed_case_are_the_dicts_json_prints(bf: Bf) -> None:
    cid = cases.create(bf.ws("wenfa"), "文法学院第1学生党支部", "特色创建", "人才培养")
    version = cases.set_fields(bf.ws("wenfa"), cid, {"innovation": "导师制"})
    assert (present.case_created(cid), present.case_updated(cid, version)) == ({"id": cid}, {"id": cid, "version": 2})
    assert bf.json("case", "set", str(cid), "schedule=5月启动", user="wenfa") == present.case_updated(cid, 3)
    other = bf.json("case", "new", "--branch", "文法学院第2教工党支部", "--title", "x", "--theme", "人才培养", user="wenfa")
    assert other == present.case_created(other["id"])
