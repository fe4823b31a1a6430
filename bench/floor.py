"""The floor: the same rule conditions as plain Python closures over the same facts.

It answers "what would evaluating these rules cost without a rule engine at all", so the
benchmark can print the engine's cost as a ratio measured in the same run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from riskengine.rules.catalog import Catalog, Ruleset
from riskengine.rules.compiler import CHECKLIST
from riskengine.vocabulary import Stage

Fact = Mapping[str, Any]
Test = Callable[[Fact], bool]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le,
    "gt": operator.gt, "gte": operator.ge}
_ABSENT = object()
# the facts of the evaluation under way, for leaves over another list of the checklist
_LISTS: dict[str, Sequence[Fact]] = {}


def _getter(path: str) -> Callable[[Fact], Any]:
    parts = path.split(".")
    if len(parts) == 1:
        return lambda fact: fact.get(path, _ABSENT)

    def get(fact: Fact) -> Any:
        node: Any = fact
        for part in parts:
            node = node.get(part, _ABSENT) if isinstance(node, Mapping) else _ABSENT
        return node
    return get


class _Floor:
    def __init__(self, ruleset: Ruleset) -> None:
        self.params = {k: p.value for k, p in ruleset.parameters.items()}

    def number(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            base = self.params[value["param"]]
            return base * self.number(value.get("times", 1)) + self.number(value.get("plus", 0))
        return value

    def right(self, value: Any) -> Callable[[Fact], Any]:
        if isinstance(value, Mapping) and "field" in value:
            get = _getter(value["field"])
            if "offset_days" in value:
                days = int(self.number(value["offset_days"]))
                return lambda f: (v + days) if (v := get(f)) is not _ABSENT else _ABSENT
            if "times" in value:
                factor = self.number(value["times"])
                return lambda f: (v * factor) if (v := get(f)) is not _ABSENT else _ABSENT
            return get
        constant = self.params[value["param"]] if isinstance(value, Mapping) and set(value) == {
            "param"} else self.number(value)
        return lambda f: constant

    def test(self, node: Mapping[str, Any]) -> Test:
        if "all" in node:
            parts = [self.test(n) for n in node["all"]]
            return lambda f: all(p(f) for p in parts)
        if "any" in node:
            parts = [self.test(n) for n in node["any"]]
            return lambda f: any(p(f) for p in parts)
        if "list" in node:
            inner, name, wanted = self.test(node["where"]), node["list"], node["exists"]
            return lambda f: any(inner(i) for i in _LISTS.get(name, ())) is wanted
        (op,) = [k for k in node if k not in ("field", "ratio")]
        if "ratio" in node:
            num, den = (_getter(p) for p in node["ratio"])
            bound, compare = self.number(node[op]), _OPS[op]
            return lambda f: (d := den(f)) is not _ABSENT and d > 0 and (
                n := num(f)) is not _ABSENT and compare(n / d, bound)
        get = _getter(node["field"])
        value = node[op]
        if op == "exists":
            return lambda f: (get(f) is not _ABSENT) is value
        if isinstance(value, Mapping) and "by" in value:
            table, key = self.params[value["param"]], _getter(value["by"])
            compare = _OPS[op]
            return lambda f: (v := get(f)) is not _ABSENT and (k := key(f)) in table and (
                table[k] is None or compare(v, table[k]))
        if op in ("in", "not_in"):
            values = frozenset(self.params[value["param"]] if isinstance(value, Mapping)
                               else value)
            wanted = op == "in"
            return lambda f: (v := get(f)) is not _ABSENT and (v in values) is wanted
        if op == "contains":
            return lambda f: isinstance(v := get(f), list) and value in v
        right, compare = self.right(value), _OPS[op]
        return lambda f: (v := get(f)) is not _ABSENT and (r := right(f)) is not _ABSENT and \
            compare(v, r)


def compile_floor(catalog: Catalog, stage: Stage
                  ) -> list[tuple[str, int | None, str, Test]]:
    """Return (rule id, requirement, fact type, test) for every rule and requirement of a stage."""
    out: list[tuple[str, int | None, str, Test]] = []
    for ruleset in catalog.for_stage(stage):
        floor = _Floor(ruleset)
        for rule in ruleset.rules:
            kind = rule.for_each or CHECKLIST
            out.append((rule.id, None, kind, floor.test(rule.when)))
            for index, requirement in enumerate(rule.requires):
                absent = floor.test({"field": requirement.path, "exists": False})
                if requirement.when is not None:
                    when = floor.test(requirement.when)
                    out.append((rule.id, index, kind,
                                lambda f, a=absent, w=when: a(f) and w(f)))
                else:
                    out.append((rule.id, index, kind, absent))
    return out


def evaluate_floor(tests: Sequence[tuple[str, int | None, str, Test]],
                   facts_by_type: Mapping[str, Sequence[Fact]]
                   ) -> list[tuple[str, int | None, str]]:
    """Return the matches the engine would return where rules hold or `requires` facts are
    absent, by plain Python (the unknown outcomes of three-valued conditions are not
    computed here)."""
    _LISTS.clear()
    _LISTS.update(facts_by_type)
    return [(rule_id, requirement, fact["id"])
            for rule_id, requirement, kind, test in tests
            for fact in facts_by_type.get(kind, ()) if test(fact)]
