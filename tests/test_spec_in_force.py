"""The spec a database runs: `graph` draws it, and `init` / `check-states --db` compare a new file against it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Bf, ready_case
from helpers import seed_roster_and_users, snapshot

from cli import cli
from demo import sample
from workflow import Store, campaigns, spec, spec_diff, workspace

ROOT = Path(__file__).resolve().parents[1]


def custom_file(tmp_path: Path, old: str, new: str, name: str = "custom.yaml", source: Path | None = None) -> Path:
    text = source.read_text(encoding="utf-8") if source else spec.packaged_text()
    assert text.count(old) == 1
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_graph_draws_the_spec_the_database_runs_after_init_with_a_custom_file(tmp_path: Path) -> None:
    db = str(tmp_path / "bf.db")
    custom = custom_file(tmp_path, "label: 退回修改", "label: 退回分党委修改")
    assert run("--db", db, "--now", "2024-04-25", "init", "--states", str(custom), "--campaign", "2024")[0] == 0
    code, drawn, _ = run("--db", db, "graph")
    assert code == 0
    assert "退回分党委修改" in drawn and "退回修改" not in drawn.replace("退回分党委修改", "")
    # --states still draws the given file, whatever the database runs.
    assert "退回分党委修改" not in run("--db", db, "graph", "--states", str(ROOT / "states.yaml"))[1]


@pytest.mark.parametrize("kind", ["missing file", "empty file"])
def test_graph_without_a_database_draws_the_packaged_spec_and_creates_no_file(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "none.db"
    if kind == "empty file":
        db.write_bytes(b"")
    code, drawn, _ = run("--db", str(db), "graph")
    assert code == 0
    assert "退回修改" in drawn
    assert db.exists() == (kind == "empty file")


def test_spec_in_force_is_none_without_a_database_and_the_stored_spec_with_one(tmp_path: Path) -> None:
    db = str(tmp_path / "bf.db")
    assert workspace.spec_in_force(Store(db)) is None
    assert not Path(db).exists()
    custom = custom_file(tmp_path, "excellent_score: 90", "excellent_score: 85")
    assert run("--db", db, "--now", "2024-04-25", "init", "--states", str(custom), "--campaign", "2024")[0] == 0
    found = workspace.spec_in_force(Store(db))
    assert found is not None and found.rules.excellent_score == 85


# --- the comparison, directly ----------------------------------------------------------------------------------

PACKAGED = spec.parse(spec.packaged_text(), "states.yaml")


def changed(old: str, new: str) -> spec.Spec:
    text = spec.packaged_text()
    assert text.count(old) == 1, old
    return spec.parse(text.replace(old, new), "custom.yaml")


@pytest.mark.parametrize(
    ("old", "new", "lines"),
    [
        ("excellent_score: 90", "excellent_score: 85", ["规则设置 excellent_score：90 → 85"]),
        ("    threshold: 10", "    threshold: 8", ["规则设置 quota.threshold：10 → 8"]),
        ("  waivable: [R2]", "  waivable: [R2, R5]", ["规则设置 waivable：R2 → R2、R5"]),
        ("label: 退回修改", "label: 退回分党委修改", ["操作 return（退回分党委修改）的名称：退回修改 → 退回分党委修改"]),
        (
            "    roles: [branch, committee]",
            "    roles: [branch]",
            ["操作 submit_results（提交结项材料）的可执行角色：branch、committee → branch"],
        ),
        (
            "      until: {type: date, required: true, label: 修改后重新提交的截止日期}",
            "      until: {type: date, required: false, label: 修改后重新提交的截止日期}",
            ["操作 return（退回修改）的输入 until：date，必填，修改后重新提交的截止日期 → date，选填，修改后重新提交的截止日期"],
        ),
        ("    label: 已立项，创建中", "    label: 已立项", ["状态 approved（已立项）的名称：已立项，创建中 → 已立项"]),
        ("  committee: 分党委（直属党总支）", "  committee: 分党委", ["角色 committee 的名称：分党委（直属党总支） → 分党委"]),
        ("  before: [7d, 3d, 1d]", "  before: [7d, 1d]", ["提醒设置 before：7d、3d、1d → 7d、1d"]),
        ("      before: [14d, 7d, 1d]", "      before: [14d, 1d]", ["提醒设置 states.approved.before：14d、7d、1d → 14d、1d"]),
        (
            '  digest: {time: "08:30", working_days: true}',
            '  digest: {time: "09:00", working_days: false}',
            ["提醒设置 digest.time：08:30 → 09:00", "提醒设置 digest.working_days：是 → 否"],
        ),
        ("  warn_days: 7", "  warn_days: 10", ["网页设置 warn_days：7 → 10"]),
        (
            "      submitted: 2025-05-16",
            "      submitted: 2025-05-19",
            ["2025 年“已申报，待初审”（submitted）的截止日期：2025-05-16 → 2025-05-19"],
        ),
        (
            "    label: 2026年特色支部创建",
            "    label: 2026年特色支部创建（试行）",
            ["2026 年日程的名称：2026年特色支部创建 → 2026年特色支部创建（试行）"],
        ),
    ],
)
def test_compare_says_each_change_in_one_chinese_line(old: str, new: str, lines: list[str]) -> None:
    assert [c.text for c in spec_diff.compare(PACKAGED, changed(old, new))] == lines


def test_compare_of_identical_specs_is_empty_and_a_date_change_carries_what_to_apply() -> None:
    assert spec_diff.compare(PACKAGED, spec.parse(spec.packaged_text(), "again.yaml")) == []
    [change] = spec_diff.compare(PACKAGED, changed("      submitted: 2025-05-16", "      submitted: 2025-05-19"))
    assert (change.is_date, change.year, change.state, change.old, change.new) == (
        True,
        2025,
        "submitted",
        date(2025, 5, 16),
        date(2025, 5, 19),
    )


def test_compare_names_added_and_removed_years_states_and_transitions() -> None:
    text = MACHINE + "  2025: {due: {draft: 2025-05-06, review: 2025-05-30}}\n"
    old, new = spec.parse(MACHINE, "a.yaml"), spec.parse(text, "b.yaml")
    assert [c.text for c in spec_diff.compare(old, new)] == ["新增 2025 年日程（2025年特色支部创建）"]
    assert [c.text for c in spec_diff.compare(new, old)] == ["删除 2025 年日程（2025年特色支部创建）；数据库中已有的该年度截止日期不变"]
    assert [c.text for c in spec_diff.compare(old, spec.parse(WITHOUT_REVIEW, "c.yaml"))] == [
        "删除状态 review（审核中）",
        "操作 send（送审）的目标状态：review → done",
        "操作 drop（放弃）的来源状态：draft、review → draft",
        "删除操作 finish（办结）",
        "2024 年“审核中”（review）不再有截止日期（原为 2024-05-31）",
    ]


# A small machine whose cases can sit in `review`, and three successors that would strand them.
MACHINE = """\
roles: {org: 党委组织部, committee: 分党委, branch: 党支部, reviewer: 评审专家}
states:
  - {id: draft, label: 草稿, owner: committee, initial: true}
  - {id: review, label: 审核中, owner: org}
  - {id: done, label: 完成, terminal: true}
  - {id: dropped, label: 已放弃, terminal: true}
