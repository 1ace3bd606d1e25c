"""branchflow — the command line over the `workflow` library (thin: parse, call, render)."""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from workflow import BranchflowError, Workspace

EXIT_INTERNAL = 70

# click's own words (usage errors and the help chrome), in Chinese. click looks each message up through
# gettext; we give it this table instead of a compiled catalogue (a message not listed stays as click wrote it).
ZH_CLICK = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "位置参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "deprecated": "已弃用",
    "(dynamic)": "（动态）",
    "Aborted!": "已取消。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "请运行 {command} {option} 查看用法。",
    "No such command {name!r}.": "没有命令 {name}",
    "No such option {name!r}.": "没有选项 {name}",
    "Did you mean {possibility}?": "您是否要输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（您是否要输入其中之一：{possibilities}？）",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name} 不接受值",
    "Option {name!r} requires an argument.": "选项 {name} 需要一个值",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 需要 {nargs} 个值",
    "Got unexpected extra argument ({args})": "多余的参数：{args}",
    "Got unexpected extra arguments ({args})": "多余的参数：{args}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}",
    "{value!r} is not one of {choices}.": "{value!r} 不是以下之一：{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内",
    "integer": "整数",
    "float": "数字",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是一个文件夹",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是一个文件",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
}


def _zh(message: str) -> str:
    return ZH_CLICK.get(message, message)


def _zh_n(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


def _speak_chinese() -> None:
    """Point click's message look-ups (each of its modules binds gettext's `_`/`ngettext`) at ZH_CLICK."""
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.termui
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui, click.types):
        if hasattr(module, "_"):
            module._ = _zh  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _zh_n  # type: ignore[attr-defined]
    click.types.INT.name = click.types.IntRange.name = "整数"
    click.types.FLOAT.name = click.types.FloatRange.name = "数字"


def usage_message(exc: click.UsageError) -> str:
    """click's usage error as one Chinese line: `用法错误：没有命令 stauts，您是否要输入 status？请运行 … --help 查看用法。`"""
    # click quotes names it prints ('status', '--frob', 'CASE_ID'); Chinese text needs no quotes around them
    text = re.sub(r"'(-{0,2}[A-Za-z][\w-]*)'", r"\1", exc.format_message().strip()).rstrip(".。")
    text = text.replace(" 您是否", "，您是否").replace(" （您是否", "（您是否")
    command = exc.ctx.command_path.split(" ", 1)[1] + " " if exc.ctx and " " in exc.ctx.command_path else ""
    return f"用法错误：{text}{'' if text.endswith(('？', '）')) else '。'}请运行 branchflow {command}--help 查看用法。"


_speak_chinese()

# Global options a user may also write after the command (`branchflow status --json`): name -> takes a value.
GLOBAL_OPTIONS = {"--db": True, "--now": True, "--as": True, "--json": False}


def hoist_global_options(args: list[str], commands: Mapping[str, click.Command]) -> list[str]:
    """Move global options that follow the command name in front of it (stopping at `--`).

    An option a sub-command declares itself under the same name stays where it is."""
    first = next((i for i, a in enumerate(args) if a in commands), None)
    if first is None:
        return args
    own: set[str] = set()
    command: Any = commands[args[first]]
    rest = args[first + 1 :]
    if isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest[0]]
    for param in getattr(command, "params", []):
        own.update(getattr(param, "opts", []))
    front, back, i = args[:first], [args[first]], 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            back += rest[i:]
            break
        name, eq, _value = arg.partition("=")
        if name in GLOBAL_OPTIONS and name not in own:
            if GLOBAL_OPTIONS[name] and not eq:
                front += rest[i : i + 2]
                i += 2
                continue
            front.append(arg)
        else:
            back.append(arg)
        i += 1
    return front + back


@dataclass
class Options:
    """The global options, shared by every command."""

    db: str | None
    now_text: str | None
    user: str
    as_json: bool

    @property
    def now(self) -> datetime:
        from workflow import clock

        return clock.parse_now(self.now_text) if self.now_text else clock.real_now()

    def workspace(self) -> Workspace:
        from workflow import workspace

        return workspace.open(self.db, self.user, self.now)


pass_opts = click.make_pass_decorator(Options)


class BranchflowGroup(click.Group):
    """Maps every library error to its one-line Chinese message and exit code, in one place."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        argv = list(kwargs.pop("args", None) or (args[0] if args else None) or sys.argv[1:])
        argv = hoist_global_options(argv, self.commands)
        args = args[1:]
        as_json = "--json" in argv
        try:
            result = self._invoke(argv, *args, **kwargs)
        except click.exceptions.Abort:
            click.echo("已取消。", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except SystemExit as exc:
            # The reader went away (`branchflow status | head -1`): click pacifies stdout and exits 1, the
            # code of a refusal here. What was asked is done; end quietly instead.
            if exc.code == 1 and type(sys.stdout).__name__ == "_PacifyFlushWrapper":
                sys.exit(0)
            raise
        except click.UsageError as exc:
            _fail(usage_message(exc), 2, as_json)
        except click.ClickException as exc:
            _fail(f"错误：{exc.format_message()}", exc.exit_code, as_json)
        except Exception as exc:
            from workflow import BranchflowError

            if isinstance(exc, BranchflowError):
                if as_json:
                    click.echo(json.dumps(error_json(exc), ensure_ascii=False))
                else:
                    for line in error_lines(exc):
                        click.echo(line, err=True)
                sys.exit(exc.code)
            if os.environ.get("BRANCHFLOW_DEBUG"):
                raise
            _fail(f"内部错误，操作未完成（未做任何修改）：请把这条信息发给维护人员。{type(exc).__name__}: {exc}", EXIT_INTERNAL, as_json)
        sys.exit(0 if result is None else result)

    def _invoke(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; its databases are closed when it ends, as when its process would end (the demo and
        the tests run many commands in one process)."""
        try:
            return super().main(*args, **kwargs)
        finally:
            opened = sys.modules.get("workflow.workspace")  # not imported: nothing to close (and `--help` stays quick)
            if opened is not None:
                opened.close_all()


