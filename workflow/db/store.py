"""The database: the only module that knows the URL. One transaction per command."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Session, create_engine

from workflow.db import (
    migrations,
    models,  # noqa: F401  (registers the tables)
)
from workflow.errors import Conflict, UsageError

if TYPE_CHECKING:
    from workflow.db import schema

DEFAULT_URL = "sqlite:///branchflow.db"
SQLITE_MMAP = 1 << 30  # bytes of a SQLite file read through mmap: address space, not memory
SQLITE_MAGIC = b"SQLite format 3\x00"
UMASK_ENV = "BRANCHFLOW_UMASK"
BUSY_ENV = "BRANCHFLOW_BUSY_TIMEOUT"

log = logging.getLogger(__name__)


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
        if self.sqlite_path == "":
            self.sqlite_path = ":memory:"
        self.permissions = permissions(os.environ)
        self.busy_timeout = busy_timeout(os.environ)
        kwargs: dict[str, Any] = {}
        if self.sqlite_path and self.sqlite_path != ":memory:":
            _check_sqlite_file(Path(self.sqlite_path))
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": self.busy_timeout}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise UsageError(f"无法使用数据库地址 {self.url!r}：{exc}") from None
        if self.dialect == "sqlite":
            _tune_sqlite(self.engine, self.busy_timeout)

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
    def connect(self, *, create: bool = False) -> Iterator[Connection]:
        """A plain connection; a database that cannot be reached or opened is a one-line UsageError.

        Only `create=True` (init, db upgrade, db copy's target) may bring a SQLite file into being: a read
        or a change in the wrong folder says which file it looked for instead of leaving an empty one there.
        """
        if self.sqlite_path and self.sqlite_path != ":memory:":
            path = Path(self.sqlite_path)
            if not path.exists() and path.parent.is_dir():  # a missing folder: SQLite's "unable to open" below
                if not create:
                    raise missing_database(path)
                self._create_file(path)
            _check_sqlite_file(path)
        try:
            conn = self.engine.connect()
        except DatabaseError as exc:
            if "not a database" in str(exc.orig):
                raise not_a_database(self.sqlite_path or self.url) from None
            if not isinstance(exc, OperationalError):
                raise

            shown = make_url(self.url).render_as_string(hide_password=True)
            hint = "请检查数据库地址及文件路径和目录权限。" if self.dialect == "sqlite" else "请检查数据库地址及服务器是否运行、库名、用户和密码。"
            raise UsageError(f"无法连接数据库 {shown}：{first_line(exc.orig)}。", hint=hint, field="db") from None
        with conn:
            yield conn

    def _create_file(self, path: Path) -> None:
        """A new, empty SQLite file, readable by its owner only (or as BRANCHFLOW_UMASK allows); SQLite gives
        its -wal and -shm files the same permissions."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.permissions.file_mode)
        except FileExistsError:
            return
        except OSError as exc:
            raise UsageError(f"无法创建数据库文件 {path}：{exc.strerror}。", hint="请检查数据库地址和目录权限。", field="db") from None
        os.fchmod(fd, self.permissions.file_mode)  # the process umask does not widen or narrow it
        os.close(fd)

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
            return _has_table(conn, "spec", self)

    def _check_revision(self) -> None:
        """Before the first session: refuse a database whose schema is not this program's revision, with what to do."""
        if self._revision_checked:
            return
        with self.connect() as conn:
            found = (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if _has_table(conn, "alembic_version", self)
                else None
            )
            if found is None and not _has_table(conn, "spec", self):
                return  # not initialised yet: the command itself says to run init
        expected = migrations.latest()
        if found is not None and found > expected:
            raise UsageError(f"数据库结构版本 {found} 比本程序的 {expected} 新（可能另一台机器已升级）：请先升级 Branchflow。")
        if found != expected:
            shown = f"结构版本 {found} " if found else "由旧版 init 建立（未记录结构版本），"
            raise UsageError(f"数据库{shown}落后于本程序的 {expected}。", hint="请先升级数据库结构（数据全部保留）。")
        self._revision_checked = True


@dataclass(frozen=True)
class Permissions:
    """Modes for the files Branchflow creates: the SQLite database and the attachment store."""

    umask: int

    @property
    def file_mode(self) -> int:
        return 0o666 & ~self.umask

    @property
    def dir_mode(self) -> int:
        return 0o777 & ~self.umask


def permissions(env: Mapping[str, str]) -> Permissions:
    """BRANCHFLOW_UMASK (octal, default 077: owner only; 027 lets a shared group read); never world-readable."""
    text = env.get(UMASK_ENV, "").strip() or "077"
    try:
        umask = int(text, 8)
    except ValueError:
        umask = -1
    if not 0 <= umask <= 0o777:
        raise UsageError(f"环境变量 {UMASK_ENV} 应是八进制的权限掩码，如 077 或 027，实际是 {text!r}。")
    if umask & 0o007 != 0o007:
        raise UsageError(f"环境变量 {UMASK_ENV}={text} 会让本机所有账户都能读写数据库和附件：其他用户位须全部屏蔽（如 077 或 027）。")
    return Permissions(umask)


def busy_timeout(env: Mapping[str, str]) -> float:
    """Seconds a SQLite writer waits for another one (BRANCHFLOW_BUSY_TIMEOUT, default 30)."""
    text = env.get(BUSY_ENV, "").strip() or "30"
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 3600:
        raise UsageError(f"环境变量 {BUSY_ENV} 应是 0–3600 的秒数，实际是 {text!r}。")
    return value


def missing_database(path: Path) -> UsageError:
    """A read found no database file at `path` (and created none)."""
    return UsageError(
        f"数据库尚未初始化：没有找到数据库文件 {path.resolve()}。", hint="请先初始化数据库，或检查数据库地址和当前目录。", field="db"
    )


def not_a_database(where: str) -> UsageError:
    """The database address names something that is not a Branchflow database."""
    return UsageError(
        f"{where} 不是 Branchflow 数据库（也不是 SQLite 文件）。", hint="请检查数据库地址，是否把表格或其他文件当成了数据库。", field="db"
    )


# Files already found to be SQLite databases by this process. The header is read only once per file: closing
# any descriptor of a file drops every POSIX lock this process holds on it, SQLite's included, and another
# process then believes it is the last connection and checkpoints and deletes the WAL that this one (a web
# server, the scheduler) is still writing to: those writes are lost.
_CHECKED: set[tuple[int, int]] = set()


def _check_sqlite_file(path: Path) -> None:
    """Refuse a path that is not a SQLite file (a device, a folder, a spreadsheet) before SQLite touches it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"无法读取数据库文件 {path}：{exc.strerror}。", hint="请检查数据库地址和权限。", field="db") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} 不是普通文件（是设备或目录）。", hint="数据库地址应是一个 SQLite 数据库文件。", field="db")
    if (info.st_dev, info.st_ino) in _CHECKED:
        return
    if info.st_size == 0:
        # An empty file is an empty SQLite database, and SQLite is about to fill it in this process: never read it
        # later either (that read would come while this process's connections hold their locks).
        _CHECKED.add((info.st_dev, info.st_ino))
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise UsageError(f"无法读取数据库文件 {path}：{exc.strerror}。", hint="请检查数据库地址和权限。", field="db") from None
    if head != SQLITE_MAGIC:
        raise not_a_database(str(path))
    _CHECKED.add((info.st_dev, info.st_ino))


def _has_table(conn: Connection, name: str, store: Store) -> bool:
    try:
        return inspect(conn).has_table(name)
    except DatabaseError as exc:
        if "not a database" in str(exc.orig):
            raise not_a_database(store.sqlite_path or store.url) from None
        raise


def first_line(error: object) -> str:
    """The first line of a driver's error message (psycopg adds hints on further lines)."""
    return (str(error).strip().splitlines() or [""])[0]


def _tune_sqlite(engine: Engine, timeout: float) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers so that two processes never deadlock.

    A writer that finds another one at work says so at once ("正在等待…") and waits up to `timeout`
    seconds; then it gives up with a conflict (exit 4), having changed nothing.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        # Read pages through a memory map rather than one read() system call each: a query that visits
        # ten thousand scattered rows of a large file otherwise spends most of its time in those calls.
        cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get("immediate"):
            conn.exec_driver_sql("BEGIN")
            return
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if not _busy(exc):
                raise
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        log.warning("正在等待…数据库正被另一个操作占用（最多等 %g 秒）。", timeout)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if _busy(exc):
                raise Conflict("数据库正被另一个操作占用，请稍后重试（未做任何修改）。") from None
            raise


def _busy(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)
