"""`run-due`: replan moved schedules, run every due slot exactly once, deliver the outbox.

Each slot runs in one transaction that claims it (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the
writer lock on SQLite), writes the run and its outbox entries, and marks the slot done; the
unique (schedule, slot) constraint on runs backs the lock. A worker that dies mid-run leaves
nothing behind: its transaction never commits, and the slot is claimed again later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment.gate import summarize
from riskengine.audits import store
from riskengine.audits.clock import Clock
from riskengine.audits.comparison import compare
from riskengine.audits.delivery import next_attempt
from riskengine.audits.digest import build_digests
from riskengine.audits.escalation import escalate
from riskengine.audits.evaluation import AuditEvaluator, ChecklistSnapshot, Evaluation, Tracked
from riskengine.audits.models import AuditRun, AuditSchedule, AuditSlot
from riskengine.audits.outbox import Sender, deliver_due, enqueue
from riskengine.audits.policy import AuditPolicy
from riskengine.audits.schedule import RECURRING, ScheduleKind
from riskengine.store import new_id, utcnow
from riskengine.store.database import Database
from riskengine.store.promises import sales_mentions
from riskengine.store.records import finding_record
from riskengine.vocabulary import FindingStatus

log = logging.getLogger("riskengine.audits")
_ERROR_TEXT = 1000


@dataclass
class Auditor:
    """What a process needs to run audits: one per process (the evaluator compiles rules)."""

    database: Database
    evaluator: AuditEvaluator
    clock: Clock
    sender: Sender

    @property
    def policy(self) -> AuditPolicy:
        return self.evaluator.policy


@dataclass
class PassReport:
    runs: list[str] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # slots whose attempt failed
    replanned: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)


def _snapshot(session: Session, project_id: int) -> ChecklistSnapshot | None:
    row = store.latest_delivery_checklist(session, project_id)
    if row is None:
        return None
    return ChecklistSnapshot(row.id, row.number, row.as_of, json.loads(row.raw_text),
                             tuple(sales_mentions(session, project_id)))


def _tracked(session: Session, project_id: int) -> dict[str, Tracked]:
    return {f.fingerprint: Tracked(FindingStatus(f.status), f.waiver_expires)
            for f in store.tracked_findings(session, project_id)}


def _body(project: str, slot: AuditSlot, ran_at: dt.datetime, delivery: dt.date | None,
          checklist: ChecklistSnapshot | None, evaluation: Evaluation,
          previous: AuditRun | None, policy: AuditPolicy) -> dict[str, Any]:
    """Assemble everything a run says: findings, comparison, escalations, digests."""
    before = previous.body["findings"] if previous else None
    findings = evaluation.findings
    comparison = compare([f["fingerprint"] for f in before] if before is not None else None,
                         [f.fingerprint for f in findings],
                         previous.gate if previous else None, evaluation.gate.decision.value)
    escalations = escalate(findings, slot.slot_date, delivery, policy.escalation)
    digests = build_digests(findings, comparison, escalations, slot.slot_date,
                            policy.due_within_days)
    resolved = [{k: f[k] for k in ("fingerprint", "rule_id", "owner", "severity", "texts")}
                for f in before or () if f["fingerprint"] in set(comparison.resolved)]
    return {
        "project": project, "schedule_id": slot.schedule_id,
        "slot_date": slot.slot_date.isoformat(), "due_at": slot.due_at.isoformat(),
        "ran_at": ran_at.isoformat(),
        "delivery_date": delivery.isoformat() if delivery else None,
        "days_to_delivery": (delivery - slot.slot_date).days if delivery else None,
        "checklist": None if checklist is None else {
            "id": checklist.id, "number": checklist.number,
            "as_of": checklist.as_of.isoformat(), "age_days": evaluation.checklist_age_days,
            "stale": evaluation.checklist_age_days is not None
            and evaluation.checklist_age_days > policy.max_age_days},
        "rulesets": [r.to_dict() for r in evaluation.rulesets],
        "gate": evaluation.gate.to_dict(), "summary": summarize(findings, slot.slot_date),
        "diff": {**comparison.to_dict(), "resolved_findings": resolved},
        "findings": [{**finding_record(f), "status": f.status.value,
                      "change": comparison.change_of(f.fingerprint)} for f in findings],
        "escalations": [e.to_dict() for e in escalations],
        "digests": [d.to_dict() for d in digests],
    }


def _delivery_for(session: Session, schedule: AuditSchedule) -> dt.date | None:
    if ScheduleKind(schedule.kind) in RECURRING:
        return store.delivery_of(session, schedule.project_id).date
    return schedule.delivery_date


def run_slot(session: Session, slot: AuditSlot, auditor: Auditor) -> AuditRun:
    """Run one claimed slot: evaluate, compare, store the run and its outbox entries."""
    ran_at = auditor.clock.now()
    schedule = session.get(AuditSchedule, slot.schedule_id)
    assert schedule is not None  # slots belong to a schedule
    project = store.lock_project(session, schedule.project_id)
    checklist = _snapshot(session, project.id)
    delivery = _delivery_for(session, schedule)
    evaluation = auditor.evaluator.evaluate(checklist, _tracked(session, project.id),
                                            slot.slot_date, delivery)
    previous = store.previous_run(session, project.id)
    body = _body(project.code, slot, ran_at, delivery, checklist, evaluation, previous,
                 auditor.policy)
    run = AuditRun(
        id=new_id(), project_id=project.id, schedule_id=schedule.id, slot_id=slot.id,
        slot_date=slot.slot_date, number=(previous.number if previous else 0) + 1,
        due_at=slot.due_at, ran_at=ran_at, created_at=utcnow(),
        checklist_id=checklist.id if checklist else None, delivery_date=delivery,
        gate=evaluation.gate.decision.value, previous_run_id=previous.id if previous else None,
        body=body)
    session.add(run)
    session.flush()  # the run exists before its outbox entries refer to it
    enqueue(session, run, project.code, body["digests"], ran_at)
    slot.status, slot.run_id, slot.attempts = store.DONE, run.id, slot.attempts + 1
    slot.retry_at = slot.last_error = None
    return run


def _record_failure(slot: AuditSlot, error: Exception, policy: AuditPolicy,
                    now: dt.datetime) -> None:
    slot.attempts += 1
    slot.retry_at = next_attempt(policy.retry, slot.attempts, now)
    slot.status = store.PENDING if slot.retry_at else store.FAILED
    slot.last_error = f"{type(error).__name__}: {error}"[:_ERROR_TEXT]


def run_one(auditor: Auditor, now: dt.datetime, failed: list[int]) -> tuple[str | None, bool]:
    """Claim and run one due slot; return (run id or None, whether a slot was claimed).

    A slot that fails is added to `failed`, so this pass does not claim it again."""
    with auditor.database.write() as session:
        slot = store.claim_due_slot(session, now, failed)
        if slot is None:
            return None, False
        try:
            with session.begin_nested():
                run = run_slot(session, slot, auditor)
        except Exception as error:  # one bad slot must not stop the others; it is retried
            log.exception("audit slot %s failed", slot.id)
            _record_failure(slot, error, auditor.policy, now)
            failed.append(slot.id)
            return None, True
        return run.id, True


def replan_moved(auditor: Auditor, now: dt.datetime) -> int:
    """Move the slots of schedules whose delivery date changed; return how many moved."""
    with auditor.database.read() as session:
        moved = store.stale_schedules(session)
    for schedule_id in moved:
        with auditor.database.write() as session:
            store.resync_schedule(session, schedule_id, auditor.policy, now)
    return len(moved)


def run_due(auditor: Auditor, now: dt.datetime | None = None, deliver: bool = True,
            limit: int | None = None) -> PassReport:
    """Run every slot due at `now` (default: the clock's), in order, each once; then deliver."""
    now = now or auditor.clock.now()
    report = PassReport(replanned=replan_moved(auditor, now))
    while limit is None or len(report.runs) + len(report.failed) < limit:
        run_id, claimed = run_one(auditor, now, report.failed)
        if not claimed:
            break
        if run_id is not None:
            report.runs.append(run_id)
    if deliver:
        report.deliveries = deliver_due(auditor.database, auditor.sender, auditor.clock)
    return report
