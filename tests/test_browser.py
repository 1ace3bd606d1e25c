"""Whole flows in a real browser: Playwright for Python driving Debian's chromium against `branchflow serve`.

Elements are found by their visible Chinese labels and roles, never by CSS paths. Screenshots go to
tests/screenshots/ (ignored by git). Without a browser these tests skip (tests/browser_status.py says why);
with CI=true they fail instead.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Bf, ready_case
from helpers import seed_roster_and_users

from cli import cli
from workflow import roster

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BRANCHFLOW_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "tests" / "screenshots"
NOW = "2024-05-02T09:00"
PASSWORDS = {"wenfa": "Wenfa-Pass-2024", "zzb": "Zzb-Pass-2024"}


def _why_not() -> str | None:
    if os.environ.get("BRANCHFLOW_TEST_BROWSER") == "0":
        return "disabled by BRANCHFLOW_TEST_BROWSER=0"
    if not os.path.exists(CHROMIUM):
        return f"no browser at {CHROMIUM} (tests/browser_status.py installs Debian's chromium when run as root)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed"
    return None


WHY = _why_not()
if WHY and os.environ.get("CI") == "true" and os.environ.get("BRANCHFLOW_TEST_BROWSER") != "0":
    raise RuntimeError(f"browser tests cannot run with CI=true: {WHY}")
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")


class Cli:
    """`branchflow` in a process of its own, as a person at a terminal beside the server would run it."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url, self.env = url, env

    def run(self, *args: str, user: str = "admin") -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(ROOT / "cli.py"), "--db", self.url, "--now", NOW, "--as", user, *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def ok(self, *args: str, user: str = "admin") -> str:
        done = self.run(*args, user=user)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str, user: str = "admin") -> Any:
        import json

        return json.loads(self.ok("--json", *args, user=user))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Cli]]:
    """A seeded SQLite database served by a real `branchflow serve` process at a simulated date."""
    folder = tmp_path_factory.mktemp("browser")
    b = Bf(f"sqlite:///{folder / 'bf.db'}", folder, NOW)
    env = {**os.environ, "BRANCHFLOW_FILES": str(folder / "files")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BRANCHFLOW_FILES", str(folder / "files"))
        seed_roster_and_users(b)
        for name, password in PASSWORDS.items():
            result = CliRunner().invoke(cli, ["--db", b.url, "user", "password", name], input=password + "\n")
            assert result.exit_code == 0, result.output
    port = free_port()
    argv = [sys.executable, str(ROOT / "cli.py"), "--db", b.url, "--now", NOW, "serve", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(base + "/login", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.terminate()
        raise AssertionError(f"serve did not start: {proc.communicate(timeout=10)[0]}")
    yield base, Cli(b.url, env)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], env={**os.environ, "LANG": "C.UTF-8"})
        yield b
        b.close()


def log_in(browser: Any, base: str, name: str, **context: Any) -> Any:
    page = browser.new_context(locale="zh-CN", accept_downloads=True, **context).new_page()
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORDS[name])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/")
    return page


