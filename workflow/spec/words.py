"""The user's own words for the spec's ids: a state, trigger, role, attachment kind, case field or theme typed as
its Chinese label (`草稿`, `提交申报`, `分党委`, `盖章扫描件`, `预期成果`, `其它`) is read as its id.

One resolver per vocabulary, used by the library functions that take an id (so the CLI, the web and the API
all accept labels) and by front ends that want to resolve early. An id keeps working; an unknown word is a
usage error naming the closest names (difflib over ids and labels), each shown as `label（id）`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from workflow.errors import UsageError
from workflow.spec.rules import ATTACHMENT_KINDS, PLAN_FIELDS

if TYPE_CHECKING:
    from workflow.spec.model import Spec

# A label's head before its first parenthesis or comma is accepted too when no other entry shares it:
# 草稿（申报材料准备） → 草稿, 分党委（直属党总支） → 分党委, 已申报，待初审 → 已申报.
_HEAD = re.compile(r"[（(，,]")
CASE_FIELDS: dict[str, str] = {"title": "项目名称", "theme": "创建方向", "theme_note": "方向说明", **PLAN_FIELDS}
KIND_ALIASES = {"申报表": "form", "申报表电子文件": "form", "扫描件": "stamped_scan"}
THEME_ALIASES = ("其它", "其他方向", "其它方向")  # the usual variants of the spec's "other" theme


def _key(text: str) -> str:
    """The form words are compared in: NFKC (full-width letters, brackets), no surrounding space, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


@dataclass(frozen=True)
class Vocabulary:
    """The ids of one kind of thing (`what`: 状态, 操作, …) with their labels, and extra words (`aliases`) for them."""

    what: str
    labels: Mapping[str, str]  # id → label, in the order to list them
    aliases: Mapping[str, str] = field(default_factory=dict)  # word → id
    param: str = ""  # the input a front end highlights when the word is wrong

    @cached_property
    def _words(self) -> dict[str, str]:
        """Every accepted word (compared by `_key`) → its id: ids first, then labels, aliases, then unshared heads."""
        heads: dict[str, set[str]] = {}
        for ident, label in self.labels.items():
            head = _HEAD.split(label, maxsplit=1)[0]
            if head and head != label:
                heads.setdefault(_key(head), set()).add(ident)
        words: dict[str, str] = {}
        for group in (
            {_key(i): i for i in self.labels},
            {_key(label): i for i, label in self.labels.items()},
            {_key(w): i for w, i in self.aliases.items()},
            {w: next(iter(ids)) for w, ids in heads.items() if len(ids) == 1},
        ):
            for word, ident in group.items():
                words.setdefault(word, ident)
        return words

    def find(self, text: str) -> str | None:
        """The id `text` names (an id, a label, an alias or a label's unshared head), or None."""
        return self._words.get(_key(text))

    def show(self, ident: str) -> str:
        """`label（id）`, as messages name a thing."""
        label = self.labels.get(ident)
        return f"{label}（{ident}）" if label and label != ident else ident

    def closest(self, text: str, n: int = 3) -> list[str]:
        """The ids whose id, label or alias is closest to `text` (at most `n`, best first)."""
        out: list[str] = []
        for word in difflib.get_close_matches(_key(text), list(self._words), n=n * 3, cutoff=0.5):
            ident = self._words[word]
            if ident not in out:
                out.append(ident)
        return out[:n]

    def unknown(self, text: str) -> UsageError:
        """The error for a word that names nothing here: the closest names (as `closest`), else every name."""
        near = self.closest(text)
        listed = "、".join(self.show(i) for i in self.labels)
        said = f"您是否要输入 {'、'.join(self.show(i) for i in near)}？" if near else f"可用的{self.what}：{listed}。"
        return UsageError(f"没有{self.what} {text!r}；{said}", field=self.param, value=text, closest=near)

    def resolve(self, text: str) -> str:
        """The id `text` names, or a usage error with the closest names."""
        found = self.find(text)
        if found is None:
            raise self.unknown(text)
        return found


_BUILT: dict[tuple[str, str], Vocabulary] = {}  # (vocabulary, spec text) → its resolver, built once per spec


def _of(spec: Spec, name: str, build: Callable[[], Vocabulary]) -> Vocabulary:
    found = _BUILT.get((name, spec.text))
    if found is None:
        found = _BUILT[(name, spec.text)] = build()
    return found


def states(spec: Spec) -> Vocabulary:
    """The spec's states (`--state 草稿`)."""
    return _of(spec, "states", lambda: Vocabulary("状态", {s.id: s.label for s in spec.states}, param="state"))


def triggers(spec: Spec) -> Vocabulary:
    """The spec's transitions (`advance 4 提交申报`)."""
    return _of(spec, "triggers", lambda: Vocabulary("操作", {t.trigger: t.label for t in spec.transitions}, param="trigger"))


def roles(spec: Spec) -> Vocabulary:
    """The spec's roles (`--role 分党委`: a label's head is accepted, so the short names tables use work)."""
    return _of(spec, "roles", lambda: Vocabulary("角色", dict(spec.roles), param="role"))


def themes(spec: Spec) -> Vocabulary:
    """The spec's themes (R6), with the usual spellings of its "other" theme (其它 → 其他)."""
    r = spec.rules
    return _of(
        spec,
        "themes",
        lambda: Vocabulary("创建方向", {t: t for t in (*r.themes, r.other_theme)}, dict.fromkeys(THEME_ALIASES, r.other_theme), "theme"),
    )


def theme(spec: Spec, text: str) -> str:
    """A theme as the spec spells it (`其它` → `其他`, a full-width or spaced form → the listed one); a word that
    is no theme comes back as typed, for R6 to refuse with the list."""
    return themes(spec).find(text) or text


KINDS = Vocabulary("附件类型", ATTACHMENT_KINDS, KIND_ALIASES, "kind")  # `--kind 盖章扫描件`
FIELDS = Vocabulary("字段", CASE_FIELDS)  # `case set 1 预期成果=…`
