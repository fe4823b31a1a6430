"""Evaluate a project at a slot: its latest delivery checklist judged by the core's submission
use case (current rulesets and the promise ledger, as a delivery submission is), plus the
audit's own findings (stale, missing or no longer valid checklist) from audit.yaml."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.assessment.assessor import RulesetRef
from riskengine.assessment.findings import (
    Finding,
    FindingText,
    raise_finding,
    render,
    sort_findings,
)
from riskengine.assessment.gate import Gate, as_seen, decide_gate
from riskengine.assessment.mentions import Mention
from riskengine.audits.policy import AuditPolicy, FindingSpec
from riskengine.errors import ChecklistInvalid, ChecklistUnreadable
from riskengine.rules.model import Catalog, bare_rule
from riskengine.submission import Submissions
from riskengine.vocabulary import FindingStatus, Lang, Stage


@dataclass(frozen=True)
class ChecklistSnapshot:
    """The project's latest delivery checklist as stored."""

    id: str
    number: int
    as_of: dt.date
    raw: Any
    promises: tuple[Mention, ...] = ()  # the project's sales promises it must account for


@dataclass(frozen=True)
class Tracked:
    """What the service tracks about a finding between submissions."""

    status: FindingStatus
    waiver_expires: dt.date | None = None


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    gate: Gate
    rulesets: tuple[RulesetRef, ...]
    checklist_age_days: int | None


def audit_finding(spec: FindingSpec, policy: AuditPolicy, catalog: Catalog, subject: str,
                  evidence: Mapping[str, Any], slot: dt.date) -> Finding:
    """Raise one of the audit's own findings; its texts come from audit.yaml."""
    values = {**evidence, "slot_date": slot.isoformat(), "param.max_age_days": policy.max_age_days}
    labels = catalog.policy
    rule = bare_rule(id=spec.id, ruleset_id=policy.ruleset, category=spec.category,
                     severity=spec.severity, blocking=spec.blocking, owner=spec.owner,
                     support=spec.support)
    texts = {lang: FindingText(
        title=spec.title[lang], message=render(spec.message[lang], values, labels, lang),
        action=render(spec.action[lang], values, labels, lang), source=spec.source[lang])
        for lang in Lang}
    return raise_finding(rule, labels, subject=subject, evidence=dict(evidence), texts=texts,
                         due=slot, identity=subject)


def _problems(error: ChecklistInvalid | ChecklistUnreadable) -> str:
    lines = [f"{path}: {'; '.join(items)}" for path, items in sorted(error.details.items())]
    return " | ".join(lines[:10]) or error.message


class AuditEvaluator:
    """Evaluates projects at their slots with the core's submission use case (one per
    process): a checklist is judged exactly as a delivery submission is."""

    def __init__(self, submissions: Submissions, policy: AuditPolicy) -> None:
        self.submissions, self.policy = submissions, policy
        self.catalog = submissions.assessor.catalog
        self.refs = (*submissions.assessor.refs[Stage.DELIVERY], submissions.ledger.ref,
                     RulesetRef(policy.ruleset, policy.version, policy.content_hash))

    def _own(self, kind: str, subject: str, evidence: Mapping[str, Any], slot: dt.date
             ) -> Finding:
        return audit_finding(self.policy.findings[kind], self.policy, self.catalog, subject,
                             evidence, slot)

    def raised(self, checklist: ChecklistSnapshot | None, slot: dt.date,
               delivery: dt.date | None) -> tuple[list[Finding], int | None]:
        """Return the findings at a slot (statuses not applied) and the checklist's age; the
        checklist is judged with the promise ledger, as a delivery submission is."""
        evidence: dict[str, Any]
        if checklist is None:
            evidence = {"delivery_date": delivery.isoformat() if delivery else None}
            return [self._own("missing", "checklists.delivery", evidence, slot)], None
        age = (slot - checklist.as_of).days
        as_of = checklist.as_of.isoformat()
        try:
            received = self.submissions.receive(checklist.raw, "")
        except (ChecklistInvalid, ChecklistUnreadable) as error:
            evidence = {"as_of": as_of, "problems": _problems(error)}
            return [self._own("invalid", "checklist", evidence, slot)], age
        findings = list(self.submissions.judge(received, checklist.promises).findings)
        if age > self.policy.max_age_days:
            evidence = {"as_of": as_of, "age_days": age, "max_age_days": self.policy.max_age_days}
            findings.append(self._own("stale", "checklist.as_of", evidence, slot))
        return findings, age

    def evaluate(self, checklist: ChecklistSnapshot | None, tracked: Mapping[str, Tracked],
                 slot: dt.date, delivery: dt.date | None) -> Evaluation:
        """Evaluate at a slot; tracked statuses (waivers, work in progress) count for the gate."""
        found, age = self.raised(checklist, slot, delivery)
        findings = as_seen([f.with_status(tracked[f.fingerprint].status,
                                          tracked[f.fingerprint].waiver_expires)
                            if f.fingerprint in tracked else f for f in found], slot)
        policy = self.catalog.policy
        findings = sort_findings(findings, policy)
        return Evaluation(tuple(findings), decide_gate(findings, slot, policy.gate), self.refs,
                          age)
