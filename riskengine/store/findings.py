"""Tracked findings: the queries a department asks, and every change written with its event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from riskengine.refusals import refusal
from riskengine.store import Actor, StaleVersion, new_id, utcnow
from riskengine.store import models as m
from riskengine.store.projects import Query, visible
from riskengine.vocabulary import ACTIVE_STATUSES, FindingStatus

ACTIVE = tuple(s.value for s in ACTIVE_STATUSES)


@dataclass(frozen=True)
class FindingFilter:
    project: str | None = None
    owner: str | None = None
    severity: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    stage: str | None = None
    rule_id: str | None = None
    overdue: bool | None = None
    city: str | None = None


@dataclass(frozen=True)
class WaiverGrant:
    justification: str
    approver: str
    expires: dt.date
    # The request it grants; None: granted directly (PATCH status waived), which `apply`
    # records as a request approved at once.
    request_id: str | None = None


@dataclass
class Change:
    """What a PATCH asks of a finding; `None` leaves a field alone."""

    status: FindingStatus | None = None
    notes: str | None = None
    reason: str = ""
    waiver: WaiverGrant | None = None
    details: dict[str, Any] = field(default_factory=dict)
    action: str = "status"  # the event of a status move: status, verified, rejected, …
    due_by_hand: dt.date | None = None  # a reviewer's due date
    owner: str | None = None  # a reviewer's reassignment
    sla_due: dt.date | None = None  # the SLA's clock started again (a waiver lapsed)


def effective_due() -> Any:
    """The due date as SQL: one set by hand wins; else the earlier of the milestone's and the
    SLA's (see models.Finding)."""
    finding = m.Finding
    return case((finding.due_by_hand.is_not(None), finding.due_by_hand),
                (and_(finding.sla_due.is_not(None), finding.sla_due < finding.due_date),
                 finding.sla_due), else_=finding.due_date)


def lapsed_waiver(today: dt.date) -> Any:
    return and_(m.Finding.status == FindingStatus.WAIVED.value, m.Finding.waiver_expires < today)


def _overdue(today: dt.date) -> Any:
    return and_(effective_due() < today, or_(m.Finding.status.in_(ACTIVE), lapsed_waiver(today)))


def _statuses(wanted: tuple[str, ...], today: dt.date) -> Any:
    """A finding whose waiver lapsed reads as open, whether or not the sweep has moved it."""
    listed: Any = m.Finding.status.in_(wanted)
    held = or_(m.Finding.waiver_expires.is_(None), m.Finding.waiver_expires >= today)
    if FindingStatus.WAIVED.value in wanted:
        listed = and_(listed, or_(m.Finding.status != FindingStatus.WAIVED.value, held))
    if FindingStatus.OPEN.value in wanted:
        listed = or_(listed, lapsed_waiver(today))
    return listed


def _filtered(query: Query, wanted: FindingFilter, today: dt.date) -> Query:
    if wanted.project:
        query = query.where(m.Project.code == wanted.project)
    if wanted.owner:
        query = query.where(m.Finding.owner == wanted.owner)
    if wanted.severity:
        query = query.where(m.Finding.severity.in_(wanted.severity))
    if wanted.status:
        query = query.where(_statuses(wanted.status, today))
    if wanted.stage:
        query = query.where(m.Finding.stage == wanted.stage)
    if wanted.rule_id:
        query = query.where(m.Finding.rule_id == wanted.rule_id)
    if wanted.city:
        query = query.where(m.Project.city == wanted.city)
    if wanted.overdue is not None:
        query = query.where(_overdue(today) if wanted.overdue else ~_overdue(today))
    return query


