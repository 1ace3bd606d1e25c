"""A workspace: one database, the machine it runs, and the acting user, at a given `now`."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from workflow import spec as spec_mod
from workflow.access import Actor
from workflow.dates import clock
from workflow.db import values
from workflow.db.models import Campaign, SpecRecord, User
from workflow.db.store import Store, missing_database
from workflow.errors import NotFound, PermissionDenied, UsageError

ADMIN = "admin"
NOT_INITIALISED = "数据库尚未初始化。"
INIT_HINT = "请先初始化数据库（创建年度工作）。"


class Workspace:
    """Everything a command needs: the store, the spec in force, the actor's name and `now`."""

    def __init__(self, store: Store, now: datetime, user: str = ADMIN) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.store = store
        # Whole seconds, everywhere below: a due time is stored to the second (23:59:59 for "by that day"), and
        # a submission at 23:59:59.5 is still on time, for the rules, `overdue` and the reminders alike.
        self.now = now.replace(microsecond=0)
        self.user = user

    @cached_property
    def spec(self) -> spec_mod.Spec:
        """The spec stored by the latest `init` (every process sharing the database uses it)."""
        found = spec_in_force(self.store)
        path = self.store.sqlite_path
        if found is None and path and path != ":memory:" and not Path(path).exists():
            raise missing_database(Path(path))
        if found is None:
            raise UsageError(NOT_INITIALISED, hint=INIT_HINT)
        return found

    def actor(self, session: Session) -> Actor:
        """The acting user, or NotFound with what to do."""
        try:
            row = session.exec(select(User).where(col(User.name) == values.normal_name(self.user))).first()
        except DBAPIError:
            # Every command asks for the actor first, so a database `init` never ran on is caught here.
            if not self.store.is_initialized():
                raise UsageError(NOT_INITIALISED, hint=INIT_HINT) from None
            raise
        if row is None or row.id is None:
            raise NotFound(f"没有用户 {self.user!r}。", hint="请检查用户名，或由党委组织部添加该用户。", field="user", value=self.user)
        if row.disabled_at is not None:
            raise PermissionDenied(f"用户 {row.name} 已停用，不能再操作：如需恢复请联系党委组织部。")
        return Actor(row.id, row.name, row.role, row.committee_id, row.branch_id, row.email)

    @cached_property
    def current(self) -> Actor:
        """The acting user, read once in its own session: for a front end asking `access` what to show them."""
        with self.store.read() as session:
            return self.actor(session)

    def campaign(self, session: Session, year: int | None = None) -> Campaign:
        """The campaign of `year`, or the latest one created."""
        query = select(Campaign)
        if year is not None:
            clock.check_year(year)
        query = query.where(col(Campaign.year) == year) if year is not None else query.order_by(col(Campaign.id).desc())
        found = session.exec(query).first()
        if found is None:
            if year is not None:
                raise NotFound(f"没有 {year} 年的创建工作。", hint="请先创建该年度的创建工作。", field="campaign", value=year)
            raise NotFound("还没有任何年度的创建工作。", hint=INIT_HINT)
        return found


def spec_in_force(store: Store) -> spec_mod.Spec | None:
    """The spec the database runs (stored by the latest `init`), or None when there is no initialised database.

    A SQLite file that does not exist is not created by asking.
    """
    if store.sqlite_path and store.sqlite_path != ":memory:" and not Path(store.sqlite_path).exists():
        return None
    if not store.is_initialized():
        return None
    with store.read() as s:
        record = s.exec(select(SpecRecord).order_by(col(SpecRecord.id).desc())).first()
    return None if record is None else spec_mod.parse(record.text, record.source)


_STORES: dict[str, Store] = {}


def shared_store(db_url: str | None) -> Store:
    """The one Store of this database URL in this process (its engine and connection pool are reused)."""
    key = db_url or ""
    found = _STORES.get(key)
    if found is None:
        found = _STORES[key] = Store(db_url)
    return found


def close_all() -> None:
    """Dispose of every shared Store (their pooled connections close): the end of a command's process, or of a test."""
    while _STORES:
        _, found = _STORES.popitem()
        found.engine.dispose()


def open(db_url: str | None, user: str, now: datetime) -> Workspace:
    """A workspace on the database at `db_url` (None: ./branchflow.db) for `user` at `now`, over the URL's one Store."""
    return Workspace(shared_store(db_url), now, user)
