"""The tables of the service, SQLAlchemy 2 declarative; schema changes go through Alembic only.

Checklists, assessments, finding events, waivers and gate reviews are history: rows are only
ever inserted, and the migration installs triggers that refuse UPDATE and DELETE on them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

APPEND_ONLY = ("checklists", "assessments", "finding_events", "waivers", "gate_reviews",
               "finding_comments", "finding_notices", "blobs", "attachments",
               "attachment_removals")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Stored as naive UTC on every backend, read back aware, so both databases agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect
                           ) -> dt.datetime | None:
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect
                             ) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: UtcDateTime(),
    }


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(16))
    projects: Mapped[list[Any] | None]  # None: every project
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(String(4000))
    city: Mapped[str | None] = mapped_column(String(4000))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    # The latest submission, kept here so listings filter without scanning history.
    stage: Mapped[str | None] = mapped_column(String(16), index=True)
    gate: Mapped[str | None] = mapped_column(String(16), index=True)
    # The first day a waiver of the latest assessment lapses: its gate must be decided anew.
    gate_changes_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    latest_assessment_id: Mapped[str | None] = mapped_column(String(32))


class Checklist(Base):
    __tablename__ = "checklists"
    __table_args__ = (UniqueConstraint("project_id", "stage", "number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage: Mapped[str] = mapped_column(String(16))
    number: Mapped[int]
    as_of: Mapped[dt.date] = mapped_column(Date)
    raw_text: Mapped[str] = mapped_column(Text)  # exactly the submitted body
    sha256: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_project_stage", "project_id", "stage", "number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    checklist_id: Mapped[str] = mapped_column(ForeignKey("checklists.id"), unique=True)
    stage: Mapped[str] = mapped_column(String(16))
    number: Mapped[int]
    as_of: Mapped[dt.date] = mapped_column(Date)
    rulesets: Mapped[list[Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    gate_at_submission: Mapped[str] = mapped_column(String(16))
    # Each finding as evaluated (both languages) with the id of the tracked finding it feeds.
    findings: Mapped[list[Any]]
    resolved: Mapped[list[Any]]  # tracked findings this submission resolved by their absence
    created_at: Mapped[dt.datetime]
    # Declared so one flush inserts the checklist before the assessment that refers to it.
    checklist: Mapped[Checklist] = relationship(lazy="raise")


class Finding(Base):
    """A risk tracked across re-submissions: one row per project, stage and fingerprint."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("project_id", "stage", "fingerprint"),
        Index("ix_findings_owner_status_severity", "owner", "status", "severity"),
        Index("ix_findings_project_status", "project_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    blocking: Mapped[bool] = mapped_column(Boolean)
    owner: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    record: Mapped[dict[str, Any]]  # the latest evaluation of it, both languages
    status: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    waiver_id: Mapped[str | None] = mapped_column(String(32))
    waiver_expires: Mapped[dt.date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    first_assessment_id: Mapped[str] = mapped_column(String(32))
    # Not indexed: it changes on every re-submission, and without an index that UPDATE stays
    # in its page (PostgreSQL's HOT update; migration 0102).
    last_assessment_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # The workflow's dates (migration 0105). The effective due date is `due_by_hand` when a
    # reviewer set one (a re-submission never touches it), else the earlier of `due_date` (the
    # milestone's, refreshed by each submission) and `sla_due` (first sight, or the day a
    # waiver lapsed, plus the severity's SLA days).
    due_by_hand: Mapped[dt.date | None] = mapped_column(Date, nullable=True, default=None)
    sla_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True, default=None)
    # A department a reviewer reassigned it to: `owner` stays it across re-submissions.
    owner_by_hand: Mapped[str | None] = mapped_column(String(16), nullable=True, default=None)


class FindingEvent(Base):
    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]]
    finding: Mapped[Finding] = relationship(lazy="raise")


class Waiver(Base):
    __tablename__ = "waivers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    justification: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(200))
    expires: Mapped[dt.date] = mapped_column(Date)
    granted_by: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    finding: Mapped[Finding] = relationship(lazy="raise")


class WaiverRequest(Base):
    """A waiver asked for by an owner or a PM; a reviewer other than the requester decides it.
    An approved request is granted as a `Waiver` row; an extension is a new request."""

    __tablename__ = "waiver_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    justification: Mapped[str] = mapped_column(Text)
    expires: Mapped[dt.date] = mapped_column(Date)  # as requested
    requested_by: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | denied
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    waiver_id: Mapped[str | None] = mapped_column(String(32))


class FindingComment(Base):
    """A comment on a finding: history, only ever inserted."""

    __tablename__ = "finding_comments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    author: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[Any]]  # department codes mentioned
    created_at: Mapped[dt.datetime]


class FindingNotice(Base):
    """A notice about a finding, queued once: `key` names what it is about (a waiver's
    reminder N days before, a lapse, a mention), so a second sweep queues nothing again."""

    __tablename__ = "finding_notices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class Blob(Base):
    """Stored bytes, keyed by their SHA-256 (`id`): the same bytes are stored once, never
    overwritten. `data` holds them in the database; None when they live in the object store
    (`location` "s3") under their hash."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256, hex
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(8))  # db | s3
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[dt.datetime]


class Attachment(Base):
    """Evidence attached to a finding, or to an item of a project's checklist of one stage
    (`item`: the list and the item's contract identity, `promises/P-2`, as fingerprints name
    it). History: never changed; a removal is an `AttachmentRemoval`."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_project_item", "project_id", "stage", "item"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"), index=True)
    stage: Mapped[str | None] = mapped_column(String(16))
    item: Mapped[str | None] = mapped_column(String(400))
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    thumbnail_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    media_type: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))  # as the client named it; not trusted
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    # When the photo was taken, as the camera wrote it (EXIF, its local time; an offset when
    # the camera gave one): the evidence date, beside the upload's.
    captured_at: Mapped[str | None] = mapped_column(String(32))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    uploaded_at: Mapped[dt.datetime]


class AttachmentRemoval(Base):
    """An attachment taken out of the listings: who, when, why. Its bytes and row stay."""

    __tablename__ = "attachment_removals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    attachment_id: Mapped[str] = mapped_column(ForeignKey("attachments.id"), unique=True)
    removed_by: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    removed_at: Mapped[dt.datetime]


class GateReview(Base):
    __tablename__ = "gate_reviews"
    __table_args__ = (Index("ix_gate_reviews_project_stage", "project_id", "stage"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stage: Mapped[str] = mapped_column(String(16))
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"))
    assessment_number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    computed_gate: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(80))
    token_id: Mapped[int | None]
    comments: Mapped[str] = mapped_column(Text)
    override_justification: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    # A delivery review also froze the project's latest audit run: what it read, as it was.
    audit_run_id: Mapped[str | None] = mapped_column(String(32))
    audit_run_slot: Mapped[dt.date | None] = mapped_column(Date)
    audit_run_gate: Mapped[str | None] = mapped_column(String(16))
    assessment: Mapped[Assessment] = relationship(lazy="raise")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
