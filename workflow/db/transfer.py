"""Copy a whole Branchflow database into another, empty one (e.g. SQLite → PostgreSQL), in one transaction."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Table, func, select, text
from sqlmodel import SQLModel

from workflow.db import schema
from workflow.db.store import Store
from workflow.errors import UsageError

CHUNK = 5000


def copy(source: Store, target: Store) -> dict[str, int]:
    """Copy every row of every table, parents first, into `target` (created or migrated, and empty); rows per table."""
    if source.url == target.url:
        raise UsageError("源数据库和目标数据库是同一个。", hint="请指定另一个数据库作为目标。", field="to")
    if (
        source.sqlite_path
        and source.sqlite_path != ":memory:"
        and Path(source.sqlite_path).parent.is_dir()
        and not Path(source.sqlite_path).exists()
    ):
        raise UsageError("源数据库尚未初始化，没有可复制的数据。", hint="请检查源数据库的地址。", field="db")
    revision, newest = schema.current(source), schema.head()
    if revision is None and not source.is_initialized():
        raise UsageError("源数据库尚未初始化，没有可复制的数据。", hint="请检查源数据库的地址。", field="db")
    if revision != newest:
        shown = f"结构版本是 {revision}" if revision else "由旧版 init 建立（未记录结构版本）"
        raise UsageError(f"源数据库{shown}，不是最新的 {newest}。", hint="请先升级源数据库的结构。", field="db")
    schema.upgrade(target)
    tables = SQLModel.metadata.sorted_tables
    counts: dict[str, int] = {}
    with source.connect() as src, target.connect() as dst:
        if source.dialect == "postgresql":
            src.execution_options(isolation_level="REPEATABLE READ")  # one snapshot of every table
        with src.begin(), dst.execution_options(immediate=True).begin():
            for table in tables:
                present = dst.scalar(select(func.count()).select_from(table))
                if present:
                    raise UsageError(f"目标数据库不是空的（表 {table.name} 已有 {present} 行）：只能复制到新建的空数据库。")
            for table in tables:
                counts[table.name] = _copy_table(src, dst, table)
            if target.dialect == "postgresql":
                reset_sequences(dst, tables)
    return counts


def reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """After rows were inserted with their ids, make PostgreSQL's next id follow the largest one."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        quote = conn.dialect.identifier_preparer.quote
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), coalesce(max({quote(column.name)}), 0) + 1, false) FROM {quote(table.name)}"
            ),
            {"table": quote(table.name), "column": column.name},
        )


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    """Stream one table across in chunks (memory stays flat however many rows)."""
    rows = src.execute(select(table).order_by(*table.primary_key.columns).execution_options(yield_per=CHUNK))
    copied = 0
    for chunk in rows.partitions():
        dst.execute(table.insert(), [dict(row._mapping) for row in chunk])
        copied += len(chunk)
    return copied
