"""The promises a project's stored checklists state: what the promise ledger judges."""

from __future__ import annotations

import json

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from riskengine.assessment.mentions import Mention, mentions_in
from riskengine.store import models as m
from riskengine.vocabulary import Stage


def _read(session: Session, query: Select[m.Checklist]) -> list[Mention]:
    found: list[Mention] = []
    for row in session.scalars(query.order_by(m.Checklist.created_at, m.Checklist.number)):
        found += mentions_in(row.id, row.stage, row.number, row.as_of.isoformat(),
                             json.loads(row.raw_text))
    return found


def mentions(session: Session, project_id: int) -> list[Mention]:
    """Return every promise the project's stored checklists state, in submission order."""
    return _read(session, select(m.Checklist).where(m.Checklist.project_id == project_id))


def sales_mentions(session: Session, project: int | str) -> list[Mention]:
    """Return the promises of a project's sales checklists (by id, or by code: a submission
    knows only that), in order: what its delivery checklists must account for."""
    query = select(m.Checklist).where(m.Checklist.stage == Stage.SALES.value)
    if isinstance(project, int):
        return _read(session, query.where(m.Checklist.project_id == project))
    return _read(session, query.join(m.Project, m.Project.id == m.Checklist.project_id)
                 .where(m.Project.code == project))
