"""Projects and their assessments: creation, look-ups scoped to a caller, listings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.assessment.findings import Finding
from riskengine.refusals import refusal
from riskengine.store import Actor, StoreError, utcnow
from riskengine.store import models as m
from riskengine.store.records import with_statuses

Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class ProjectFilter:
    city: str | None = None
    stage: str | None = None
    gate: str | None = None


def visible(query: Query, projects: frozenset[str] | None) -> Query:
    """Limit a query joined to projects to the codes a caller may see (None: every project)."""
    return query if projects is None else query.where(m.Project.code.in_(projects))


def create_project(session: Session, code: str, name: str | None, city: str | None,
                   actor: Actor) -> m.Project:
    project = m.Project(code=code, name=name, city=city, created_at=utcnow(), created_by=actor.name)
    try:
        with session.begin_nested():
            session.add(project)
    except IntegrityError as error:
        raise StoreError(refusal("project_exists", code=code),
                         {"code": [refusal("already_taken")]}) from error
    return project


def get_project(session: Session, code: str, projects: frozenset[str] | None,
                lock: bool = False) -> m.Project | None:
    query = visible(select(m.Project), projects).where(m.Project.code == code)
    return session.scalars(query.with_for_update() if lock else query).first()


def list_projects(session: Session, wanted: ProjectFilter, projects: frozenset[str] | None,
                  page: int, per_page: int) -> tuple[list[m.Project], int]:
    """Return one page of visible projects (decide lapsed gates first: `riskengine.standing`)."""
    query = visible(select(m.Project), projects)
    for column, value in ((m.Project.city, wanted.city), (m.Project.stage, wanted.stage),
                          (m.Project.gate, wanted.gate)):
        if value:
            query = query.where(column == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(m.Project.code).limit(per_page)
                           .offset((page - 1) * per_page))
    return list(rows), total


def lapsed_gates(session: Session, today: dt.date) -> list[int]:
    """Return the projects whose stored gate may have changed by itself by `today`."""
    return list(session.scalars(select(m.Project.id).where(m.Project.gate_changes_on <= today)))


def latest_judged(session: Session, project_id: int) -> list[Finding] | None:
    """Return the findings of the project's latest assessment with their current statuses
    (None when it has none)."""
    project = session.get(m.Project, project_id)
    latest = session.get(m.Assessment, project.latest_assessment_id) if project and \
        project.latest_assessment_id else None
    if latest is None:
        return None
    rows = {f.id: f for f in session.scalars(select(m.Finding).where(
        m.Finding.id.in_({e["finding_id"] for e in latest.findings})))}
    return with_statuses(latest.findings, rows)


def set_gate(session: Session, project_id: int, gate: str, changes_on: dt.date | None) -> None:
    project = session.get(m.Project, project_id)
    if project is not None:
        project.gate, project.gate_changes_on = gate, changes_on


def get_assessment(session: Session, assessment_id: str, projects: frozenset[str] | None
                   ) -> tuple[m.Assessment, m.Project] | None:
    row = session.execute(visible(select(m.Assessment, m.Project).join(m.Project), projects)
                          .where(m.Assessment.id == assessment_id)).first()
    return (row[0], row[1]) if row else None


def latest_assessments(session: Session, project_id: int) -> dict[str, m.Assessment]:
    """Return the latest assessment of each stage of a project."""
    newest = select(m.Assessment.stage, func.max(m.Assessment.number).label("number")).where(
        m.Assessment.project_id == project_id).group_by(m.Assessment.stage).subquery()
    rows = session.scalars(select(m.Assessment).join(newest, (
        m.Assessment.stage == newest.c.stage) & (m.Assessment.number == newest.c.number)).where(
        m.Assessment.project_id == project_id))
    return {a.stage: a for a in rows}


def checklist(session: Session, checklist_id: str) -> m.Checklist | None:
    return session.get(m.Checklist, checklist_id)


def checklists(session: Session, project_id: int) -> list[m.Checklist]:
    """Return every checklist of a project in the order it was submitted."""
    return list(session.scalars(select(m.Checklist).where(m.Checklist.project_id == project_id)
                                .order_by(m.Checklist.created_at, m.Checklist.number)))
