"""Evidence attachments (issue 11, item 1): bytes stored once per SHA-256 (`blobs`; the bytes
in the database, or only their hash when an object store holds them), attachments of a finding
or of a checklist item referring to them, and removals as rows of their own. All three are
history: append-only like 0001's tables, with 0103's guard against REPLACE on SQLite.

Revision ID: 0109
Revises: 0105
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0109"
down_revision = "0105"
branch_labels = None
depends_on = None

# The history tables this revision adds, with their unique keys besides `id`, frozen here.
HISTORY = {"blobs": (), "attachments": (), "attachment_removals": ("attachment_id",)}
_NOW = sa.DateTime()


def _create_tables() -> None:
    op.create_table(
        "blobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("location", sa.String(8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("finding_id", sa.String(32), sa.ForeignKey("findings.id"), nullable=True,
                  index=True),
        sa.Column("stage", sa.String(16), nullable=True),
        sa.Column("item", sa.String(400), nullable=True),
        sa.Column("blob_id", sa.String(64), sa.ForeignKey("blobs.id"), nullable=False),
        sa.Column("thumbnail_id", sa.String(64), sa.ForeignKey("blobs.id"), nullable=True),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("captured_at", sa.String(32), nullable=True),
        sa.Column("uploaded_by", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", _NOW, nullable=False))
    op.create_index("ix_attachments_project_item", "attachments", ["project_id", "stage", "item"])
    op.create_table(
        "attachment_removals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("attachment_id", sa.String(32), sa.ForeignKey("attachments.id"),
                  nullable=False, unique=True),
        sa.Column("removed_by", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("removed_at", _NOW, nullable=False))


def _protect(table: str, unique: tuple[str, ...]) -> None:
    """As 0001, 0103 and 0105 protect their tables (riskengine_refuse_change() is 0001's)."""
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
    keys = [f'"{key}" = NEW."{key}"' for key in ("id", *unique)]
    taken = " OR ".join(f"EXISTS (SELECT 1 FROM {table} WHERE {key})" for key in keys)
    op.execute(f"CREATE TRIGGER {table}_no_overwrite BEFORE INSERT ON {table} WHEN {taken} "
               f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with this key "
               "exists, REPLACE refused'); END")


def upgrade() -> None:
    _create_tables()
    for table, unique in HISTORY.items():
        _protect(table, unique)


def downgrade() -> None:
    for table in reversed(HISTORY):
        op.drop_table(table)
