"""Notices where teams work: chat-robot channels (WeCom, DingTalk, Feishu), subscriptions routed
by owner department and event, and outbox entries for events other than audit digests, each
once per (event, subscription).

Revision ID: 0106
Revises: 0104
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0106"
down_revision = "0104"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): on SQLite, recreating the table the outbox refers to
    # would break its foreign keys.
    op.add_column("audit_subscriptions", sa.Column("departments", sa.JSON()))
    op.add_column("audit_subscriptions", sa.Column("events", sa.JSON()))
    op.add_column("audit_subscriptions", sa.Column("lang", sa.String(8), nullable=False,
                                                   server_default="zh"))
    # Subscriptions made before there were other events asked for digests: they keep getting
    # only those (their receivers parse digests).
    op.execute("UPDATE audit_subscriptions SET events = '[\"audit.digest\"]'")
    with op.batch_alter_table("audit_outbox") as batch:
        batch.add_column(sa.Column("event", sa.String(40), nullable=False,
                                   server_default="audit.digest"))
        batch.add_column(sa.Column("event_key", sa.String(200)))
        batch.add_column(sa.Column("project_code", sa.String(40)))
        batch.alter_column("run_id", existing_type=sa.String(32), nullable=True)
    op.execute("UPDATE audit_outbox SET event_key = 'audit.digest:' || run_id || ':' || recipient")
    op.execute("UPDATE audit_outbox SET project_code = (SELECT projects.code FROM audit_runs "
               "JOIN projects ON projects.id = audit_runs.project_id "
               "WHERE audit_runs.id = audit_outbox.run_id)")
    with op.batch_alter_table("audit_outbox") as batch:
        batch.alter_column("event_key", existing_type=sa.String(200), nullable=False)
        batch.create_unique_constraint("uq_audit_outbox_event_subscription",
                                       ["event_key", "subscription_id"])


def downgrade() -> None:
    op.execute("DELETE FROM audit_outbox WHERE run_id IS NULL")
    with op.batch_alter_table("audit_outbox") as batch:
        batch.drop_constraint("uq_audit_outbox_event_subscription", type_="unique")
        batch.alter_column("run_id", existing_type=sa.String(32), nullable=False)
        batch.drop_column("project_code")
        batch.drop_column("event_key")
        batch.drop_column("event")
    for column in ("lang", "events", "departments"):
        op.drop_column("audit_subscriptions", column)  # SQLite >= 3.35 drops columns in place
