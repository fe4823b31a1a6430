"""Wire the core steps: checklist → validation → facts → engine → findings → gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from riskengine.assessment.facts import FactSet, Shape, map_facts
from riskengine.assessment.findings import Finding, FindingBuilder, FindingParts
from riskengine.assessment.gate import DEFAULT_POLICY, Gate, as_seen, decide_gate, summarize
from riskengine.checklist.validation import ChecklistValidator
from riskengine.rules.catalog import DEFAULT_ROOT, Catalog, load_catalog
from riskengine.rules.engine import Engine, Match
from riskengine.rules.model import GatePolicy
from riskengine.vocabulary import Lang, Stage


@dataclass(frozen=True)
class RulesetRef:
    id: str
    version: str
    hash: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "hash": self.hash}


@dataclass(frozen=True)
class Assessment:
    project_code: str
    stage: Stage
    as_of: dt.date
    rulesets: tuple[RulesetRef, ...]
    findings: tuple[Finding, ...]
    gate: Gate
    id: str | None = None
    decided_on: dt.date | None = None  # the day the gate was decided; as_of when None

    @classmethod
    def judged(cls, *, project_code: str, stage: Stage, as_of: dt.date,
               rulesets: tuple[RulesetRef, ...], findings: Sequence[Finding], today: dt.date,
               policy: GatePolicy, id: str | None = None) -> Assessment:
        """Return a stored assessment, its findings carrying their current statuses, its gate
        decided `today`."""
        seen = as_seen(findings, today)
        return cls(project_code=project_code, stage=stage, as_of=as_of, rulesets=rulesets,
                   findings=tuple(seen), gate=decide_gate(seen, today, policy), id=id,
                   decided_on=today)

    def regate(self, findings: Sequence[Finding], today: dt.date,
               policy: GatePolicy = DEFAULT_POLICY) -> Assessment:
        """Return this assessment with findings carrying stored statuses, its gate decided anew."""
        seen = as_seen(findings, today)
        return replace(self, findings=tuple(seen),
                       gate=decide_gate(seen, today, policy), decided_on=today)

    def to_dict(self, lang: Lang = Lang.ZH) -> dict[str, Any]:
        """Return the contract's assessment object (no `id` when it was not stored)."""
        body: dict[str, Any] = {"id": self.id} if self.id is not None else {}
        body.update({
            "project_code": self.project_code, "stage": self.stage.value,
            "as_of": self.as_of.isoformat(),
            "rulesets": [r.to_dict() for r in self.rulesets],
            "gate": self.gate.to_dict(),
            "summary": summarize(self.findings, self.decided_on or self.as_of),
            "findings": [f.to_dict(lang) for f in self.findings],
        })
        return body


class Assessor:
    """Holds a loaded catalogue and its compiled engine; assesses checklists."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.validator = ChecklistValidator(catalog)
        self.check_types = {stage: {k: c.type for k, c in catalog.checks(stage).items()}
                            for stage in Stage}
        # one durable ruleset per stage: each fact is read once per evaluation
        self.engine = Engine(list(catalog.stages.values()))
        self.parts = FindingParts(catalog)  # per-rule texts and evidence, prepared once
        self.shapes = {stage: Shape(compiled.reads) for stage, compiled in catalog.stages.items()}
        self.refs = {stage: tuple(RulesetRef(r.id, r.version, r.content_hash)
                                  for r in catalog.for_stage(stage)) for stage in Stage}

    @classmethod
    def from_path(cls, root: Path = DEFAULT_ROOT) -> Assessor:
        return cls(load_catalog(root))

    def validate(self, raw: Any) -> dict[str, Any]:
        return self.validator.validate(raw)

    def assess(self, raw: Any) -> Assessment:
        """Validate and assess a checklist; raise ChecklistInvalid or EvaluationError."""
        return self.assess_valid(self.validate(raw))

    def facts(self, checklist: Mapping[str, Any]) -> FactSet:
        """Map a validated checklist to the facts its stage's rules read."""
        stage = Stage(checklist["stage"])
        return map_facts(checklist, self.check_types[stage], self.shapes[stage])

    def evaluate(self, stage: Stage, facts: FactSet) -> list[Match]:
        """Match facts built by `facts` against the stage's rules."""
        return self.engine.evaluate([stage.value], facts.by_type, shaped=True)

    def match(self, checklist: Mapping[str, Any]) -> tuple[FactSet, list[Match]]:
        """Return a validated checklist's facts and their matches against its stage's rules."""
        facts = self.facts(checklist)
        return facts, self.evaluate(Stage(checklist["stage"]), facts)

    def assess_valid(self, checklist: Mapping[str, Any]) -> Assessment:
        """Assess a checklist that already passed validation."""
        stage = Stage(checklist["stage"])
        facts, matches = self.match(checklist)
        findings = FindingBuilder(self.catalog, checklist, facts, self.parts).build(matches)
        as_of: dt.date = checklist["as_of"]
        return Assessment(
            project_code=checklist["project"]["code"], stage=stage, as_of=as_of,
            rulesets=self.refs[stage], findings=tuple(findings),
            gate=decide_gate(findings, as_of, self.catalog.policy.gate))
