"""The database: the only module that knows the URL. One transaction per command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session, SQLModel, create_engine

from . import models  # noqa: F401  (registers the tables)
from .errors import UsageError

DEFAULT_URL = "sqlite:///branchflow.db"

_APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'history is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION history_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'history is append-only'; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS history_append_only ON history",
        "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history FOR EACH ROW EXECUTE FUNCTION history_append_only()",
    ],
}


def normalize_url(url: str | None) -> str:
    """A database URL from `--db`: a URL as given, or a bare path taken as a SQLite file."""
    url = (url or "").strip() or DEFAULT_URL
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


class Store:
    """A database plus the folder that holds attachment files."""

    def __init__(self, url: str | None = None) -> None:
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError:
            raise UsageError(f"数据库地址无效：{self.url!r}。请写成 sqlite:///文件名.db 或 postgresql+psycopg://…") from None
        self.dialect = parsed.get_backend_name()
        self.sqlite_path = parsed.database if self.dialect == "sqlite" else None
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise UsageError(f"无法使用数据库地址 {self.url!r}：{exc}") from None
        if self.dialect == "sqlite":
            _tune_sqlite(self.engine)

    @property
    def files_dir(self) -> Path:
        """Where attachment files live: BRANCHFLOW_FILES, else `files/` beside a SQLite database."""
        configured = os.environ.get("BRANCHFLOW_FILES")
        if configured:
            return Path(configured)
        if self.sqlite_path and self.sqlite_path != ":memory:":
            return Path(self.sqlite_path).resolve().parent / "files"
        raise UsageError("未设置附件存储目录：使用 PostgreSQL 时请把 BRANCHFLOW_FILES 设为各台机器共享的目录。")

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction: committed when the block ends, rolled back on any error."""
        with Session(self.engine.execution_options(immediate=True)) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (never committed; closing it ends the transaction)."""
        with Session(self.engine) as session:
            yield session

    def create_schema(self) -> None:
        """Create every table and index that is missing, and guard history against changes."""
        try:
            SQLModel.metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                for statement in _APPEND_ONLY.get(self.dialect, []):
                    conn.execute(text(statement))
        except OperationalError as exc:
            raise UsageError(f"无法打开数据库 {self.url}：{exc.orig}") from None

    def is_initialized(self) -> bool:
        """Whether `init` has run on this database."""
        from sqlalchemy import inspect

        try:
            return inspect(self.engine).has_table("spec")
        except OperationalError:
            return False


def _tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers so that two processes never deadlock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
