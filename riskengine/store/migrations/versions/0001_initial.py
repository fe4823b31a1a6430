"""Initial schema: projects, checklists, assessments, findings and their history, tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("checklists", "assessments", "finding_events", "waivers", "gate_reviews")
_NOW = sa.DateTime()


def _id(length: int | None = None) -> sa.Column[object]:
    kind: sa.types.TypeEngine[Any] = sa.String(length) if length else sa.Integer()
    return sa.Column("id", kind, primary_key=True)


def _project() -> sa.Column[object]:
    return sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False)


def _finding() -> sa.Column[object]:
    return sa.Column("finding_id", sa.String(32), sa.ForeignKey("findings.id"), nullable=False,
                     index=True)


def _create_tables() -> None:
    op.create_table(
        "api_tokens", _id(),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department", sa.String(16)),
        sa.Column("projects", sa.JSON()),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("revoked_at", _NOW))
    op.create_table(
        "idempotency_keys", _id(),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("body", sa.Text()),
        sa.Column("created_at", _NOW, nullable=False),
        sa.UniqueConstraint("token_id", "key"))
    op.create_table(
        "projects", _id(),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(4000)),
        sa.Column("city", sa.String(4000)),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("stage", sa.String(16), index=True),
        sa.Column("gate", sa.String(16), index=True),
        sa.Column("gate_changes_on", sa.Date(), index=True),
        sa.Column("latest_assessment_id", sa.String(32)))
    op.create_table(
        "checklists", _id(32), _project(),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("submitted_by", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("created_at", _NOW, nullable=False),
        sa.UniqueConstraint("project_id", "stage", "number"))
    op.create_table(
        "assessments", _id(32), _project(),
        sa.Column("checklist_id", sa.String(32), sa.ForeignKey("checklists.id"),
                  nullable=False, unique=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("rulesets", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("gate_at_submission", sa.String(16), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.JSON(), nullable=False),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_index("ix_assessments_project_stage", "assessments",
                    ["project_id", "stage", "number"])
    _create_finding_tables()


def _create_finding_tables() -> None:
    op.create_table(
        "findings", _id(32), _project(),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False, index=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False, index=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("waiver_id", sa.String(32)),
        sa.Column("waiver_expires", sa.Date()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("first_assessment_id", sa.String(32), nullable=False),
        sa.Column("last_assessment_id", sa.String(32), nullable=False, index=True),
        sa.Column("created_at", _NOW, nullable=False),
        sa.Column("updated_at", _NOW, nullable=False),
        sa.UniqueConstraint("project_id", "stage", "fingerprint"))
    op.create_index("ix_findings_owner_status_severity", "findings",
                    ["owner", "status", "severity"])
    op.create_index("ix_findings_project_status", "findings", ["project_id", "status"])
    op.create_table(
        "finding_events", _id(), _finding(),
        sa.Column("at", _NOW, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False))
    op.create_table(
        "waivers", _id(32), _finding(),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_table(
        "gate_reviews", _id(32), _project(),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("assessment_id", sa.String(32), sa.ForeignKey("assessments.id"),
                  nullable=False),
        sa.Column("assessment_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("computed_gate", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(80), nullable=False),
        sa.Column("token_id", sa.Integer()),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("override_justification", sa.Text()),
        sa.Column("created_at", _NOW, nullable=False))
    op.create_index("ix_gate_reviews_project_stage", "gate_reviews", ["project_id", "stage"])


def _protect_history() -> None:
    """History is evidence: the database itself refuses to change or remove it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION riskengine_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION riskengine_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION riskengine_refuse_change()")
        return
    for table in APPEND_ONLY:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                       f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: "
                       f"{operation} refused'); END")


def upgrade() -> None:
    _create_tables()
    _protect_history()


def downgrade() -> None:
    for table in ("gate_reviews", "waivers", "finding_events", "findings", "assessments",
                  "checklists", "projects", "idempotency_keys", "api_tokens"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION riskengine_refuse_change()")
