"""R2/R4: remember which year the roster column 上年度参与 speaks of.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add branch.took_part_year; a roster already imported speaks of the year before the latest campaign."""
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("took_part_year", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE branch SET took_part_year = (SELECT MAX(year) FROM campaign) - 1 "
        "WHERE took_part_last_year = true AND EXISTS (SELECT 1 FROM campaign)"
    )


def downgrade() -> None:
    """Undo 0003."""
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.drop_column("took_part_year")
