"""Store a checklist with its assessment, matching its findings to the project's earlier ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.assessment import Assessment
from riskengine.findings import Finding
from riskengine.gate import decide_gate
from riskengine.store import Actor, new_id, utcnow
from riskengine.store import models as m
from riskengine.store.records import (
    content_hash,
    finding_record,
    gate_changes_on,
    sha256_text,
)
from riskengine.vocabulary import FindingStatus

NEW, PERSISTING, RESOLVED = "new", "persisting", "resolved"


@dataclass(frozen=True)
class Submitted:
    project: m.Project
    checklist: m.Checklist
    assessment: m.Assessment
    findings: dict[str, m.Finding]  # every tracked finding the assessment names, by id
    judged: list[Finding]  # the assessment's findings carrying their tracked statuses


def lock_project(session: Session, code: str, fields: dict[str, Any], actor: Actor) -> m.Project:
    """Return the project, created if new, locked so its submissions are numbered one by one."""
    query = select(m.Project).where(m.Project.code == code).with_for_update()
    project = session.scalars(query).first()
    if project is not None:
        return project
    try:
        with session.begin_nested():
            project = m.Project(code=code, name=fields.get("name"), city=fields.get("city"),
                                created_at=utcnow(), created_by=actor.name)
            session.add(project)
    except IntegrityError:  # created meanwhile by a concurrent request: use theirs
        project = session.scalars(query).one()
    return project


def submit(session: Session, assessment: Assessment, raw_text: str, project_fields: dict[str, Any],
           actor: Actor, today: dt.date) -> Submitted:
    """Store a checklist and its assessment; each finding is new, persisting, or resolved."""
    project = lock_project(session, assessment.project_code, project_fields, actor)
    stage = assessment.stage.value
    previous = session.execute(
        select(m.Assessment.id, m.Assessment.number).where(
            m.Assessment.project_id == project.id, m.Assessment.stage == stage)
        .order_by(m.Assessment.number.desc()).limit(1)).first()
    number = (previous.number if previous else 0) + 1
    now = utcnow()
    checklist = m.Checklist(
        id=new_id(), project_id=project.id, stage=stage, number=number, as_of=assessment.as_of,
        raw_text=raw_text, sha256=sha256_text(raw_text), submitted_by=actor.name,
        token_id=actor.token_id, created_at=now)
    row = m.Assessment(id=new_id(), project_id=project.id, checklist_id=checklist.id,
                       stage=stage, number=number, as_of=assessment.as_of,
                       rulesets=[r.to_dict() for r in assessment.rulesets], created_at=now)
    matcher = _Matcher(session, project.id, stage, row.id, actor, now)
    # The previous assessment's findings are the tracked rows it was the last to raise.
    before = {f.id for f in matcher.tracked.values()
              if previous is not None and f.last_assessment_id == previous.id}
    row.findings = [matcher.match(f, before) for f in assessment.findings]
    row.resolved = matcher.resolve_absent(before)
    row.content_hash = content_hash(checklist.sha256, assessment.rulesets,
                                    [_frozen(e) for e in row.findings])
    findings = [f.with_status(FindingStatus(matcher.rows[e["finding_id"]].status),
                              matcher.rows[e["finding_id"]].waiver_expires)
                for f, e in zip(assessment.findings, row.findings, strict=True)]
    gate = decide_gate(findings, today)
    row.gate_at_submission = gate.decision.value
    session.add_all([checklist, row])
    project.stage, project.gate = stage, gate.decision.value
    project.gate_changes_on = gate_changes_on(findings, today)
    project.latest_assessment_id = row.id
    matcher.mark_unchanged()
    return Submitted(project, checklist, row, {**matcher.rows, **matcher.resolved}, findings)


def _frozen(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("finding_id", "change")}


class _Matcher:
    """Matches one assessment's findings to the tracked findings of its project and stage."""

    def __init__(self, session: Session, project_id: int, stage: str, assessment_id: str,
                 actor: Actor, now: dt.datetime) -> None:
        self.session, self.assessment_id, self.actor, self.now = session, assessment_id, actor, now
        self.project_id, self.stage = project_id, stage
        self.tracked = {f.fingerprint: f for f in session.scalars(
            select(m.Finding).where(m.Finding.project_id == project_id, m.Finding.stage == stage))}
        self.rows: dict[str, m.Finding] = {}
        self.resolved: dict[str, m.Finding] = {}
        self.unchanged: list[str] = []
        self.changes: dict[str, str] = {}

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

    def create(self, finding: Finding, record: dict[str, Any]) -> m.Finding:
        row = m.Finding(
            id=new_id(), project_id=self.project_id, stage=self.stage,
            fingerprint=finding.fingerprint, status=FindingStatus.OPEN.value, notes="",
            version=1, first_assessment_id=self.assessment_id, created_at=self.now)
        self.tracked[finding.fingerprint] = row
        self.changes[row.id] = NEW
        self.refresh(row, finding, record)
        self.session.add(row)
        return row

    def refresh(self, row: m.Finding, finding: Finding, record: dict[str, Any]) -> None:
        """Keep status, notes and waiver; take the latest evaluation's content."""
        if self.changes[row.id] == PERSISTING and row.record == record:
            self.unchanged.append(row.id)  # the usual re-submission: one UPDATE for them all
            return
        row.rule_id, row.category, row.severity = (
            finding.rule_id, finding.category.value, finding.severity.value)
        row.blocking, row.owner = finding.blocking, finding.owner.value
        row.due_date = finding.due_date
        row.record, row.last_assessment_id, row.updated_at = record, self.assessment_id, self.now
        if self.changes[row.id] == NEW and row.status != FindingStatus.OPEN:
            # It had gone from the checklists and came back: the risk is open again.
            self.transition(row, FindingStatus.OPEN, "reopened",
                            "present again in a new checklist")
            row.waiver_id = row.waiver_expires = None

    def resolve_absent(self, before: set[str]) -> list[str]:
        """Resolve the findings of the previous assessment this one no longer raises."""
        absent = sorted(before - set(self.rows))
        for row in (r for r in self.tracked.values() if r.id in absent):
            self.resolved[row.id] = row
            if row.status != FindingStatus.RESOLVED:
                self.transition(row, FindingStatus.RESOLVED, "auto_resolved",
                                "no longer raised by the new checklist")
        return absent

    def mark_unchanged(self) -> None:
        if self.unchanged:
            self.session.execute(
                update(m.Finding).where(m.Finding.id.in_(self.unchanged))
                .values(last_assessment_id=self.assessment_id),
                execution_options={"synchronize_session": "evaluate"})

    def transition(self, row: m.Finding, status: FindingStatus, action: str, reason: str) -> None:
        self.session.add(m.FindingEvent(
            finding_id=row.id, at=self.now, actor=self.actor.name, token_id=self.actor.token_id,
            action=action, from_status=row.status, to_status=status.value, reason=reason,
            details={"assessment_id": self.assessment_id}))
        row.status, row.version, row.updated_at = status.value, row.version + 1, self.now

