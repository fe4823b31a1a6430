"""The rule files as the core reads them: rules, rulesets, the policy, the catalogue.

Plain frozen data: `catalog` loads and validates the files into these, `compiler` turns a
ruleset into durable_rules JSON, and everything downstream reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from riskengine.vocabulary import Category, CheckType, Lang, Owner, Severity, Stage

Text = Mapping[str, str]


@dataclass(frozen=True)
class Requirement:
    """A fact a rule cannot decide without; `when` limits it to some cases."""

    path: str
    when: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Due:
    milestones: tuple[str, ...]
    lead_days: int


@dataclass(frozen=True)
class Rule:
    id: str
    ruleset_id: str
    title: Text
    category: Category
    severity: Severity
    blocking: bool
    owner: Owner
    support: tuple[Owner, ...]
    due: Due
    source: Text
    catalogue: tuple[str, ...]
    for_each: str | None
    subject: str | None
    when: Mapping[str, Any]
    requires: tuple[Requirement, ...]
    evidence: tuple[str, ...]
    message: Text
    action: Text
    # The first day the rule counts toward the gate; before it, its findings are reported,
    # marked not yet in force (a new guideline is announced before it blocks). None: always.
    effective_on: dt.date | None = None
    # `closure: {evidence: required}`: its findings are resolved only with evidence given.
    closure_evidence: bool = False

    def in_force_on(self, day: dt.date) -> bool:
        return self.effective_on is None or day >= self.effective_on


@dataclass(frozen=True)
class Parameter:
    value: Any
    unit: str
    description: Text


@dataclass(frozen=True)
class CheckSpec:
    type: CheckType
    description: Text


@dataclass(frozen=True)
class ClosedSet:
    """Members every project of the stage must list (values of `list`'s kind field, or, with
    no list, `checks` keys), while `when` holds. A member not listed is unknown, raised with
    the severity, owner and blocking flag of the most severe rule about it (`rule_ids`, one
    per member: about the list, or reading that `checks` key)."""

    list: str | None
    members: tuple[str, ...]
    when: Mapping[str, Any] | None
    rule_ids: tuple[str, ...]
    label: Text


@dataclass(frozen=True)
class Ruleset:
    id: str
    version: str
    stage: Stage
    title: Text
    parameters: Mapping[str, Parameter]
    checks: Mapping[str, CheckSpec]
    rules: tuple[Rule, ...]
    path: Path
    content_hash: str
    closed_sets: tuple[ClosedSet, ...] = ()

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass(frozen=True)
class StagePolicy:
    label: Text
    due_milestones: tuple[str, ...]
    default_lead_days: int


@dataclass(frozen=True)
class GatePolicy:
    """What makes a gate conditional when nothing blocks it (policy.yaml `gate`)."""

    conditional_severities: frozenset[Severity] = frozenset({Severity.HIGH})


@dataclass(frozen=True)
class FindingPolicy:
    """Limits on working a finding (policy.yaml `findings`)."""

    max_waiver_days: int = 366


def default_sla_days() -> Mapping[Severity, int]:
    return {Severity.CRITICAL: 7, Severity.HIGH: 14, Severity.MEDIUM: 30, Severity.LOW: 60}


@dataclass(frozen=True)
class WorkflowPolicy:
    """How findings are worked (policy.yaml `workflow`): days to fix by severity, counted from
    first sight; days before a waiver lapses on which its owner is reminded; the departments
    whose owners may verify a resolution (besides reviewers and admins)."""

    sla_days: Mapping[Severity, int] = field(default_factory=default_sla_days)
    waiver_reminder_days: tuple[int, ...] = (14, 3)
    verifier_departments: frozenset[Owner] = frozenset({Owner.CRM})


@dataclass(frozen=True)
class Policy:
    escalation: Mapping[Severity, str]
    rank: Mapping[Severity, int]
    stages: Mapping[Stage, StagePolicy]
    incomplete: Mapping[str, Text]
    labels: Mapping[str, Mapping[str, Text]]
    gate: GatePolicy = GatePolicy()
    findings: FindingPolicy = FindingPolicy()
    workflow: WorkflowPolicy = WorkflowPolicy()

    def sort_key(self, finding: Any) -> tuple[Any, ...]:
        """The one order of findings: most severe first, blocking first, then by owner, rule
        and subject (stable across runs)."""
        return (-self.rank[finding.severity], not finding.blocking, finding.owner.value,
                finding.rule_id, finding.subject)

    def label(self, group: str, value: str, lang: Lang) -> str:
        """Return the label of a vocabulary value, or the value itself when none is defined."""
        text = self.labels.get(group, {}).get(value)
        return text[lang] if text else value


@dataclass(frozen=True)
class Catalog:
    policy: Policy
    rulesets: tuple[Ruleset, ...]
    compiled: Mapping[str, Any] = field(default_factory=dict)  # ruleset id -> CompiledRuleset
    # stage -> one CompiledRuleset of all the stage's rulesets (what the engine loads)
    stages: Mapping[Stage, Any] = field(default_factory=dict)

    def for_stage(self, stage: Stage) -> tuple[Ruleset, ...]:
        return tuple(r for r in self.rulesets if r.stage == stage)

    def rules(self, stage: Stage | None = None) -> Iterator[Rule]:
        for ruleset in self.rulesets:
            if stage is None or ruleset.stage == stage:
                yield from ruleset.rules

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules() if r.id == rule_id), None)

    def ruleset(self, ruleset_id: str) -> Ruleset | None:
        return next((r for r in self.rulesets if r.id == ruleset_id), None)

    def checks(self, stage: Stage) -> dict[str, CheckSpec]:
        """Return every `checks` key the rulesets of a stage declare."""
        out: dict[str, CheckSpec] = {}
        for ruleset in self.for_stage(stage):
            out.update(ruleset.checks)
        return out


def bare_rule(**values: Any) -> Rule:
    """A rule that raises findings without being compiled (the promise ledger's, the audits'
    own): the fields only the rule engine reads stay empty."""
    unused: dict[str, Any] = {f.name: None for f in fields(Rule) if f.name not in values}
    return Rule(**values, **unused)