# The library's advice (`BranchflowError.hint`, in the user's words) as this command line words it: what to
# type. {m} is the error's message without its final "。", {v} the value the user gave.
ADVICE: dict[str, str | Callable[[BranchflowError], str]] = {
    "请先初始化数据库（创建年度工作）。": "{m}：请先运行 branchflow init。",
    "请先查看该申报的附件清单。": "{m}：请用 branchflow case files 查看附件。",
    "请检查用户名，或由党委组织部添加该用户。": "{m}：请检查 --as，或由党委组织部用 user add 添加。",
    "请先创建该年度的创建工作。": "{m}：请先运行 branchflow init --campaign {v}。",
    "请先升级数据库结构（数据全部保留）。": "{m}：请先运行 branchflow db upgrade（数据全部保留）。",
    "请检查数据库地址及文件路径和目录权限。": "{m}。请检查 --db / BRANCHFLOW_DB 及文件路径和目录权限。",
    "请检查数据库地址及服务器是否运行、库名、用户和密码。": "{m}。请检查 --db / BRANCHFLOW_DB 及服务器是否运行、库名、用户和密码。",
    "请先初始化数据库，或检查数据库地址和当前目录。": "{m}。请先运行 branchflow init，或检查 --db / BRANCHFLOW_DB 和当前目录。",
    "请检查数据库地址，是否把表格或其他文件当成了数据库。": "{m}：请检查 --db / BRANCHFLOW_DB，是否把表格或其他文件当成了数据库。",
    "请检查数据库地址和目录权限。": "{m}。请检查 --db 和目录权限。",
    "请检查数据库地址和权限。": "{m}。请检查 --db 和权限。",
    "数据库地址应是一个 SQLite 数据库文件。": "{m}：--db 应是一个 SQLite 数据库文件。",
    "请指定另一个数据库作为目标。": "{m}：请用 --to 指定另一个数据库。",
    "请检查源数据库的地址。": "{m}：请检查 --db。",
    "请先升级源数据库的结构。": "{m}：请先对它运行 branchflow db upgrade。",
    "请检查配置文件的路径或 BRANCHFLOW_CONFIG。": "{m}。请检查 --config 或 BRANCHFLOW_CONFIG。",
    "请在发送失败的提醒中查看编号。": "{m}：请用 branchflow outbox --status failed 查看。",
    "请填写分党委名称。": "分党委用户须指定 --committee（分党委名称）。",
    "请填写支部名称。": "党支部用户须指定 --branch（支部名称）。",
    "请不填分党委，或改正名称。": "{m}：请去掉 --committee 或改正名称。",
    "请不填支部（可以填写所在分党委）。": "评审专家不属于某个支部：请去掉 --branch（可用 --committee 指明所在分党委）。",
    "请指定至少一位评审专家。": "请用 --reviewer 指定至少一位评审专家。",
    "请列出评审专家（用逗号分隔）。": "请用 --reviewers 列出评审专家，如 --reviewers 专家甲,专家乙,专家丙。",
    "请检查评审专家的用户名，或先添加这位评审专家。": "{m}：请检查评审专家的用户名，或先用 user add {v} --role reviewer 添加。",
    "请查看分配给这位评审专家的申报。": "{m}：请用 review list --reviewer {v} 查看。",
    "请改正每个申报的评审专家人数。": "{m}：请改正 --per-case。",
    "请在评审任务中查看分配给您的申报。": "{m}（review list 可查看）。",
    "请为缺少的评审指标打分。": lambda e: e.message + "请加 " + " ".join(f"--score {c}=…" for c in e.value or []) + "。",
    "请不填分党委和支部。": "{m}：请去掉 --committee / --branch。",
    "请写明原因。": "请用 --reason 写明原因（会记入审计记录）。",
    "请写明更正的理由。": "{m}：请用 --comment 写明更正的理由。",
    "请先导入支部名单，或在支部名单中查看名称。": "{m}：请先导入支部名单（roster import），或用 branch list 查看名称。",
    "请填写项目名称。": "{m}：请用 --title 填写。",
    "请不指定编码，让程序自动识别。": "{m}：请去掉 --encoding 让程序自动识别。",
    "请在 Excel 中另存为“CSV UTF-8”，或指定文件的编码。": "{m}：请在 Excel 中另存为“CSV UTF-8”，或用 --encoding 指定编码。",
    "请在 Excel 中另存为“CSV UTF-8”，或指定编码。": "{m}：请在 Excel 中另存为“CSV UTF-8”，或用 --encoding 指定。",
    "请在申报列表中查看申报编号。": "{m}：请用 branchflow status 查看申报编号。",
    "请检查分党委名称（见支部名单）。": "{m}：请检查名称（branch list 可查看）。",
    "请给出申报编号，或指定阶段（二者选一）。": "请给出申报编号，或用 --state 指定阶段（二者选一）。",
    "请指定一个状态，或列出申报编号（二者选一）。": "请用 --state 指定一个状态，或用 --ids 列出申报编号（二者选一）。",
    "按编号选择时请不填年度。": "--campaign 只用于 --state；用 --ids 时请去掉 --campaign。",
    "请写出用逗号分隔的申报编号，如 1,2,3。": lambda e: f"--ids 的格式应是用逗号分隔的申报编号，如 1,2,3；{e.value!r} 不是编号。",
    "请写出申报编号，如 1,2,3。": "--ids 没有给出任何申报编号：请写成 --ids 1,2,3。",
    "可以查看该申报的方案和附件。": lambda e: e.message.replace("操作记录（用户 ", "操作记录；用户 ").removesuffix("）。")
    + f" 可用 case show {e.value} 查看方案和附件。",
    "请给出要修改的字段和新内容。": "请给出要修改的字段，例如 case set 3 expected_outcomes=形成一套工作机制。",
    "请同时填写这一输入。": lambda e: f"{e.message.removesuffix('。')}：请加 --data {e.field}=…。",
    "请填写这些输入。": lambda e: e.message
    + "请加 "
    + " ".join(f"--data {name}={'true' if kind == 'bool' else '…'}" for name, kind in dict(e.value or {}).items())
    + "。",
}
# Inputs the library names in words (the error's `field`), as this command line names them: by their option.
INPUT_FLAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "now": (("当前时间的", "--now 的"),),
    "until": (("新的截止时间的", "--until 的"),),
    "reason": (("原因", "原因（--reason）"),),
    "comment": (("评审意见", "评审意见（--comment）"), ("说明", "说明（--comment）")),
    "ids": (("申报编号", "--ids 中的申报编号"),),
    "chunk_size": (("每批申报数", "--chunk-size"),),
    "limit": (("列出数量", "--limit"),),
    "committee": (("不属于指定的", "不属于 --committee 指定的"),),
}
# The rules' reasons end with what to do in the user's words; here, with the command that does it.
REASON_ADVICE = {
    "请等评审专家评分后再录入，或人工填写评审分及理由（score、reason）。": (
        "请等评审专家评分（review score）后再录入，或人工覆盖（--data score=… --data reason=…）。"
    ),
    "（attest）。": "（请加 --data attest=true）。",
    "请党委组织部登记例外。": "请党委组织部登记例外（waive --rule R2）。",
    "请补全后再提交。": "请用 case set 补全后再提交。",
    "请上传后再提交。": "请用 case attach 上传后再提交。",
    "请党委组织部为该申报延期。": "请党委组织部为该申报延期（extend）。",
}


def say(exc: BranchflowError) -> str:
    """The error's line as this command line says it (its hint reworded into what to type)."""
    advice = ADVICE.get(exc.hint) if exc.hint else None
    if advice is None:
        return flagged(exc)
    if callable(advice):
        return advice(exc)
    return advice.format(m=exc.message.removesuffix("。"), v=exc.value)


def flagged(exc: BranchflowError) -> str:
    """The error's line with the input it names in words named by its option (`INPUT_FLAGS`)."""
    text = exc.text
    for words, flag in INPUT_FLAGS.get(exc.field, ()):
        if words in text:
            return text.replace(words, flag, 1)
    return text


def reason(text: str) -> str:
    """A rule's reason with the command that fixes it."""
    for tail, words in REASON_ADVICE.items():
        if text.endswith(tail):
            return text[: -len(tail)] + words
    return text


def error_lines(exc: BranchflowError) -> list[str]:
    """The error's line and one line per problem, as printed on stderr."""
    return [say(exc), *map(reason, exc.details)]


def error_json(exc: BranchflowError) -> dict[str, Any]:
    """The error document `--json` prints."""
    doc = exc.as_json(say(exc))
    if exc.details:
        doc["details"] = [reason(d) for d in exc.details]
    return doc


def _fail(message: str, code: int, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": message, "code": code}, ensure_ascii=False))
    else:
        click.echo(message, err=True)
    sys.exit(code)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any, limit: int = 60) -> str:
    from workflow import present

    return present.cell(value, limit)


def table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> None:
    """Print rows as an aligned table with Chinese headers."""
    if not rows:
        click.echo("（无）")
        return
    cells = [[_cell(r.get(k)) for k in columns] for r in rows]
    heads = list(columns.values())
    widths = [max(_width(h), *(_width(c[i]) for c in cells)) for i, h in enumerate(heads)]
    for line in [heads, *cells]:
        click.echo("  ".join(c + " " * (w - _width(c)) for c, w in zip(line, widths, strict=True)).rstrip())


