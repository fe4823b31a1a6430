"""Waivers are asked for, then decided: an owner or a PM requests one (justification, expiry);
a reviewer who is not the requester approves (the waiver is granted) or denies it; an extension
is a new request. Before a waiver lapses its owner is reminded (policy.yaml
`workflow.waiver_reminder_days`); when it lapses the finding reopens, visibly: an event records
the lapse, the SLA clock starts again, and the owner is told. Notices leave through the outbox
with the change that caused them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from riskengine.audits.notices import LAPSED, REMINDER, notify
from riskengine.errors import Invalid, NotPermitted, Refused
from riskengine.lifecycle import TRANSITIONS, change_finding, waiver_terms
from riskengine.refusals import refusal
from riskengine.rules.model import Policy
from riskengine.sla import sla_due, stamp_undated
from riskengine.standing import refresh_gate
from riskengine.store import Actor, utcnow
from riskengine.store import findings as stored
from riskengine.store import models as m
from riskengine.vocabulary import FindingStatus

SWEEPER = Actor("riskengine", None)  # the service itself, recording what the calendar did


def request_waiver(session: Session, row: m.Finding, justification: str, expires: dt.date,
                   today: dt.date, policy: Policy, actor: Actor) -> m.WaiverRequest:
    """Record a request on a locked finding; one pending request at a time."""
    if FindingStatus.WAIVED not in TRANSITIONS[FindingStatus(row.status)]:
        raise Refused(refusal("cannot_be_waived", status=row.status),
                      {"status": [refusal("waivable_statuses", statuses=[
                          s for s in FindingStatus if FindingStatus.WAIVED in TRANSITIONS[s]])]},
                      code="invalid_transition")
    if any(r.status == stored.PENDING_REQUEST for r in stored.waiver_requests(session, row.id)):
        raise Refused(refusal("request_pending"),
                      {"waiver_request": [refusal("wait_for_decision")]}, code="request_pending")
    text = waiver_terms(justification, expires, today, policy.findings)
    request = stored.add_waiver_request(session, row, text, expires, actor)
    stored.record_event(session, row, "waiver_requested", actor, "", {
        "request_id": request.id, "expires": expires.isoformat(),
        "extension": row.status == FindingStatus.WAIVED.value})
    return request


def decide_waiver(session: Session, request: m.WaiverRequest, row: m.Finding, approve: bool,
                  reason: str, today: dt.date, policy: Policy, actor: Actor) -> None:
    """Approve (grant the waiver asked for) or deny a pending request, by someone else."""
    if request.status != stored.PENDING_REQUEST:
        raise Refused(refusal("request_decided", outcome=refusal(request.status)),
                      {"waiver_request": [refusal("decided_by", name=request.decided_by)]},
                      code="request_decided")
    if request.requested_by == actor.name:
        raise NotPermitted(refusal("self_approval"),
                           {"reviewer": [refusal("requested_by", name=actor.name)]},
                           code="self_approval")
    if not approve:
        if not reason.strip():
            raise Invalid(refusal("denial_needs_reason"), {"reason": [refusal("say_why")]})
        stored.decide_request(request, stored.DENIED, actor, reason.strip())
        stored.record_event(session, row, "waiver_denied", actor, reason.strip(),
                            {"request_id": request.id})
        return
    if FindingStatus.WAIVED not in TRANSITIONS[FindingStatus(row.status)]:
        raise Refused(refusal("no_longer_waivable", status=row.status),
                      {"status": [refusal("status_now", status=row.status)]},
                      code="invalid_transition")
    waiver_terms(request.justification, request.expires, today, policy.findings)
    grant = stored.WaiverGrant(request.justification, actor.name, request.expires, request.id)
    stored.decide_request(request, stored.APPROVED, actor, reason.strip())
    change_finding(session, row, stored.Change(status=FindingStatus.WAIVED, waiver=grant,
                                               reason=reason.strip()),
                   None, actor, today, policy.gate)


@dataclass
class Swept:
    lapsed: list[str] = field(default_factory=list)  # finding ids reopened
    reminded: list[str] = field(default_factory=list)  # finding ids whose owner was reminded


def sweep(session: Session, today: dt.date, policy: Policy) -> Swept:
    """Reopen findings whose waiver lapsed before `today`, and remind the owners of those
    lapsing soon; each notice once, however often it runs."""
    workflow = policy.workflow
    horizon = today + dt.timedelta(days=max(workflow.waiver_reminder_days, default=0))
    swept, now = Swept(), utcnow()
    stamp_undated(session, today, workflow)
    for row, project in stored.waived_until(session, horizon):
        # Read it again under the project's lock: a sweep that held the lock before may have
        # reopened it since this statement's snapshot.
        session.refresh(row)
        if row.status != FindingStatus.WAIVED.value:
            continue
        assert row.waiver_expires is not None and row.waiver_id is not None  # status waived
        waiver_id, expires = row.waiver_id, row.waiver_expires
        if expires < today:
            _lapse(session, row, project, today, policy, now)
            swept.lapsed.append(row.id)
            continue
        left = (expires - today).days
        reached = [d for d in workflow.waiver_reminder_days if left <= d]
        if reached and notify(session, f"reminder:{waiver_id}:{min(reached)}", row, project,
                              _gate(session, row), REMINDER, row.owner, today, now,
                              {"waiver_id": waiver_id, "expires": expires.isoformat(),
                               "days_left": left, "due_date": expires.isoformat(),
                               "reminder": min(reached)}):
            swept.reminded.append(row.id)
    return swept


def lapse_if_due(session: Session, row: m.Finding, today: dt.date, policy: Policy) -> bool:
    """Record the lapse of a locked finding's waiver now, if the sweep has not yet: whoever
    touches it first sees it open, as every listing already shows it."""
    session.refresh(row)  # under the project's lock: not the copy a concurrent sweep reopened
    lapsed = (row.status == FindingStatus.WAIVED.value and row.waiver_expires is not None
              and row.waiver_expires < today)
    if lapsed:
        project = session.get(m.Project, row.project_id)
        assert project is not None  # a finding's project is never deleted
        _lapse(session, row, project.code, today, policy, utcnow())
    return lapsed


def _lapse(session: Session, row: m.Finding, project: str, today: dt.date, policy: Policy,
           now: dt.datetime) -> None:
    waiver_id, expires = row.waiver_id, row.waiver_expires
    assert expires is not None
    restart = sla_due(expires + dt.timedelta(days=1), row.severity, policy.workflow)
    change = stored.Change(status=FindingStatus.OPEN, action="waiver_lapsed",
                           reason=f"the waiver expired on {expires.isoformat()}",
                           details={"waiver_id": waiver_id, "expired_on": expires.isoformat(),
                                    "sla_due": restart.isoformat()},
                           sla_due=restart)
    stored.apply(session, row, change, None, SWEEPER)
    refresh_gate(session, row.project_id, today, policy.gate)
    notify(session, f"lapsed:{waiver_id}", row, project, _gate(session, row), LAPSED, row.owner,
           today, now, {"waiver_id": waiver_id, "expired_on": expires.isoformat(),
                        "due_date": restart.isoformat()})


def _gate(session: Session, row: m.Finding) -> str | None:
    project = session.get(m.Project, row.project_id)
    return project.gate if project is not None else None
