"""The latest checklist of each project and stage, as stored: what a what-if run re-judges."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskengine.store import models as m


@dataclass(frozen=True)
class LatestChecklist:
    project_id: int
    code: str
    name: str | None
    city: str | None
    stage: str
    checklist_id: str
    number: int
    raw_text: str


def latest_checklists(session: Session, projects: frozenset[str] | None = None
                      ) -> list[LatestChecklist]:
    """Return each visible project's latest checklist of each stage, by project code."""
    newest = (select(m.Checklist.project_id, m.Checklist.stage,
                     func.max(m.Checklist.number).label("number"))
              .group_by(m.Checklist.project_id, m.Checklist.stage).subquery())
    query = (select(m.Checklist, m.Project)
             .join(newest, (m.Checklist.project_id == newest.c.project_id)
                   & (m.Checklist.stage == newest.c.stage)
                   & (m.Checklist.number == newest.c.number))
             .join(m.Project, m.Project.id == m.Checklist.project_id))
    if projects is not None:
        query = query.where(m.Project.code.in_(projects))
    rows = session.execute(query.order_by(m.Project.code, m.Checklist.stage))
    return [LatestChecklist(p.id, p.code, p.name, p.city, c.stage, c.id, c.number, c.raw_text)
            for c, p in rows]
