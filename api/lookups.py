"""Scoped look-ups: every object a route or a page touches is resolved here, through the
caller's project scope (an object of a project outside it is simply not found, so codes and
ids cannot be probed), and the stored reads both the JSON API and the pages render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Response
from sqlalchemy.orm import Session

from api.answers import answer
from api.auth import Principal, require_project
from api.errors import Forbidden, NotFound
from api.render import assessment_body
from api.schemas import ResponseSchema
from api.state import service
from riskengine.audits import store as audit_store
from riskengine.audits.models import AuditRun, AuditSchedule, AuditSubscription
from riskengine.refusals import refusal
from riskengine.store import models as m
from riskengine.store.findings import findings_by_id, waivers_by_id
from riskengine.store.projects import checklist, get_project
from riskengine.store.records import with_statuses
from riskengine.store.reviews import latest_numbers
from riskengine.vocabulary import Lang


def project_or_404(session: Session, code: str, principal: Principal,
                   lock: bool = False) -> m.Project:
    """Return a project the caller may see; any other is 'not found', so codes can't be probed."""
    project = get_project(session, code, principal.projects, lock) if principal.sees(code) \
        else None
    if project is None:
        raise NotFound(refusal("project_not_found", code=code))
    return project


def read_project(code: str, build: Callable[[Session, m.Project], Any],
                 schema: type[ResponseSchema]) -> Response:
    """Answer a read of something of a project the caller may see (any other: 404), built by
    `build` in one read transaction."""
    principal = require_project(code)
    with service().database.read() as session:
        body = build(session, project_or_404(session, code, principal))
    return answer(schema, body)


def stored_checklist(session: Session, project: m.Project, checklist_id: str) -> m.Checklist:
    """Return a stored checklist of the project; any other is not found."""
    row = checklist(session, checklist_id)
    if row is None or row.project_id != project.id:
        raise NotFound(refusal("checklist_not_found", id=checklist_id))
    return row


def render_stored(session: Session, row: m.Assessment, project: m.Project, today: dt.date,
                  lang: Lang) -> dict[str, Any]:
    """Load what a stored assessment's answer needs and build it."""
    tracked = findings_by_id(session, {e["finding_id"] for e in row.findings} | set(row.resolved))
    waivers = waivers_by_id(session, {f.waiver_id for f in tracked.values()})
    latest = latest_numbers(session, project.id).get(row.stage)
    return assessment_body(row, project.code, with_statuses(row.findings, tracked), tracked,
                           waivers, today, lang, service().assessor.catalog.policy.gate, latest)


def schedule_or_404(session: Session, project: m.Project, schedule_id: int) -> AuditSchedule:
    """An audit schedule of a project already resolved through the caller's scope."""
    return audit_store.get_schedule(session, project.id, schedule_id)


def run_or_404(session: Session, run_id: str, principal: Principal) -> tuple[AuditRun, str]:
    """An audit run of a project the caller may see, with its project's code."""
    found = audit_store.get_run(session, run_id, principal.projects)
    if found is None:
        raise NotFound(refusal("audit_run_not_found", id=run_id))
    return found


def subscription_or_404(session: Session, subscription_id: int, principal: Principal,
                        lock: bool = False) -> AuditSubscription:
    """A subscription whose every project the caller may see (an unfiltered one: only an
    unscoped caller); any other is not found."""
    return audit_store.subscription_within(session, subscription_id, principal.projects, lock)


def subscriptions_seen(session: Session, principal: Principal) -> list[AuditSubscription]:
    """The subscriptions the caller may list (the same rule as `subscription_or_404`)."""
    return audit_store.subscriptions_within(session, principal.projects)


def subscribable(principal: Principal, projects: list[str] | None) -> list[str] | None:
    """The projects a new subscription may send, checked against the caller's scope: a scoped
    caller names projects, each its own (another's is not found); None means every project."""
    if principal.projects is None:
        return projects
    if projects is None:
        raise Forbidden(refusal("scoped_token_all"), {"projects": [refusal("name_projects")]})
    for code in projects:
        if code not in principal.projects:
            raise NotFound(refusal("project_not_found", code=code))
    return projects
