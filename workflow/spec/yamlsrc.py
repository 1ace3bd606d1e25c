"""Read YAML into plain data while remembering the line of every value.

Only `true`/`false` are booleans (YAML 1.1's yes/no/on/off stay strings), so that a
state called `on` or an answer `no` is never silently turned into a boolean.

A states file is small, flat and written by hand, so what only an attack needs is refused before it costs
anything, each with its line: anchors and aliases (an alias bomb expands 9⁹ times), nesting deeper than
`MAX_DEPTH` (the composer recurses), any tag but the standard scalar and collection ones (`!!python/object`,
`!!binary`), and a text longer than `MAX_BYTES`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from workflow.errors import SpecError

MAX_BYTES = 256 * 1024  # the packaged states.yaml is about 9 KB
MAX_DEPTH = 12  # the packaged file nests 5 deep
_STANDARD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(f"{_STANDARD}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")) | {"!"}


class _Refused(yaml.YAMLError):
    """A construct the loader refuses, with the line it starts on."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false, with no anchors, aliases or custom tags, and a bounded depth."""

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # Refused while scanning: the scanner looks ahead over every open bracket, quadratic in their number.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(self.get_mark().line + 1, f"嵌套超过 {MAX_DEPTH} 层；states.yaml 不需要这么深的结构")
        super().fetch_flow_collection_start(TokenClass)  # type: ignore[misc]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(line, "不支持锚点和别名（& 与 *）；states.yaml 不需要它们，请把内容直接写出")
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in ALLOWED_TAGS:
            shown = "!!" + tag[len(_STANDARD) :] if tag.startswith(_STANDARD) else tag
            raise _Refused(line, f"不支持的 YAML 标签 {shown}；states.yaml 不需要标签，请删去")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(line, f"嵌套超过 {MAX_DEPTH} 层；states.yaml 不需要这么深的结构")
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


# The fast path: libyaml (PyYAML's C parser) scans and composes a well-formed states file about
# twenty times faster than the pure-Python loader, and its nodes keep their lines. It is tried only
# on text the Python loader would accept: nothing deeper than the bounds, no anchor, alias or custom
# tag. Anything it declines or finds wrong is loaded again by `_Loader`, so every refusal and every
# syntax error keeps exactly the message (and line) it always had.
_FLOW = re.compile(r"[][{}]")
_CLoader: Any = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        """libyaml's parser with `_Loader`'s resolvers (booleans only true/false)."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


def _flow_depth(text: str) -> int:
    """The deepest run of open brackets, counted over the text as if nothing were quoted (an upper bound)."""
    depth = deepest = 0
    for bracket in _FLOW.findall(text):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _fast_compose(text: str) -> tuple[bool, yaml.Node | None]:
    """(True, node) when libyaml composed `text` and it has nothing `_Loader` refuses; (False, None) to use `_Loader`."""
    if _CLoader is None or _flow_depth(text) >= MAX_DEPTH - 1:
        return False, None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_CLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                return False, None
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in ALLOWED_TAGS:
                return False, None
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth >= MAX_DEPTH - 1:
                    return False, None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return True, yaml.compose(text, Loader=_CLoader)
    except yaml.YAMLError:
        return False, None


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


def too_big(size: int, source: str) -> SpecError | None:
    """The refusal of a states file of `size` bytes, if it is over the limit."""
    if size <= MAX_BYTES:
        return None
    return SpecError(f"状态配置文件太大：{source} 超过 {MAX_BYTES // 1024} KB 的上限；请检查是否选错了文件。", file=source, line=1)


def load(text: str, source: str) -> Located:
    """Parse YAML text; a syntax error or a refused construct becomes a SpecError naming the line."""
    big = too_big(len(text.encode("utf-8", "surrogatepass")), source)
    if big is not None:
        raise big
    fast, node = _fast_compose(text)
    try:
        if not fast:
            node = yaml.compose(text, Loader=_Loader)
    except _Refused as exc:
        raise SpecError(f"状态配置文件有误：{source} 第 {exc.line} 行：{exc.problem}", file=source, line=exc.line) from None
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
    except (ValueError, OverflowError):
        # 2024-02-30 looks like a timestamp but is no date: keep the text, so that the
        # validator reports it with its path and line instead of the CLI crashing.
        return node.value
    except yaml.YAMLError as exc:
        line = node.start_mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"状态配置文件不是合法的 YAML：{source} 第 {line} 行：{problem}。", file=source, line=line) from None
