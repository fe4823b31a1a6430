"""Scheduled pre-delivery audits: schedules, slots, runs, subscriptions, outbox; the project's
own contract delivery date.

Revision ID: audits01
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "audits01"
down_revision = "0001"
branch_labels = None
depends_on = None

_NOW = sa.DateTime()


def _schedules() -> None:
    op.create_table(
        "audit_schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("offsets", sa.JSON()),
        sa.Column("starts_on", sa.Date()),
        sa.Column("ends_on", sa.Date()),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("delivery_date", sa.Date()),
        sa.Column("delivery_source", sa.String(16)),
        sa.Column("source_checklist_id", sa.String(32)),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("deleted_at", _NOW),
        sa.Column("deleted_by", sa.String(80)))
    op.create_table(
        "audit_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("schedule_id", sa.Integer(), sa.ForeignKey("audit_schedules.id"),
                  nullable=False),
        sa.Column("slot_date", sa.Date(), nullable=False),
        sa.Column("due_at", _NOW, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", _NOW),
        sa.Column("last_error", sa.Text()),
        sa.Column("run_id", sa.String(32)),
        sa.UniqueConstraint("schedule_id", "slot_date"))
    op.create_index("ix_audit_slots_due", "audit_slots", ["status", "due_at", "id"])


def _runs() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("schedule_id", sa.Integer(), sa.ForeignKey("audit_schedules.id"),
                  nullable=False),
        sa.Column("slot_id", sa.Integer(), sa.ForeignKey("audit_slots.id"), nullable=False,
                  unique=True),
        sa.Column("slot_date", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_at", _NOW, nullable=False),
        sa.Column("ran_at", _NOW, nullable=False),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("checklist_id", sa.String(32), sa.ForeignKey("checklists.id")),
        sa.Column("delivery_date", sa.Date()),
        sa.Column("gate", sa.String(16), nullable=False),
        sa.Column("previous_run_id", sa.String(32)),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.UniqueConstraint("schedule_id", "slot_date"),
        sa.UniqueConstraint("project_id", "number"))


def _notifications() -> None:
    op.create_table(
        "audit_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(128)),
        sa.Column("recipients", sa.JSON()),
        sa.Column("projects", sa.JSON()),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("revoked_at", _NOW))
    op.create_table(
        "audit_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("audit_runs.id"), nullable=False,
                  index=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("audit_subscriptions.id"),
                  nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("recipient", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _NOW),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", _NOW),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_index("ix_audit_outbox_due", "audit_outbox", ["status", "next_attempt_at"])


def _protect_runs() -> None:
    """A run is evidence of what an audit found: the database refuses to change it."""
    if op.get_bind().dialect.name == "postgresql":
        # riskengine_refuse_change() comes with revision 0001.
        op.execute("CREATE TRIGGER audit_runs_append_only BEFORE UPDATE OR DELETE ON audit_runs "
                   "FOR EACH ROW EXECUTE FUNCTION riskengine_refuse_change()")
        op.execute("CREATE TRIGGER audit_runs_no_truncate BEFORE TRUNCATE ON audit_runs "
                   "FOR EACH STATEMENT EXECUTE FUNCTION riskengine_refuse_change()")
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_runs_no_{operation.lower()} BEFORE {operation} "
                   f"ON audit_runs BEGIN SELECT RAISE(ABORT, 'audit_runs is append-only: "
                   f"{operation} refused'); END")


def upgrade() -> None:
    op.add_column("projects", sa.Column("contract_delivery_date", sa.Date()))
    _schedules()
    _runs()
    _notifications()
    _protect_runs()


def downgrade() -> None:
    for table in ("audit_outbox", "audit_subscriptions", "audit_runs", "audit_slots",
                  "audit_schedules"):
        op.drop_table(table)
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("contract_delivery_date")