def test_login_says_one_thing_for_a_wrong_password_and_shows_the_simulated_clock(server: tuple[str, Cli], browser: Any) -> None:
    base, _ = server
    page = browser.new_page()
    page.goto(base + "/cases")
    assert "/login" in page.url
    page.get_by_label("用户名").fill("wenfa")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误。"
    page.get_by_label("密码").fill(PASSWORDS["wenfa"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(base + "/cases")
    assert "模拟时间 2024-05-02 09:00" in page.get_by_role("status").first.inner_text()
    page.screenshot(path=str(SHOTS / "login-then-list.png"), full_page=True)
    page.close()


def test_a_committees_whole_submission_then_org_returns_it_and_passes_it(server: tuple[str, Cli], browser: Any) -> None:
    base, b = server
    page = log_in(browser, base, "wenfa")
    page.get_by_role("link", name="新建申报").click()
    page.get_by_label("支部").select_option(label="文法学院第1学生党支部")
    page.get_by_label("项目名称").fill("党建+法律援助进社区")
    page.get_by_label("创建方向", exact=True).select_option(label="服务社会或师生")
    page.get_by_role("button", name="创建草稿").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    case_id = page.url.rsplit("/", 1)[1]
    plan = {
        "预期成果": "形成一套法律援助工作法",
        "进度安排": "5月启动，9月中期，次年4月总结",
        "特色与创新点": "师生党员结对进社区",
        "交流推广方案": "校内交流会与公众号",
        "纪律处分条例学习活动": "《中国共产党纪律处分条例》专题读书班",
    }
    for label, text in plan.items():
        page.get_by_label(label).fill(text)
    page.get_by_role("button", name="保存方案").click()
    for kind, name, content in (("申报表电子版", "申报表（文法学院）.docx", b"PK\x03\x04 docx"), ("盖章扫描件", "盖章扫描件.pdf", b"%PDF-1.4")):
        page.get_by_label("附件类型").select_option(label=kind)
        page.get_by_label("文件").set_input_files({"name": name, "mimeType": "application/octet-stream", "buffer": content})
        page.get_by_role("button", name="上传").click()
        page.get_by_role("link", name=name).wait_for()
    page.get_by_text("提交申报 → 已申报，待初审").click()
    page.get_by_label("分党委确认支部具备基本条件且材料真实、准确、可行").check()
    page.get_by_role("button", name="提交申报").click()
    page.get_by_role("definition").get_by_text("已申报，待初审", exact=True).wait_for()
    page.screenshot(path=str(SHOTS / "case-submitted.png"), full_page=True)
    shown = b.json("case", "show", case_id)
    assert shown["state"] == "submitted"

    org = log_in(browser, base, "zzb")
    org.goto(f"{base}/cases/{case_id}")
    org.get_by_text("退回修改 → 草稿（申报材料准备）").click()
    org.get_by_label("修改后重新提交的截止日期").fill("2024-05-10")
    org.locator("details", has_text="退回修改").get_by_label("说明").fill("请补充进度安排的时间节点")
    org.get_by_role("button", name="退回修改").click()
    org.get_by_role("definition").get_by_text("草稿（申报材料准备）", exact=True).wait_for()
    assert "请补充进度安排的时间节点" in org.content()
    org.screenshot(path=str(SHOTS / "case-returned.png"), full_page=True)
    b.ok("advance", case_id, "submit", "--data", "attest=true", user="wenfa")
    org.goto(f"{base}/cases/{case_id}")
    org.get_by_text("初审通过 → 初审通过，待评审").click()
    org.get_by_role("button", name="初审通过").click()
    org.get_by_role("definition").get_by_text("初审通过，待评审", exact=True).wait_for()
    org.screenshot(path=str(SHOTS / "case-after-review.png"), full_page=True)
    history = b.json("case", "history", case_id)
    assert [h["trigger"] for h in history if h["source"] != h["dest"]][-3:] == ["return", "submit", "pass_review"]
    page.close()
    org.close()


def test_the_board_the_excel_export_and_the_todo_page_at_phone_width(server: tuple[str, Cli], browser: Any) -> None:
    base, _ = server
    org = log_in(browser, base, "zzb")
    org.get_by_role("link", name="看板").click()
    assert org.get_by_role("heading", name="组织部看板").is_visible()
    org.screenshot(path=str(SHOTS / "board.png"), full_page=True)
    org.goto(base + "/cases")
    with org.expect_download() as info:
        org.get_by_role("link", name="导出 Excel").click()
    download = info.value
    assert download.suggested_filename == "申报.xlsx"
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert sheet is not None and next(sheet.iter_rows(values_only=True))[:2] == ("编号", "支部")
    phone = log_in(browser, base, "wenfa", viewport={"width": 375, "height": 812}, is_mobile=True)
    assert phone.get_by_role("heading", name="待办").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(SHOTS / "todo-phone.png"), full_page=True)
    phone.goto(base + "/cases")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(SHOTS / "cases-phone.png"), full_page=True)
    org.close()
    phone.close()


# ---- 批量操作 and 导入 -------------------------------------------------------------------------------


