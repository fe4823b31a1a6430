"""A plain-Python reading of the ruleset condition language, kept in the tests only.

It interprets the YAML conditions directly (no compilation, exact arithmetic with fractions)
over the same facts, so agreement with the engine checks the compiler and the engine together
against the language's meaning in rulesets/README.md. Conditions are three-valued: a leaf is
true, false, or unknown naming the absent operands it reads (a zero denominator names the
denominator); a condition is unknown when none of its alternatives (the `any` branches,
multiplied out) holds and some alternative has no false leaf, naming what those lack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from riskengine.assessment.facts import FactSet
from riskengine.rules.catalog import Catalog, Rule, Ruleset
from riskengine.rules.compiler import CHECKLIST, member_path

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
    def __init__(self, ruleset: Ruleset, facts: FactSet | None = None) -> None:
        self.params = {k: p.value for k, p in ruleset.parameters.items()}
        self.facts = facts

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
        """Two-valued reading (a `requires` or closed-set `when`): true only when it holds."""
        return self.verdict(node, fact)[0] is True

    def verdict(self, node: Mapping[str, Any], fact: Mapping[str, Any]
                ) -> tuple[bool | None, frozenset[str]]:
        """Return (True, ∅), (False, ∅) or (None, the absent operands) for a condition."""
        outcomes = [self.branch(leaves, fact) for leaves in _alternatives(node)]
        if any(value is True for value, _ in outcomes):
            return True, frozenset()
        missing = frozenset().union(*(names for value, names in outcomes if value is None))
        return (None, missing) if missing else (False, frozenset())

    def branch(self, leaves: list[Mapping[str, Any]], fact: Mapping[str, Any]
               ) -> tuple[bool | None, frozenset[str]]:
        values = [self.leaf(leaf, fact) for leaf in leaves]
        if any(value is False for value, _ in values):
            return False, frozenset()
        missing = frozenset().union(*(names for value, names in values if value is None))
        return (None, missing) if missing else (True, frozenset())

    def absent(self, fact: Mapping[str, Any], *paths: str) -> frozenset[str]:
        return frozenset(p for p in paths if _get(fact, p) is _ABSENT)

    def leaf(self, node: Mapping[str, Any], fact: Mapping[str, Any]
             ) -> tuple[bool | None, frozenset[str]]:
        if "list" in node:
            items = self.facts.by_type.get(node["list"], []) if self.facts else []
            found = any(self.holds(node["where"], item) for item in items)
            return found is node["exists"], frozenset()
        (op,) = [k for k in node if k not in ("field", "ratio")]
        if "ratio" in node:
            num_path, den_path = node["ratio"]
            num, den = _get(fact, num_path), _get(fact, den_path)
            missing = self.absent(fact, num_path)
            if den is _ABSENT or not den > 0:
                missing |= {den_path}
            if missing:
                return None, missing
            return _compare(Fraction(str(num)) / Fraction(str(den)), op,
                            self.number(node[op])), frozenset()
        left = _get(fact, node["field"])
        if op == "exists":
            return (left is not _ABSENT) is node[op], frozenset()
        right = node[op]
        if isinstance(right, Mapping) and "by" in right:
            key = _get(fact, right["by"])
            table = self.params[right["param"]]
            if key is _ABSENT:
                return None, frozenset({right["by"]} | self.absent(fact, node["field"]))
            if key not in table:
                return False, frozenset()
            if left is _ABSENT:
                return None, frozenset({node["field"]})
            return table[key] is None or _compare(_exact(left), op, _exact(table[key])), \
                frozenset()
        refs = [right["field"]] if isinstance(right, Mapping) and "field" in right else []
        missing = self.absent(fact, node["field"], *refs)
        if missing:
            return None, missing
        if op in ("in", "not_in"):
            values = self.param(right) if isinstance(right, Mapping) else right
            return (left in values) is (op == "in"), frozenset()
        if op == "contains":
            return isinstance(left, list) and self.value(right, fact) in left, frozenset()
        return _compare(_exact(left), op, _exact(self.value(right, fact))), frozenset()


def _alternatives(node: Mapping[str, Any]) -> list[list[Mapping[str, Any]]]:
    """Multiply a condition out into its alternatives, each a list of leaves."""
    if "any" in node:
        return [alt for child in node["any"] for alt in _alternatives(child)]
    if "all" in node:
        product: list[list[Mapping[str, Any]]] = [[]]
        for child in node["all"]:
            product = [left + right for left in product for right in _alternatives(child)]
        return product
    return [[node]]


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


Expected = set[tuple[str, Any, str]]


def expected_matches(catalog: Catalog, stage: Any, facts: FactSet) -> Expected:
    """Return (rule id, outcome, fact id) for every rule outcome the checklist should give:
    None when the rule holds, `unknown:PATH` per absent operand when it is unknown, the index
    of a `requires` entry that is absent, `closed:PATH` per closed-set member not listed."""
    out: Expected = set()
    for ruleset in catalog.for_stage(stage):
        oracle = Oracle(ruleset, facts)
        for rule in ruleset.rules:
            for fact in facts.by_type.get(rule.for_each or CHECKLIST, []):
                out.update(_rule_matches(oracle, rule, fact))
        for closed in ruleset.closed_sets:
            (root,) = facts.by_type[CHECKLIST]
            if closed.when is not None and not oracle.holds(closed.when, root):
                continue
            for member, rule_id in zip(closed.members, closed.rule_ids, strict=True):
                path = member_path(closed, member)
                value = _get(root, path)  # a count of 0, or an absent `checks` key
                if value is _ABSENT or (closed.list and value == 0):
                    out.add((rule_id, f"closed:{path}", CHECKLIST))
    return out


def _rule_matches(oracle: Oracle, rule: Rule, fact: Mapping[str, Any]) -> Expected:
    out: Expected = set()
    value, missing = oracle.verdict(rule.when, fact)
    if value is True:
        out.add((rule.id, None, fact["id"]))
    out.update((rule.id, f"unknown:{path}", fact["id"]) for path in missing)
    for index, requirement in enumerate(rule.requires):
        if _get(fact, requirement.path) is _ABSENT and (
                requirement.when is None or oracle.holds(requirement.when, fact)):
            out.add((rule.id, index, fact["id"]))
    return out
