"""Where a project stands: its gate as of today, decided by the core from its latest assessment
and its findings' current statuses, and stored on the project for listings and filters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from riskengine.assessment.gate import decide_gate, gate_changes_on
from riskengine.rules.model import GatePolicy
from riskengine.store import models as m
from riskengine.store import projects


def refresh_gate(session: Session, project_id: int, today: dt.date, policy: GatePolicy) -> None:
    """Decide the project's gate anew (after a finding changed, or a waiver lapsed)."""
    findings = projects.latest_judged(session, project_id)
    if findings is None:
        return
    projects.set_gate(session, project_id, decide_gate(findings, today, policy).decision.value,
                      gate_changes_on(findings, today))


def refresh_lapsed_gates(session: Session, today: dt.date, policy: GatePolicy) -> None:
    for project_id in projects.lapsed_gates(session, today):
        refresh_gate(session, project_id, today, policy)


def list_projects(session: Session, wanted: projects.ProjectFilter,
                  visible: frozenset[str] | None, today: dt.date, page: int, per_page: int,
                  policy: GatePolicy) -> tuple[list[m.Project], int]:
    """Return one page of visible projects; filtering by gate decides lapsed gates first, so
    the filter sees today's gate."""
    if wanted.gate:
        refresh_lapsed_gates(session, today, policy)
    return projects.list_projects(session, wanted, visible, page, per_page)
