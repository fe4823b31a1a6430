"""Omission never helps (hypothesis): removing a fact from a valid checklist keeps or worsens
its gate, and a blocking finding it loses is replaced by an information finding.

Checklists start from the stages' `_base.yaml` and the contract examples and are mutated
within the schema; then one field of a list item, one `checks` key, one milestone or one
member of a closed set is removed. Facts an `exists` leaf tests are statements, not omissions
(an absent open day means none is scheduled), so they are not removed. PROPERTY_EXAMPLES sets
how many checklists are tried (default 600, a few seconds).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskengine.assessment.assessor import Assessment, Assessor
from riskengine.checklist.contract import LISTS
from riskengine.errors import RiskEngineError
from riskengine.rules.cases import base_checklist
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.vocabulary import MILESTONES, Stage
from tests.shared import EXAMPLES

from .test_oracle import _value

_ASSESSOR = Assessor.from_path()
_STARTS = [base_checklist(DEFAULT_ROOT, stage) for stage in Stage] + [
    json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.json"))]
_RANK = {"pass": 0, "conditional": 1, "fail": 2}


def _statements() -> set[str]:
    """Paths some rule tests with `exists`: their absence is a statement of the checklist."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "exists" in node and isinstance(node.get("field"), str):
                found.add(node["field"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)
    for rule in _ASSESSOR.catalog.rules():
        walk(dict(rule.when))
    return found


_STATEMENTS = _statements()
_CLOSED = {(c.list, m) for r in _ASSESSOR.catalog.rulesets for c in r.closed_sets if c.list
           for m in c.members}


def _removals(checklist: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every single fact that can be removed from a checklist."""
    out: list[tuple[str, ...]] = []
    out += [("milestones", m) for m in (checklist.get("milestones") or {})
            if f"milestones.{m}" not in _STATEMENTS]
    out += [("checks", k) for k in (checklist.get("checks") or {})
            if f"checks.{k}" not in _STATEMENTS]
    for name, spec in LISTS.items():
        for index, item in enumerate(checklist.get(name) or []):
            out += [(name, str(index), k) for k, f in spec.fields.items()
                    if k in item and not f.required]
            if spec.kind_field and (name, item.get(spec.kind_field)) in _CLOSED:
                out.append((name, str(index)))
            for child, child_spec in spec.nested.items():
                for position, nested in enumerate(item.get(child) or []):
                    out += [(name, str(index), child, str(position), k)
                            for k, f in child_spec.fields.items()
                            if k in nested and not f.required]
    return out


def _remove(checklist: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(checklist)
    node: Any = out
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        del node[int(path[-1])]
    else:
        del node[path[-1]]
    return out


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    checklist = copy.deepcopy(draw(st.sampled_from(_STARTS)))
    stage = Stage(checklist["stage"])
    checks = _ASSESSOR.check_types[stage]
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["item", "check", "milestone"]))
        if where == "check":
            key = draw(st.sampled_from(sorted(checks)))
            checklist.setdefault("checks", {})[key] = draw(_value(checks[key], ()))
        elif where == "milestone":
            checklist.setdefault("milestones", {})[draw(st.sampled_from(MILESTONES))] = draw(
                _value(checks.get("x", "date"), ()))
        else:
            lists = [n for n in LISTS if checklist.get(n)]
            if not lists:
                continue
            name = draw(st.sampled_from(lists))
            item = draw(st.sampled_from(checklist[name]))
            key, spec = draw(st.sampled_from(sorted(
                (k, f) for k, f in LISTS[name].fields.items() if not f.required)))
            item[key] = draw(_value(spec.type, spec.choices))
    return checklist


def _assess(checklist: dict[str, Any]) -> Assessment | None:
    try:
        return _ASSESSOR.assess(checklist)
    except RiskEngineError:
        return None  # refused by validation: not a valid checklist to start from


def _blocking(result: Assessment) -> dict[tuple[str, str], Any]:
    # by rule and subject: a fingerprint follows an item's identity, which a removed field
    # (an off-site factor's name) may be part of
    return {(f.rule_id, f.subject): f for f in result.findings if f.blocking and f.in_force}


_EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "600"))


@settings(max_examples=_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(_mutated(), st.data())
def test_removing_a_fact_never_improves_the_gate(checklist: dict[str, Any],
                                                data: st.DataObject) -> None:
    before = _assess(checklist)
    assume(before is not None)
    assert before is not None
    removals = _removals(checklist)
    assume(removals)
    path = data.draw(st.sampled_from(removals))
    after = _assess(_remove(checklist, path))
    assert after is not None, f"removing {path} made the checklist invalid"
    assert _RANK[after.gate.decision.value] >= _RANK[before.gate.decision.value], (
        path, before.gate.decision.value, after.gate.decision.value)
    lost = set(_blocking(before)) - set(_blocking(after))
    if lost:
        known = {(f.rule_id, f.subject, f.category) for f in before.findings}
        new_information = [f for f in after.findings if f.category.value == "information"
                           and f.blocking and (f.rule_id, f.subject, f.category) not in known]
        assert new_information, (path, [_blocking(before)[k].rule_id for k in lost])
