"""`make web`: the demo's 2024 season up to a day in May, its users with passwords printed, served on 127.0.0.1:8000.

A newcomer clicks through the web application in two commands (`make web`, then a browser); the clock is
simulated (模拟时间) so that the deadlines on the pages are those of the season.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click

from demo import season

FOLDER = Path("demo-web")
UNTIL = "2024-05-10T09:00"  # the steps up to here run; the server then shows this moment
USERS = ["admin", "文法张老师", "外语李老师", "理学王老师", "文法一支部", "评审专家甲"]


def main() -> None:
    """Build the database (again) in ./demo-web and serve it."""
    import cli

    FOLDER.mkdir(exist_ok=True)
    db = FOLDER / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    season._write_inputs(FOLDER)
    for step in season.season(FOLDER):
        if step.now > UNTIL:
            continue
        code = cli._run_step(["--db", str(db), "--now", step.now, "--as", step.user, *step.args], True)
        if code != step.expect:
            sys.exit(f"演示数据未能建立：{' '.join(step.args)}（退出码 {code}）")
    click.echo(f"演示数据库：{db}（2024 年度，截至 {UNTIL}）\n")
    click.echo("用户名" + " " * 10 + "密码")
    for name in USERS:
        password = "bf-" + secrets.token_urlsafe(6)
        sys.stdin = _Line(password)
        if cli._run_step(["--db", str(db), "user", "password", name], True) != 0:
            continue  # a user the season did not add
        width = sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in name)
        click.echo(name + " " * (16 - width) + password)
    sys.stdin = sys.__stdin__
    click.echo("\n在浏览器中打开 http://127.0.0.1:8000/ 登录；Ctrl-C 结束。")
    cli.cli.main(args=["--db", str(db), "--now", UNTIL, "serve", "--port", "8000"], prog_name="branchflow")


class _Line:
    """Standard input holding one line (the password), as a pipe would."""

    def __init__(self, line: str) -> None:
        self.line = line + "\n"

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        line, self.line = self.line, ""
        return line


if __name__ == "__main__":
    main()