def emit(opts: Options, data: Any, human: Callable[[], None]) -> None:
    """JSON for scripts (`--json`), else the human rendering."""
    if opts.as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=_json_default))
    else:
        human()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def parse_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    """KEY=VALUE pairs into a dict, refusing a pair without '='."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            from workflow import UsageError

            raise UsageError(f"{option} 的格式应是 KEY=VALUE，实际是 {pair!r}。")
        out[key.strip()] = value
    return out


def read_input(path: str) -> bytes:
    """The bytes of a file the user names (the library takes bytes and a name, as from an upload)."""
    from workflow import errors

    p = Path(path)
    if not p.is_file():
        raise errors.NotFound(f"找不到文件：{p}。请检查路径。")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise errors.UsageError(f"无法读取文件 {p}：{exc.strerror}。") from None


def write_output(path: str, data: bytes, what: str = "文件") -> None:
    """Write what a command produced to the file the user named."""
    from workflow import errors

    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise errors.UsageError(f"无法写入{what} {path}：{exc.strerror}。") from None


def _export_path(fmt: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        from workflow import export

        if value is not None:
            export.check_path(value, fmt)  # a usage error (exit 2) before any work is done
        return value

    return check


def exports(f: Callable[..., Any]) -> Callable[..., Any]:
    """--xlsx FILE and --csv FILE options (the name must end in .xlsx, .csv)."""
    f = click.option(
        "--csv", "csv_path", type=click.Path(dir_okay=False), callback=_export_path("csv"), help="也写入 CSV 文件（UTF-8 BOM，Excel 可直接打开）。"
    )(f)
    return click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), callback=_export_path("xlsx"), help="也写入 Excel 文件（中文表头）。")(f)


def write_exports(xlsx_path: str | None, csv_path: str | None, sheet: Any) -> None:
    """Write a `present.Sheet` to the files asked for and say so on stderr."""
    from workflow import export

    for path in (xlsx_path, csv_path):
        if path:
            export.write(path, sheet.headers, sheet.rows, sheet.name)
            click.echo(f"已导出 {len(sheet.rows)} 行到 {path}", err=True)


class Whole(click.ParamType):
    """A whole number typed on the command line: ASCII (or full-width) digits within bounds, else exit 2 naming it."""

    name = "integer"

    def __init__(self, what: str, low: int = 0, high: int | None = None) -> None:
        self.what, self.low, self.high = what, low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from workflow import UsageError, values

        high = values.MAX_INT if self.high is None else self.high
        try:
            if isinstance(value, int):
                return values.check_int(value, self.what, low=self.low, high=high)
            return values.parse_int(value, self.what, low=self.low, high=high)
        except UsageError as exc:
            raise click.UsageError(exc.message.rstrip("。"), ctx) from None


CASE_ID = Whole("申报编号", low=1)
VERSION = Whole("--expect-version", low=1)
YEAR = Whole("--campaign（年度）", low=2000, high=2100)  # clock.FIRST_YEAR..LAST_YEAR, which the library checks too
LIMIT = Whole("--limit", low=1)
CHUNK = Whole("--chunk-size", low=1)  # the library bounds it (bulk.CHUNK_MAX)

campaign_option = click.option("--campaign", "year", type=YEAR, help="年度（默认：最近创建的年度）。")
view_option = click.option("--campaign", "year", type=YEAR, help="只看该年度（默认：所有还有未结申报的年度，输出中注明是哪几年）。")
ROLE_HELP = "角色：org（党委组织部）、committee（分党委）、branch（党支部）、reviewer（评审专家），id 或中文名均可。"


@click.group(cls=BranchflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="BRANCHFLOW_DB", help="数据库地址或 SQLite 文件（默认 ./branchflow.db）。")
@click.option(
    "--now",
    "now_text",
    envvar="BRANCHFLOW_NOW",
    help="模拟的当前时间，如 2024-09-25 09:00、2024/9/25 或 2024年9月25日（默认真实时钟，Asia/Shanghai）。",
)
@click.option("--as", "user", envvar="BRANCHFLOW_USER", default="admin", show_default=True, help="以哪个用户身份操作。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供脚本使用）。")
@click.version_option(package_name="branchflow")
@click.pass_context
def cli(ctx: click.Context, db: str | None, now_text: str | None, user: str, as_json: bool) -> None:
    """特色支部创建工作流（Branchflow）：申报、初审、评审、立项、跟踪检查、结项。

    Example: branchflow --now 2024-05-01T09:00 status
    """
    ctx.obj = Options(db, now_text, user, as_json)


@cli.command()
@click.option("--states", "states_path", type=click.Path(dir_okay=False), help="states.yaml 路径（默认使用随程序安装的版本）。")
@click.option("--campaign", "year", type=YEAR, help="创建哪一年的创建工作（默认：--now 所在年份）。")
@pass_opts
def init(opts: Options, states_path: str | None, year: int | None) -> None:
    """建库（可重复运行）、载入状态机、创建年度工作和 admin 用户。

    不加 --states 时沿用数据库中正在使用的状态配置（新库用内置的）。加 --states 时逐行列出与现行配置相比的变化；
    已有年度的截止日期改动会像 extend --state 一样作用于该年度（记入审计）；会让已有申报无法推进的配置被拒绝，不做任何修改。

    Example: branchflow --now 2024-04-25 init --campaign 2024
    """
    from workflow import Store, campaigns, present, spec

    loaded = spec.load_file(states_path) if states_path else None
    now = opts.now
    done = campaigns.init(Store(opts.db), loaded, now.year if year is None else year, now, opts.user)
    lines = present.change_lines(done)

    def human() -> None:
        click.echo(f"{'已创建' if done.created else '已存在'}：{done.campaign.label}（{done.campaign.year}）。管理员用户：admin")
        if loaded is not None and not done.compared:
            click.echo(f"已载入状态配置 {done.source}。")
        elif loaded is not None:
            click.echo(f"状态配置 {done.source}：" + (f"{len(lines)} 处变化" if lines else "与现行配置相同，没有变化"))
        for line in lines:
            click.echo(f"  {line}")

    emit(opts, present.initialized(done, loaded is not None), human)


@cli.command("check-states")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_opts
def check_states(opts: Options, path: str) -> None:
    """只检查 states.yaml 是否有效（出错时指出行号）；给了 --db 时还与该库的现行配置比较（演练，不做修改）。

    Example: branchflow check-states states.yaml --db branchflow.db
    """
    from workflow import Store, campaigns, present, spec

    s = spec.load_file(path)
    found = campaigns.check(Store(opts.db) if opts.db else None, s)
    data = present.checked(s, found)

    def human() -> None:
        click.echo(f"{path} 有效：{len(s.states)} 个状态，{len(s.transitions)} 个操作，年度 {', '.join(map(str, sorted(s.calendars)))}。")
        if found is not None:
            changes = data["changes"]
            click.echo(f"与数据库中的现行配置相比：{len(changes)} 处变化" if changes else "与数据库中的现行配置相同，没有变化。")
            for line in changes:
                click.echo(f"  {line}")

    emit(opts, data, human)


@cli.command()
@click.option("--states", "states_path", type=click.Path(dir_okay=False), help="states.yaml 路径（默认：数据库中的或内置的）。")
@pass_opts
def graph(opts: Options, states_path: str | None) -> None:
    """以 Mermaid 文本输出状态图。

    Example: branchflow graph > machine.mmd
    """
    from workflow import Store, diagram, spec, workspace

    s = spec.load_file(states_path) if states_path else workspace.spec_in_force(Store(opts.db)) or spec.parse(spec.packaged_text())
    text = diagram.mermaid(s)
    emit(opts, {"mermaid": text}, lambda: click.echo(text, nl=False))


@cli.group()
def user() -> None:
    """用户管理（仅党委组织部可添加）。

    Example: branchflow user add 张老师 --role committee --committee 文法学院分党委
    """


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, help=ROLE_HELP)
@click.option("--committee", help="分党委名称（committee 用户必填；reviewer 用户可选：所在分党委，评审时回避）。")
@click.option("--branch", help="支部名称（branch 用户）。")
@click.option("--email", default="", help="邮箱（接收提醒）。")
@pass_opts
def user_add(opts: Options, name: str, role: str, committee: str | None, branch: str | None, email: str) -> None:
    """添加用户（仅党委组织部）。

    Example: branchflow user add 张老师 --role committee --committee 文法学院分党委 --email zhang@example.edu.cn
    """
    from workflow import present, users

    u = users.add(opts.workspace(), name, role, committee, branch, email)
    emit(opts, present.user_added(u.name, u.role, u.email), lambda: click.echo(f"已添加用户 {u.name}（{present.role(None, u.role)}，{u.role}）。"))


@user.command("list")
@pass_opts
def user_list(opts: Options) -> None:
    """列出用户。

    Example: branchflow user list
    """
    from workflow import users

    rows = users.listing(opts.workspace())
    emit(
        opts,
        rows,
        lambda: table(
            [{**r, "disabled": "已停用" if r["disabled"] else ""} for r in rows],
            {"name": "用户", "role": "角色", "committee": "分党委", "branch": "支部", "email": "邮箱", "disabled": "状态"},
        ),
    )


def _changed(opts: Options, done: Any, what: str) -> None:
    """Say what a user correction changed (JSON: name, before, after, sessions_ended)."""
    data = {"name": done.name, "before": done.before, "after": done.after, "sessions_ended": done.sessions_ended}
    pairs = "；".join(
        f"{USER_FIELDS.get(k, k)}：{_cell(done.before[k]) or '（空）'} → {_cell(done.after[k]) or '（空）'}" for k in done.after
    )
    ended = f"；结束了 {done.sessions_ended} 个已登录的会话" if done.sessions_ended else ""
    emit(opts, data, lambda: click.echo(f"已{what}用户 {done.name}（{pairs}）{ended}。"))


USER_FIELDS = {"role": "角色", "committee": "分党委", "branch": "支部", "email": "邮箱", "disabled": "停用", "sso_id": "统一身份认证账号"}


@user.command("set")
@click.argument("name")
@click.option("--email", help="新的邮箱（给空字符串则清除）。")
@click.option("--committee", help="新的分党委名称。")
@click.option("--branch", help="新的支部名称（branch 用户）。")
@click.option("--role", help="新的" + ROLE_HELP)
@click.option("--sso-id", "sso_id", help="统一身份认证（CAS）账号或工号，用它登录即为该用户（给空字符串则取消）。")
@click.option("--comment", default="", help="说明（记入审计）。")
@pass_opts
def user_set(
    opts: Options,
    name: str,
    email: str | None,
    committee: str | None,
    branch: str | None,
    role: str | None,
    sso_id: str | None,
    comment: str,
) -> None:
    """更正用户的邮箱、角色、所属单位或统一身份认证账号（仅党委组织部，记入审计；角色、单位或账号改变时该用户的网页登录立即失效）。

    Example: branchflow user set 文法张老师 --email zhang2@example.edu.cn --sso-id 20190001
    """
    from workflow import users

    done = users.update(opts.workspace(), name, email=email, committee=committee, branch=branch, role=role, sso_id=sso_id, comment=comment)
    _changed(opts, done, "更正")


@user.command("disable")
@click.argument("name")
@click.option("--reason", default="", help="原因（记入审计）。")
@pass_opts
def user_disable(opts: Options, name: str, reason: str) -> None:
    """停用用户（仅党委组织部）：不能再操作、登录或使用令牌；历史记录中保留其姓名。

    Example: branchflow user disable 文法张老师 --reason 调离
    """
    from workflow import users

    _changed(opts, users.disable(opts.workspace(), name, reason), "停用")


@user.command("enable")
@click.argument("name")
@click.option("--reason", default="", help="原因（记入审计）。")
@pass_opts
def user_enable(opts: Options, name: str, reason: str) -> None:
    """重新启用停用的用户（仅党委组织部；网页登录需重新设置密码）。

    Example: branchflow user enable 文法张老师
    """
    from workflow import users

    _changed(opts, users.enable(opts.workspace(), name, reason), "启用")


def _read_password(name: str) -> str:
    """The new password from standard input: asked twice on a terminal, read once (one line) from a pipe."""
    from workflow import UsageError

    if sys.stdin.isatty():
        first = click.prompt(f"{name} 的新密码", hide_input=True, err=True)
        second = click.prompt("再输入一次", hide_input=True, err=True)
        if first != second:
            raise UsageError("两次输入的密码不一致：请重新运行。")
        return str(first)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise UsageError("没有读到密码：请从标准输入提供，例如 printf '%s\\n' 新密码 | branchflow user password 张老师。")
    return line


@user.command("password")
@click.argument("name")
@click.option("--temporary", is_flag=True, help="临时密码：该用户下次登录时须修改。")
@pass_opts
def user_password(opts: Options, name: str, temporary: bool) -> None:
    """设置网页登录密码（从标准输入读取；至少 8 个字符，不能与用户名相同），并结束该用户已有的登录。

    Example: printf '%s\\n' 'Zzb-2024-pass' | branchflow user password zzb --temporary
    """
    from workflow import auth

    data = auth.set_password(opts.workspace(), name, _read_password(name), temporary)
    note = "（临时密码，下次登录须修改）" if temporary else ""
    emit(opts, data, lambda: click.echo(f"已设置用户 {name} 的密码{note}；结束了 {data['sessions_ended']} 个已登录的会话。"))


@user.command("token")
@click.argument("name")
@click.option("--label", default="", help="令牌用途说明，如 “人事系统同步”。")
@click.option("--revoke-all", is_flag=True, help="吊销该用户的全部令牌（不创建新令牌）。")
@pass_opts
def user_token(opts: Options, name: str, label: str, revoke_all: bool) -> None:
    """为脚本和其他系统创建 API 令牌（只显示这一次，单独在最后一行；以 Authorization: Bearer … 使用）。

    Example: branchflow user token zzb --label 人事系统同步
    """
    from workflow import auth

    if revoke_all:
        done = auth.revoke_tokens(opts.workspace(), name)
        emit(opts, done, lambda: click.echo(f"已吊销用户 {name} 的 {done['revoked']} 个令牌。"))
        return
    made = auth.new_token(opts.workspace(), name, label)

    purpose = f"（{made['label']}）" if made["label"] else ""

    def human() -> None:
        click.echo(f"已为用户 {name} 创建令牌{purpose}，只显示这一次，请妥善保存：")
        click.echo(made["token"])

    emit(opts, {"token": made["token"]}, human)


@cli.group()
def roster() -> None:
    """支部名单。

    Example: branchflow roster import 支部名单.xlsx
    """


@roster.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--encoding", help="文本文件的编码（默认自动识别：UTF-8、GBK、UTF-16）。")
@pass_opts
def roster_import(opts: Options, path: str, encoding: str | None) -> None:
    """导入支部名单（.xlsx、.csv 或制表符分隔的 .txt；有错误则全部不导入）。

    \b
    第一行是表头（上方的标题行、说明行、空行会被跳过）；前七列必须有，顺序不限：
      分党委      必填  分党委（直属党总支）全称
      支部名称    必填  支部全称，全校唯一
      党员人数    必填  非负整数，如 25
      联系人      可空  支部联系人姓名
      邮箱        可空  接收提醒的邮箱
      上年度参与  可空  是 / 否（空即“否”，R2）
      样板支部    可空  是 / 否（空即“否”，R4）
      培育周期    样板支部必填，写成 2023-2025（这一列可以没有）
    CSV 可以是 UTF-8、GBK，也可以是 Excel 另存的“Unicode 文本”（UTF-16，制表符分隔）。
    再次导入时更新已有支部；名单未列出的已有支部保留不变（并报告个数）。
    空白模板：branchflow roster template 支部名单.xlsx

    Example: branchflow roster import 支部名单.csv
    """
    from workflow import present
    from workflow import roster as roster_mod

    r = roster_mod.import_bytes(opts.workspace(), read_input(path), path, encoding)
    data = present.roster_imported(r)
    emit(opts, data, lambda: click.echo(present.roster_summary(r)))


@roster.command("template")
@click.argument("path", type=click.Path(dir_okay=False), callback=_export_path("xlsx"))
@pass_opts
def roster_template(opts: Options, path: str) -> None:
    """写出空白支部名单（.xlsx）：表头、一行示例和填写说明。

    Example: branchflow roster template 支部名单.xlsx
    """
    from workflow import roster as roster_mod

    write_output(path, roster_mod.template(), "模板")
    emit(opts, {"path": path}, lambda: click.echo(f"已写出支部名单模板：{path}（填写后用 branchflow roster import 导入）"))


@cli.group()
def branch() -> None:
    """支部。

    Example: branchflow branch list --committee 文法学院分党委
    """


@branch.command("list")
@click.option("--committee", help="只列出该分党委的支部。")
@pass_opts
def branch_list(opts: Options, committee: str | None) -> None:
    """列出支部。

    Example: branchflow branch list --committee 文法学院分党委
    """
    from workflow import present, queries

    rows = queries.branches(opts.workspace(), committee)
    emit(opts, rows, lambda: table(rows, present.BRANCH_HEADERS))


@cli.group()
def case() -> None:
    """申报（每个支部每年一个）。

    Example: branchflow case show 3
    """


@case.command("new")
@click.option("--branch", "branch_name", required=True, help="支部名称。")
@click.option("--title", required=True, help="项目名称。")
@click.option("--theme", required=True, help="创建方向：人才培养、教学科研、学科建设、人才队伍建设、服务社会或师生、其他。")
@click.option("--theme-note", default="", help="方向说明（选“其他”时必填）。")
@campaign_option
@pass_opts
def case_new(opts: Options, branch_name: str, title: str, theme: str, theme_note: str, year: int | None) -> None:
    """新建申报（草稿）。

    Example: branchflow --as 张老师 case new --branch 文法学院第1教工党支部 --title 党建+法律援助 --theme 服务社会或师生
    """
    from workflow import cases, present

    cid = cases.create(opts.workspace(), branch_name, title, theme, theme_note, year)
    emit(opts, present.case_created(cid), lambda: click.echo(f"已新建申报 {cid}（草稿）。"))


@case.command("set")
@click.argument("case_id", type=CASE_ID)
@click.argument("pairs", nargs=-1, required=True)
@click.option("--expect-version", type=VERSION, help="若申报版本已变化则拒绝（退出码 4）。")
@pass_opts
def case_set(opts: Options, case_id: int, pairs: tuple[str, ...], expect_version: int | None) -> None:
    """修改草稿的字段：title theme theme_note expected_outcomes schedule innovation promotion_plan discipline_activity。

    Example: branchflow case set 3 expected_outcomes=形成可推广的工作法 schedule=5月启动，9月中期，次年4月总结
    """
    from workflow import cases, present

    version = cases.set_fields(opts.workspace(), case_id, parse_pairs(pairs, "字段"), expect_version)
    emit(opts, present.case_updated(case_id, version), lambda: click.echo(f"已更新申报 {case_id}（第 {version} 版）。"))


class Kind(click.Choice):
    """An attachment kind typed as its id or its label (`words.KINDS`: 盖章扫描件); anything else is click's usage error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from workflow import words

        return words.KINDS.find(str(value)) or super().convert(value, param, ctx)


