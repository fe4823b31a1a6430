"""Evaluate a project at a slot: its latest delivery checklist under the current rulesets and
the promise ledger (as a delivery submission is judged), plus the audit's own findings (stale,
missing or no longer valid checklist) from audit.yaml."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.assessment import Assessor, RulesetRef
from riskengine.audits.policy import AuditPolicy, FindingSpec
from riskengine.errors import ChecklistInvalid, ChecklistUnreadable
from riskengine.findings import Finding, FindingText, fingerprint, render
from riskengine.gate import Gate, decide_gate
from riskengine.ledger import Ledger, Mention, load_ledger
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


def audit_finding(spec: FindingSpec, policy: AuditPolicy, assessor: Assessor, subject: str,
                  evidence: Mapping[str, Any], slot: dt.date) -> Finding:
    """Build one of the audit's own findings; its texts come from audit.yaml."""
    values = {**evidence, "slot_date": slot.isoformat(), "param.max_age_days": policy.max_age_days}
    labels = assessor.catalog.policy
    escalation = labels.escalation[spec.severity]
    return Finding(
        rule_id=spec.id, ruleset=policy.ruleset, category=spec.category, severity=spec.severity,
        blocking=spec.blocking, subject=subject, evidence=dict(evidence), owner=spec.owner,
        support=spec.support, due_date=slot, escalation=escalation,
        fingerprint=fingerprint(spec.id, subject),
        texts={lang: FindingText(
            title=spec.title[lang], message=render(spec.message[lang], values, labels, lang),
            action=render(spec.action[lang], values, labels, lang), source=spec.source[lang])
            for lang in Lang})


def _problems(error: ChecklistInvalid | ChecklistUnreadable) -> str:
    lines = [f"{path}: {'; '.join(items)}" for path, items in sorted(error.details.items())]
    return " | ".join(lines[:10]) or error.message


class AuditEvaluator:
    """Evaluates projects at their slots with one assessor (one per process); `ledger`
    defaults to the one beside the bundled (or RISKENGINE_RULESETS) rulesets."""

    def __init__(self, assessor: Assessor, policy: AuditPolicy, ledger: Ledger | None = None
                 ) -> None:
        self.assessor, self.policy = assessor, policy
        self.ledger = ledger or load_ledger(assessor.catalog)
        self.refs = (*assessor.refs[Stage.DELIVERY], self.ledger.ref,
                     RulesetRef(policy.ruleset, policy.version, policy.content_hash))

    def _own(self, kind: str, subject: str, evidence: Mapping[str, Any], slot: dt.date
             ) -> Finding:
        return audit_finding(self.policy.findings[kind], self.policy, self.assessor, subject,
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
            findings = list(self.assessor.assess(checklist.raw).findings)
        except (ChecklistInvalid, ChecklistUnreadable) as error:
            evidence = {"as_of": as_of, "problems": _problems(error)}
            return [self._own("invalid", "checklist", evidence, slot)], age
        findings += self.ledger.gaps(checklist.promises, checklist.raw)
        if age > self.policy.max_age_days:
            evidence = {"as_of": as_of, "age_days": age, "max_age_days": self.policy.max_age_days}
            findings.append(self._own("stale", "checklist.as_of", evidence, slot))
        return findings, age

    def evaluate(self, checklist: ChecklistSnapshot | None, tracked: Mapping[str, Tracked],
                 slot: dt.date, delivery: dt.date | None) -> Evaluation:
        """Evaluate at a slot; tracked statuses (waivers, work in progress) count for the gate."""
        found, age = self.raised(checklist, slot, delivery)
        findings = [f.with_status(tracked[f.fingerprint].status,
                                  tracked[f.fingerprint].waiver_expires)
                    if f.fingerprint in tracked else f for f in found]
        rank = self.assessor.catalog.policy.rank
        findings.sort(key=lambda f: (-rank[f.severity], not f.blocking, f.owner.value,
                                     f.rule_id, f.subject))
        return Evaluation(tuple(findings), decide_gate(findings, slot), self.refs, age)
