"""Single sign-on: app_user.sso_id, the 统一身份认证 (CAS) account that logs in as the user (at most one user each).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add app_user.sso_id, unique (NULL for users who log in with a password only)."""
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_id", sa.String(), nullable=True))
        batch_op.create_unique_constraint("uq_app_user_sso_id", ["sso_id"])


def downgrade() -> None:
    """Undo 0009."""
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_app_user_sso_id", type_="unique")
        batch_op.drop_column("sso_id")
