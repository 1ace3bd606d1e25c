"""Speed and bookkeeping shared by the core issue's test modules (no assertions about the product here).

- `spec_parsed_once`: every CLI call re-reads states.yaml from the database and parses it with pure-Python
  PyYAML (~50 ms); a module that imports this autouse fixture parses each text once per session instead.
  `Spec` is a frozen dataclass, so sharing one between calls changes nothing but the time.
- `Seeded`: a SQLite database prepared once per module (like conftest's `bf`, plus some cases) and copied
  for each test with SQLite's backup API, so that a test starts from it in milliseconds.
- `snapshot`: every row of every table, to show that a refused command changed nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Bf

from demo import sample
from workflow import spec

_parse_once = lru_cache(maxsize=None)(spec.parse)


@pytest.fixture(autouse=True)
def spec_parsed_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`spec.parse` memoised for the duration of each test of the importing module."""
    monkeypatch.setattr(spec, "parse", _parse_once)
    yield


def seed_roster_and_users(b: Bf) -> None:
    """What conftest's `bf` fixture does: the 2024 campaign, the sample roster, one user per role."""
    b.ok("init", "--campaign", "2024")
    b.ok("roster", "import", str(sample.write_csv(b.tmp / "roster.csv", sample.rows())))
    b.ok("user", "add", "wenfa", "--role", "committee", "--committee", "文法学院分党委", "--email", "wenfa@example.edu.cn")
    b.ok("user", "add", "waiguo", "--role", "committee", "--committee", "外国语学院分党委", "--email", "waiguo@example.edu.cn")
    b.ok("user", "add", "yishu", "--role", "committee", "--committee", "艺术学院分党委")
    b.ok("user", "add", "zhibu1", "--role", "branch", "--branch", "文法学院第1学生党支部")
    b.ok("user", "add", "expert", "--role", "reviewer")
    b.ok("user", "add", "zzb", "--role", "org", "--email", "zzb@example.edu.cn")


class Seeded:
    """A SQLite database built once by `build`, handed to each test as a fresh copy."""

    def __init__(self, folder: Path, build: Callable[[Bf], None]) -> None:
        self.folder = folder
        self.template = Bf(f"sqlite:///{folder / 'bf.db'}", folder)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("BRANCHFLOW_FILES", str(folder / "files"))
            mp.setattr(spec, "parse", _parse_once)
            build(self.template)

    def copy(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Bf:
        """A copy of the database and its files folder in `tmp`."""
        source, target = sqlite3.connect(self.folder / "bf.db"), sqlite3.connect(tmp / "bf.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
        if (self.folder / "files").exists():
            shutil.copytree(self.folder / "files", tmp / "files")
        monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp / "files"))
        return Bf(f"sqlite:///{tmp / 'bf.db'}", tmp)


def snapshot(b: Bf) -> dict[str, Any]:
    """Every row of every table, and every stored file: equal before and after means nothing changed."""
    files = b.tmp / "files"
    state: dict[str, Any] = {"files": sorted(str(p.relative_to(files)) for p in files.rglob("*")) if files.exists() else []}
    if b.url.startswith("sqlite:///"):
        conn = sqlite3.connect(b.url.removeprefix("sqlite:///"))
        state["rows"] = list(conn.iterdump())
        conn.close()
        return state
    engine = sa.create_engine(b.url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        state["rows"] = {t.name: sorted((tuple(r) for r in conn.execute(sa.select(t))), key=repr) for t in meta.sorted_tables}
    engine.dispose()
    return state