KIND = Kind(["form", "stamped_scan"])
KIND_HELP = "form 或 申报表电子版（.doc/.docx/.wps/.pdf），stamped_scan 或 盖章扫描件（.pdf/.jpg/.png）。"


@case.command("attach")
@click.argument("case_id", type=CASE_ID)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--kind", required=True, type=KIND, help=KIND_HELP)
@click.option("--replace", is_flag=True, help="先撤下该申报现有的同类附件（审计记录保留其文件名和 sha256）。")
@pass_opts
def case_attach(opts: Options, case_id: int, path: str, kind: str, replace: bool) -> None:
    """上传附件（仅草稿；按内容的 sha256 保存，保留原文件名）。

    空文件、超过大小上限（默认 20 MB，环境变量 BRANCHFLOW_MAX_UPLOAD_MB 可调）或内容与类型不符的文件
    （按文件开头的字节判断）会被拒绝。

    Example: branchflow case attach 3 申报表.docx --kind form
    """
    from workflow import attachments, present

    done = attachments.attach(opts.workspace(), case_id, kind, path=path, replace=replace)
    verb = "已替换为" if replace else "已上传"
    kind_label = f"{present.ATTACHMENT_KINDS[done.kind]}，{done.kind}"
    emit(opts, present.attached(done), lambda: click.echo(f"{verb} {done.name}（{kind_label}，{done.size} 字节）到申报 {case_id}。"))


