"""Cheaper re-submissions: a persisting finding's row is updated in place.

Every submission sets `last_assessment_id` on each finding it raises again. That column had an
index no query uses, so each such UPDATE wrote a new entry into all seven indexes of `findings`.
Without it, and with room left on each page (fillfactor), PostgreSQL updates those rows "HOT":
in the same page, no index touched. The large JSON and text values are compressed with lz4
where the server has it (PostgreSQL 14+): the same compression at a fraction of pglz's CPU.
Neither storage setting changes any value; rows written before keep their pglz compression.

Revision ID: 0102
Revises: 0101
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0102"
down_revision = "0101"
branch_labels = None
depends_on = None

_FILLFACTOR = {"findings": 70, "projects": 90}  # rows updated on every re-submission
_COMPRESSED = (("checklists", "raw_text"), ("assessments", "findings"), ("findings", "record"))


def _lz4() -> bool:
    connection = op.get_bind()
    return connection.dialect.name == "postgresql" and bool(connection.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar())


def upgrade() -> None:
    op.drop_index("ix_findings_last_assessment_id", table_name="findings")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, fillfactor in _FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")
    if _lz4():
        for table, column in _COMPRESSED:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        if _lz4():
            for table, column in _COMPRESSED:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
        for table in _FILLFACTOR:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.create_index("ix_findings_last_assessment_id", "findings", ["last_assessment_id"])
