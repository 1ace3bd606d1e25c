"""The command line speaks Chinese in its own words too (issue 8 items 8 and 16): click's usage errors and help
chrome, global options after the command, and a reader that goes away (`| head -1`) is no error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _usage(*argv: str) -> str:
    result = CliRunner().invoke(cli, list(argv))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    return lines[0]


def test_a_mistyped_command_is_answered_in_chinese_with_the_closest_name() -> None:
    assert _usage("stauts") == "用法错误：没有命令 stauts，您是否要输入 status？请运行 branchflow --help 查看用法。"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("case", "new", "--title", "x", "--theme", "其他"), "用法错误：缺少选项 --branch。请运行 branchflow case new --help 查看用法。"),
        (("advance",), "用法错误：缺少参数 CASE_ID。请运行 branchflow advance --help 查看用法。"),
        (("status", "--frob"), "用法错误：没有选项 --frob。请运行 branchflow status --help 查看用法。"),
        (
            ("case", "attach", "1", "README.md", "--kind", "photo"),
            "用法错误：--kind 的值无效：photo 不是以下之一：form, stamped_scan。请运行 branchflow case attach --help 查看用法。",
        ),
    ],
)
def test_missing_argument_no_such_option_and_invalid_value_are_chinese(argv: tuple[str, ...], expected: str) -> None:
    assert _usage(*argv) == expected


def test_the_help_chrome_is_chinese() -> None:
    result = CliRunner().invoke(cli, ["case", "new", "--help"])
    assert result.exit_code == 0
    text = result.output
    for word in ("用法：", "选项", "显示本帮助并退出。", "[必填]"):
        assert word in text
    for english in ("Usage:", "Options:", "Show this message and exit.", "[required]"):
        assert english not in text
    top = CliRunner().invoke(cli, ["--help"]).output
    assert "命令" in top and "Commands:" not in top and "[默认：admin]" in top


def test_global_options_work_after_the_command_too(tmp_path: Path) -> None:
    db = str(tmp_path / "bf.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", db, "--now", "2024-04-25T09:00", "init", "--campaign", "2024"]).exit_code == 0
    before = runner.invoke(cli, ["--db", db, "--now", "2024-05-01T09:00", "--json", "status"])
    after = runner.invoke(cli, ["status", "--json", "--db", db, "--now=2024-05-01T09:00"])
    assert before.exit_code == after.exit_code == 0
    assert json.loads(after.stdout) == json.loads(before.stdout)
    # an option a command declares itself under the same name is the command's (db copy --to is not global,
    # and nothing after `--` is touched)
    assert runner.invoke(cli, ["--db", db, "user", "list", "--as", "admin"]).exit_code == 0


def test_a_reader_that_goes_away_ends_the_command_quietly_with_exit_0(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "cli.py", "--help"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the first write finds the pipe closed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""