@case.command("detach")
@click.argument("case_id", type=CASE_ID)
@click.option("--kind", required=True, type=KIND, help=KIND_HELP)
@click.option("--name", default=None, help="只撤下这个原文件名的附件（默认撤下该类全部附件）。")
@pass_opts
def case_detach(opts: Options, case_id: int, kind: str, name: str | None) -> None:
    """撤下草稿的附件（审计记录保留其文件名和 sha256）。

    Example: branchflow case detach 3 --kind stamped_scan
    """
    from dataclasses import asdict

    from workflow import attachments

    removed = attachments.remove(opts.workspace(), case_id, kind, name)
    data = {"case": removed.case, "kind": removed.kind, "version": removed.version, "removed": [asdict(f) for f in removed.files]}
    names = "、".join(f.name for f in removed.files)
    emit(opts, data, lambda: click.echo(f"已从申报 {case_id} 撤下 {names}（第 {removed.version} 版）。"))


@case.command("files")
@click.argument("case_id", type=CASE_ID)
@pass_opts
def case_files(opts: Options, case_id: int) -> None:
    """列出一个申报的附件：类型、原文件名、大小、上传时间、上传人。

    Example: branchflow case files 3
    """
    from dataclasses import asdict

    from workflow import attachments, present

    listed = [asdict(f) for f in attachments.files(opts.workspace(), case_id)]
    rows = [{**f, "kind": present.ATTACHMENT_KINDS.get(f["kind"], f["kind"])} for f in listed]
    emit(opts, listed, lambda: table(rows, present.FILE_HEADERS))


@case.command("download")
@click.argument("case_id", type=CASE_ID)
@click.option("--kind", default=None, type=KIND, help="只下载这一类附件（默认全部）。")
@click.option("--to", "folder", default=".", type=click.Path(file_okay=False), help="保存到这个文件夹（默认当前文件夹；不存在时新建）。")
@pass_opts
def case_download(opts: Options, case_id: int, kind: str | None, folder: str) -> None:
    """按原文件名保存申报的附件（已有同名文件时在名字后加序号，不覆盖）。

    Example: branchflow case download 3 --kind form --to 初审材料
    """
    from pathlib import Path

    from workflow import attachments

    got = attachments.download(opts.workspace(), case_id, kind)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    saved = []
    for d in got:
        path = _free_name(target, d.file.name)
        with path.open("xb") as fh:
            fh.write(d.content)
        saved.append({"kind": d.file.kind, "name": d.file.name, "size": d.file.size, "sha256": d.file.sha256, "path": str(path)})

    def human() -> None:
        for f in saved:
            click.echo(f"已保存 {f['path']}（{f['size']} 字节）。")

    emit(opts, saved, human)


def _free_name(folder: Any, name: str) -> Any:
    """folder/name, or folder/name (2).ext … when that file exists already (a download never overwrites)."""
    from pathlib import Path

    base = Path(name).name
    base = "附件" if base in ("", ".", "..") else base
    path = Path(folder) / base
    n = 2
    while path.exists():
        path = Path(folder) / f"{Path(base).stem} ({n}){Path(base).suffix}"
        n += 1
    return path


@case.command("show")
@click.argument("case_id", type=CASE_ID)
@pass_opts
def case_show(opts: Options, case_id: int) -> None:
    """查看一个申报的全部信息。

    Example: branchflow case show 3
    """
    from workflow import present, queries

    data = queries.show(opts.workspace(), case_id)

    def human() -> None:
        for key, label in present.CASE_FIELDS.items():
            click.echo(f"{label}：{_cell(data.get(key), 10_000)}")
        for a in data["attachments"]:
            click.echo(f"附件：{present.ATTACHMENT_KINDS.get(a['kind'], a['kind'])} {a['name']}（{a['size']} 字节，sha256 {a['sha256'][:12]}…）")
        for w in data["waivers"]:
            click.echo(f"例外：{w['rule']}（{w['actor']}，{_cell(w['at'])}）：{w['reason']}")

    emit(opts, data, human)


@case.command("history")
@click.argument("case_id", type=CASE_ID)
@exports
@pass_opts
def case_history(opts: Options, case_id: int, xlsx_path: str | None, csv_path: str | None) -> None:
    """查看申报的全部操作记录（审计）。

    Example: branchflow case history 3 --xlsx 审计.xlsx
    """
    from workflow import present, queries

    ws = opts.workspace()
    rows = queries.history(ws, case_id)
    sheet = present.history_sheet(ws.spec, rows)  # roles, operations, states and inputs in words
    write_exports(xlsx_path, csv_path, sheet)
    emit(opts, rows, lambda: table(sheet.rows, present.HISTORY_HEADERS))


@cli.group()
def review() -> None:
    """专家评审（R13）：分配评审专家、评分、评审汇总表。

    Example: branchflow review assign --state preliminary_review --reviewers 专家甲,专家乙,专家丙 --per-case 3
    """


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.replace("，", ",").split(",") if n.strip()]


@review.command("assign")
@click.argument("case_id", type=CASE_ID, required=False)
@click.option("--reviewer", "reviewer_names", multiple=True, help="评审专家用户名（一个申报），可重复。")
@click.option("--state", help="为处于该状态的全部申报分配（如 preliminary_review）。")
@click.option("--reviewers", help="评审专家名单，用逗号分隔（与 --state 一起用）。")
@click.option("--per-case", type=int, default=3, show_default=True, help="每个申报的评审专家人数（与 --state 一起用）。")
@campaign_option
@pass_opts
def review_assign(
    opts: Options,
    case_id: int | None,
    reviewer_names: tuple[str, ...],
    state: str | None,
    reviewers: str | None,
    per_case: int,
    year: int | None,
) -> None:
    """分配评审专家（仅党委组织部）：一个申报（ID --reviewer），或把一个状态的全部申报平均分给专家组（--state --reviewers）。

    本分党委的评审专家须回避（利益冲突），不会被分配。

    Example: branchflow review assign 3 --reviewer 专家甲 --reviewer 专家乙
    """
    from workflow import UsageError, review

    ws = opts.workspace()
    if case_id is not None and state is None and reviewers is None:
        one = review.assign(ws, case_id, list(reviewer_names))
        added = "、".join(one["added"]) or "（无新增）"
        already = f"；已分配过：{'、'.join(one['already'])}" if one["already"] else ""
        emit(
            opts,
            one,
            lambda: click.echo(f"申报 {case_id}（{one['branch']}）：新分配 {added}{already}；评审专家：{'、'.join(one['reviewers'])}。"),
        )
        return
    if case_id is not None or state is None or reviewers is None or reviewer_names:
        raise UsageError(
            "请给出申报编号和 --reviewer，或用 --state 和 --reviewers（再加 --per-case）为一个状态的全部申报分配（二者选一）。"
        )
    data = review.spread(ws, state, _names(reviewers), per_case, year)

    def human() -> None:
        rows = [
            {**c, "added": "、".join(c["added"]), "reviewers": "、".join(c["reviewers"]), "skipped": "、".join(c["skipped"])}
            for c in data["cases"]
        ]
        table(
            rows, {"id": "编号", "branch": "支部", "committee": "分党委", "reviewers": "评审专家", "added": "本次分配", "skipped": "回避"}
        )
        for c in data["cases"]:
            if c["short"]:
                click.echo(f"注意：申报 {c['id']} 还差 {c['short']} 位评审专家（其余专家须回避或已分配）。", err=True)
        click.echo("各专家评审数：" + "，".join(f"{name} {n}" for name, n in data["loads"].items()) + "。")

    emit(opts, data, human)


