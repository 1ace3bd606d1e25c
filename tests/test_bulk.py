"""`advance-many`: one trigger on many cases, each case decided on its own, written in chunks.

Sample roster (demo/sample.py): 文法学院分党委 has 12 branches (quota 2; 第4学生 is the national model
branch, not counted), 外国语学院分党委 8 (quota 1; 第1学生 and 第2教工 took part last year), 建筑学院分党委 10.
"""

from __future__ import annotations

import csv
from typing import Any

import pytest
from conftest import PLAN, Bf
from helpers import snapshot, spec_parsed_once  # noqa: F401  (autouse: parse states.yaml once)
from sqlalchemy import select
from sqlmodel import col

from workflow.db.models import Case
from workflow.db.store import Store
from workflow.lifecycle import facts
from workflow.spec import rules

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
HEADERS = ["支部名称", "项目名称", "创建方向", "方向说明", *rules.PLAN_FIELDS.values(), "申报表文件", "盖章扫描件"]
REVIEW, EVALUATION = "2024-05-10T10:00", "2024-05-25T10:00"


def drafts(bf: Bf, *branches: str, files: bool = True, plan: dict[str, str] | None = None) -> list[int]:
    """Draft cases for these branches through `case import` (org), ready to submit unless told otherwise."""
    folder = bf.tmp / f"sheet{len(list(bf.tmp.glob('sheet*')))}"
    folder.mkdir()
    (folder / "form.docx").write_bytes(b"PK\x03\x04form")
    (folder / "scan.pdf").write_bytes(b"%PDF-scan")
    values = {**PLAN, **(plan or {})}
    with (folder / "cases.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for b in branches:
            w.writerow([b, f"{b}特色创建", "人才培养", "", *values.values(), *(("form.docx", "scan.pdf") if files else ("", ""))])
    data = bf.json("case", "import", str(folder / "cases.csv"))
    return [c["id"] for c in data["cases"]]


def ids(*cases: int) -> str:
    return ",".join(map(str, cases))


def many(bf: Bf, *args: str, user: str = "zzb", now: str | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Run advance-many with --json; return the exit code and the array."""
    import json

    result = bf("advance-many", *args, user=user, now=now, json_out=True)
    return result.exit_code, json.loads(result.stdout)


def states(bf: Bf, *cases: int) -> list[tuple[str, int]]:
    return [(c["state"], c["version"]) for c in (bf.json("case", "show", str(i)) for i in cases)]


def submitted(bf: Bf, *branches: str) -> list[int]:
    """Submitted cases (one per branch; mind the quotas)."""
    cases = drafts(bf, *branches)
    code, _ = many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true")
    assert code == 0
    return cases


def test_r5_cases_of_one_committee_in_one_run_count_against_each_other(bf: Bf) -> None:
    a, b, c, model = drafts(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部", "文法学院第4学生党支部")
    code, out = many(bf, "submit", "--ids", ids(a, b, c, model), "--data", "attest=true", user="wenfa")
    assert code == 1
    assert [(o["id"], o["ok"]) for o in out] == [(a, True), (b, True), (c, False), (model, True)]
    assert out[2]["details"] == ["R5 推荐名额：该分党委本年度最多推荐 2 个支部，已推荐 2 个；请先撤回其他申报再提交。"]
    assert states(bf, a, b, c, model) == [("submitted", 2), ("submitted", 2), ("draft", 1), ("submitted", 2)]


def test_the_json_array_has_id_ok_error_for_every_case(bf: Bf) -> None:
    good, bare = drafts(bf, "文法学院第1学生党支部", "文法学院第2教工党支部")
    bf.ok("case", "set", str(bare), "schedule=")
    # An id beyond the database's integer is not a case that is missing but a mistake (issue 9): exit 2, nothing done.
    assert many(bf, "submit", "--ids", ids(good, 2**70), "--data", "attest=true")[0] == 2
    code, out = many(bf, "submit", "--ids", ids(good, bare, 9999, 2**40, 2**63 - 1), "--data", "attest=true")
    assert code == 1
    assert out[0] == {
        "id": good,
        "ok": True,
        "error": None,
        "dry_run": False,
        "trigger": "submit",
        "source": "draft",
        "state": "submitted",
        "state_label": "已申报，待初审",
        "due_at": "2024-05-17T23:59:59+08:00",
        "version": 2,
    }
    assert {k: out[1][k] for k in ("id", "ok", "error", "code", "details", "rules")} == {
        "id": bare,
        "ok": False,
        "error": f"申报 {bare}（文法学院第2教工党支部）不能“提交申报”：1 项规则不满足。",
        "code": 1,
        "details": ["R7 方案不完整：缺少进度安排；请用 case set 补全后再提交。"],
        "rules": ["R7"],
    }
    assert out[2] == {
        "id": 9999,
        "ok": False,
        "error": "没有编号为 9999 的申报：请用 branchflow status 查看申报编号。",
        "dry_run": False,
        "code": 3,
    }
    assert [(o["id"], o["code"]) for o in out[3:]] == [(2**40, 3), (2**63 - 1, 3)]


def test_each_case_stands_alone_a_refused_case_writes_nothing(bf: Bf) -> None:
    first, second = drafts(bf, "文法学院第1学生党支部", "文法学院第2教工党支部")
    (other,) = drafts(bf, "外国语学院第3教工党支部")
    history = bf.json("case", "history", str(other))
    code, out = many(bf, "submit", "--ids", ids(other, first, second), "--data", "attest=true", user="wenfa")
    assert code == 1
    assert [o["ok"] for o in out] == [False, True, True]
    assert out[0]["error"] == "权限不足：分党委用户 wenfa 不能操作该申报（不在其管辖范围内）。"
    # The refused case keeps its version and history; the others went through, each with one history row.
    assert states(bf, other, first, second) == [("draft", 1), ("submitted", 2), ("submitted", 2)]
    assert bf.json("case", "history", str(other)) == history
    assert [h["trigger"] for h in bf.json("case", "history", str(first))].count("submit") == 1


def test_a_refused_case_in_the_middle_of_a_chunk_undoes_nothing_of_the_others(bf: Bf) -> None:
    cases = drafts(bf, "文法学院第1学生党支部", "建筑学院第1学生党支部")
    (bare,) = drafts(bf, "艺术学院第1学生党支部", files=False)
    code, out = many(bf, "submit", "--ids", ids(cases[0], bare, cases[1]), "--data", "attest=true")
    assert code == 1
    assert [o["ok"] for o in out] == [True, False, True]
    assert out[1]["details"] == ["R8 申报材料：缺少申报表电子版、盖章扫描件；请用 case attach 上传后再提交。"]
    assert states(bf, *cases, bare) == [("submitted", 2), ("submitted", 2), ("draft", 1)]


def test_dry_run_decides_the_same_and_writes_nothing(bf: Bf) -> None:
    cases = drafts(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部", "外国语学院第1学生党支部")
    before = snapshot(bf)
    # One case per chunk: what an earlier chunk decided (R5) is still counted by the next, though nothing is written.
    code, dry = many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true", "--dry-run", "--chunk-size", "1")
    assert snapshot(bf) == before
    code_real, real = many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true", "--chunk-size", "1")
    assert code == code_real == 1
    strip = [{k: v for k, v in o.items() if k != "dry_run"} for o in dry]
    assert strip == [{k: v for k, v in o.items() if k != "dry_run"} for o in real]
    assert [o["ok"] for o in real] == [True, True, False, False]
    assert all(o["dry_run"] for o in dry) and not any(o["dry_run"] for o in real)


def test_state_selection_exits_0_when_every_case_was_done(bf: Bf) -> None:
    cases = submitted(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "建筑学院第1学生党支部")
    result = bf("advance-many", "pass_review", "--state", "submitted", user="zzb", now=REVIEW)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"申报 {i}：已完成，已申报，待初审 → 初审通过，待评审（截止 2024-05-31 23:59）。" for i in cases]
    assert result.stderr == "共 3 个申报：完成 3 个，拒绝 0 个。\n"
    for i in cases:
        last = bf.json("case", "history", str(i))[-1]
        assert (last["trigger"], last["actor"], last["source"], last["dest"]) == ("pass_review", "zzb", "submitted", "preliminary_review")
    # Nothing left in that state: a second run has nothing to do, and says so with exit 0.
    again = bf("advance-many", "pass_review", "--state", "submitted", user="zzb", now=REVIEW)
    assert again.exit_code == 0 and again.stdout == "" and again.stderr == "共 0 个申报：完成 0 个，拒绝 0 个。\n"


def test_inputs_apply_to_every_case_and_rules_to_each(bf: Bf) -> None:
    a, b = submitted(bf, "文法学院第1学生党支部", "建筑学院第1学生党支部")
    assert many(bf, "pass_review", "--state", "submitted", now=REVIEW)[0] == 0
    code, _ = many(
        bf,
        "evaluate",
        "--ids",
        ids(a),
        "--data",
        "score=95",
        "--data",
        "focus=90",
        "--data",
        "reason=测试：人工录入评审结果",
        now=EVALUATION,
    )
    assert code == 0
    assert many(bf, "evaluate", "--ids", ids(b), "--data", "score=80", "--data", "reason=测试：人工录入评审结果", now=EVALUATION)[0] == 0
    assert bf.json("case", "show", str(a))["criteria"] == {"focus": 90.0}
    code, out = many(bf, "approve", "--state", "evaluated", now="2024-06-01T10:00")
    assert code == 1
    assert [(o["id"], o["ok"]) for o in out] == [(a, True), (b, False)]
    assert out[1]["details"] == ["R9 评审优秀：立项须评审分不低于 90，评审分 80；可选择“不予立项”（decline）。"]


def test_return_gives_every_case_the_new_draft_due_date(bf: Bf) -> None:
    cases = submitted(bf, "文法学院第1学生党支部", "建筑学院第1学生党支部")
    code, out = many(bf, "return", "--state", "submitted", "--data", "until=2024-05-20", "--comment", "请补充材料", now=REVIEW)
    assert code == 0
    assert {o["due_at"] for o in out} == {"2024-05-20T23:59:59+08:00"}
    assert [bf.json("case", "history", str(i))[-1]["comment"] for i in cases] == ["请补充材料"] * 2


def test_committee_filter_and_a_committee_users_selection_stay_in_scope(bf: Bf) -> None:
    wenfa = drafts(bf, "文法学院第1学生党支部", "文法学院第2教工党支部")
    others = drafts(bf, "外国语学院第3教工党支部", "建筑学院第1学生党支部")
    code, out = many(bf, "withdraw", "--state", "draft", "--committee", "外国语学院分党委")
    assert (code, [o["id"] for o in out]) == (0, others[:1])
    code, out = many(bf, "withdraw", "--state", "draft", user="wenfa")
    assert (code, [o["id"] for o in out]) == (0, wenfa)
    assert states(bf, others[1]) == [("draft", 1)]
    # With --ids, a case outside --committee is reported, not silently skipped.
    code, out = many(bf, "withdraw", "--ids", ids(others[1]), "--committee", "外国语学院分党委")
    assert code == 1 and out[0]["error"].endswith("属于建筑学院分党委，不属于 --committee 指定的外国语学院分党委：未处理。")


def test_a_role_that_cannot_fire_the_trigger_is_refused_case_by_case(bf: Bf) -> None:
    cases = drafts(bf, "文法学院第1学生党支部")
    before = snapshot(bf)
    code, out = many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true", user="expert")
    assert code == 1 and out[0]["error"].startswith("权限不足：“提交申报”（submit）只能由分党委（直属党总支）执行")
    code, out = many(bf, "pass_review", "--ids", ids(*cases))
    assert out[0]["error"].startswith(f"申报 {cases[0]} 当前状态为“草稿（申报材料准备）”，不能执行“初审通过”（pass_review）；可执行的操作：提交申报（submit）")
    assert snapshot(bf) == before


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit"], "请用 --state 指定一个状态，或用 --ids 列出申报编号（二者选一）。"),
        (["submit", "--state", "draft", "--ids", "1"], "请用 --state 指定一个状态，或用 --ids 列出申报编号（二者选一）。"),
        (["fly", "--state", "draft"], "没有操作 'fly'；可用的操作："),
        (["submit", "--state", "draft"], "“提交申报”缺少必填输入：attest"),
        (["evaluate", "--state", "preliminary_review", "--data", "score=120"], "输入 score 的值 120 超出范围 0–100。"),
        (["submit", "--ids", "1,x"], "--ids 的格式应是用逗号分隔的申报编号，如 1,2,3；'x' 不是编号。"),
        (["submit", "--state", "nowhere", "--data", "attest=1"], "没有状态 'nowhere'"),
        (["submit", "--ids", "1", "--campaign", "2024", "--data", "attest=1"], "--campaign 只用于 --state"),
        (["return", "--state", "submitted", "--data", "until=2024-01-01"], "新的截止日期 2024-01-01 已经过去"),
    ],
)
def test_usage_errors_exit_2_before_anything_runs(bf: Bf, args: list[str], message: str) -> None:
    result = bf("advance-many", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_an_unknown_committee_is_not_found(bf: Bf) -> None:
    result = bf("advance-many", "withdraw", "--state", "draft", "--committee", "不存在分党委")
    assert result.exit_code == 3 and "没有名为“不存在分党委”的分党委" in result.output


def test_chunks_commit_one_after_another_and_ids_keep_their_order(bf: Bf) -> None:
    cases = submitted(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "建筑学院第1学生党支部", "建筑学院第2教工党支部")
    order = [cases[2], cases[0], cases[3], cases[1]]
    code, out = many(bf, "pass_review", "--ids", ids(*order, cases[0]), "--chunk-size", "3", now=REVIEW)
    assert code == 0 and [o["id"] for o in out] == order  # a repeated id is done once


def test_bulk_and_single_path_decide_the_same(bf: Bf) -> None:
    """The same drafts submitted with advance-many --dry-run and one by one with advance: same verdicts, same reasons."""
    branches = [
        "文法学院第1学生党支部",
        "文法学院第4学生党支部",  # model branch: not counted in the quota
        "文法学院第2教工党支部",
        "文法学院第3教工党支部",  # over the quota of 2
        "文法学院第12教工党支部",  # took part last year (R2)
        "外国语学院第1学生党支部",  # took part last year
        "外国语学院第3教工党支部",
        "外国语学院第4学生党支部",  # over the quota of 1
    ]
    cases = drafts(bf, *branches)
    (bare,) = drafts(bf, "建筑学院第1学生党支部", files=False, plan={"innovation": ""})
    bf.ok("waive", str(cases[5]), "--rule", "R2", "--reason", "学校同意")
    cases.append(bare)
    _, dry = many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true", "--dry-run", "--chunk-size", "4")
    single = []
    for cid in cases:
        out = bf.json("advance", str(cid), "submit", "--data", "attest=true")
        single.append((out.get("error") is None, out.get("error"), out.get("details")))
    assert [(o["ok"], o["error"], o.get("details")) for o in dry] == single
    assert [o["ok"] for o in dry] == [True, True, True, False, False, True, False, False, False]


def test_facts_gathered_for_some_conditions_give_them_the_same_answer(bf: Bf) -> None:
    """A batch gathered only for the fact groups a condition declares gives that condition the same verdict as the full facts."""
    assert all(c.needs <= rules.FACT_GROUPS for c in rules.CONDITIONS.values())
    assert facts.needs(["r5_quota", "r8_attachments"]) == {"quota", "attachments"} and facts.needs(["r1_attested"]) == set()
    cases = drafts(bf, "文法学院第1学生党支部", "文法学院第4学生党支部", "文法学院第12教工党支部", "外国语学院第1学生党支部")
    cases += drafts(bf, "外国语学院第3教工党支部", "外国语学院第4学生党支部", files=False, plan={"schedule": ""})
    many(bf, "submit", "--ids", ids(*cases), "--data", "attest=true")
    ws = bf.ws()
    with ws.store.read() as s:
        rows = [facts.to_case_row(r) for r in s.execute(facts.case_query().where(col(Case.id).in_(cases)))]
        full = facts.Batch(s, ws.spec, rows)
        for name, rule in rules.CONDITIONS.items():
            some = facts.Batch(s, ws.spec, rows, conditions=[name])
            for row in rows:
                assert rule(some.facts(row, ws.now, {"attest": True})) == rule(full.facts(row, ws.now, {"attest": True})), (
                    name,
                    row.branch,
                )


def test_the_library_streams_chunks_with_a_total_up_front(bf: Bf) -> None:
    from workflow.lifecycle import bulk

    submitted(bf, "文法学院第1学生党支部", "文法学院第2教工党支部", "建筑学院第1学生党支部")
    run = bulk.advance_many(bf.ws("zzb", REVIEW), "pass_review", state="submitted", chunk_size=2)
    assert run.total == 3
    sizes = []
    for chunk in run:
        sizes.append(len(chunk))
        with Store(bf.url).read() as s:  # each chunk is committed before it is handed out
            done = s.execute(select(col(Case.id)).where(col(Case.state) == "preliminary_review")).scalars().all()
        assert len(done) == sum(sizes)
    assert sizes == [2, 1] and (run.done, run.refused) == (3, 0)


def test_a_failure_half_way_keeps_the_chunks_done_and_the_json_one_document(bf: Bf, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from workflow.errors import Conflict
    from workflow.lifecycle import bulk

    first, second = submitted(bf, "文法学院第1学生党支部", "建筑学院第1学生党支部")
    calls = []

    def fail_second(write: Any) -> Any:
        def wrapped(self: Any, *args: Any) -> int:
            calls.append(1)
            if len(calls) == 2:
                raise Conflict("有申报在批量处理中被他人修改，本批未写入（之前的批次已保存）：请重新运行同一命令。")
            return int(write(self, *args))

        return wrapped

    for writer in (bulk._RowWriter, bulk._SetWriter):
        monkeypatch.setattr(writer, "write", fail_second(writer.write))
    result = bf("advance-many", "pass_review", "--ids", ids(first, second), "--chunk-size", "1", user="zzb", now=REVIEW, json_out=True)
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert [o.get("id") for o in doc] == [first, None] and doc[1]["code"] == 4 and not doc[1]["ok"]
    assert states(bf, first, second) == [("preliminary_review", 3), ("submitted", 2)]


def test_people_read_one_line_per_case_and_one_per_reason(bf: Bf) -> None:
    (ready,) = drafts(bf, "文法学院第1学生党支部")
    (bare,) = drafts(bf, "建筑学院第1学生党支部", files=False)
    result = bf("advance-many", "submit", "--ids", ids(ready, bare), "--data", "attest=true", "--dry-run", user="zzb")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"申报 {ready}：可以执行，草稿（申报材料准备） → 已申报，待初审（截止 2024-05-17 23:59）。",
        f"申报 {bare}：未执行。申报 {bare}（建筑学院第1学生党支部）不能“提交申报”：1 项规则不满足。",
        "    R8 申报材料：缺少申报表电子版、盖章扫描件；请用 case attach 上传后再提交。",
    ]
    assert result.stderr == "共 2 个申报：可以执行 1 个，拒绝 1 个；试运行，未写入任何数据。\n"
