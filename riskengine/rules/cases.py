"""Run every rule's own examples (`<topic>.test.yaml`): cases that must fire and that must not."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskengine.assessment.assessor import Assessor
from riskengine.errors import RiskEngineError
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.vocabulary import Stage

_EXPECT_KEYS = {"rule", "subject", "severity", "category", "blocking", "owner", "in_force"}


@dataclass(frozen=True)
class Case:
    """One example of a ruleset: a patch on the stage's clean base, and what it must give."""

    ruleset: str
    name: str
    path: Path
    checklist: Mapping[str, Any]
    fires: tuple[Mapping[str, Any], ...]
    silent: tuple[str, ...]
    gate: str | None

    @property
    def id(self) -> str:
        return f"{self.ruleset}::{self.name}"


@dataclass
class Outcome:
    case: Case
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def merge(base: Any, patch: Any) -> Any:
    """Deep-merge `patch` into `base`: mappings merge, anything else (lists too) replaces."""
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def remove(data: dict[str, Any], path: str) -> None:
    """Delete a dotted path (list items by index) from a checklist, if present."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.get(part, {})
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
    elif isinstance(node, dict):
        node.pop(last, None)


def base_checklist(root: Path, stage: Stage) -> dict[str, Any]:
    """Return the stage's clean checklist that every case starts from."""
    data = yaml.safe_load((root / stage.value / "_base.yaml").read_text(encoding="utf-8"))
    checklist: dict[str, Any] = _dates_as_text(data)
    return checklist


def _dates_as_text(data: Any) -> Any:
    # YAML reads 2026-12-20 as a date; the contract's JSON carries dates as text
    if isinstance(data, Mapping):
        return {k: _dates_as_text(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dates_as_text(v) for v in data]
    return data.isoformat() if hasattr(data, "isoformat") else data


def load_cases(root: Path = DEFAULT_ROOT, stage: Stage | None = None) -> Iterator[Case]:
    """Yield every case of every `<topic>.test.yaml` under root (of one stage, if given)."""
    for each in [stage] if stage else list(Stage):
        base_path = root / each.value / "_base.yaml"
        if not base_path.exists():
            continue
        base = base_checklist(root, each)
        for path in sorted((root / each.value).glob("*.test.yaml")):
            data = _dates_as_text(yaml.safe_load(path.read_text(encoding="utf-8")))
            for raw in data.get("cases") or []:
                checklist = copy.deepcopy(base)
                for removed in raw.get("remove") or []:
                    remove(checklist, removed)
                checklist = merge(checklist, raw.get("patch") or {})
                yield Case(data["ruleset"], raw["name"], path, checklist,
                           tuple(raw.get("fires") or ()), tuple(raw.get("silent") or ()),
                           raw.get("gate"))


def run_case(assessor: Assessor, case: Case) -> Outcome:
    """Assess a case's checklist and compare the findings with what the case expects."""
    outcome = Outcome(case)
    try:
        findings = assessor.assess(case.checklist).to_dict()
    except RiskEngineError as error:
        outcome.problems.append(f"assessment failed: {error}")
        return outcome
    for expected in case.fires:
        unknown = set(expected) - _EXPECT_KEYS
        # a missing fact is raised once, by whichever rule needing it is most severe, so its
        # case may name the subject instead of the rule
        named = "rule" in expected or (expected.get("category") == "information"
                                       and "subject" in expected)
        if unknown or not named:
            outcome.problems.append(f"fires: each entry names a `rule` (or, for category "
                                    f"information, a `subject`), using only keys of "
                                    f"{sorted(_EXPECT_KEYS)}; got {dict(expected)}")
            continue
        wanted = {("rule_id" if k == "rule" else k): v for k, v in expected.items()}
        if not any(all(f.get(k) == v for k, v in wanted.items()) for f in findings["findings"]):
            got = [(f["rule_id"], f["subject"], f["severity"], f["category"])
                   for f in findings["findings"]]
            outcome.problems.append(f"expected a finding {dict(expected)}; got {got}")
    for rule_id in case.silent:
        fired = [f["subject"] for f in findings["findings"] if f["rule_id"] == rule_id]
        if fired:
            outcome.problems.append(f"{rule_id} must stay silent but fired on {fired}")
    if case.gate and findings["gate"]["decision"] != case.gate:
        outcome.problems.append(f"gate: expected {case.gate}, got {findings['gate']['decision']}")
    return outcome
