"""Record a gate review: the one implementation, for the API and the pages.

The stage's latest assessment is judged, its gate decided today; a delivery review also reads
the project's latest audit run. Any decision more lenient than either gate (pass or
conditional over fail, pass over conditional) needs an admin's override.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment.gate import Gate, decide_gate
from riskengine.audits.models import AuditRun
from riskengine.audits.store import previous_run
from riskengine.errors import NotFound, NotPermitted, Refused, Words
from riskengine.refusals import refusal
from riskengine.rules.model import GatePolicy
from riskengine.store import Actor
from riskengine.store import models as m
from riskengine.store.findings import findings_by_id
from riskengine.store.projects import latest_assessments
from riskengine.store.records import with_statuses
from riskengine.store.reviews import Verdict, record_review
from riskengine.vocabulary import GateDecision, Stage


class ReviewRefused(Refused):
    """The review cannot be recorded as asked; `code` says why: `no_assessment`, `superseded`,
    `gate_failed` / `gate_conditional` (a decision more lenient than the computed gate: fail,
    or conditional), `audit_gate_failed` / `audit_gate_conditional` (than the latest audit
    run's)."""

    def __init__(self, code: str, message: Words, details: dict[str, list[Any]] | None = None
                 ) -> None:
        super().__init__(message, details)
        self.code = code


class AssessmentUnknown(NotFound):
    """The assessment named is not one of this project and stage."""

    code = "not_found"


class OverrideRefused(NotPermitted):
    """Only an admin may override a failed gate."""

    code = "forbidden"


@dataclass(frozen=True)
class ReviewRequest:
    """What a reviewer asks to record."""

    stage: str
    decision: str
    comments: str = ""
    assessment_id: str | None = None  # the assessment judged; None: the stage's latest
    override_justification: str | None = None


def judged(session: Session, project: m.Project, stage: str, wanted: str | None
           ) -> m.Assessment:
    """Return the assessment a review judges: the stage's latest; an older one is refused."""
    latest = latest_assessments(session, project.id).get(stage)
    if latest is None:
        raise ReviewRefused("no_assessment",
                            refusal("no_assessment", code=project.code, stage=stage),
                            {"stage": [refusal("submit_first")]})
    if wanted and wanted != latest.id:
        found = session.get(m.Assessment, wanted)
        if found is None or found.project_id != project.id or found.stage != stage:
            raise AssessmentUnknown(refusal("assessment_not_in_stage", id=wanted))
        raise ReviewRefused("superseded", refusal("superseded"),
                            {"assessment_id": [refusal("latest_is", id=latest.id)]})
    return latest


def current_gate(session: Session, assessment: m.Assessment, today: dt.date,
                 policy: GatePolicy) -> Gate:
    """Decide an assessment's gate today, from its findings' tracked statuses."""
    tracked = findings_by_id(session, {e["finding_id"] for e in assessment.findings})
    return decide_gate(with_statuses(assessment.findings, tracked), today, policy)


def audit_run_read(session: Session, project_id: int, stage: str) -> AuditRun | None:
    """Return the audit run a review of `stage` reads: the project's latest, for delivery."""
    return previous_run(session, project_id) if stage == Stage.DELIVERY.value else None


# From the strictest decision to the most lenient: a review may always be stricter than the
# computed gate; a more lenient one (conditional over fail, pass over conditional or fail)
# needs an admin's override.
_LENIENCY = {GateDecision.FAIL: 0, GateDecision.CONDITIONAL: 1, GateDecision.PASS: 2}


_CODES = {GateDecision.FAIL: "gate_failed", GateDecision.CONDITIONAL: "gate_conditional"}


def _more_lenient(decision: str, gate: str) -> bool:
    return _LENIENCY[GateDecision(decision)] > _LENIENCY[GateDecision(gate)]


def _refuse_pass(request: ReviewRequest, gate: Gate, run: AuditRun | None) -> None:
    override = request.override_justification
    if override and override.strip():
        return
    wanted = request.decision
    if _more_lenient(wanted, gate.decision.value):
        raise ReviewRefused(
            _CODES[gate.decision],
            refusal("gate_more_lenient", gate=gate.decision, decision=wanted),
            {"decision": [refusal("decision_refused", gate=gate.decision, decision=wanted)],
             "blocking": list(gate.blocking)})
    if run is not None and _more_lenient(wanted, run.gate):
        raise ReviewRefused(
            "audit_" + _CODES[GateDecision(run.gate)],
            refusal("audit_gate_more_lenient", gate=run.gate, decision=wanted),
            {"decision": [refusal("audit_decision_refused", gate=run.gate, decision=wanted)],
             "audit_run": [run.id], "blocking": list(run.body["gate"]["blocking"])})


def review_gate(session: Session, project: m.Project, request: ReviewRequest, actor: Actor,
                may_override: bool, today: dt.date, policy: GatePolicy) -> m.GateReview:
    """Record a gate decision on the stage's latest assessment (and, for delivery, the latest
    audit run); `pass` over a failed gate needs an override, which only an admin may give."""
    if request.override_justification is not None and not may_override:
        raise OverrideRefused(refusal("admin_override_only"),
                              {"override_justification": [refusal("admin_only")]})
    assessment = judged(session, project, request.stage, request.assessment_id)
    gate = current_gate(session, assessment, today, policy)
    run = audit_run_read(session, project.id, request.stage)
    _refuse_pass(request, gate, run)
    return record_review(session, assessment, Verdict(
        request.stage, request.decision, gate.decision.value, request.comments,
        request.override_justification), actor, run)


