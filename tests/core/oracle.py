"""A plain-Python reading of the ruleset condition language, kept in the tests only.

It interprets the YAML conditions directly (no compilation, no DNF, exact arithmetic with
fractions) over the same facts, so agreement with the engine checks the compiler and the engine
together against the language's meaning in rulesets/README.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from riskengine.assessment.facts import FactSet
from riskengine.rules.catalog import Catalog, Rule, Ruleset
from riskengine.rules.compiler import CHECKLIST

_ABSENT = object()


def _get(fact: Mapping[str, Any], path: str) -> Any:
    node: Any = fact
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _exact(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return Fraction(str(value))


class Oracle:
    def __init__(self, ruleset: Ruleset) -> None:
        self.params = {k: p.value for k, p in ruleset.parameters.items()}

    def param(self, value: Mapping[str, Any]) -> Any:
        base = self.params[value["param"]]
        if "times" in value or "plus" in value:
            return _exact(base) * self.number(value.get("times", 1)) + self.number(
                value.get("plus", 0))
        return base

    def number(self, value: Any) -> Any:
        return _exact(self.param(value) if isinstance(value, Mapping) else value)

    def value(self, value: Any, fact: Mapping[str, Any]) -> Any:
        if isinstance(value, Mapping) and "field" in value:
            ref = _get(fact, value["field"])
            if ref is _ABSENT:
                return _ABSENT
            if "offset_days" in value:
                return ref + int(self.number(value["offset_days"]))
            if "times" in value:
                return _exact(ref) * self.number(value["times"])
            return ref
        if isinstance(value, Mapping) and "date" in value:
            return dt.date.fromisoformat(str(value["date"])).toordinal()
        if isinstance(value, Mapping):
            return self.param(value)
        return value

    def holds(self, node: Mapping[str, Any], fact: Mapping[str, Any]) -> bool:
        if "all" in node:
            return all(self.holds(child, fact) for child in node["all"])
        if "any" in node:
            return any(self.holds(child, fact) for child in node["any"])
        (op,) = [k for k in node if k not in ("field", "ratio")]
        if "ratio" in node:
            num, den = (_get(fact, p) for p in node["ratio"])
            if num is _ABSENT or den is _ABSENT or not den > 0:
                return False
            return _compare(Fraction(str(num)) / Fraction(str(den)), op,
                            self.number(node[op]))
        left = _get(fact, node["field"])
        if op == "exists":
            return (left is not _ABSENT) is node[op]
        if left is _ABSENT:
            return False
        right = node[op]
        if isinstance(right, Mapping) and "by" in right:
            key = _get(fact, right["by"])
            table = self.params[right["param"]]
            if key is _ABSENT or key not in table:
                return False
            return table[key] is None or _compare(_exact(left), op, _exact(table[key]))
        if op in ("in", "not_in"):
            values = self.param(right) if isinstance(right, Mapping) else right
            return (left in values) is (op == "in")
        if op == "contains":
            return isinstance(left, list) and self.value(right, fact) in left
        resolved = self.value(right, fact)
        return resolved is not _ABSENT and _compare(_exact(left), op, _exact(resolved))


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    try:
        return bool({"lt": left < right, "lte": left <= right, "gt": left > right,
                     "gte": left >= right}[op])
    except TypeError:
        return False


def expected_matches(catalog: Catalog, stage: Any, facts: FactSet
                     ) -> set[tuple[str, int | None, str]]:
    """Return (rule id, requirement index or None, fact id) for every rule that should fire."""
    out: set[tuple[str, int | None, str]] = set()
    for ruleset in catalog.for_stage(stage):
        oracle = Oracle(ruleset)
        for rule in ruleset.rules:
            for fact in facts.by_type.get(rule.for_each or CHECKLIST, []):
                out.update(_rule_matches(oracle, rule, fact))
    return out


def _rule_matches(oracle: Oracle, rule: Rule, fact: Mapping[str, Any]
                  ) -> set[tuple[str, int | None, str]]:
    out: set[tuple[str, int | None, str]] = set()
    if oracle.holds(rule.when, fact):
        out.add((rule.id, None, fact["id"]))
    for index, requirement in enumerate(rule.requires):
        if _get(fact, requirement.path) is _ABSENT and (
                requirement.when is None or oracle.holds(requirement.when, fact)):
            out.add((rule.id, index, fact["id"]))
    return out
