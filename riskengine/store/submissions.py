"""Store a checklist with its assessment, matching its findings to the project's earlier ones.

This is the service's hottest write, so it is written for little work per submission: the
project row is locked, one SELECT reads the stage's tracked findings together with the previous
assessment's id and number, and the rows go out as a few prebuilt Core statements (the new
findings and events each in one executemany, the findings that merely persist in one UPDATE).
No ORM unit of work runs: the rows handed back are built in memory, as stored, and are not in
the session. (psycopg's pipeline mode, sending the writes in one round trip, was measured and
gained nothing: the cost is CPU, not round trips on loopback.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.assessment.assessor import Assessment
from riskengine.assessment.findings import Finding
from riskengine.store import Actor, new_id, utcnow
from riskengine.store import models as m
from riskengine.store.records import (
    content_hash,
    finding_record,
    sha256_text,
)
from riskengine.vocabulary import FindingStatus

NEW, PERSISTING, RESOLVED = "new", "persisting", "resolved"

_TABLES = m.Base.metadata.tables
_CHECKLISTS, _ASSESSMENTS, _FINDINGS, _EVENTS, _PROJECTS = (_TABLES[name] for name in (
    "checklists", "assessments", "findings", "finding_events", "projects"))
_FINDING_COLUMNS = tuple(p.key for p in m.Finding.__mapper__.column_attrs)
_CHECKLIST_COLUMNS = tuple(p.key for p in m.Checklist.__mapper__.column_attrs)
_ASSESSMENT_COLUMNS = tuple(p.key for p in m.Assessment.__mapper__.column_attrs)
# What a re-submission may change in a tracked finding: its content, and (reopened, resolved)
# its status. Everything else (fingerprint, notes, first assessment, creation) stays.
_REFRESHED = ("rule_id", "category", "severity", "blocking", "owner", "due_date", "record",
              "status", "waiver_id", "waiver_expires", "version", "last_assessment_id",
              "updated_at")


@dataclass(slots=True)
class TrackedFinding:
    """A tracked finding's columns, as a submission reads, matches and writes them back.

    Not an ORM object: a submission reads a dozen of these and writes them in Core, and the
    ORM's attribute bookkeeping cost more than the rest of the matching together.
    """

    id: str
    project_id: int
    stage: str
    fingerprint: str
    rule_id: str
    category: str
    severity: str
    blocking: bool
    owner: str
    due_date: dt.date
    record: dict[str, Any]
    status: str
    notes: str
    waiver_id: str | None
    waiver_expires: dt.date | None
    version: int
    first_assessment_id: str
    last_assessment_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    # The workflow's dates (migration 0105): a submission leaves both as they are.
    due_by_hand: dt.date | None = None
    sla_due: dt.date | None = None
    owner_by_hand: str | None = None


@dataclass(frozen=True)
class Submitted:
    assessment: m.Assessment
    findings: dict[str, TrackedFinding]  # every tracked finding the assessment names, by id
    judged: list[Finding]  # the assessment's findings carrying their tracked statuses


@dataclass
class Pending:
    """A submission matched to its project's tracked findings and not yet written: the core
    decides its gate from `judged`, then `write` stores everything in a few statements."""

    connection: Connection
    project_id: int
    checklist: m.Checklist
    row: m.Assessment
    matcher: _Matcher
    judged: list[Finding]

    def write(self, gate: str, gate_changes_on: dt.date | None) -> Submitted:
        """Store the checklist, the assessment, its findings' changes and the project's gate."""
        self.row.gate_at_submission = gate
        connection = self.connection
        connection.execute(_INSERT_CHECKLIST, _values(self.checklist, _CHECKLIST_COLUMNS))
        connection.execute(_INSERT_ASSESSMENT, _values(self.row, _ASSESSMENT_COLUMNS))
        self.matcher.write(connection)
        connection.execute(_UPDATE_PROJECT, {
            "project_id": self.project_id, "new_stage": self.row.stage, "new_gate": gate,
            "new_gate_changes_on": gate_changes_on, "new_latest_assessment_id": self.row.id})
        return Submitted(self.row, {**self.matcher.rows, **self.matcher.resolved}, self.judged)


def begin(session: Session, assessment: Assessment, raw_text: str,
          project_fields: Mapping[str, Any], actor: Actor,
          sla_due: Callable[[str], dt.date] | None = None) -> Pending:
    """Lock the project (created if new), number the checklist, and match the assessment's
    findings to the tracked ones: each is new, persisting, or resolved."""
    connection = session.connection()
    project_id = _locked_project(session, connection, assessment.project_code, project_fields,
                                 actor)
    stage = assessment.stage.value
    previous_id, previous_number, tracked = _tracked(connection, project_id, stage)
    number = previous_number + 1
    now = utcnow()
    checklist = m.Checklist(
        id=new_id(), project_id=project_id, stage=stage, number=number, as_of=assessment.as_of,
        raw_text=raw_text, sha256=sha256_text(raw_text), submitted_by=actor.name,
        token_id=actor.token_id, created_at=now)
    row = m.Assessment(id=new_id(), project_id=project_id, checklist_id=checklist.id,
                       stage=stage, number=number, as_of=assessment.as_of,
                       rulesets=[r.to_dict() for r in assessment.rulesets], created_at=now)
    matcher = _Matcher(tracked, project_id, stage, row.id, actor, now, sla_due)
    # The previous assessment's findings are the tracked rows it was the last to raise.
    before = {f.id for f in tracked.values()
              if previous_id is not None and f.last_assessment_id == previous_id}
    row.findings = [matcher.match(f, before) for f in assessment.findings]
    row.resolved = matcher.resolve_absent(before)
    row.content_hash = content_hash(checklist.sha256, assessment.rulesets,
                                    [_frozen(e) for e in row.findings])
    judged = [f.with_status(FindingStatus(matcher.rows[e["finding_id"]].status),
                            matcher.rows[e["finding_id"]].waiver_expires)
              for f, e in zip(assessment.findings, row.findings, strict=True)]
    return Pending(connection, project_id, checklist, row, matcher, judged)


# The statements of a submission, built once (SQLAlchemy then reuses their compiled form).
_LOCK_PROJECT = (select(_PROJECTS.c.id).where(_PROJECTS.c.code == bindparam("code"))
                 .with_for_update())
_INSERT_PROJECT = insert(_PROJECTS).returning(_PROJECTS.c.id)
_INSERT_CHECKLIST = insert(_CHECKLISTS).inline()
_INSERT_ASSESSMENT = insert(_ASSESSMENTS).inline()
_INSERT_FINDINGS = insert(_FINDINGS).inline()
_INSERT_EVENTS = insert(_EVENTS).inline()
_UPDATE_PROJECT = update(_PROJECTS).where(_PROJECTS.c.id == bindparam("project_id")).values(
    {name: bindparam(f"new_{name}")
     for name in ("stage", "gate", "gate_changes_on", "latest_assessment_id")})
_REFRESH_FINDING = update(_FINDINGS).where(_FINDINGS.c.id == bindparam("finding_id")).values(
    {name: bindparam(f"new_{name}") for name in _REFRESHED})
_PERSIST_FINDINGS = update(_FINDINGS).where(
    _FINDINGS.c.id.in_(bindparam("ids", expanding=True))).values(
    last_assessment_id=bindparam("assessment_id"))
_LATEST = (select(_ASSESSMENTS.c.id, _ASSESSMENTS.c.number).where(
    _ASSESSMENTS.c.project_id == bindparam("project_id"),
    _ASSESSMENTS.c.stage == bindparam("stage"))
    .order_by(_ASSESSMENTS.c.number.desc()).limit(1))
_TRACKED = select(
    *(_FINDINGS.c[name] for name in _FINDING_COLUMNS),
    _LATEST.with_only_columns(_ASSESSMENTS.c.id).scalar_subquery().label("previous_id"),
    _LATEST.with_only_columns(_ASSESSMENTS.c.number).scalar_subquery().label("previous_number"),
).where(_FINDINGS.c.project_id == bindparam("project_id"),
        _FINDINGS.c.stage == bindparam("stage"))


def _locked_project(session: Session, connection: Connection, code: str,
                    fields: Mapping[str, Any], actor: Actor) -> int:
    """Return the project's id, the project created if new and locked either way, so its
    submissions are numbered one by one: one statement when it exists (the usual case)."""
    found = connection.execute(_LOCK_PROJECT, {"code": code}).scalar()
    if found is not None:
        return int(found)
    values = {"code": code, "name": fields.get("name"), "city": fields.get("city"),
              "created_at": utcnow(), "created_by": actor.name}
    try:
        with session.begin_nested():  # SAVEPOINT (emitted for the session's own execute)
            return int(session.execute(_INSERT_PROJECT, values).scalar_one())
    except IntegrityError:  # created meanwhile by a concurrent request: use theirs
        return int(connection.execute(_LOCK_PROJECT, {"code": code}).scalar_one())


def _tracked(connection: Connection, project_id: int, stage: str
             ) -> tuple[str | None, int, dict[str, TrackedFinding]]:
    """Return the stage's previous assessment (id, number; None, 0 when first) and its tracked
    findings by fingerprint, read in one statement when there are any."""
    tracked: dict[str, TrackedFinding] = {}
    previous: tuple[str | None, int] | None = None
    where = {"project_id": project_id, "stage": stage}
    for found in connection.execute(_TRACKED, where):
        if previous is None:
            previous = (found.previous_id, found.previous_number or 0)
        columns = zip(_FINDING_COLUMNS, found, strict=False)  # the row ends with `previous`
        tracked[found.fingerprint] = TrackedFinding(**dict(columns))
    if previous is None:  # no tracked finding yet (or none ever raised): the number alone
        first = connection.execute(_LATEST, where).first()
        previous = (first.id, first.number) if first else (None, 0)
    return previous[0], previous[1], tracked


def _values(row: object, names: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    """A row's columns `names` as an INSERT's (or, prefixed, an UPDATE's) parameters."""
    return {prefix + name: getattr(row, name) for name in names}


def _frozen(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("finding_id", "change")}


class _Matcher:
    """Matches one assessment's findings to the tracked findings of its project and stage.

    The rows are changed in memory only (they are not in the session); `write` then stores
    every change in a few statements.
    """

    def __init__(self, tracked: dict[str, TrackedFinding], project_id: int, stage: str,
                 assessment_id: str, actor: Actor, now: dt.datetime,
                 sla_due: Callable[[str], dt.date] | None = None) -> None:
        self.tracked, self.assessment_id, self.actor, self.now = tracked, assessment_id, actor, now
        self.sla_due = sla_due  # a new finding's SLA due date, by severity (the core's)
        self.project_id, self.stage = project_id, stage
        self.rows: dict[str, TrackedFinding] = {}
        self.resolved: dict[str, TrackedFinding] = {}
        self.changes: dict[str, str] = {}
        self.created: list[TrackedFinding] = []
        self.refreshed: dict[str, TrackedFinding] = {}  # existing rows whose columns change
        self.unchanged: list[TrackedFinding] = []  # existing rows raised again exactly as they were
        self.events: list[dict[str, Any]] = []

    def match(self, finding: Finding, before: set[str]) -> dict[str, Any]:
        """Return the assessment's entry for a finding, creating or updating its tracked row."""
        record = finding_record(finding)
        row = self.tracked.get(finding.fingerprint)
        if row is None:
            row = self.create(finding, record)
        elif row.id not in self.rows:
            self.changes[row.id] = PERSISTING if row.id in before else NEW
            self.refresh(row, finding, record)
        self.rows[row.id] = row
        return {**record, "finding_id": row.id, "change": self.changes[row.id]}

    def create(self, finding: Finding, record: dict[str, Any]) -> TrackedFinding:
        row = TrackedFinding(
            id=new_id(), project_id=self.project_id, stage=self.stage,
            fingerprint=finding.fingerprint, rule_id=finding.rule_id, category="", severity="",
            blocking=False, owner="", due_date=finding.due_date, record=record,
            status=FindingStatus.OPEN.value, notes="", waiver_id=None, waiver_expires=None,
            version=1, first_assessment_id=self.assessment_id,
            last_assessment_id=self.assessment_id, created_at=self.now, updated_at=self.now,
            sla_due=self.sla_due(finding.severity.value) if self.sla_due else None)
        self.tracked[finding.fingerprint] = row
        self.changes[row.id] = NEW
        self.created.append(row)
        self.refresh(row, finding, record)
        return row

    def refresh(self, row: TrackedFinding, finding: Finding, record: dict[str, Any]) -> None:
        """Keep status, notes and waiver; take the latest evaluation's content."""
        if self.changes[row.id] == PERSISTING and row.record == record:
            row.last_assessment_id = self.assessment_id  # the usual re-submission
            self.unchanged.append(row)
            return
        row.rule_id, row.category, row.severity = (
            finding.rule_id, finding.category.value, finding.severity.value)
        row.blocking, row.owner = finding.blocking, row.owner_by_hand or finding.owner.value
        row.due_date = finding.due_date
        row.record, row.last_assessment_id, row.updated_at = record, self.assessment_id, self.now
        if self.changes[row.id] == NEW and row.status != FindingStatus.OPEN:
            # It had gone from the checklists and came back: the risk is open again.
            self.transition(row, FindingStatus.OPEN, "reopened",
                            "present again in a new checklist")
            row.waiver_id = row.waiver_expires = None
        self._changed(row)

    def resolve_absent(self, before: set[str]) -> list[str]:
        """Resolve the findings of the previous assessment this one no longer raises."""
        absent = sorted(before - set(self.rows))
        for row in (r for r in self.tracked.values() if r.id in absent):
            self.resolved[row.id] = row
            if row.status != FindingStatus.RESOLVED:
                self.transition(row, FindingStatus.RESOLVED, "auto_resolved",
                                "no longer raised by the new checklist")
                self._changed(row)
        return absent

    def transition(self, row: TrackedFinding, status: FindingStatus, action: str,
                   reason: str) -> None:
        self.events.append({
            "finding_id": row.id, "at": self.now, "actor": self.actor.name,
            "token_id": self.actor.token_id, "action": action, "from_status": row.status,
            "to_status": status.value, "reason": reason,
            "details": {"assessment_id": self.assessment_id}})
        row.status, row.version, row.updated_at = status.value, row.version + 1, self.now

    def _changed(self, row: TrackedFinding) -> None:
        if row.first_assessment_id != self.assessment_id:  # new rows are inserted as they end
            self.refreshed[row.id] = row

    def write(self, connection: Connection) -> None:
        """Store the rows: new findings, changed ones, the merely persisting, then events."""
        if self.created:
            connection.execute(_INSERT_FINDINGS, [
                _values(row, _FINDING_COLUMNS) for row in self.created])
        if self.refreshed:
            connection.execute(_REFRESH_FINDING, [
                {"finding_id": row.id, **_values(row, _REFRESHED, "new_")}
                for row in self.refreshed.values()])
        if self.unchanged:
            connection.execute(_PERSIST_FINDINGS, {
                "ids": [row.id for row in self.unchanged], "assessment_id": self.assessment_id})
        if self.events:
            connection.execute(_INSERT_EVENTS, self.events)
