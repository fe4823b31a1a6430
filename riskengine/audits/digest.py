"""Per-recipient digests of a run: what is new, due soon, overdue, and escalated to them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.assessment.findings import Finding
from riskengine.assessment.gate import is_open
from riskengine.audits.comparison import Comparison
from riskengine.audits.escalation import Escalation
from riskengine.vocabulary import Lang

SECTIONS = ("new", "due_soon", "overdue", "escalated")


def item(finding: Finding) -> dict[str, Any]:
    """The part of a finding a digest shows, titles in every language."""
    return {
        "fingerprint": finding.fingerprint, "rule_id": finding.rule_id,
        "severity": finding.severity.value, "blocking": finding.blocking,
        "owner": finding.owner.value, "subject": finding.subject,
        "title": {lang.value: finding.texts[lang].title for lang in Lang},
        "due_date": finding.due_date.isoformat(), "status": finding.status.value,
    }


@dataclass
class Digest:
    recipient: str
    sections: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in SECTIONS})

    @property
    def empty(self) -> bool:
        return not any(self.sections.values())

    def to_dict(self) -> dict[str, Any]:
        return {"recipient": self.recipient, **self.sections,
                "counts": {name: len(items) for name, items in self.sections.items()}}


def build_digests(findings: Sequence[Finding], comparison: Comparison,
                  escalations: Iterable[Escalation], slot: dt.date, due_within_days: int
                  ) -> list[Digest]:
    """Return the non-empty digests, one per owner or escalation contact, sorted by recipient."""
    digests: dict[str, Digest] = {}

    def add(recipient: str, section: str, entry: dict[str, Any]) -> None:
        digests.setdefault(recipient, Digest(recipient)).sections[section].append(entry)

    horizon = slot + dt.timedelta(days=due_within_days)
    new = set(comparison.new)
    by_print = {f.fingerprint: f for f in findings}
    for finding in findings:
        if not is_open(finding, slot):
            continue
        owner = finding.owner.value
        if finding.fingerprint in new:
            add(owner, "new", item(finding))
        if finding.due_date < slot:
            add(owner, "overdue", item(finding))
        elif finding.due_date <= horizon:
            add(owner, "due_soon", item(finding))
    for escalation in escalations:
        add(escalation.to, "escalated", {**item(by_print[escalation.fingerprint]),
                                         **escalation.to_dict()})
    return [digests[r] for r in sorted(digests) if not digests[r].empty]