@review.command("unassign")
@click.argument("case_id", type=CASE_ID)
@click.option("--reviewer", required=True, help="评审专家用户名。")
@pass_opts
def review_unassign(opts: Options, case_id: int, reviewer: str) -> None:
    """取消分配（仅党委组织部；该专家提交评分前）。

    Example: branchflow review unassign 3 --reviewer 专家甲
    """
    from workflow import review as review_mod

    data = review_mod.unassign(opts.workspace(), case_id, reviewer)
    emit(opts, data, lambda: click.echo(f"已取消评审专家 {reviewer} 对申报 {case_id} 的评审任务。"))


@review.command("score")
@click.argument("case_id", type=CASE_ID)
@click.option("--score", "score_pairs", multiple=True, help="评审指标=分数（0–100），每项必填，可用中文名，如 --score 聚焦主题=90。")
@click.option("--comment", default="", help="评审意见。")
@pass_opts
def review_score(opts: Options, case_id: int, score_pairs: tuple[str, ...], comment: str) -> None:
    """评审专家为分配给自己的申报评分（七项要求逐项评分；申报评审前可修改，每次修改都记入审计）。

    Example: branchflow --as 专家甲 review score 3 --score focus=90 --score feature=85 --score quality=88 --score effect=86 --score process=90 --score promotion=84 --score long_term=87 --comment 特色鲜明
    """
    from workflow import review as review_mod

    data = review_mod.score(opts.workspace(), case_id, parse_pairs(score_pairs, "--score"), comment)
    verb = "已修改" if data["changed"] else "已提交"
    emit(opts, data, lambda: click.echo(f"{verb}申报 {case_id}（{data['branch']}）的评分：总分 {data['total']:g}。"))


@review.command("list")
@click.option("--reviewer", help="只看该评审专家（党委组织部）。")
@click.option("--state", help="只看该状态（状态 id 或中文名，如 draft 或 草稿）。")
@campaign_option
@pass_opts
def review_list(opts: Options, reviewer: str | None, state: str | None, year: int | None) -> None:
    """评审任务：评审专家只看到自己的（是否已评分、自己的总分）；党委组织部看到全部。

    Example: branchflow --as 专家甲 review list
    """
    from workflow import review as review_mod

    rows = review_mod.listing(opts.workspace(), reviewer, state, year)
    emit(opts, rows, lambda: table(rows, review_mod.LIST_HEADERS))


@review.command("summary")
@campaign_option
@exports
@pass_opts
def review_summary(opts: Options, year: int | None, xlsx_path: str | None, csv_path: str | None) -> None:
    """评审汇总表（仅党委组织部）：每个申报的评分份数、各项均分、专家组评分、名次、是否达到优秀，按评审分排序。

    Example: branchflow review summary --xlsx 评审汇总表.xlsx
    """
    from workflow import present
    from workflow import review as review_mod

    ws = opts.workspace()
    rows = review_mod.summary(ws, year)
    headers = review_mod.headers(ws.spec)
    write_exports(xlsx_path, csv_path, present.Sheet("评审汇总表", headers, rows))
    emit(opts, rows, lambda: table(rows, {k: v for k, v in headers.items() if k != "override_reason"}))


@cli.command()
@click.argument("case_id", type=CASE_ID)
@pass_opts
def triggers(opts: Options, case_id: int) -> None:
    """当前用户对该申报可执行的操作，以及规则现在是否允许。

    Example: branchflow --as 张老师 triggers 3
    """
    from workflow import engine, present

    data = present.options(engine.options(opts.workspace(), case_id))
    for d in data:
        d["blocked_by"] = [reason(r) for r in d["blocked_by"]]

    def human() -> None:
        if not data:
            click.echo("（当前没有可执行的操作）")
        for d in data:
            inputs = "，".join(f"{i['label'] or i['name']}（{i['name']}{'，必填' if i['required'] else ''}）" for i in d["inputs"])
            click.echo(
                f"{d['label']}（{d['trigger']}）→ {d['dest_label']}"
                + (f"；输入：{inputs}" if inputs else "")
                + ("" if d["allowed"] else "；目前不满足：")
            )
            for reason in d["blocked_by"]:
                click.echo(f"    {reason}")

    emit(opts, data, human)


@cli.command()
@click.argument("case_id", type=CASE_ID)
@click.argument("trigger")
@click.option("--comment", default="", help="说明（记入审计）。")
@click.option("--data", "data_pairs", multiple=True, help="输入 KEY=VALUE，可重复，如 --data score=92。")
@click.option("--expect-version", type=VERSION, help="若申报版本已变化则拒绝（退出码 4）。")
@pass_opts
def advance(opts: Options, case_id: int, trigger: str, comment: str, data_pairs: tuple[str, ...], expect_version: int | None) -> None:
    """推进申报：执行一个操作（操作名或中文名均可，如 submit 或 提交申报、pass_review、evaluate、approve）。

    Example: branchflow --as 张老师 advance 3 submit --data attest=true
    """
    from workflow import clock, engine, present

    ws = opts.workspace()
    fired = engine.advance(ws, case_id, trigger, parse_pairs(data_pairs, "--data"), comment, expect_version)
    spec = ws.spec
    data = present.fired(fired, spec)
    emit(
        opts,
        data,
        lambda: click.echo(
            f"申报 {case_id}：{spec.label(fired.source)} → {spec.label(fired.dest)}"
            + (f"（截止 {clock.show(fired.due_at)}）" if fired.due_at else "")
            + f"，第 {fired.version} 版。"
        ),
    )


@cli.command()
@click.argument("case_id", type=CASE_ID, required=False)
@click.option("--state", help="调整该阶段在本年度日程中的截止日期（该阶段现在和以后的申报都适用）。")
@click.option("--until", required=True, help="新的截止日期，如 2024-10-15（当天结束）。")
@click.option("--reason", required=True, help="原因（记入审计）。")
@campaign_option
@pass_opts
def extend(opts: Options, case_id: int | None, state: str | None, until: str, reason: str, year: int | None) -> None:
    """延期：一个申报（ID），或一个阶段（--state）。仅党委组织部。

    Example: branchflow extend 3 --until 2024-05-10 --reason 盖章流程延误
    """
    from workflow import deadlines, present

    ws = opts.workspace()
    done = deadlines.extend(ws, case_id, state, until, reason, year)
    if isinstance(done, deadlines.Extended):
        data = present.extended(done)
        emit(opts, data, lambda: click.echo(f"申报 {done.case} 的截止时间已从 {_cell(done.before)} 延至 {_cell(done.until)}。"))
    else:
        data = present.state_extended(done)
        emit(
            opts,
            data,
            lambda: click.echo(
                f"{done.campaign} 年“{ws.spec.label(done.state)}”阶段截止时间已从 {_cell(done.before)} 调整为 {_cell(done.until)}，"
                f"涉及 {len(done.cases)} 个申报。"
            ),
        )


@cli.command()
@click.argument("case_id", type=CASE_ID)
@click.option("--rule", required=True, help="要豁免的规则，如 R2。")
@click.option("--reason", required=True, help="原因（记入审计）。")
@pass_opts
def waive(opts: Options, case_id: int, rule: str, reason: str) -> None:
    """为一个申报登记规则例外（仅党委组织部）。

    Example: branchflow waive 5 --rule R2 --reason 学校党委同意继续参与
    """
    from workflow import deadlines, present

    done = deadlines.waive(opts.workspace(), case_id, rule, reason)
    emit(opts, present.waived(done), lambda: click.echo(f"已为申报 {done.case} 登记 {done.rule} 例外。"))


@cli.command()
@click.option("--committee", help="只看该分党委。")
@click.option("--state", help="只看该状态（状态 id 或中文名，如 draft 或 草稿）。")
@click.option("--limit", type=LIMIT, help="最多列出多少个申报（按编号；数量统计仍是全部）。")
@view_option
@exports
@pass_opts
def status(
    opts: Options,
    committee: str | None,
    state: str | None,
    limit: int | None,
    year: int | None,
    xlsx_path: str | None,
    csv_path: str | None,
) -> None:
    """每个申报的状态，以及各状态的数量。

    Example: branchflow status --committee 文法学院分党委 --xlsx 进度.xlsx
    """
    from workflow import present, queries

    result = queries.status(opts.workspace(), committee, state, year, limit)
    write_exports(xlsx_path, csv_path, present.status_sheet(result["cases"]))

    def human() -> None:
        table(result["cases"], {k: v for k, v in present.CASE_HEADERS.items() if k not in ("state", "version")})
        click.echo("")
        click.echo(
            "各状态数量："
            + ("，".join(f"{c['state_label']} {c['count']}" for c in result["counts"]) or "无")
            + f"；合计 {result['total']}（{'、'.join(map(str, result['campaigns']))} 年度）。"
        )

    emit(opts, result["cases"], human)


