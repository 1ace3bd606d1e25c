"""Corrections to users, audited: app_user.disabled_at (a disabled user cannot act; history keeps the name) and
user_history, the append-only audit of every user added, changed, disabled or enabled.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER user_history_no_update BEFORE UPDATE ON user_history BEGIN SELECT RAISE(ABORT, 'user_history is append-only'); END",
        "CREATE TRIGGER user_history_no_delete BEFORE DELETE ON user_history BEGIN SELECT RAISE(ABORT, 'user_history is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION user_history_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'user_history is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER user_history_append_only BEFORE UPDATE OR DELETE ON user_history FOR EACH ROW "
        "EXECUTE FUNCTION user_history_append_only()",
    ],
}
DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER user_history_no_update", "DROP TRIGGER user_history_no_delete"],
    "postgresql": ["DROP TRIGGER user_history_append_only ON user_history", "DROP FUNCTION user_history_append_only()"],
}


def upgrade() -> None:
    """Add app_user.disabled_at and the user_history table with its append-only guard."""
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
    op.create_table(
        "user_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("before", sa.String(), nullable=False),
        sa.Column("after", sa.String(), nullable=False),
        sa.Column("comment", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_history_user_id"), ["user_id"], unique=False)
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    """Undo 0008."""
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table("user_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_history_user_id"))
    op.drop_table("user_history")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
