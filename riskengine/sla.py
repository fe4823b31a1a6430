"""Due dates by severity (policy.yaml `workflow.sla_days`): a finding is due by the earlier of
its milestone-based date and the day it was first seen plus its severity's days; a date a
reviewer set by hand wins over both. The clock starts again the day a waiver lapses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from riskengine.rules.model import WorkflowPolicy
from riskengine.store import findings as stored
from riskengine.store import models as m
from riskengine.vocabulary import ACTIVE_STATUSES, FindingStatus, Severity


def sla_due(start: dt.date, severity: str, policy: WorkflowPolicy) -> dt.date:
    return start + dt.timedelta(days=policy.sla_days[Severity(severity)])


def stamp_undated(session: Session, today: dt.date, policy: WorkflowPolicy) -> int:
    """Start the SLA clock of findings that have none: those tracked before SLAs were policy
    (a submission dates its new findings as it writes them). Return how many."""
    undated = stored.unstamped(session)
    stored.set_sla_due(session, {finding_id: sla_due(today, severity, policy)
                                 for finding_id, severity in undated})
    return len(undated)


def effective_due(row: m.Finding) -> dt.date:
    """As riskengine.store.findings.effective_due reads it in SQL."""
    if row.due_by_hand is not None:
        return row.due_by_hand
    return min(row.due_date, row.sla_due) if row.sla_due is not None else row.due_date


def reads_open(row: m.Finding, today: dt.date) -> bool:
    """Still to be worked: open, in progress, or waived by a waiver that has lapsed."""
    lapsed = (row.status == FindingStatus.WAIVED.value and row.waiver_expires is not None
              and row.waiver_expires < today)
    return lapsed or FindingStatus(row.status) in ACTIVE_STATUSES


def shown_status(row: m.Finding, today: dt.date) -> str:
    """The status a person reads: a lapsed waiver reads as open, before the sweep records it."""
    if row.status == FindingStatus.WAIVED.value and reads_open(row, today):
        return FindingStatus.OPEN.value
    return row.status


def due_facts(row: m.Finding, today: dt.date) -> dict[str, Any]:
    """What the API and the pages show of a finding's due date: which one holds, days left
    (negative: days past it) while it is worked, and whether it is breached."""
    due = effective_due(row)
    worked = reads_open(row, today)
    return {
        "due_date": due.isoformat(), "milestone_due_date": row.due_date.isoformat(),
        "sla_due_date": row.sla_due.isoformat() if row.sla_due else None,
        "due_set_by_hand": row.due_by_hand is not None,
        "days_left": (due - today).days if worked else None,
        "overdue": worked and due < today,
        "sla_breached": worked and row.sla_due is not None and row.sla_due < today,
        "status": shown_status(row, today),
    }