transitions:
  - {trigger: send, label: 送审, source: draft, dest: review, roles: [committee]}
  - {trigger: finish, label: 办结, source: review, dest: done, roles: [org]}
  - {trigger: drop, label: 放弃, source: [draft, review], dest: dropped, roles: [committee]}
rules: {not_live: [dropped], participated: [done], quota: {not_counted: [draft, dropped]}}
campaigns:
  2024: {due: {draft: 2024-05-06, review: 2024-05-31}}
"""
WITHOUT_REVIEW = (
    MACHINE.replace("  - {id: review, label: 审核中, owner: org}\n", "")
    .replace("source: draft, dest: review", "source: draft, dest: done")
    .replace("  - {trigger: finish, label: 办结, source: review, dest: done, roles: [org]}\n", "")
    .replace("source: [draft, review]", "source: [draft]")
    .replace(", review: 2024-05-31", "")
)
REVIEW_TERMINAL = (
    MACHINE.replace("{id: review, label: 审核中, owner: org}", "{id: review, label: 审核中, terminal: true}")
    .replace("source: review, dest: done", "source: draft, dest: done")
    .replace("source: [draft, review]", "source: [draft]")
    .replace(", review: 2024-05-31", "")
)
REVIEW_LOOPS = (
    MACHINE.replace(
        "  - {id: done, label: 完成, terminal: true}\n",
        "  - {id: done, label: 完成, terminal: true}\n  - {id: limbo, label: 复核, owner: org}\n",
    )
    .replace("source: review, dest: done", "source: draft, dest: done")
    .replace("source: [draft, review]", "source: [draft]")
    .replace(
        "rules:",
        "  - {trigger: park, label: 搁置, source: review, dest: limbo, roles: [org]}\n"
        "  - {trigger: reopen, label: 重审, source: limbo, dest: review, roles: [org]}\nrules:",
    )
    .replace("review: 2024-05-31", "review: 2024-05-31, limbo: 2024-06-30")
)
STRANDED = [
    (WITHOUT_REVIEW, "“审核中”（review）有 2 个申报，新配置删除了这个状态"),
    (REVIEW_TERMINAL, "“审核中”（review）有 2 个申报，新配置去掉了离开它的操作（finish, drop），这些申报将无法再推进"),
    (REVIEW_LOOPS, "“审核中”（review）有 2 个申报，新配置中从这个状态无法到达任何终止状态"),
]


@pytest.mark.parametrize(("text", "line"), STRANDED, ids=["removed", "made terminal", "loops forever"])
def test_stranded_names_the_state_the_count_and_why(text: str, line: str) -> None:
    old, new = spec.parse(MACHINE, "a.yaml"), spec.parse(text, "b.yaml")
    assert [s.text for s in spec_diff.stranded(old, new, {"draft": 1, "review": 2, "done": 3})] == [line]
    assert spec_diff.stranded(old, new, {"draft": 1, "done": 3}) == []  # nobody sits in review: nothing is stranded


# --- init and check-states against a database ----------------------------------------------------------------


def machine_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    """A database running MACHINE, with one case in draft and two in review."""
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    b = Bf(f"sqlite:///{tmp_path / 'bf.db'}", tmp_path)
    (tmp_path / "machine.yaml").write_text(MACHINE, encoding="utf-8")
    b.ok("init", "--states", str(tmp_path / "machine.yaml"), "--campaign", "2024")
    b.ok("roster", "import", str(sample.write_csv(tmp_path / "roster.csv", sample.rows())))
    b.ok("user", "add", "wenfa", "--role", "committee", "--committee", "文法学院分党委")
    for n, branch in enumerate(("文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部")):
        cid = b.json("case", "new", "--branch", branch, "--title", "t", "--theme", "人才培养", user="wenfa")["id"]
        if n:
            b.ok("advance", str(cid), "send", user="wenfa")
    return b


@pytest.mark.parametrize(("text", "line"), STRANDED, ids=["removed", "made terminal", "loops forever"])
def test_init_refuses_a_spec_that_strands_cases_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: str
) -> None:
    b = machine_db(tmp_path, monkeypatch)
    path = tmp_path / "next.yaml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(b)
    for argv in (("init", "--states", str(path)), ("check-states", str(path))):
        result = b(*argv)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert (
            result.stderr
            == f"新的状态配置会让已有申报无法推进，未做任何修改：{line}。请保留这些状态和操作，或先把这些申报办结后再换配置。\n"
        )
    assert snapshot(b) == before


@pytest.fixture
def season(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    """The packaged spec, the sample roster, two drafts (the second with its own extension) and a submitted case."""
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    b = Bf(f"sqlite:///{tmp_path / 'bf.db'}", tmp_path)
    seed_roster_and_users(b)
    for branch in ("文法学院第1学生党支部", "文法学院第2教工党支部", "文法学院第3教工党支部"):
        ready_case(b, branch)
    b.ok("extend", "2", "--until", "2024-05-20", "--reason", "盖章流程延误", user="zzb")
    b.ok("advance", "3", "submit", "--data", "attest=true", user="wenfa")
    return b


def due(b: Bf, cid: int) -> str:
    return str(b.json("case", "show", str(cid))["due_at"])[:19]


def test_a_plain_init_keeps_the_spec_in_force(season: Bf) -> None:
    custom = custom_file(season.tmp, "excellent_score: 90", "excellent_score: 85")
    out = season.ok("init", "--states", str(custom)).output
    assert out.splitlines()[1:] == [f"状态配置 {custom}：1 处变化", "  规则设置 excellent_score：90 → 85"]
    season.ok("init")
    season.ok("init", "--campaign", "2025")
    assert season.ws().spec.rules.excellent_score == 85


def test_init_with_a_changed_date_of_an_existing_year_applies_it_as_an_audited_extension(season: Bf) -> None:
    custom = custom_file(season.tmp, "draft: 2024-05-06               # notice §五", "draft: 2024-05-08")
    custom = custom_file(season.tmp, "submitted: 2024-05-17           # assumed", "submitted: 2024-05-24", source=custom)
    before = {cid: due(season, cid) for cid in (1, 2, 3)}
    assert before == {1: "2024-05-06T23:59:59", 2: "2024-05-20T23:59:59", 3: "2024-05-17T23:59:59"}
    dry = season.ok("check-states", str(custom)).output
    assert snapshot_dues(season) == before
    assert "  2024 年“草稿（申报材料准备）”（draft）的截止日期：2024-05-06 → 2024-05-08（init 时将作用于该年度的申报）" in dry
    out = season.ok("init", "--states", str(custom), user="zzb").output
    assert out.splitlines()[1:] == [
        f"状态配置 {custom}：2 处变化",
        "  2024 年“草稿（申报材料准备）”（draft）的截止日期：2024-05-06 → 2024-05-08（已作用于该年度，1 个申报随之调整）",
        "  2024 年“已申报，待初审”（submitted）的截止日期：2024-05-17 → 2024-05-24（已作用于该年度，1 个申报随之调整）",
    ]
    # case 1 follows the calendar, case 2 keeps its own extension, case 3 (submitted) follows too
    assert snapshot_dues(season) == {1: "2024-05-08T23:59:59", 2: "2024-05-20T23:59:59", 3: "2024-05-24T23:59:59"}
    last = season.json("case", "history", "1")[-1]
    assert (last["trigger"], last["actor"], last["comment"]) == ("extend", "zzb", f"状态配置 {custom} 修改了 2024 年日程")
    assert last["inputs"]["state"] == "draft" and last["inputs"]["until"].startswith("2024-05-08T23:59:59")
    # a case that arrives later gets the new date: case 1 submitted now is due on the new submitted date
    season.ok("advance", "1", "submit", "--data", "attest=true", user="wenfa")
    assert due(season, 1) == "2024-05-24T23:59:59"
    # the same file again changes nothing more
    assert season.ok("init", "--states", str(custom)).output.splitlines()[1] == f"状态配置 {custom}：与现行配置相同，没有变化"


def snapshot_dues(b: Bf) -> dict[int, str]:
    return {cid: due(b, cid) for cid in (1, 2, 3)}


def test_only_org_may_move_an_existing_years_dates_and_a_refusal_changes_nothing(season: Bf) -> None:
    custom = custom_file(season.tmp, "draft: 2024-05-06               # notice §五", "draft: 2024-05-08")
    before = snapshot(season)
    result = season("init", "--states", str(custom), user="wenfa")
    assert result.exit_code == 1 and "党委组织部" in result.stderr and "Traceback" not in result.output
    assert snapshot(season) == before


def test_check_states_without_a_database_only_validates(tmp_path: Path) -> None:
    code, out, _ = run("check-states", str(ROOT / "states.yaml"))
    counts = f"{len(PACKAGED.states)} 个状态，{len(PACKAGED.transitions)} 个操作"
    assert (code, out) == (0, f"{ROOT / 'states.yaml'} 有效：{counts}，年度 2024, 2025, 2026, 2027。\n")
    code, out, _ = run("--db", str(tmp_path / "none.db"), "check-states", str(ROOT / "states.yaml"))
    assert code == 0 and out.endswith("年度 2024, 2025, 2026, 2027。\n") and not (tmp_path / "none.db").exists()


def test_the_library_init_returns_the_changes_and_what_it_applied(season: Bf) -> None:
    new = changed("draft: 2024-05-06               # notice §五", "draft: 2024-05-09")
    found = campaigns.preview(Store(season.url), new)
    assert found is not None and [c.text for c in found.dates_to_apply] == [
        "2024 年“草稿（申报材料准备）”（draft）的截止日期：2024-05-06 → 2024-05-09"
    ]
    done = campaigns.init(Store(season.url), new, 2024, season.ws().now, "zzb")
    assert not done.created and [c.text for c in done.changes] == [c.text for c in found.changes]
    assert [(a.year, a.state, a.cases) for a in done.applied] == [(2024, "draft", [1])]


def test_a_date_the_calendar_already_has_moves_no_case_and_writes_no_audit_row(season: Bf) -> None:
    season.ok("extend", "--state", "draft", "--until", "2024-05-08", "--reason", "统一延期", user="zzb")
    rows = len(season.json("case", "history", "1"))
    custom = custom_file(season.tmp, "draft: 2024-05-06               # notice §五", "draft: 2024-05-08")
    out = season.ok("init", "--states", str(custom), user="zzb").output
    assert "2024-05-06 → 2024-05-08（已作用于该年度，0 个申报随之调整）" in out
    assert len(season.json("case", "history", "1")) == rows
    assert due(season, 1) == "2024-05-08T23:59:59"