def list_findings(session: Session, wanted: FindingFilter, projects: frozenset[str] | None,
                  today: dt.date, page: int, per_page: int
                  ) -> tuple[list[tuple[m.Finding, str]], int]:
    """Return one page of the visible findings matching `wanted`, with their project codes."""
    base = visible(select(m.Finding, m.Project.code).join(m.Project), projects)
    query = _filtered(base, wanted, today)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(effective_due(), m.Finding.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [(f, code) for f, code in rows], total


def get_finding(session: Session, finding_id: str, projects: frozenset[str] | None,
                lock: bool = False) -> tuple[m.Finding, str] | None:
    """Return a visible finding and its project code; `lock` when it is about to change.

    The lock is on the project row: every write to a project's findings (submissions too)
    takes it first, so writers queue in one order and never deadlock.
    """
    query = visible(select(m.Finding, m.Project.code).join(m.Project), projects).where(
        m.Finding.id == finding_id)
    if lock:
        query = query.with_for_update(of=m.Project)
    row = session.execute(query).first()
    return (row[0], row[1]) if row else None


def findings_by_id(session: Session, ids: set[str]) -> dict[str, m.Finding]:
    if not ids:
        return {}
    return {f.id: f for f in session.scalars(select(m.Finding).where(m.Finding.id.in_(ids)))}


def events(session: Session, finding_id: str) -> list[m.FindingEvent]:
    return list(session.scalars(select(m.FindingEvent).where(
        m.FindingEvent.finding_id == finding_id).order_by(m.FindingEvent.id)))


def waiver(session: Session, waiver_id: str | None) -> m.Waiver | None:
    return session.get(m.Waiver, waiver_id) if waiver_id else None


def waivers_by_id(session: Session, ids: set[str | None]) -> dict[str, m.Waiver]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {w.id: w for w in session.scalars(select(m.Waiver).where(m.Waiver.id.in_(wanted)))}


def apply(session: Session, row: m.Finding, change: Change, expected_version: int | None,
          actor: Actor) -> bool:
    """Apply a change to a locked finding, one event per field changed, and bump its version;
    return whether anything changed (a change to what it already is writes nothing)."""
    if expected_version is not None and expected_version != row.version:
        raise StaleVersion(refusal("finding_changed"),
                           {"version": [refusal("current_version", version=row.version)]})
    now = utcnow()
    recorded: list[str] = []

    def record(action: str, to_status: str | None, details: dict[str, Any]) -> None:
        recorded.append(action)
        session.add(m.FindingEvent(
            finding_id=row.id, at=now, actor=actor.name, token_id=actor.token_id, action=action,
            from_status=row.status, to_status=to_status, reason=change.reason,
            details={**change.details, **details}))

    if change.notes is not None and change.notes != row.notes:
        record("notes", row.status, {"notes": change.notes})
        row.notes = change.notes
    if change.due_by_hand is not None and change.due_by_hand != row.due_by_hand:
        record("due_date", row.status, {
            "due_date": change.due_by_hand.isoformat(),
            "previous": row.due_by_hand.isoformat() if row.due_by_hand else None})
        row.due_by_hand = change.due_by_hand
    if change.owner is not None and change.owner != row.owner:
        record("reassigned", row.status, {"owner": change.owner, "previous": row.owner})
        row.owner = row.owner_by_hand = change.owner
    if change.waiver is not None:
        _grant(session, row, change.waiver, actor, now, record)
    elif change.status is not None and change.status.value != row.status:
        record(change.action, change.status.value, {})
        row.status = change.status.value
        row.waiver_id = row.waiver_expires = None
    if change.sla_due is not None:
        row.sla_due = change.sla_due
    if not recorded:
        return False
    row.version += 1
    row.updated_at = now
    return True


def _grant(session: Session, row: m.Finding, given: WaiverGrant, actor: Actor, now: dt.datetime,
           record: Any) -> None:
    grant = m.Waiver(id=new_id(), finding_id=row.id, justification=given.justification,
                     approver=given.approver, expires=given.expires, granted_by=actor.name,
                     token_id=actor.token_id, created_at=now)
    session.add(grant)
    request_id = given.request_id
    if request_id is None:  # a reviewer's direct waiver: a request approved at once
        request_id = new_id()
        session.add(m.WaiverRequest(
            id=request_id, finding_id=row.id, justification=given.justification,
            expires=given.expires, requested_by=actor.name, token_id=actor.token_id,
            created_at=now, status="approved", decided_by=actor.name, decided_at=now,
            decision_reason="granted directly", waiver_id=grant.id))
    else:
        request = session.get(m.WaiverRequest, request_id)
        assert request is not None  # the core found it before deciding
        request.waiver_id = grant.id
    record("waived", FindingStatus.WAIVED.value, {
        "waiver_id": grant.id, "expires": grant.expires.isoformat(), "request_id": request_id})
    row.status = FindingStatus.WAIVED.value
    row.waiver_id, row.waiver_expires = grant.id, grant.expires


def record_event(session: Session, row: m.Finding, action: str, actor: Actor, reason: str,
                 details: dict[str, Any]) -> None:
    """An event that moves nothing (a waiver asked for or denied, a comment): the finding's
    version still changes, so an ETag read before it no longer matches."""
    now = utcnow()
    session.add(m.FindingEvent(
        finding_id=row.id, at=now, actor=actor.name, token_id=actor.token_id, action=action,
        from_status=row.status, to_status=row.status, reason=reason, details=details))
    row.version += 1
    row.updated_at = now


def last_resolver(session: Session, finding_id: str) -> str | None:
    """Who last moved the finding to resolved (None: nobody, or a re-submission did)."""
    event = session.scalars(select(m.FindingEvent).where(
        m.FindingEvent.finding_id == finding_id,
        m.FindingEvent.to_status == FindingStatus.RESOLVED.value,
        m.FindingEvent.from_status != FindingStatus.RESOLVED.value)
        .order_by(m.FindingEvent.id.desc()).limit(1)).first()
    return event.actor if event is not None else None


# Waiver requests -------------------------------------------------------------------------

PENDING_REQUEST, APPROVED, DENIED = "pending", "approved", "denied"


def add_waiver_request(session: Session, row: m.Finding, justification: str,
                       expires: dt.date, actor: Actor) -> m.WaiverRequest:
    request = m.WaiverRequest(
        id=new_id(), finding_id=row.id, justification=justification, expires=expires,
        requested_by=actor.name, token_id=actor.token_id, created_at=utcnow(),
        status=PENDING_REQUEST)
    session.add(request)
    return request


def waiver_requests(session: Session, finding_id: str) -> list[m.WaiverRequest]:
    return list(session.scalars(select(m.WaiverRequest).where(
        m.WaiverRequest.finding_id == finding_id).order_by(m.WaiverRequest.created_at,
                                                          m.WaiverRequest.id)))


def pending_requests(session: Session, projects: frozenset[str] | None
                     ) -> list[tuple[m.WaiverRequest, m.Finding, str]]:
    """Every pending waiver request the caller may see, oldest first (a reviewer's queue)."""
    query = visible(select(m.WaiverRequest, m.Finding, m.Project.code)
                    .join(m.Finding, m.WaiverRequest.finding_id == m.Finding.id)
                    .join(m.Project, m.Finding.project_id == m.Project.id), projects)
    rows = session.execute(query.where(m.WaiverRequest.status == PENDING_REQUEST)
                           .order_by(m.WaiverRequest.created_at, m.WaiverRequest.id)).all()
    return [(r, f, code) for r, f, code in rows]


def locked_request(session: Session, request_id: str, projects: frozenset[str] | None
                   ) -> tuple[m.WaiverRequest, m.Finding, str] | None:
    """A visible request with its finding, the finding's project locked (as get_finding)."""
    query = visible(select(m.WaiverRequest, m.Finding, m.Project.code)
                    .join(m.Finding, m.WaiverRequest.finding_id == m.Finding.id)
                    .join(m.Project, m.Finding.project_id == m.Project.id), projects)
    row = session.execute(query.where(m.WaiverRequest.id == request_id)
                          .with_for_update(of=m.Project)).first()
    return (row[0], row[1], row[2]) if row else None


def decide_request(request: m.WaiverRequest, status: str, actor: Actor, reason: str) -> None:
    request.status, request.decided_by = status, actor.name
    request.decided_at, request.decision_reason = utcnow(), reason


# Comments and notices ------------------------------------------------------------------

def add_comment(session: Session, row: m.Finding, body: str, mentions: list[str],
                actor: Actor) -> m.FindingComment:
    comment = m.FindingComment(id=new_id(), finding_id=row.id, author=actor.name,
                               token_id=actor.token_id, body=body, mentions=mentions,
                               created_at=utcnow())
    session.add(comment)
    return comment


def comments(session: Session, finding_id: str) -> list[m.FindingComment]:
    return list(session.scalars(select(m.FindingComment).where(
        m.FindingComment.finding_id == finding_id).order_by(m.FindingComment.created_at,
                                                            m.FindingComment.id)))


def notice_taken(session: Session, key: str) -> bool:
    return session.scalar(select(func.count()).select_from(m.FindingNotice).where(
        m.FindingNotice.key == key)) != 0


def add_notice(session: Session, key: str, finding_id: str, kind: str, recipient: str,
               body: dict[str, Any]) -> m.FindingNotice:
    notice = m.FindingNotice(id=new_id(), key=key, finding_id=finding_id, kind=kind,
                             recipient=recipient, body=body, created_at=utcnow())
    session.add(notice)
    session.flush()  # the unique key refuses a second notice here, inside the transaction
    return notice


def notices(session: Session, finding_id: str) -> list[m.FindingNotice]:
    return list(session.scalars(select(m.FindingNotice).where(
        m.FindingNotice.finding_id == finding_id).order_by(m.FindingNotice.created_at,
                                                           m.FindingNotice.id)))


# The sweep: waivers lapsing or about to ------------------------------------------------

def waived_until(session: Session, last_day: dt.date) -> list[tuple[m.Finding, str]]:
    """Waived findings whose waiver lapses on or before `last_day`, projects locked in id
    order (as every writer takes them), with their project codes."""
    rows = session.execute(
        select(m.Finding, m.Project.code).join(m.Project)
        .where(m.Finding.status == FindingStatus.WAIVED.value,
               m.Finding.waiver_expires <= last_day)
        .order_by(m.Project.id, m.Finding.id).with_for_update(of=m.Project)).all()
    return [(f, code) for f, code in rows]


def unstamped(session: Session) -> list[tuple[str, str]]:
    """The ids and severities of the findings the SLA has not dated (tracked before it was)."""
    rows = session.execute(select(m.Finding.id, m.Finding.severity).where(
        m.Finding.sla_due.is_(None)))
    return [(i, severity) for i, severity in rows]


def set_sla_due(session: Session, dates: dict[str, dt.date]) -> None:
    for finding_id, day in dates.items():
        session.execute(update(m.Finding).where(m.Finding.id == finding_id)
                        .values(sla_due=day))


def by_fingerprints(session: Session, project_id: int, stage: str, prints: set[str]
                    ) -> dict[str, m.Finding]:
    if not prints:
        return {}
    return {f.fingerprint: f for f in session.scalars(select(m.Finding).where(
        m.Finding.project_id == project_id, m.Finding.stage == stage,
        m.Finding.fingerprint.in_(prints)))}
