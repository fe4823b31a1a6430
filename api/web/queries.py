"""Read-only queries the pages need and the store does not have (yet): counts across projects,
a project's history, its audits. Everything else the pages read through riskengine.store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, inspect, or_, select
from sqlalchemy.orm import Session

from riskengine.store import models as m
from riskengine.store.findings import ACTIVE
from riskengine.vocabulary import FindingStatus, Severity


@dataclass
class Counts:
    """A project's findings not yet closed, by severity, and how many are overdue."""

    by_severity: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    overdue: int = 0


def _open(today: dt.date) -> Any:
    # As the gate sees it: active, or waived by a waiver that has lapsed.
    lapsed = and_(m.Finding.status == FindingStatus.WAIVED.value, m.Finding.waiver_expires < today)
    return or_(m.Finding.status.in_(ACTIVE), lapsed)


def open_counts(session: Session, project_ids: Iterable[int], today: dt.date
                ) -> dict[int, Counts]:
    """Return the open findings of each project by severity, and its overdue ones."""
    ids = list(project_ids)
    out = {i: Counts() for i in ids}
    if not ids:
        return out
    overdue = func.sum(case((m.Finding.due_date < today, 1), else_=0))
    rows = session.execute(
        select(m.Finding.project_id, m.Finding.severity, func.count(), overdue)
        .where(m.Finding.project_id.in_(ids), _open(today))
        .group_by(m.Finding.project_id, m.Finding.severity))
    for project_id, severity, count, late in rows:
        out[project_id].by_severity[severity] = int(count)
        out[project_id].overdue += int(late or 0)
    return out


def assessments(session: Session, project_id: int) -> list[m.Assessment]:
    """Return every assessment of a project, oldest first."""
    return list(session.scalars(select(m.Assessment).where(m.Assessment.project_id == project_id)
                                .order_by(m.Assessment.created_at, m.Assessment.number)))


def cities(session: Session, projects: frozenset[str] | None) -> list[str]:
    """Return the cities of the projects a caller may see, for the portfolio's filter."""
    query = select(m.Project.city).where(m.Project.city.is_not(None)).distinct()
    if projects is not None:
        query = query.where(m.Project.code.in_(projects))
    return sorted(c for c in session.scalars(query) if c)


def token(session: Session, token_id: int, token_hash: str) -> m.ApiToken | None:
    """Return the live token a session was opened with (None once revoked)."""
    row = session.get(m.ApiToken, token_id)
    if row is None or row.revoked_at is not None or row.token_hash != token_hash:
        return None
    return row


def _audits(session: Session) -> Any:
    """Return the audits' models when their tables exist (the audits are an optional part)."""
    if not inspect(session.connection()).has_table("audit_slots"):
        return None
    from riskengine.audits import models as audits
    return audits


def next_slots(session: Session, project_ids: Iterable[int], today: dt.date
               ) -> dict[int, dt.date]:
    """Return each project's next pending audit slot on or after today."""
    audits, ids = _audits(session), list(project_ids)
    if audits is None or not ids:
        return {}
    slot, schedule = audits.AuditSlot, audits.AuditSchedule
    rows = session.execute(
        select(schedule.project_id, func.min(slot.slot_date))
        .join(schedule, slot.schedule_id == schedule.id)
        .where(schedule.project_id.in_(ids), schedule.deleted_at.is_(None),
               slot.status == "pending", slot.slot_date >= today)
        .group_by(schedule.project_id))
    return {project_id: day for project_id, day in rows}


def audit_runs(session: Session, project_id: int, limit: int = 50) -> list[Any]:
    """Return a project's latest audit runs, newest first."""
    audits = _audits(session)
    if audits is None:
        return []
    run = audits.AuditRun
    return list(session.scalars(select(run).where(run.project_id == project_id)
                                .order_by(run.number.desc()).limit(limit)))
