"""Rule releases: every ruleset version the service has judged with, by content hash, with its
rules, texts and parameters (riskengine/releases.py, riskengine/store/releases.py).

Revision ID: 0107
Revises: 0106
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0107"
down_revision = "0106"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_releases",
        sa.Column("ruleset_id", sa.String(64), primary_key=True),
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_rule_releases_first_used", "rule_releases",
                    ["ruleset_id", "first_used_at"])


def downgrade() -> None:
    op.drop_index("ix_rule_releases_first_used", table_name="rule_releases")
    op.drop_table("rule_releases")
