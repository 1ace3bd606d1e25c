"""The database: the only module that knows the URL. One transaction per command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session, create_engine

from workflow.db import (
    migrations,
    models,  # noqa: F401  (registers the tables)
)
from workflow.errors import UsageError

if TYPE_CHECKING:
    from workflow.db import schema

DEFAULT_URL = "sqlite:///branchflow.db"
SQLITE_MMAP = 1 << 30  # bytes of a SQLite file read through mmap: address space, not memory


def normalize_url(url: str | None) -> str:
    """A database URL from `--db`: a URL as given, or a bare path taken as a SQLite file."""
    url = (url or "").strip() or DEFAULT_URL
    if "://" not in url:
        return f"sqlite:///{url}"
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"  # the driver we ship (the default, psycopg2, is not installed)
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
        self._revision_checked = False
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
        self._check_revision()
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
        self._check_revision()
        with Session(self.engine) as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection; a database that cannot be reached or opened is a one-line UsageError."""
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            shown = make_url(self.url).render_as_string(hide_password=True)
            hint = "文件路径和目录权限" if self.dialect == "sqlite" else "服务器是否运行、库名、用户和密码"
            raise UsageError(f"无法连接数据库 {shown}：{first_line(exc.orig)}。请检查 --db / BRANCHFLOW_DB 及{hint}。") from None
        with conn:
            yield conn

    def lock(self, conn: Connection | Session, name: str) -> None:
        """Inside a write transaction: make others taking the same lock wait until it ends.

        SQLite writers already run one at a time (BEGIN IMMEDIATE); PostgreSQL gets a transaction-level
        advisory lock, keyed by the schema too, so that deployments in different schemas don't wait for each other.
        """
        if self.dialect == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name || ':' || coalesce(current_schema(), '')))"),
                {"name": f"branchflow:{name}"},
            )

    def create_schema(self) -> schema.Upgrade:
        """Create or migrate the schema to the newest revision (idempotent; see `workflow.schema`)."""
        from workflow.db import schema

        return schema.upgrade(self)

    def is_initialized(self) -> bool:
        """Whether `init` has run on this database."""
        with self.connect() as conn:
            return inspect(conn).has_table("spec")

    def _check_revision(self) -> None:
        """Before the first session: refuse a database whose schema is not this program's revision, with what to do."""
        if self._revision_checked:
            return
        with self.connect() as conn:
            inspector = inspect(conn)
            found = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar() if inspector.has_table("alembic_version") else None
            )
            if found is None and not inspector.has_table("spec"):
                return  # not initialised yet: the command itself says to run init
        expected = migrations.latest()
        if found is not None and found > expected:
            raise UsageError(f"数据库结构版本 {found} 比本程序的 {expected} 新（可能另一台机器已升级）：请先升级 Branchflow。")
        if found != expected:
            shown = f"结构版本 {found} " if found else "由旧版 init 建立（未记录结构版本），"
            raise UsageError(f"数据库{shown}落后于本程序的 {expected}：请先运行 branchflow db upgrade（数据全部保留）。")
        self._revision_checked = True


def first_line(error: object) -> str:
    """The first line of a driver's error message (psycopg adds hints on further lines)."""
    return (str(error).strip().splitlines() or [""])[0]


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
        # Read pages through a memory map rather than one read() system call each: a query that visits
        # ten thousand scattered rows of a large file otherwise spends most of its time in those calls.
        cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
