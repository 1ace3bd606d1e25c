"""Index cases by (campaign, state, due date): `overdue`'s first page, the `status` counts and "which campaigns
still have open cases" come from the index instead of scanning every late case of every campaign.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ix_cases_campaign_state_due."""
    op.create_index("ix_cases_campaign_state_due", "cases", ["campaign_id", "state", "due_at"])


def downgrade() -> None:
    """Undo 0007."""
    op.drop_index("ix_cases_campaign_state_due", table_name="cases")
