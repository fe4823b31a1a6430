"""The audits' tables, on the service's declarative base; schema changes go through Alembic
(revision `audits01`). Runs are history: the migration makes `audit_runs` append-only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskengine.store.models import Base, Project

# The contract delivery date set on the project itself (it wins over the checklists'). The
# projects table belongs to the service's store; the audits add this one column to it (in their
# migration) and to its mapping here, so `Project.contract_delivery_date` reads and writes it.
DELIVERY_COLUMN = "contract_delivery_date"
if DELIVERY_COLUMN not in Project.__table__.c:
    setattr(Project, DELIVERY_COLUMN, mapped_column(DELIVERY_COLUMN, Date, nullable=True))


class AuditSchedule(Base):
    __tablename__ = "audit_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    offsets: Mapped[list[Any] | None]
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    interval: Mapped[int] = mapped_column(Integer, default=1)
    # The delivery date the slots were counted back from, and where it came from.
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    delivery_source: Mapped[str | None] = mapped_column(String(16))
    source_checklist_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    deleted_at: Mapped[dt.datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(80))


class AuditSlot(Base):
    """One planned audit of a schedule; `run-due` claims it once it is due."""

    __tablename__ = "audit_slots"
    __table_args__ = (
        UniqueConstraint("schedule_id", "slot_date"),
        Index("ix_audit_slots_due", "status", "due_at", "id"),  # claims read it in order
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("audit_schedules.id"))
    slot_date: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[dt.datetime | None]  # after a failed attempt: not before this
    last_error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32))


class AuditRun(Base):
    """The result of one slot: written once, with its notifications, in one transaction."""

    __tablename__ = "audit_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "slot_date"),
        UniqueConstraint("project_id", "number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    schedule_id: Mapped[int] = mapped_column(ForeignKey("audit_schedules.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("audit_slots.id"), unique=True)
    slot_date: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[int]  # the project's runs, 1, 2, … in the order they ran
    due_at: Mapped[dt.datetime]
    ran_at: Mapped[dt.datetime]  # the clock's instant (a moved clock in tests, `--now`)
    created_at: Mapped[dt.datetime]  # the wall clock
    checklist_id: Mapped[str | None] = mapped_column(ForeignKey("checklists.id"))
    delivery_date: Mapped[dt.date | None] = mapped_column(Date)
    gate: Mapped[str] = mapped_column(String(16))
    previous_run_id: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[dict[str, Any]]  # findings, diff, escalations, digests, rulesets


class AuditSubscription(Base):
    """Where notices go: a webhook URL (signed with its secret), an e-mail address, or a chat
    robot's webhook (WeCom; DingTalk and Feishu signed with the secret their bot gave)."""

    __tablename__ = "audit_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | wecom | dingtalk | feishu
    target: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(String(128))  # to sign with: kept, not hashed
    recipients: Mapped[list[Any] | None]  # owners / escalation contacts; None: all
    projects: Mapped[list[Any] | None]  # project codes; None: all
    departments: Mapped[list[Any] | None]  # owner departments a notice concerns; None: all
    events: Mapped[list[Any] | None]  # notice events; None: all
    lang: Mapped[str] = mapped_column(String(8), default="zh")  # zh | zh-en (Chinese first)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    # The token that created it (None: an operator on the command line); delivery re-checks
    # that token's scope at send time.
    created_by_token_id: Mapped[int | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditOutbox(Base):
    """A notice to deliver, committed with what raised it (a run, a submission, a finding's
    change); retried with backoff until sent. One per (event key, subscription): the unique
    key makes a repeated event (a retried request, a second pass) add nothing."""

    __tablename__ = "audit_outbox"
    __table_args__ = (Index("ix_audit_outbox_due", "status", "next_attempt_at"),
                      UniqueConstraint("event_key", "subscription_id",
                                       name="uq_audit_outbox_event_subscription"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None: a notice about one finding (riskengine/notices.py), queued with its change.
    run_id: Mapped[str | None] = mapped_column(ForeignKey("audit_runs.id"), index=True)
    event: Mapped[str] = mapped_column(String(40), default="audit.digest")
    event_key: Mapped[str] = mapped_column(String(200))
    project_code: Mapped[str | None] = mapped_column(String(40))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("audit_subscriptions.id"))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2000))
    recipient: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the exact body: every retry signs the same bytes
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


def delivery_date_column() -> Any:
    """The projects column holding the project's own contract delivery date."""
    return Project.__table__.c[DELIVERY_COLUMN]
