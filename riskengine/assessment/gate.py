"""Decide the gate from findings and their statuses; what a gate decided today implies.

The one place a gate is decided: submissions, gate reviews, project listings, pages, reports
and audit runs all call `decide_gate` (or `Assessment.regate`, which does).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.assessment.findings import Finding
from riskengine.rules.model import GatePolicy
from riskengine.vocabulary import ACTIVE_STATUSES, FindingStatus, GateDecision, Severity

ACTIVE = ACTIVE_STATUSES


DEFAULT_POLICY = GatePolicy()


@dataclass(frozen=True)
class Gate:
    decision: GateDecision
    blocking: tuple[str, ...]  # fingerprints of the open, unwaived blocking findings

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "blocking": list(self.blocking)}


def waiver_holds(finding: Finding, today: dt.date) -> bool:
    """Return whether a finding is waived by a waiver that has not expired by `today`."""
    return finding.waiver_holds(today)


def is_open(finding: Finding, today: dt.date) -> bool:
    """An expired waiver no longer counts: the finding is open again for every gate."""
    return finding.open_on(today)


def holds_gate(finding: Finding, today: dt.date) -> bool:
    """A blocking finding holds the gate while open, and once resolved until someone other
    than its resolver verified the fix (issue 11): an owner's word alone does not pass it."""
    return finding.blocking and (is_open(finding, today)
                                 or finding.status is FindingStatus.RESOLVED)


def decide_gate(findings: Sequence[Finding], today: dt.date,
                policy: GatePolicy = DEFAULT_POLICY) -> Gate:
    """Fail on an open unwaived (or resolved, unverified) blocking finding; conditional on an
    open finding of a conditional severity (high) or a waived blocking one; pass otherwise
    (risk catalogue, "Severity, escalation, gate")."""
    counted = [f for f in findings if f.in_force]  # a rule not yet in force is only reported
    blocking = tuple(f.fingerprint for f in counted if holds_gate(f, today))
    if blocking:
        return Gate(GateDecision.FAIL, blocking)
    conditional = any(
        (f.severity in policy.conditional_severities and is_open(f, today))
        or (f.blocking and waiver_holds(f, today)) for f in counted)
    return Gate(GateDecision.CONDITIONAL if conditional else GateDecision.PASS, ())


def as_seen(findings: Iterable[Finding], today: dt.date) -> list[Finding]:
    """Findings as a person reads them on `today`: one waived by a waiver that has lapsed reads
    as open everywhere (its lapse is recorded as an event by the daily sweep)."""
    return [f.with_status(FindingStatus.OPEN)
            if f.status is FindingStatus.WAIVED and not f.waiver_holds(today) else f
            for f in findings]


def gate_changes_on(findings: Iterable[Finding], today: dt.date) -> dt.date | None:
    """Return the first day a gate decided today may change by itself: a waiver lapsing."""
    holding = [f.waiver_expires for f in findings if f.waiver_expires and waiver_holds(f, today)]
    return min(holding) + dt.timedelta(days=1) if holding else None


def summarize(findings: Iterable[Finding], today: dt.date) -> dict[str, dict[str, int]]:
    """Count the findings open on `today` (as the gate counts them: a lapsed waiver is open
    again) by severity, owner and category; and every finding by status. A finding of a rule
    not yet in force is counted here: it is work to do, though the gate does not weigh it."""
    findings = list(findings)
    live = [f for f in findings if is_open(f, today)]
    by_severity = {s.value: 0 for s in Severity}
    by_severity.update(Counter(f.severity.value for f in live))
    return {
        "by_severity": by_severity,
        "by_owner": dict(sorted(Counter(f.owner.value for f in live).items())),
        "by_category": dict(sorted(Counter(f.category.value for f in live).items())),
        "by_status": dict(sorted(Counter(f.status.value for f in findings).items())),
    }
