"""Gate reviews as stored: recorded once, never changed; superseded when a newer checklist
arrives. Deciding whether a review may be recorded is the core's (`riskengine.review`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskengine.store import Actor, new_id, utcnow
from riskengine.store import models as m


class RunRead(Protocol):
    """The audit run a delivery review read: what the review keeps of it."""

    id: str
    slot_date: dt.date
    gate: str


@dataclass(frozen=True)
class Verdict:
    stage: str
    decision: str
    computed_gate: str
    comments: str
    override_justification: str | None


def record_review(session: Session, assessment: m.Assessment, verdict: Verdict,
                  actor: Actor, run: RunRead | None = None) -> m.GateReview:
    review = m.GateReview(
        id=new_id(), project_id=assessment.project_id, stage=verdict.stage,
        assessment_id=assessment.id, assessment_number=assessment.number,
        content_hash=assessment.content_hash, computed_gate=verdict.computed_gate,
        decision=verdict.decision, reviewer=actor.name, token_id=actor.token_id,
        comments=verdict.comments, override_justification=verdict.override_justification,
        audit_run_id=run.id if run else None, audit_run_slot=run.slot_date if run else None,
        audit_run_gate=run.gate if run else None, created_at=utcnow())
    session.add(review)
    return review


def list_reviews(session: Session, project_id: int, stage: str | None = None
                 ) -> list[m.GateReview]:
    query = select(m.GateReview).where(m.GateReview.project_id == project_id)
    if stage:
        query = query.where(m.GateReview.stage == stage)
    return list(session.scalars(query.order_by(m.GateReview.created_at, m.GateReview.id)))


def get_review(session: Session, project_id: int, review_id: str) -> m.GateReview | None:
    return session.scalars(select(m.GateReview).where(
        m.GateReview.project_id == project_id, m.GateReview.id == review_id)).first()


def latest_numbers(session: Session, project_id: int) -> dict[str, int]:
    """Return the number of the latest checklist of each stage: older reviews are superseded."""
    rows = session.execute(select(m.Assessment.stage, func.max(m.Assessment.number)).where(
        m.Assessment.project_id == project_id).group_by(m.Assessment.stage))
    return {stage: number for stage, number in rows}
