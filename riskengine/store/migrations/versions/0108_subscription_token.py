"""The token that created an audit subscription, so delivery re-checks that token's scope at
send time (a revoked or narrowed token stops receiving); NULL: created by an operator on the
command line, with no token and no project scope.

Revision ID: 0108
Revises: 0107
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0108"
down_revision = "0107"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_subscriptions", recreate="never") as table:
        table.add_column(sa.Column("created_by_token_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_subscriptions", recreate="never") as table:
        table.drop_column("created_by_token_id")
