"""What the portfolio and project pages read across projects: open findings by severity (as
the gate counts them), a project's assessments over time, the cities to filter by."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from riskengine.store import models as m
from riskengine.store.findings import effective_due
from riskengine.vocabulary import ACTIVE_STATUSES, FindingStatus, Severity


@dataclass
class Counts:
    """A project's findings not yet closed, by severity, and how many are overdue."""

    by_severity: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in Severity})
    overdue: int = 0


def open_on(today: dt.date) -> Any:
    """Return `riskengine.assessment.gate.is_open` as SQL on findings: active, or waived by a
    waiver that has lapsed by `today` (an expired waiver no longer counts)."""
    lapsed = and_(m.Finding.status == FindingStatus.WAIVED.value, m.Finding.waiver_expires < today)
    return or_(m.Finding.status.in_([s.value for s in ACTIVE_STATUSES]), lapsed)


def open_counts(session: Session, project_ids: Iterable[int], today: dt.date
                ) -> dict[int, Counts]:
    """Return the open findings of each project by severity, and its overdue ones."""
    ids = list(project_ids)
    out = {i: Counts() for i in ids}
    if not ids:
        return out
    overdue = func.sum(case((effective_due() < today, 1), else_=0))  # SLA or by hand too
    rows = session.execute(
        select(m.Finding.project_id, m.Finding.severity, func.count(), overdue)
        .where(m.Finding.project_id.in_(ids), open_on(today))
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
