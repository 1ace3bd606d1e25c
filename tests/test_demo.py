"""`make demo` is also a check: every step of the 2024 season must behave as the notice says."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import cli


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """The demo run once for this module's tests, its folder kept."""
    folder = tmp_path_factory.mktemp("demo")
    return CliRunner().invoke(cli, ["demo", "--keep", str(folder / "demo")], catch_exceptions=False), folder


def test_demo_runs_the_whole_2024_season(season: tuple[Result, Path]) -> None:
    result, tmp_path = season
    assert result.exit_code == 0, result.output
    assert "演示完成" in result.output
    assert (tmp_path / "demo" / "进度.xlsx").is_file()
    assert "R4 样板支部" in result.output and "R9 评审优秀" in result.output
    # each refusal says what kind it is (issue 8 item 18): exit 2 is bad input, exit 4 a version conflict
    assert "（退出码 2：输入有误" in result.output and "（退出码 4：版本冲突" in result.output
    assert "（退出码 1：按通知的规则或权限被拒绝" in result.output
    assert "（退出码 2：按通知" not in result.output and "（退出码 4：按通知" not in result.output


def _block(output: str, heading: str) -> list[str]:
    """The lines a step printed: after its `# heading` and `$ command` lines, up to the next step."""
    lines = output.split(f"# {heading}", 1)[1].splitlines()[2:]
    return lines[: next((i for i, line in enumerate(lines) if not line.strip() or line.startswith("#")), len(lines))]


def test_the_demos_audit_table_and_outbox_speak_in_chinese_labels(season: tuple[Result, Path]) -> None:
    output = season[0].output
    outbox = _block(output, "发件箱：每条提醒的发送状态")
    assert outbox[0].split()[:4] == ["编号", "申报", "阶段", "提醒"]
    assert "草稿（申报材料准备）  截止前 7 天" in outbox[1] and "控制台  已发送" in outbox[1]
    history = _block(output, "申报 1 的全部操作记录（审计）")
    rows = [re.split(r"\s{2,}", line.strip()) for line in history[1:]]
    operations = [r[3] for r in rows]  # time, operator, role, operation (代为 is empty throughout)
    assert {"新建申报", "提交申报", "初审通过", "分配评审专家", "专家评分", "录入评审结果", "评审优秀，予以立项", "结项验收通过"} <= set(operations)
    assert all(r[2] in ("党委组织部", "分党委", "党支部", "评审专家") for r in rows)
    assert "已申报，待初审" in history[5] and "各项评分=聚焦主题 95、凝炼特色 92" in output
    ids = re.compile(r"\b(org|committee|branch|reviewer|submit|pass_review|review_score|draft|submitted|pending|sent|7d)\b")
    assert not [line for line in outbox + history if ids.search(line)]
