"""The finding workflow (issue 11): a due date and an owner set by hand, and the SLA's due
date, on each finding; waiver requests; comments and notices, both history (append-only like
0001's tables, with 0103's guard against REPLACE on SQLite); and outbox entries that belong to
no audit run (a notice about one finding).

Revision ID: 0105
Revises: 0108
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0105"
down_revision = "0108"
branch_labels = None
depends_on = None

# The history tables this revision adds, frozen here like any migration's schema.
HISTORY = ("finding_comments", "finding_notices")
_NOW = sa.DateTime()


def _finding() -> sa.Column[object]:
    return sa.Column("finding_id", sa.String(32), sa.ForeignKey("findings.id"), nullable=False,
                     index=True)


def _create_tables() -> None:
    op.create_table(
        "waiver_requests",
        sa.Column("id", sa.String(32), primary_key=True), _finding(),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("decided_by", sa.String(80)),
        sa.Column("decided_at", _NOW),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("waiver_id", sa.String(32)))
    op.create_table(
        "finding_comments",
        sa.Column("id", sa.String(32), primary_key=True), _finding(),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_table(
        "finding_notices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True), _finding(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", _NOW, nullable=False))


def _protect(table: str) -> None:
    """As 0001 and 0103 protect their tables (riskengine_refuse_change() is 0001's)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION riskengine_refuse_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION riskengine_refuse_change()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                   f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: "
                   f"{operation} refused'); END")
    keys = ['"id" = NEW."id"'] + (['"key" = NEW."key"'] if table == "finding_notices" else [])
    taken = " OR ".join(f"EXISTS (SELECT 1 FROM {table} WHERE {key})" for key in keys)
    op.execute(f"CREATE TRIGGER {table}_no_overwrite BEFORE INSERT ON {table} WHEN {taken} "
               f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with this key "
               "exists, REPLACE refused'); END")


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("due_by_hand", sa.Date(), nullable=True))
        batch.add_column(sa.Column("sla_due", sa.Date(), nullable=True))
        batch.add_column(sa.Column("owner_by_hand", sa.String(16), nullable=True))
    # audit_outbox.run_id is nullable since 0106 (notices of one finding have no run).
    _create_tables()
    for table in HISTORY:
        _protect(table)


def downgrade() -> None:
    for table in (*HISTORY, "waiver_requests"):
        op.drop_table(table)
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("owner_by_hand")
        batch.drop_column("sla_due")
        batch.drop_column("due_by_hand")
