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
            raise UsageError(missing_database(Path(path)))
        if found is None:
            raise UsageError("数据库尚未初始化：请先运行 branchflow init。")
        return found

    def actor(self, session: Session) -> Actor:
        """The acting user, or NotFound with what to do."""
        try:
            row = session.exec(select(User).where(col(User.name) == values.normal_name(self.user))).first()
        except DBAPIError:
            # Every command asks for the actor first, so a database `init` never ran on is caught here.
            if not self.store.is_initialized():
                raise UsageError("数据库尚未初始化：请先运行 branchflow init。") from None
            raise
        if row is None or row.id is None:
            raise NotFound(f"没有用户 {self.user!r}：请检查 --as，或由党委组织部用 user add 添加。")
        if row.disabled_at is not None:
            raise PermissionDenied(f"用户 {row.name} 已停用，不能再操作：如需恢复请联系党委组织部。")
        return Actor(row.id, row.name, row.role, row.committee_id, row.branch_id, row.email)

    def campaign(self, session: Session, year: int | None = None) -> Campaign:
        """The campaign of `year`, or the latest one created."""
        query = select(Campaign)
        if year is not None:
            clock.check_year(year)
        query = query.where(col(Campaign.year) == year) if year is not None else query.order_by(col(Campaign.id).desc())
        found = session.exec(query).first()
        if found is None:
            if year is not None:
                raise NotFound(f"没有 {year} 年的创建工作：请先运行 branchflow init --campaign {year}。")
            raise NotFound("还没有任何年度的创建工作：请先运行 branchflow init。")
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
