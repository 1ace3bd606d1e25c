"""`make demo` is also a check: every step of the 2024 season must behave as the notice says."""

from click.testing import CliRunner

from cli import cli


def test_demo_runs_the_whole_2024_season(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--keep", str(tmp_path / "demo")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "演示完成" in result.output
    assert (tmp_path / "demo" / "进度.xlsx").is_file()
    assert "R4 样板支部" in result.output and "R9 评审优秀" in result.output
    # each refusal says what kind it is (issue 8 item 18): exit 2 is bad input, exit 4 a version conflict
    assert "（退出码 2：输入有误" in result.output and "（退出码 4：版本冲突" in result.output
    assert "（退出码 1：按通知的规则或权限被拒绝" in result.output
    assert "（退出码 2：按通知" not in result.output and "（退出码 4：按通知" not in result.output
