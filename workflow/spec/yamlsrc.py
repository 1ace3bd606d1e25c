"""Read YAML into plain data while remembering the line of every value.

Only `true`/`false` are booleans (YAML 1.1's yes/no/on/off stay strings), so that a
state called `on` or an answer `no` is never silently turned into a boolean.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from workflow.errors import SpecError


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

Path = tuple[Any, ...]


class Located:
    """Plain data from a YAML file plus the line (1-based) of each value by its path."""

    def __init__(self, source: str, data: Any, lines: dict[Path, int]) -> None:
        self.source = source
        self.data = data
        self.lines = lines

    def line(self, path: Path) -> int:
        """The line of the value at `path`, or of its nearest located parent."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: Path, message: str) -> SpecError:
        """A SpecError that names the file and the line of `path`."""
        where = ".".join(str(p) for p in path) or "(top)"
        return SpecError(
            f"状态配置文件有误：{self.source} 第 {self.line(path)} 行（{where}）：{message}",
            file=self.source,
            line=self.line(path),
        )


def load(text: str, source: str) -> Located:
    """Parse YAML text; a syntax error becomes a SpecError naming the line."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"状态配置文件不是合法的 YAML：{source} 第 {line} 行：{problem}。请检查缩进和冒号。",
            file=source,
            line=line,
        ) from None
    lines: dict[Path, int] = {}
    if node is None:
        return Located(source, None, lines)
    constructor = _Loader(text)
    data = _convert(node, (), lines, constructor, source)
    return Located(source, data, lines)


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], c: _Loader, source: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = c.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (list, dict)):
                raise SpecError(f"状态配置文件有误：{source} 第 {line} 行：键不能是列表或映射", file=source, line=line)
            if key in out:
                raise SpecError(
                    f"状态配置文件有误：{source} 第 {line} 行：键 {key} 重复出现，请只保留一个",
                    file=source,
                    line=line,
                )
            out[key] = _convert(value_node, (*path, key), lines, c, source)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, c, source) for i, item in enumerate(node.value)]
    try:
        return c.construct_object(node, deep=True)
    except ValueError:
        # 2024-02-30 looks like a timestamp but is no date: keep the text, so that the
        # validator reports it with its path and line instead of the CLI crashing.
        return node.value
