"""The demo: a whole 2024 season on a throw-away SQLite database, told as the CLI commands a user types.

Every step says whether it must succeed or be refused; the demo stops with an error if one does not
behave as the notice says, so `make demo` is also a check of the whole product.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from demo import sample
from workflow.errors import BranchflowError

Runner = Callable[[list[str], bool], int]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    """One command of the season: when, as whom, and the exit code the notice calls for."""

    say: str
    args: list[str]
    now: str
    user: str = "admin"
    expect: int = 0
    quiet: bool = False


WENFA = "文法学院分党委"  # 12 branches: may recommend 2
WAIGUO = "外国语学院分党委"  # 8 branches: may recommend 1
LIXUE = "理学院分党委"  # 14 branches: may recommend 2
PLAN = [
    "expected_outcomes=形成“党建+育人”工作法一套，育人案例3个",
    "schedule=2024年5月启动；9月中期检查；2025年4月总结验收",
    "innovation=以支部为单元的“师生共建”导师制",
    "promotion_plan=校内经验交流会、公众号专栏推广",
    "discipline_activity=《中国共产党纪律处分条例》专题读书班暨警示教育",
]


PANEL = ["评审专家甲", "评审专家乙", "评审专家丙", "评审专家丁", "评审专家戊"]
CRITERIA = ["focus", "feature", "quality", "effect", "process", "promotion", "long_term"]
# Each expert's marks per criterion (0–100) for the cases assigned to them by `review assign --state`.
SCORES = [
    (1, "评审专家甲", (95, 92, 94, 93, 92, 94, 90)),
    (1, "评审专家乙", (94, 93, 92, 95, 90, 93, 92)),
    (1, "评审专家丙", (96, 94, 93, 92, 94, 95, 93)),
    (2, "评审专家丁", (86, 84, 85, 83, 88, 82, 85)),
    (2, "评审专家甲", (88, 85, 86, 84, 87, 85, 86)),
    (2, "评审专家乙", (82, 82, 82, 82, 82, 82, 82)),
    (3, "评审专家丙", (92, 90, 91, 90, 92, 91, 90)),
    (3, "评审专家丁", (91, 92, 90, 91, 90, 92, 91)),
    (3, "评审专家甲", (93, 91, 92, 90, 91, 92, 92)),
    (7, "评审专家戊", (88, 87, 86, 85, 88, 86, 85)),
]
CHANGED = (84, 83, 85, 86, 84, 83, 85)


def scores(marks: tuple[int, ...]) -> list[str]:
    """`--score focus=95 --score feature=92 …`"""
    return [arg for key, mark in zip(CRITERIA, marks, strict=True) for arg in ("--score", f"{key}={mark}")]


def roster_rows() -> list[list[str]]:
    """The sample roster, with a second national model branch that already took part in 2023."""
    rows = sample.rows()
    for r in rows:
        if r[1] == "理学院第3教工党支部":
            r[5], r[6], r[7] = "是", "是", "2023-2025"
    return rows


def season(folder: Path) -> list[Step]:
    """The 2024 season, step by step."""
    form, scan = str(folder / "申报表.docx"), str(folder / "盖章扫描件.pdf")
    c = "case"

    shown: set[str] = set()

    def prepare(case_id: int, user: str, now: str) -> list[Step]:
        quiet = bool(shown)  # show the commands once, then just say it was done
        shown.add(user)
        say = f"填写申报 {case_id} 的方案（R7 五项内容），上传申报表电子版和盖章扫描件（R8）"
        return [
            Step(say if not quiet else f"（{say}）", [c, "set", str(case_id), *PLAN], now, user, quiet=quiet),
            Step("", [c, "attach", str(case_id), form, "--kind", "form"], now, user, quiet=quiet),
            Step("", [c, "attach", str(case_id), scan, "--kind", "stamped_scan"], now, user, quiet=quiet),
        ]

    d0, d1, d2, d3 = "2024-04-25T09:00", "2024-04-28T10:00", "2024-05-06T16:00", "2024-05-16T09:00"

    def score(case_id: int, who: str, marks: tuple[int, ...], now: str, quiet: bool) -> Step:
        say = f"{who}为申报 {case_id} 评分：七项要求逐项打分，并写评审意见"
        args = ["review", "score", str(case_id), *scores(marks), "--comment", "方案完整，特色较鲜明"]
        return Step(f"（{say}）" if quiet else say, args, now, who, quiet=quiet)

    return [
        Step("党委组织部建库，创建 2024 年度工作（截止日期来自 states.yaml）", ["init", "--campaign", "2024"], d0),
        Step("导入各分党委报来的支部名单（GBK 编码的 CSV，自动识别）", ["roster", "import", str(folder / "支部名单.csv")], d0),
        Step("名单有错时：列出每一处错误，什么也不导入", ["roster", "import", str(folder / "有错的名单.csv")], d0, expect=2),
        Step(
            "添加分党委用户",
            ["user", "add", "文法张老师", "--role", "committee", "--committee", WENFA, "--email", "wenfa@example.edu.cn"],
            d0,
        ),
        Step(
            "添加分党委用户",
            ["user", "add", "外语李老师", "--role", "committee", "--committee", WAIGUO, "--email", "waiguo@example.edu.cn"],
            d0,
        ),
        Step("添加分党委用户", ["user", "add", "理学王老师", "--role", "committee", "--committee", LIXUE], d0),
        Step("添加党支部用户", ["user", "add", "文法一支部", "--role", "branch", "--branch", "文法学院第1学生党支部"], d0),
        Step("添加评审专家", ["user", "add", "评审专家甲", "--role", "reviewer"], d0),
        Step(
            "R6：创建方向须是五个方面之一（或“其他”并说明）",
            [c, "new", "--branch", "文法学院第1学生党支部", "--title", "党建引领育人", "--theme", "宣传工作"],
            d1,
            "文法张老师",
            1,
        ),
        Step(
            "文法学院推荐第一个支部（申报 1）",
            [c, "new", "--branch", "文法学院第1学生党支部", "--title", "党建引领“三全育人”", "--theme", "人才培养"],
            d1,
            "文法张老师",
        ),
        Step(
            "R3：同一支部本年度只能有一个申报",
            [c, "new", "--branch", "文法学院第1学生党支部", "--title", "第二个项目", "--theme", "教学科研"],
            d1,
            "文法张老师",
            1,
        ),
        Step(
            "分党委只能为本单位的支部申报",
            [c, "new", "--branch", "理学院第1学生党支部", "--title", "越权", "--theme", "教学科研"],
            d1,
            "文法张老师",
            1,
        ),
        Step(
            "R7、R8：方案不完整、附件未传时不能提交，每一项都点名", ["advance", "1", "submit", "--data", "attest=true"], d1, "文法张老师", 1
        ),
        *prepare(1, "文法张老师", d1),
        Step(
            "R1：分党委须确认支部具备基本条件、材料真实准确可行", ["advance", "1", "submit", "--data", "attest=false"], d1, "文法张老师", 1
        ),
        Step("查看现在可执行的操作", ["triggers", "1"], d1, "文法张老师"),
        Step("提交申报 1", ["advance", "1", "submit", "--data", "attest=true", "--comment", "经分党委会议研究推荐"], d1, "文法张老师"),
        Step(
            "文法学院推荐第二个支部（申报 2）",
            [c, "new", "--branch", "文法学院第2教工党支部", "--title", "党建+课程思政", "--theme", "教学科研"],
            d1,
            "文法张老师",
        ),
        *prepare(2, "文法张老师", d1),
        Step("提交申报 2", ["advance", "2", "submit", "--data", "attest=true"], d1, "文法张老师"),
        Step(
            "样板支部（申报 3）：可参与一次，且不占名额",
            [c, "new", "--branch", "文法学院第4学生党支部", "--title", "样板支部特色培育", "--theme", "学科建设"],
            d1,
            "文法张老师",
        ),
        *prepare(3, "文法张老师", d1),
        Step("R4、R5：文法学院名额 2 个已用完，但样板支部不占名额", ["advance", "3", "submit", "--data", "attest=true"], d1, "文法张老师"),
        Step(
            "外国语学院推荐一个支部（申报 4）",
            [c, "new", "--branch", "外国语学院第3教工党支部", "--title", "党建+国际传播", "--theme", "服务社会或师生"],
            d1,
            "外语李老师",
        ),
        *prepare(4, "外语李老师", d1),
        Step("提交申报 4", ["advance", "4", "submit", "--data", "attest=true"], d1, "外语李老师"),
        Step(
            "外国语学院再推荐一个（申报 5，该支部上年度已参与）",
            [
                c,
                "new",
                "--branch",
                "外国语学院第1学生党支部",
                "--title",
                "党建+外语志愿服务",
                "--theme",
                "其他",
                "--theme-note",
                "外语志愿服务",
            ],
            d1,
            "外语李老师",
        ),
        *prepare(5, "外语李老师", d1),
        Step(
            "R2、R5：上年度已参与；外国语学院（不足 10 个支部）只有 1 个名额",
            ["advance", "5", "submit", "--data", "attest=true"],
            d1,
            "外语李老师",
            1,
        ),
        Step(
            "R2 例外须由党委组织部登记，并写明原因",
            ["waive", "5", "--rule", "R2", "--reason", "学校党委同意该支部继续创建"],
            d1,
            "外语李老师",
            1,
        ),
        Step("党委组织部登记 R2 例外", ["waive", "5", "--rule", "R2", "--reason", "学校党委同意该支部继续创建"], d1),
        Step("R5 仍然拒绝：名额已用完", ["advance", "5", "submit", "--data", "attest=true"], d1, "外语李老师", 1),
        Step("外国语学院撤回申报 5", ["advance", "5", "withdraw", "--comment", "名额已满，明年再报"], d1, "外语李老师"),
        Step(
            "理学院：上年度已参与的样板支部在培育周期内不能再参与（申报 6）",
            [c, "new", "--branch", "理学院第3教工党支部", "--title", "样板支部再创建", "--theme", "教学科研"],
            d1,
            "理学王老师",
        ),
        *prepare(6, "理学王老师", d1),
        Step("R4：样板支部在 2023-2025 培育周期内已参与过一次", ["advance", "6", "submit", "--data", "attest=true"], d1, "理学王老师", 1),
        Step("理学院撤回申报 6", ["advance", "6", "withdraw"], d1, "理学王老师"),
        Step(
            "理学院推荐另一个支部（申报 7），但 5 月 6 日前没有提交",
            [c, "new", "--branch", "理学院第1学生党支部", "--title", "党建+科研攻关", "--theme", "教学科研"],
            d1,
            "理学王老师",
        ),
        Step("R14：5 月 3 日的提醒扫描（默认 console 渠道；scheduler 每 15 分钟做一次）", ["remind"], "2024-05-03T09:00"),
        Step("再扫描一次：同一条提醒不会发第二次", ["remind"], "2024-05-03T09:15"),
        Step("发件箱：每条提醒的发送状态", ["outbox"], "2024-05-03T09:20"),
        *prepare(7, "理学王老师", d2),
        Step("R8：5 月 6 日截止后不能再提交", ["advance", "7", "submit", "--data", "attest=true"], "2024-05-07T09:00", "理学王老师", 1),
        Step(
            "党委组织部为申报 7 延期", ["extend", "7", "--until", "2024-05-09", "--reason", "盖章流程延误，经批准补报"], "2024-05-07T10:00"
        ),
        Step("延期后补报成功", ["advance", "7", "submit", "--data", "attest=true"], "2024-05-08T09:00", "理学王老师"),
        Step("初审（R9）：申报 1 通过", ["advance", "1", "pass_review"], "2024-05-10T10:00"),
        Step(
            "初审：申报 2 退回修改，给出新的截止日期",
            ["advance", "2", "return", "--data", "until=2024-05-14", "--comment", "进度安排不够具体"],
            "2024-05-10T10:00",
        ),
        Step("党支部用户不能做初审", ["advance", "3", "pass_review"], "2024-05-10T10:00", "文法一支部", 1),
        Step(
            "修改后重新提交申报 2",
            [c, "set", "2", "schedule=2024年5月启动；7月完成调研；9月中期检查；2025年4月验收"],
            "2024-05-12T10:00",
            "文法张老师",
        ),
        Step("重新提交申报 2", ["advance", "2", "submit", "--data", "attest=true"], "2024-05-12T11:00", "文法张老师"),
        Step("初审：申报 2、3、7 通过，申报 4 未通过", ["advance", "2", "pass_review"], "2024-05-15T10:00"),
        Step("", ["advance", "3", "pass_review"], "2024-05-15T10:00"),
        Step("", ["advance", "7", "pass_review"], "2024-05-15T10:00"),
        Step("", ["advance", "4", "reject", "--comment", "特色不突出"], "2024-05-15T10:00"),
        Step(
            "专家组（R13）：再添加四位评审专家（评审专家戊属于文法学院分党委）",
            ["user", "add", "评审专家乙", "--role", "reviewer", "--email", "yi@example.edu.cn"],
            d3,
        ),
        Step("", ["user", "add", "评审专家丙", "--role", "reviewer", "--email", "bing@example.edu.cn"], d3, quiet=True),
        Step("", ["user", "add", "评审专家丁", "--role", "reviewer", "--email", "ding@example.edu.cn"], d3, quiet=True),
        Step("", ["user", "add", "评审专家戊", "--role", "reviewer", "--committee", WENFA, "--email", "wu@example.edu.cn"], d3),
        Step("利益回避：评审专家不能评审本分党委的申报", ["review", "assign", "1", "--reviewer", "评审专家戊"], d3, expect=1),
        Step(
            "把待评审的申报平均分给五位专家，每个申报 3 位，自动回避本分党委",
            ["review", "assign", "--state", "preliminary_review", "--reviewers", ",".join(PANEL), "--per-case", "3"],
            d3,
        ),
        Step("评审专家只看到分配给自己的申报", ["review", "list"], d3, "评审专家甲"),
        Step("评审专家看不到未分配给自己的申报", [c, "show", "7"], d3, "评审专家甲", 1),
        *(score(cid, who, marks, "2024-05-20T10:00", quiet=n > 0) for n, (cid, who, marks) in enumerate(SCORES)),
        Step(
            "评审专家乙修改自己的评分（申报评审前可改，每次都记入审计）",
            ["review", "score", "2", *scores(CHANGED)],
            "2024-05-21T10:00",
            "评审专家乙",
        ),
        Step("R14：评审截止前 7 天，提醒尚未评分的专家（每人一封，列出其未评的申报）", ["remind"], "2024-05-24T09:00"),
        Step(
            "评审汇总表（按专家组评分排序，可导出给党委会）",
            ["review", "summary", "--xlsx", str(folder / "评审汇总表.xlsx")],
            "2024-05-28T09:00",
        ),
        Step(
            "评审：录入专家组评分（申报 7 只有 1 份评分，不足 3 份，被拒绝）",
            ["advance-many", "evaluate", "--state", "preliminary_review"],
            "2024-05-28T10:00",
            expect=1,
        ),
        Step(
            "党委会：哪些申报可以立项（试运行）",
            ["advance-many", "approve", "--state", "evaluated", "--dry-run"],
            "2024-06-03T09:00",
            expect=1,
        ),
        Step("R9：评审未达优秀（90 分）不能立项", ["advance", "2", "approve"], "2024-06-03T10:00", expect=1),
        Step("申报 2 不予立项", ["advance", "2", "decline"], "2024-06-03T10:00"),
        Step(
            "申报 1 立项（--expect-version：确认自己看到的是最新版本）",
            ["advance", "1", "approve", "--expect-version", "10"],
            "2024-06-03T10:00",
        ),
        Step(
            "两人同时操作：看到的版本已过期时拒绝（退出码 4）",
            ["advance", "1", "pass_check", "--expect-version", "10"],
            "2024-06-03T10:05",
            expect=4,
        ),
        Step("", ["advance", "3", "approve"], "2024-06-03T10:00"),
        Step("9 月下旬：哪些支部逾期了？（申报 7 评审未完成）", ["overdue"], "2024-09-25T09:00"),
        Step("跟踪检查（R11）：申报 1 通过", ["advance", "1", "pass_check"], "2024-09-26T10:00"),
        Step("10 月上旬：申报 3 未做跟踪检查，也逾期了", ["overdue"], "2024-10-08T09:00"),
        Step(
            "党委组织部把跟踪检查整体延至 10 月 15 日",
            ["extend", "--state", "approved", "--until", "2024-10-15", "--reason", "国庆假期顺延"],
            "2024-10-08T10:00",
        ),
        Step("延期后的逾期名单", ["overdue"], "2024-10-08T10:05"),
        Step(
            "结项（R12）：党支部提交结项材料",
            ["advance", "1", "submit_results", "--comment", "结项报告及成果汇编"],
            "2025-04-20T10:00",
            "文法一支部",
        ),
        Step("党委组织部验收通过", ["advance", "1", "accept"], "2025-05-20T10:00"),
        Step("申报 1 的全部操作记录（审计）", [c, "history", "1"], "2025-05-20T10:05"),
        Step("各分党委、各状态一览（也可导出 Excel）", ["status", "--xlsx", str(folder / "进度.xlsx")], "2025-05-20T10:05"),
        Step("只看文法学院", ["status", "--committee", WENFA], "2025-05-20T10:05", "文法张老师"),
    ]


def _write_inputs(folder: Path) -> None:
    sample.write_csv(folder / "支部名单.csv", roster_rows())
    bad = [r[:] for r in roster_rows()[:4]]
    bad[1][2], bad[2][5], bad[3][1] = "三十", "也许", ""
    sample.write_csv(folder / "有错的名单.csv", bad)
    (folder / "申报表.docx").write_bytes(b"PK\x03\x04 demo form")
    (folder / "盖章扫描件.pdf").write_bytes(b"%PDF-1.4 demo stamped scan")


# What each exit code means (the README's 退出码 table), said after a step the demo expects to be refused.
REFUSALS = {
    1: "按通知的规则或权限被拒绝",
    2: "输入有误（用法、文件或数据格式）",
    3: "找不到要操作的对象",
    4: "版本冲突：申报已被他人修改，须重新查看后再操作",
}


class DemoFailed(BranchflowError):
    """A step did not behave as the notice says."""


def run(runner: Runner, keep: str | None, echo: Echo) -> None:
    """Run the season; `runner` executes one CLI argv and returns its exit code."""
    with tempfile.TemporaryDirectory(prefix="branchflow-demo-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        _write_inputs(folder)
        echo(f"演示数据库：{db}（{'保留' if keep else '演示结束后删除'}）\n")
        for step in season(folder):
            argv = ["--db", str(db), "--now", step.now, "--as", step.user, *step.args]
            if step.say:
                echo(f"\n# {step.say}" if not step.quiet else step.say)
            shown = " ".join(
                shlex.quote(a) for a in ["--now", step.now, *(["--as", step.user] if step.user != "admin" else []), *step.args]
            )
            if not step.quiet:
                echo(f"$ branchflow {shown.replace(str(folder) + '/', '')}")
            code = runner(argv, step.quiet)
            if code != step.expect:
                raise DemoFailed(f"演示步骤结果不符：{shown}（退出码 {code}，应为 {step.expect}）")
            if code:
                echo(f"（退出码 {code}：{REFUSALS.get(code, '操作未完成')}，未做任何修改）")
        echo("\n演示完成：2024 年度的全过程，每条规则都按通知执行。")
