"""Gate reviews freeze the project's latest audit run too (delivery stage): id, slot, gate.

Revision ID: 0101
Revises: audits01
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101"
down_revision = "audits01"
branch_labels = None
depends_on = None

_COLUMNS = ("audit_run_id", "audit_run_slot", "audit_run_gate")


def upgrade() -> None:
    # Nullable columns without a default: no row is rewritten, so the append-only triggers
    # on gate_reviews (UPDATE/DELETE refused) are neither fired nor needed to change.
    op.add_column("gate_reviews", sa.Column("audit_run_id", sa.String(32)))
    op.add_column("gate_reviews", sa.Column("audit_run_slot", sa.Date()))
    op.add_column("gate_reviews", sa.Column("audit_run_gate", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("gate_reviews") as batch:
        for column in _COLUMNS:
            batch.drop_column(column)
