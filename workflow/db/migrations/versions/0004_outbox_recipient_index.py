"""R14: index the outbox by (recipient, channel, status), so a sender's claim does not scan every pending row.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ix_outbox_recipient."""
    op.create_index("ix_outbox_recipient", "outbox", ["recipient", "channel", "status"])


def downgrade() -> None:
    """Undo 0004."""
    op.drop_index("ix_outbox_recipient", table_name="outbox")
