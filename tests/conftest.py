"""Fixtures: a database per test (SQLite always, PostgreSQL when reachable), a fixed `now`, a CLI runner."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import cli
from demo import sample
from workflow.dates import clock
from workflow.db.store import Store
from workflow.workspace import Workspace

PG_BASE = os.environ.get("BRANCHFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = "2024-04-25T09:00"


def pg_unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run (None: they can): the server must accept a real login, not just a socket."""
    if os.environ.get("BRANCHFLOW_TEST_PG") == "0":
        return "disabled by BRANCHFLOW_TEST_PG=0"
    import sqlalchemy as sa

    url = sa.make_url(PG_BASE)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            pass
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except (OSError, sa.exc.DBAPIError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"PostgreSQL not usable at {url.render_as_string(hide_password=True)}: {reason}"
    return None


PG_SKIP = pg_unavailable()
PG = PG_SKIP is None
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG, reason=PG_SKIP or ""))]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """End every run (even with -q) by saying whether the PostgreSQL half of the suite ran."""
    terminalreporter.write_line(f"PostgreSQL tests: {'ran against ' + PG_BASE if PG else 'SKIPPED — ' + (PG_SKIP or '')}")


def make_pg_url() -> str:
    """A fresh schema in the `test` database, selected through the connection's search_path."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


def drop_pg_schema(url: str) -> None:
    import sqlalchemy as sa

    schema = url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """One database per test: a SQLite file in tmp_path, or a PostgreSQL schema of its own."""
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bf.db'}"
        return
    url = make_pg_url()
    yield url
    drop_pg_schema(url)


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database only (for tests about SQLite-specific behaviour)."""
    monkeypatch.setenv("BRANCHFLOW_FILES", str(tmp_path / "files"))
    return f"sqlite:///{tmp_path / 'bf.db'}"


@dataclass
class Bf:
    """Runs `branchflow` through click's CliRunner against one database at a chosen `now`."""

    url: str
    tmp: Path
    now: str = START

    def __call__(self, *args: str, user: str | None = None, now: str | None = None, json_out: bool = False) -> Result:
        argv = ["--db", self.url, "--now", now or self.now]
        if user:
            argv += ["--as", user]
        if json_out:
            argv.append("--json")
        return CliRunner().invoke(cli, [*argv, *args], catch_exceptions=False)

    def json(self, *args: str, **kw: Any) -> Any:
        result = self(*args, json_out=True, **kw)
        return json.loads(result.stdout) if result.stdout.strip() else None

    def ok(self, *args: str, **kw: Any) -> Result:
        result = self(*args, **kw)
        assert result.exit_code == 0, result.output
        return result

    def ws(self, user: str = "admin", now: str | None = None) -> Workspace:
        return Workspace(Store(self.url), clock.parse_now(now or self.now), user)

    def file(self, name: str, content: bytes = b"%PDF-1.4 test") -> str:
        p = self.tmp / name
        p.write_bytes(content)
        return str(p)


@pytest.fixture
def bf(db_url: str, tmp_path: Path) -> Bf:
    """A fresh, initialised 2024 campaign with the sample roster and one user per role."""
    b = Bf(db_url, tmp_path)
    b.ok("init", "--campaign", "2024")
    roster = sample.write_csv(tmp_path / "roster.csv", sample.rows())
    b.ok("roster", "import", str(roster))
    b.ok("user", "add", "wenfa", "--role", "committee", "--committee", "文法学院分党委", "--email", "wenfa@example.edu.cn")
    b.ok("user", "add", "waiguo", "--role", "committee", "--committee", "外国语学院分党委", "--email", "waiguo@example.edu.cn")
    b.ok("user", "add", "yishu", "--role", "committee", "--committee", "艺术学院分党委")
    b.ok("user", "add", "zhibu1", "--role", "branch", "--branch", "文法学院第1学生党支部")
    b.ok("user", "add", "expert", "--role", "reviewer")
    b.ok("user", "add", "zzb", "--role", "org", "--email", "zzb@example.edu.cn")
    return b


PLAN = {
    "expected_outcomes": "形成一套党建+育人工作法",
    "schedule": "2024年5月启动，9月中期检查，2025年4月总结",
    "innovation": "以支部为单元的导师制",
    "promotion_plan": "校内经验交流会与公众号推广",
    "discipline_activity": "《中国共产党纪律处分条例》专题读书班",
}


def ready_case(bf: Bf, branch: str = "文法学院第1学生党支部", user: str = "wenfa", theme: str = "人才培养") -> int:
    """A draft case with a complete plan and both attachments, ready to submit."""
    cid = bf.json("case", "new", "--branch", branch, "--title", f"{branch}特色创建", "--theme", theme, user=user)["id"]
    bf.ok("case", "set", str(cid), *(f"{k}={v}" for k, v in PLAN.items()), user=user)
    bf.ok("case", "attach", str(cid), bf.file(f"form{cid}.docx", b"PK\x03\x04form" + str(cid).encode()), "--kind", "form", user=user)
    bf.ok("case", "attach", str(cid), bf.file(f"scan{cid}.pdf", b"%PDF-scan" + str(cid).encode()), "--kind", "stamped_scan", user=user)
    return int(cid)


def at(text: str) -> datetime:
    return clock.parse_now(text)
