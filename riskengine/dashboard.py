"""Where the portfolio stands, in figures a CRM head reads: open findings by owner and
severity, their age and overdue ones, time to resolve by severity and month, gates by city and
stage. Every figure says which listing it counts (`link`: the API's own filters), so a number
on a chart can be opened and checked.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from riskengine.store import dashboard as store
from riskengine.vocabulary import FindingStatus, GateDecision, Severity

OPEN = (FindingStatus.OPEN.value, FindingStatus.IN_PROGRESS.value)
AGE_BUCKETS = ((0, 7), (8, 30), (31, 90), (91, None))  # days since first raised


def _findings_link(scope: store.Scope, **wanted: Any) -> str:
    query: list[tuple[str, Any]] = [("status", s) for s in OPEN]
    for key, value in (("stage", scope.stage), ("owner", scope.owner), *wanted.items()):
        if value is not None:
            query.append((key, value))
    if scope.city:
        query.append(("city", scope.city))
    return "/api/v1/findings?" + urlencode(query)


def _bucket(days: int) -> str:
    for low, high in AGE_BUCKETS:
        if high is None or days <= high:
            return f"{low}-{high}" if high is not None else f"{low}+"
    return "?"


def figures(session: Session, scope: store.Scope, today: dt.date) -> dict[str, Any]:
    """Every figure of the dashboard for the scope, as of `today`."""
    open_rows = store.finding_rows(session, scope, OPEN)
    by_owner: dict[str, Counter[str]] = defaultdict(Counter)
    ages: dict[str, Counter[str]] = defaultdict(Counter)
    overdue: Counter[str] = Counter()
    for row in open_rows:
        by_owner[row.owner][row.severity] += 1
        ages[row.owner][_bucket((today - row.created_at.date()).days)] += 1
        overdue[row.owner] += row.due_date < today
    severities = [s.value for s in Severity]
    return {
        "as_of": today.isoformat(),
        "filters": {"city": scope.city, "stage": scope.stage, "owner": scope.owner},
        "open_by_owner": [{
            "owner": owner, "total": sum(counts.values()),
            "link": _findings_link(scope, owner=owner),
            "by_severity": [{"severity": s, "count": counts[s],
                             "link": _findings_link(scope, owner=owner, severity=s)}
                            for s in severities]}
            for owner, counts in sorted(by_owner.items())],
        "age_by_owner": [{
            "owner": owner, "buckets": {_bucket(low): ages[owner][_bucket(low)]
                                        for low, _ in AGE_BUCKETS},
            "overdue": overdue[owner],
            "overdue_link": _findings_link(scope, owner=owner, overdue="true")}
            for owner in sorted(ages)],
        "time_to_resolve": _resolution(session, scope),
        "gates": _gates(store.project_rows(session, scope), scope),
    }


def _resolution(session: Session, scope: store.Scope) -> list[dict[str, Any]]:
    """Mean and p90 days from first raised to resolved, by severity and month resolved."""
    days: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in store.resolution_rows(session, scope, FindingStatus.RESOLVED.value):
        month = row.resolved.strftime("%Y-%m")
        days[(month, row.severity)].append((row.resolved - row.opened).total_seconds() / 86400)
    out = []
    for (month, severity), values in sorted(days.items()):
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, max(0, int(round(0.9 * len(ordered) + 0.5)) - 1))]
        out.append({"month": month, "severity": severity, "resolved": len(values),
                    "mean_days": round(statistics.fmean(values), 1), "p90_days": round(p90, 1)})
    return out


def _gates(rows: list[store.ProjectRow], scope: store.Scope) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[(row.city or "", row.stage or "")][row.gate or ""] += 1
    out = []
    for (city, stage), gates in sorted(counts.items()):
        query = {"city": city, "stage": stage} if city else {"stage": stage}
        out.append({"city": city or None, "stage": stage,
                    "gates": {g.value: gates[g.value] for g in GateDecision},
                    "link": "/api/v1/projects?" + urlencode(query)})
    return out


def totals(figure: Mapping[str, Any]) -> dict[str, int]:
    """The headline numbers: open, overdue, projects failing the gate."""
    return {"open": sum(o["total"] for o in figure["open_by_owner"]),
            "overdue": sum(a["overdue"] for a in figure["age_by_owner"]),
            "failing": sum(g["gates"]["fail"] for g in figure["gates"])}
