"""Escalate findings still open as the delivery date nears (thresholds from audit.yaml)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.assessment.findings import Finding
from riskengine.assessment.gate import is_open
from riskengine.audits.policy import EscalationStep
from riskengine.vocabulary import Severity


@dataclass(frozen=True)
class Escalation:
    fingerprint: str
    rule_id: str
    severity: Severity
    owner: str
    to: str
    days_to_delivery: int

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "rule_id": self.rule_id,
                "severity": self.severity.value, "from": self.owner, "to": self.to,
                "days_to_delivery": self.days_to_delivery}


def escalate(findings: Iterable[Finding], slot: dt.date, delivery: dt.date | None,
             steps: Mapping[Severity, EscalationStep]) -> list[Escalation]:
    """Return an escalation for each open finding whose severity's threshold is reached."""
    if delivery is None:
        return []
    days = (delivery - slot).days
    out = []
    for finding in findings:
        step = steps.get(finding.severity)
        if step is not None and days <= step.within_days and is_open(finding, slot):
            out.append(Escalation(finding.fingerprint, finding.rule_id, finding.severity,
                                  finding.owner.value, step.to, days))
    return out