@pytest.fixture
def here(server: tuple[str, Cli], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
    """The served database through the in-process CLI (fast set-up of cases; the server sees every change at once)."""
    monkeypatch.setenv("BRANCHFLOW_FILES", server[1].env["BRANCHFLOW_FILES"])
    return Bf(server[1].url, tmp_path, NOW)


def submitted(b: Bf, branch: str, user: str) -> int:
    cid = ready_case(b, branch, user)
    b.ok("advance", str(cid), "submit", "--data", "attest=true", user=user)
    return cid


def changes(b: Bf, case_id: int) -> list[dict[str, Any]]:
    """A case's history rows that moved it (its own rows, newest last)."""
    return [h for h in b.json("case", "history", str(case_id)) if h["trigger"] not in ("create", "set", "attach")]


def row_of(page: Any, case_id: int) -> Any:
    """The table row that links to the case."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=str(case_id), exact=True))


def test_bulk_approval_previews_each_verdict_writes_nothing_then_gives_each_case_its_own_row(
    server: tuple[str, Cli], browser: Any, here: Bf
) -> None:
    base, _ = server
    first = submitted(here, "外国语学院第3教工党支部", "waiguo")
    second = submitted(here, "艺术学院第1学生党支部", "yishu")
    draft = ready_case(here, "文法学院第2教工党支部", "wenfa")  # not submitted: 初审通过 cannot apply to it
    before = {cid: changes(here, cid) for cid in (first, second, draft)}
    org = log_in(browser, base, "zzb")
    org.get_by_role("link", name="申报", exact=True).click()
    for cid in (first, second, draft):
        org.get_by_label(f"选择申报 {cid}", exact=True).check()
    org.get_by_label("操作").select_option(label="初审通过")
    org.get_by_role("button", name="预览").click()
    org.get_by_role("heading", name="批量操作：初审通过").wait_for()
    assert "预览：以下是每个申报的判断结果，尚未写入任何数据。" in org.get_by_text("预览：").inner_text()
    assert "可以执行 2 个，拒绝 1 个。" in org.content()
    assert "可以执行" in row_of(org, first).inner_text() and "可以执行" in row_of(org, second).inner_text()
    refused = row_of(org, draft).inner_text()
    assert "当前状态为“草稿（申报材料准备）”，不能执行“初审通过”" in refused, refused
    org.screenshot(path=str(SHOTS / "bulk-preview.png"), full_page=True)
    assert {cid: changes(here, cid) for cid in before} == before  # the preview wrote nothing
    assert {here.json("case", "show", str(cid))["state"] for cid in (first, second)} == {"submitted"}

    org.get_by_label("说明").fill("材料齐全，集中初审通过")
    org.get_by_role("button", name="确认执行").click()
    org.get_by_text("已执行：每个申报都有自己的操作记录和提醒。").wait_for()
    assert "已完成 2 个，拒绝 0 个。" in org.content()
    for cid in (first, second):
        assert "已完成" in row_of(org, cid).inner_text()
    org.screenshot(path=str(SHOTS / "bulk-done.png"), full_page=True)
    for cid in (first, second):
        rows = changes(here, cid)
        assert rows[:-1] == before[cid]  # exactly one new row per case, its own
        assert {k: rows[-1][k] for k in ("trigger", "actor", "comment", "dest")} == {
            "trigger": "pass_review",
            "actor": "zzb",
            "comment": "材料齐全，集中初审通过",
            "dest": "preliminary_review",
        }
    assert changes(here, draft) == before[draft] and here.json("case", "show", str(draft))["state"] == "draft"
    org.close()


def test_a_bulk_decision_that_ends_cases_needs_a_comment_and_a_second_confirmation_in_the_browser(
    server: tuple[str, Cli], browser: Any, here: Bf
) -> None:
    base, _ = server
    here.ok("user", "add", "jianzhu", "--role", "committee", "--committee", "建筑学院分党委")
    ids = [submitted(here, branch, "jianzhu") for branch in ("建筑学院第1学生党支部", "建筑学院第2教工党支部")]
    org = log_in(browser, base, "zzb")
    org.goto(base + "/cases?committee=建筑学院分党委")
    for cid in ids:
        org.get_by_label(f"选择申报 {cid}", exact=True).check()
    org.get_by_label("操作").select_option(label="初审不通过")
    org.get_by_role("button", name="预览").click()
    org.get_by_role("heading", name="批量操作：初审不通过").wait_for()
    comment, confirm = org.get_by_label("说明（必填：该操作会结束申报）"), org.get_by_label("我确认结束这些申报")
    run = org.get_by_role("button", name="确认执行")
    run.click()  # no comment: the browser does not send the form
    assert comment.evaluate("e => e.validity.valueMissing") and "/bulk/preview" in org.url
    comment.fill("不符合申报基本条件")
    run.click()  # a comment but no second confirmation: still not sent
    assert confirm.evaluate("e => e.validity.valueMissing") and "/bulk/preview" in org.url
    org.screenshot(path=str(SHOTS / "bulk-ending-needs-confirmation.png"), full_page=True)
    assert {here.json("case", "show", str(cid))["state"] for cid in ids} == {"submitted"}
    confirm.check()
    run.click()
    org.get_by_text("已执行：每个申报都有自己的操作记录和提醒。").wait_for()
    assert "已完成 2 个，拒绝 0 个。" in org.content()
    for cid in ids:
        assert here.json("case", "show", str(cid))["state"] == "rejected"
        last = changes(here, cid)[-1]
        assert (last["trigger"], last["comment"], last["actor"]) == ("reject", "不符合申报基本条件", "zzb")
    org.close()


def roster_csv(*rows: list[str]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows([["2024年各分党委支部名单"], list(roster.HEADERS), *rows])
    return out.getvalue().encode("gbk")


def test_the_import_page_names_each_bad_row_imports_nothing_then_imports_a_good_file(
    server: tuple[str, Cli], browser: Any, here: Bf
) -> None:
    base, _ = server
    good = ["文法学院分党委", "文法学院第98教工党支部", "18", "孙老师", "sun@example.edu.cn", "否", "否", ""]
    bad = ["文法学院分党委", "文法学院第99教工党支部", "很多", "李老师", "li@example.edu.cn", "否", "否", ""]
    branches = {b["name"] for b in here.json("branch", "list")}
    org = log_in(browser, base, "zzb")
    org.get_by_role("link", name="导入", exact=True).click()
    org.get_by_role("heading", name="导入", exact=True).wait_for()
    sheet = {"name": "支部名单.csv", "mimeType": "text/csv", "buffer": roster_csv(good, bad)}
    org.get_by_label("名单文件").set_input_files(sheet)
    org.get_by_role("button", name="导入支部名单").click()
    alert = org.get_by_role("alert")
    assert "未导入任何数据" in alert.inner_text(), alert.inner_text()
    assert org.get_by_role("listitem").filter(has_text="第 4 行：党员人数应是非负整数，实际是“很多”").count() == 1
    org.screenshot(path=str(SHOTS / "import-bad-row.png"), full_page=True)
    assert {b["name"] for b in here.json("branch", "list")} == branches  # not even the good row

    org.get_by_label("名单文件").set_input_files({**sheet, "buffer": roster_csv(good)})
    org.get_by_role("button", name="导入支部名单").click()
    org.get_by_role("status").filter(has_text="已导入 1 行").wait_for()
    assert org.get_by_role("alert").count() == 0
    org.screenshot(path=str(SHOTS / "import-done.png"), full_page=True)
    assert {b["name"] for b in here.json("branch", "list")} == branches | {"文法学院第98教工党支部"}
    org.close()


# ---- 评审 ------------------------------------------------------------------------------------------


def test_a_reviewer_scores_on_a_phone_and_org_ranks_and_exports_the_summary(server: tuple[str, Cli], browser: Any, here: Bf) -> None:
    base, _ = server
    cid = submitted(here, "理学院第1学生党支部", "zzb")
    here.ok("advance", str(cid), "pass_review", user="zzb")
    here.ok("review", "assign", str(cid), "--reviewer", "expert", user="zzb")
    done = CliRunner().invoke(cli, ["--db", here.url, "user", "password", "expert"], input="Expert-Pass-2024\n")
    assert done.exit_code == 0, done.output
    phone = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812}, is_mobile=True).new_page()
    phone.goto(base + "/login")
    phone.get_by_label("用户名").fill("expert")
    phone.get_by_label("密码").fill("Expert-Pass-2024")
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(base + "/")
    phone.get_by_role("link", name="评审", exact=True).click()
    phone.get_by_role("heading", name="我的评审任务").wait_for()
    phone.get_by_text("评分", exact=True).click()
    for label, weight, value in (("聚焦主题", 15, 95), ("凝炼特色", 15, 92), ("提升质量", 15, 94), ("突出成效", 15, 93)):
        phone.get_by_label(f"{label}（0–100 分，权重 {weight}）").fill(str(value))
    for label, weight in (("注重过程", 15), ("推广经验", 15), ("放眼长远", 10)):
        phone.get_by_label(f"{label}（0–100 分，权重 {weight}）").fill("90")
    phone.get_by_label("评审意见").fill("特色鲜明，过程扎实")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.screenshot(path=str(SHOTS / "review-phone.png"), full_page=True)
    phone.get_by_role("button", name="提交评分").click()
    notice = phone.get_by_role("status").filter(has_text="已提交申报")
    assert notice.inner_text() == f"已提交申报 {cid}（理学院第1学生党支部）的评分，总分 92.1。"
    phone.close()
    (mine,) = here.json("review", "list", "--reviewer", "expert", user="zzb")
    assert (mine["id"], mine["submitted"], mine["total"]) == (cid, True, 92.1)

    org = log_in(browser, base, "zzb")
    org.get_by_role("link", name="评审", exact=True).click()
    org.get_by_role("heading", name="分配评审专家").wait_for()
    org.get_by_role("link", name="评审汇总表").click()
    row = org.get_by_role("row").filter(has=org.get_by_role("link", name="理学院第1学生党支部"))
    assert "92.1" in row.inner_text()
    with org.expect_download() as info:
        org.get_by_role("link", name="导出 Excel").click()
    assert info.value.suggested_filename == "评审汇总表.xlsx"
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("名次", "编号", "支部", "分党委")
    assert [r[:3] for r in rows[1:] if r[1] == cid] == [(1, cid, "理学院第1学生党支部")]
    org.close()