@cli.command()
@click.option("--committee", help="只看该分党委。")
@click.option("--limit", type=LIMIT, help="最多列出多少个（逾期最久的在前）。")
@view_option
@exports
@pass_opts
def overdue(opts: Options, committee: str | None, limit: int | None, year: int | None, xlsx_path: str | None, csv_path: str | None) -> None:
    """已逾期的申报（逾期最久的在前），含负责方和逾期天数。

    Example: branchflow --now 2024-10-08 overdue --xlsx 逾期.xlsx
    """
    from workflow import present, queries

    rows = queries.overdue(opts.workspace(), committee, year, limit)
    write_exports(xlsx_path, csv_path, present.overdue_sheet(rows))

    def human() -> None:
        table(rows, {k: v for k, v in present.OVERDUE_HEADERS.items() if k not in ("state", "version", "title")})
        years = "、".join(map(str, queries.years_in_view(opts.workspace(), year)))
        click.echo(f"共 {len(rows)} 个逾期（{years} 年度）。")

    emit(opts, rows, human)


@cli.group()
def db() -> None:
    """数据库：建库、升级结构、复制到另一个数据库（SQLite 或 PostgreSQL）。

    Example: branchflow --db branchflow.db db upgrade
    """


@db.command("upgrade")
@pass_opts
def db_upgrade(opts: Options) -> None:
    """建库，或把数据库结构升级到最新版本（可重复运行；多个进程同时运行也安全）。

    Example: branchflow --db postgresql+psycopg://bf@db.example.edu.cn/branchflow db upgrade
    """
    from workflow import present, workspace

    done = workspace.shared_store(opts.db).create_schema()
    data = present.upgraded(done)

    def human() -> None:
        if done.adopted:
            click.echo(f"旧版 init 建立的数据库已登记为结构版本 {done.before}。")
        if done.before == done.after:
            click.echo(f"数据库结构已是最新版本 {done.after}，未做修改。")
        else:
            click.echo(f"数据库结构：{done.before or '空库'} → {done.after}。")

    emit(opts, data, human)


@db.command("copy")
@click.option("--to", "target", required=True, help="目标数据库地址（须为空库），如 postgresql+psycopg://用户@主机/库名。")
@pass_opts
def db_copy(opts: Options, target: str) -> None:
    """把 --db 数据库的全部数据（含操作记录）复制到另一个空数据库，在一个事务中完成。

    附件文件不在数据库中：请另行把附件目录复制到 BRANCHFLOW_FILES 指向的共享目录。

    Example: branchflow --db branchflow.db db copy --to postgresql+psycopg://bf@db.example.edu.cn/branchflow
    """
    from workflow import Store, present, transfer, workspace

    counts = transfer.copy(workspace.shared_store(opts.db), Store(target))
    rows = present.copied_rows(counts)

    def human() -> None:
        table(rows, {"table": "表", "rows": "行数"})
        click.echo(f"已复制 {sum(counts.values())} 行。附件文件请另行复制到目标环境的 BRANCHFLOW_FILES 目录。")

    emit(opts, present.copied(counts), human)


@cli.command("advance-many")
@click.argument("trigger")
@click.option("--state", help="处理本年度（见 --campaign）处于该状态（状态 id 或中文名，如 draft 或 草稿）的全部申报。")
@click.option("--ids", help="要处理的申报编号，用逗号分隔，如 1,2,3。")
@click.option("--committee", help="只处理该分党委的申报。")
@click.option("--data", "data_pairs", multiple=True, help="输入 KEY=VALUE，可重复，对每个申报相同，如 --data attest=true。")
@click.option("--comment", default="", help="说明（记入每个申报的审计）。")
@click.option("--dry-run", is_flag=True, help="只判断每个申报能否执行，不写入任何数据。")
@click.option("--chunk-size", type=CHUNK, default=1000, show_default=True, help="每批提交的申报数（中断只丢失当前批）。")
@campaign_option
@pass_opts
def advance_many(
    opts: Options,
    trigger: str,
    state: str | None,
    ids: str | None,
    committee: str | None,
    data_pairs: tuple[str, ...],
    comment: str,
    dry_run: bool,
    chunk_size: int,
    year: int | None,
) -> int:
    """批量推进：对多个申报执行同一操作，逐个检查、逐个报告（全部完成退出码 0，有被拒绝的退出码 1）。

    Example: branchflow --as zzb advance-many approve --state evaluated --dry-run
    """
    from workflow import BranchflowError, bulk

    ws = opts.workspace()
    run = bulk.advance_many(
        ws,
        trigger,
        state=state,
        ids=bulk.parse_ids(ids) if ids is not None else None,
        committee=committee,
        year=year,
        inputs=parse_pairs(data_pairs, "--data"),
        comment=comment,
        dry_run=dry_run,
        chunk_size=chunk_size,
    )
    render = _Outcomes(run.transition.trigger, ws.spec, dry_run)
    opened = False  # the JSON array opens with the first chunk: an error before it is the usual error document
    # The bar is for people watching a long run; it stays off in pipes and logs.
    hidden = run.total < 500 or not sys.stderr.isatty()
    with click.progressbar(length=run.total, label="批量推进", file=sys.stderr, hidden=hidden) as bar:
        try:
            for chunk in run:  # each chunk is committed before it is handed out
                if not hidden:
                    click.echo("\r\x1b[K", nl=False, err=True)  # clear the bar before this chunk's lines
                if opts.as_json:
                    text = ",\n".join(map(render.json, chunk))
                    click.echo((",\n" if opened else "[\n") + text, nl=False)
                    opened = True
                else:
                    click.echo("\n".join(line for o in chunk for line in render.lines(o)))
                sys.stdout.flush()
                bar.update(len(chunk))
        except BranchflowError as exc:
            if not (opts.as_json and opened):
                raise
            # The chunks listed so far are committed: end the array with the failure, so stdout stays one JSON document.
            click.echo(",\n" + json.dumps({"ok": False, **error_json(exc)}, ensure_ascii=False) + "\n]")
            return exc.code
    if opts.as_json:
        click.echo("\n]" if opened else "[]")
    else:
        verb = "可以执行" if dry_run else "完成"
        tail = "；试运行，未写入任何数据" if dry_run else ""
        click.echo(f"共 {run.done + run.refused} 个申报：{verb} {run.done} 个，拒绝 {run.refused} 个{tail}。", err=True)
    return 0 if run.refused == 0 else 1


class _Outcomes:
    """advance-many's output, one case at a time, from present.Outcomes; a done case's JSON is written from the
    shared part's text, kept once per group of cases (a run may print a hundred thousand of them)."""

    def __init__(self, trigger: str, spec: Any, dry_run: bool) -> None:
        from workflow import present

        self.present = present.Outcomes(spec, trigger, dry_run)
        self._json: dict[int, str] = {}

    def json(self, o: Any) -> str:
        """A JSON object: id, ok, error (null when done), and what was done or why not (present.Outcomes.item)."""
        if o.error is not None:
            return json.dumps(self.present.refused(o, error_json(o.error)), ensure_ascii=False, default=_json_default)
        shared = self.present.shared(o)
        tail = self._json.get(id(shared))
        if tail is None:
            tail = self._json[id(shared)] = json.dumps(shared, ensure_ascii=False, default=_json_default)[1:]  # without its "{"
        return f'{{"id": {o.id:d}, "ok": true, "error": null, "version": {o.version:d}, {tail}'

    def lines(self, o: Any) -> list[str]:
        """For people: done (or would be), or the refusal with one line per reason."""
        if o.error is not None:
            return [f"申报 {o.id}：未执行。{say(o.error)}", *(f"    {reason(line)}" for line in o.error.details)]
        return [f"申报 {o.id}：{self.present.done_text(o)}"]


@case.command("template")
@click.argument("path", type=click.Path(dir_okay=False), callback=_export_path("xlsx"))
@pass_opts
def case_template(opts: Options, path: str) -> None:
    """写出空白申报汇总表（.xlsx）：表头、一行示例和填写说明（创建方向按数据库使用的 states.yaml）。

    Example: branchflow case template 申报汇总表.xlsx
    """
    from workflow import Store, case_import, spec, workspace

    s = workspace.spec_in_force(Store(opts.db)) or spec.parse(spec.packaged_text())
    write_output(path, case_import.template(s.rules.themes, s.rules.other_theme), "模板")
    emit(opts, {"path": path}, lambda: click.echo(f"已写出申报汇总表模板：{path}（填写后用 branchflow case import 导入）"))


@case.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--encoding", help="文本文件的编码（默认自动识别：UTF-8、GBK、UTF-16）。")
@campaign_option
@pass_opts
def case_import(opts: Options, path: str, encoding: str | None, year: int | None) -> None:
    """导入申报汇总表（.xlsx、.csv 或制表符分隔的 .txt）：新建草稿，或更新该支部本年度的草稿；有错误则全部不导入。

    表头上方的标题行会被跳过。空白模板：branchflow case template 申报汇总表.xlsx

    Example: branchflow --as 张老师 case import 申报汇总表.xlsx
    """
    from workflow import case_import as case_import_mod
    from workflow import present

    r = case_import_mod.import_file(opts.workspace(), path, encoding, year)
    data = present.cases_imported(r)

    def human() -> None:
        for c in r.cases:
            click.echo(f"第 {c['row']} 行：{c['branch']} → 申报 {c['id']}（{present.IMPORT_ACTIONS[c['action']]}）")
        click.echo(present.cases_summary(r))

    emit(opts, data, human)


