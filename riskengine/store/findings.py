"""Tracked findings: the queries a department asks, and every change written with its event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

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


@dataclass
class Change:
    """What a PATCH asks of a finding; `None` leaves a field alone."""

    status: FindingStatus | None = None
    notes: str | None = None
    reason: str = ""
    waiver: WaiverGrant | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _overdue(today: dt.date) -> Any:
    lapsed = and_(m.Finding.status == FindingStatus.WAIVED.value, m.Finding.waiver_expires < today)
    return and_(m.Finding.due_date < today, or_(m.Finding.status.in_(ACTIVE), lapsed))


def _filtered(query: Query, wanted: FindingFilter, today: dt.date) -> Query:
    if wanted.project:
        query = query.where(m.Project.code == wanted.project)
    if wanted.owner:
        query = query.where(m.Finding.owner == wanted.owner)
    if wanted.severity:
        query = query.where(m.Finding.severity.in_(wanted.severity))
    if wanted.status:
        query = query.where(m.Finding.status.in_(wanted.status))
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
    rows = session.execute(query.order_by(m.Finding.due_date, m.Finding.id)
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
        raise StaleVersion("the finding changed since you read it",
                           {"version": [f"current version is {row.version}"]})
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
    if change.waiver is not None:
        grant = m.Waiver(id=new_id(), finding_id=row.id, justification=change.waiver.justification,
                         approver=change.waiver.approver, expires=change.waiver.expires,
                         granted_by=actor.name, token_id=actor.token_id, created_at=now)
        session.add(grant)
        record("waived", FindingStatus.WAIVED.value, {"waiver_id": grant.id,
                                                     "expires": grant.expires.isoformat()})
        row.status = FindingStatus.WAIVED.value
        row.waiver_id, row.waiver_expires = grant.id, grant.expires
    elif change.status is not None and change.status.value != row.status:
        record("status", change.status.value, {})
        row.status = change.status.value
        row.waiver_id = row.waiver_expires = None
    if not recorded:
        return False
    row.version += 1
    row.updated_at = now
    return True


def by_fingerprints(session: Session, project_id: int, stage: str, prints: set[str]
                    ) -> dict[str, m.Finding]:
    if not prints:
        return {}
    return {f.fingerprint: f for f in session.scalars(select(m.Finding).where(
        m.Finding.project_id == project_id, m.Finding.stage == stage,
        m.Finding.fingerprint.in_(prints)))}
