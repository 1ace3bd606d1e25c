"""Alembic's entry point: run the migrations on the connection `workflow.schema` hands over.

There is no alembic.ini: `workflow.schema.config()` builds the configuration in code and puts an open
connection (already inside the transaction that holds the migration lock) in `config.attributes`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from workflow.db import models  # noqa: F401

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through workflow.schema (branchflow db upgrade), which supplies the connection")


def render_item(kind: str, obj: Any, _autogen: Any) -> str | Literal[False]:
    """Write SQLModel's str columns as plain sa.String() so that migrations don't depend on SQLModel."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table, and generated migrations work on both backends.
    render_as_batch=True,
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
