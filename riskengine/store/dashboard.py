"""What the portfolio dashboards read: findings and projects across the portfolio, filtered by
city, stage and owner, within a caller's projects. Plain rows; the core counts them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskengine.store import models as m
from riskengine.store.projects import visible


@dataclass(frozen=True)
class Scope:
    projects: frozenset[str] | None  # the caller's (None: every project)
    city: str | None = None
    stage: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class FindingRow:
    project: str
    city: str | None
    stage: str
    owner: str
    severity: str
    status: str
    due_date: dt.date
    created_at: dt.datetime


@dataclass(frozen=True)
class ResolvedRow:
    severity: str
    opened: dt.datetime
    resolved: dt.datetime


@dataclass(frozen=True)
class ProjectRow:
    code: str
    city: str | None
    stage: str | None
    gate: str | None


def _within(query: Any, scope: Scope, findings: bool = True) -> Any:
    query = visible(query, scope.projects)
    if scope.city:
        query = query.where(m.Project.city == scope.city)
    if scope.stage:
        query = query.where((m.Finding.stage if findings else m.Project.stage) == scope.stage)
    if scope.owner and findings:
        query = query.where(m.Finding.owner == scope.owner)
    return query


def finding_rows(session: Session, scope: Scope, statuses: tuple[str, ...]
                 ) -> list[FindingRow]:
    """The scope's tracked findings in `statuses`."""
    query = _within(select(m.Project.code, m.Project.city, m.Finding.stage, m.Finding.owner,
                           m.Finding.severity, m.Finding.status, m.Finding.due_date,
                           m.Finding.created_at).join(m.Project), scope)
    rows = session.execute(query.where(m.Finding.status.in_(statuses)))
    return [FindingRow(r.code, r.city, r.stage, r.owner, r.severity, r.status, r.due_date,
                       r.created_at) for r in rows]


def resolution_rows(session: Session, scope: Scope, resolved: str) -> list[ResolvedRow]:
    """When each finding of the scope was first raised and each time it was resolved."""
    query = _within(select(m.Finding.severity, m.Finding.created_at, m.FindingEvent.at)
                    .join(m.Project).join(m.FindingEvent,
                                          m.FindingEvent.finding_id == m.Finding.id), scope)
    rows = session.execute(query.where(m.FindingEvent.to_status == resolved))
    return [ResolvedRow(r.severity, r.created_at, r.at) for r in rows]


def project_rows(session: Session, scope: Scope) -> list[ProjectRow]:
    query = _within(select(m.Project.code, m.Project.city, m.Project.stage, m.Project.gate),
                    scope, findings=False)
    return [ProjectRow(r.code, r.city, r.stage, r.gate)
            for r in session.execute(query.where(m.Project.gate.is_not(None)))]