# ---- R14 reminders: remind, outbox, scheduler, calendar --------------------------------------

config_option = click.option(
    "--config",
    "config_path",
    envvar="BRANCHFLOW_CONFIG",
    type=click.Path(dir_okay=False),
    help="提醒渠道配置文件（TOML）；同名环境变量 BRANCHFLOW_* 优先于文件。",
)


@cli.command()
@click.option("--dry-run", is_flag=True, help="只列出将要发送的消息，不写入、不发送。")
@click.option("--digest", is_flag=True, help="同时立即发送给党委组织部的逾期汇总（每天至多一次）。")
@click.option("--verbose", "-v", is_flag=True, help="试运行时打印每封消息的全文。")
@config_option
@pass_opts
def remind(opts: Options, dry_run: bool, digest: bool, verbose: bool, config_path: str | None) -> None:
    """扫描一次（R14）：把此刻到期的提醒排入发件箱并发送，列出排入和发送的消息。

    Example: branchflow --now 2024-05-03T09:00 remind --dry-run
    """
    from collections import Counter

    from workflow import channels, notify, present, reminders

    settings = channels.load(os.environ, config_path)
    report = reminders.sweep(
        opts.workspace(),
        channels.build(settings, notify.real_wall()),
        digest=digest,
        dry_run=dry_run,
        base_url=settings.base_url,
    )
    rows = present.sent(report)

    def human() -> None:
        if dry_run:
            table(present.preview_cells(rows), present.PREVIEW_HEADERS)
            if verbose:
                for r in rows:
                    click.echo(f"\n—— {r['channel']} → {r['recipient']}：{r['subject']}")
                    click.echo(r["text"])
            click.echo(f"试运行（未写入、未发送）：将新排入 {len(report.queued)} 条提醒，发出 {len(rows)} 封消息。")
        else:
            table(present.sent_cells(rows), present.SEND_HEADERS)
            done = Counter(r["status"] for r in rows)
            click.echo(
                f"新排入 {len(report.queued)} 条提醒；发出 {done['sent']} 封，稍后重试 {done['retry']} 封，失败 {done['failed']} 封；"
                f"作废 {report.cancelled} 条（申报已离开该阶段或已延期）。"
            )
        if report.no_recipient:
            listed = "、".join(str(cid) for cid, _ in report.no_recipient)
            click.echo(f"注意：申报 {listed} 没有可提醒的人（无邮箱），请在支部名单或用户中补充邮箱。", err=True)
        for channel, n in report.waiting.items():
            click.echo(f"注意：发件箱中有 {n} 条 {channel} 渠道的提醒待发，本机未启用该渠道（BRANCHFLOW_CHANNELS）。", err=True)

    emit(opts, rows, human)


@cli.group("outbox", invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "sent", "failed", "cancelled"]), help="只看该状态。")
@click.option("--case", "case_id", type=CASE_ID, help="只看该申报。")
@exports
@click.pass_context
def outbox_group(ctx: click.Context, status: str | None, case_id: int | None, xlsx_path: str | None, csv_path: str | None) -> None:
    """提醒发件箱：每条提醒的收件人、渠道、状态、尝试次数和最近错误（仅党委组织部）。

    Example: branchflow outbox --status failed
    """
    if ctx.invoked_subcommand is not None:
        return
    from workflow import outbox, present

    opts = ctx.find_object(Options)
    assert opts is not None
    ws = opts.workspace()
    rows = present.outbox_rows(ws.spec, outbox.listing(ws, status, case_id))
    sheet = present.outbox_sheet(rows)  # the kind, status and channel in words
    write_exports(xlsx_path, csv_path, sheet)

    def human() -> None:
        table(sheet.rows, present.OUTBOX_HEADERS)
        click.echo(f"共 {len(rows)} 条。")

    emit(opts, rows, human)


@outbox_group.command("retry")
@click.argument("outbox_id", type=Whole("发件箱编号", low=1))
@pass_opts
def outbox_retry(opts: Options, outbox_id: int) -> None:
    """把一条发送失败的提醒放回待发（下次扫描时发送）。

    Example: branchflow outbox retry 12
    """
    from workflow import outbox, present

    ws = opts.workspace()
    row = outbox.retry(ws, outbox_id)
    emit(opts, present.outbox_row(ws.spec, row), lambda: click.echo(f"提醒 {row.id} 已放回待发，将在下次扫描（remind 或 scheduler）时发送给 {row.recipient}。"))


@cli.command()
@config_option
@pass_opts
def scheduler(opts: Options, config_path: str | None) -> int:
    """按真实时钟持续运行提醒扫描和逾期汇总，直到 Ctrl-C 或 SIGTERM（退出码 0）。

    Example: BRANCHFLOW_CHANNELS=email,dingtalk branchflow --db /srv/branchflow/branchflow.db scheduler
    """
    from workflow import UsageError

    if opts.now_text:
        raise UsageError("scheduler 按真实时钟运行，不能使用 --now（或 BRANCHFLOW_NOW）；要模拟某一时刻请用 branchflow --now … remind。")
    from jobs import scheduler as jobs_scheduler

    return jobs_scheduler.run(opts.db, config_path, click.echo)


@cli.command()
@click.option("--ics", "ics_path", required=True, type=click.Path(dir_okay=False), help="写入的 iCalendar 文件，如 截止日期.ics。")
@click.option("--committee", help="只含该分党委的申报。")
@view_option
@pass_opts
def calendar(opts: Options, ics_path: str, committee: str | None, year: int | None) -> None:
    """把各阶段的截止日期（及截止日期不同的申报）导出为 .ics 文件，可导入 Outlook、钉钉日历。

    默认包含所有还有未结申报的年度（与 status、overdue 相同）；--campaign 年度 只导出该年度。

    Example: branchflow calendar --ics 截止日期.ics --committee 文法学院分党委
    """
    from workflow import ics, present

    found = ics.export(opts.workspace(), committee, year)
    write_output(ics_path, found.text.encode("utf-8"), "日历文件")
    data = present.calendar(found, str(Path(ics_path)))
    emit(
        opts,
        data,
        lambda: click.echo(
            f"已写入 {data['file']}（{'、'.join(map(str, data['campaigns']))} 年度）：{data['events']} 个日程，"
            f"其中 {data['case_events']} 个是截止日期与年度日程不同的申报{data['note']}。"
        ),
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（放在 nginx 之后时保持 127.0.0.1）。")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="端口。")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="工作进程数（多个进程请使用 PostgreSQL）。")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True, help="信任其 X-Forwarded-For 的反向代理地址。")
@pass_opts
def serve(opts: Options, host: str, port: int, workers: int, forwarded_allow_ips: str) -> None:
    """运行网页和 JSON API（/api/v1，文档 /api/docs）；--now 给出模拟时间（每页显示横幅），否则按真实时钟。

    Example: branchflow --db branchflow.db --now 2024-05-02T09:00 serve --port 8000
    """
    import uvicorn

    from workflow import Store

    Store(opts.db).create_schema()  # the web's tables (sessions, tokens) are in the newest revision
    now = opts.now if opts.now_text else None
    os.environ["BRANCHFLOW_DB"] = opts.db or ""
    if now is not None:
        os.environ["BRANCHFLOW_NOW"] = now.isoformat()
    banner = f"，模拟时间 {opts.now_text}" if now else ""
    click.echo(f"Branchflow 网页：http://{host}:{port}/{banner}（Ctrl-C 结束）", err=True)
    uvicorn.run(
        "web.app:factory", factory=True, host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips, log_level="warning"
    )


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False), help="把演示数据库留在这个目录（默认用完即删）。")
@click.pass_context
def demo(ctx: click.Context, keep: str | None) -> None:
    """演示：在临时 SQLite 数据库上走完 2024 年度的全过程。

    Example: branchflow demo
    """
    from demo import season as demo_mod

    demo_mod.run(_run_step, keep, click.echo)


def _run_step(argv: list[str], quiet: bool) -> int:
    """Run one CLI invocation in-process for the demo (output hidden when quiet); return its exit code."""
    import contextlib
    import io

    sink = io.StringIO()
    with (
        contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext(),
        contextlib.redirect_stderr(sink) if quiet else contextlib.nullcontext(),
    ):
        try:
            cli.main(args=argv, prog_name="branchflow")
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="branchflow")


if __name__ == "__main__":
    main()
