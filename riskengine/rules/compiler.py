"""Compile rules to durable_rules JSON rulesets: a pure function of the ruleset data.

Every leaf guards each field it reads with `$ex`, because durable_rules treats a comparison
against a missing field as true inside `$and` (field notes). Lists become `$or` of equalities
(durable has no `$in`), dates arrive as day numbers, and parameters are folded in here, so the
engine sees only literals and same-fact references.

durable_rules refuses a condition with more than 15 `$and`/`$or` nodes (error 113, measured on
2.0.28; not in the field notes), so a condition is put in disjunctive normal form: each
conjunction becomes its own durable rule with one flat `$and`, all standing for the same rule.
A fact that satisfies two conjunctions fires twice; findings keep one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.checklist.contract import LISTS, NESTED_LISTS, ListSpec
from riskengine.rules.model import Rule, Ruleset
from riskengine.vocabulary import MILESTONES, CheckType

CHECKLIST = "checklist"
END = "__end__"
SENTINEL_KEY = "__sentinel__"
COMPARE = {"eq": "$eq", "ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
LEAF_OPS = (*COMPARE, "in", "not_in", "exists", "contains")
ORDERED = ("lt", "lte", "gt", "gte")
# `den × factor` in binary floating point misses exact boundaries (0.29 × 100 =
# 28.999999999999996), so the factor is nudged toward the boundary's exact meaning: a count
# exactly at the threshold is never "above" or "below" it.
_NUDGE = {"gt": 1e-9, "lte": 1e-9, "lt": -1e-9, "gte": -1e-9}


class RuleProblem(ValueError):
    """A condition that does not fit the ruleset language."""


@dataclass(frozen=True)
class RuleKey:
    """What a compiled durable rule stands for: a rule, or one of its missing-fact checks."""

    rule_id: str
    requirement: int | None = None


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    definition: dict[str, Any]
    keys: dict[str, RuleKey]
    fact_types: frozenset[str]


def fact_fields(for_each: str | None, checks: Mapping[str, CheckType]) -> dict[str, CheckType]:
    """Return every path a rule over `for_each` (None: the checklist) may read, with its type."""
    paths: dict[str, CheckType] = {"as_of": CheckType.DATE}
    paths.update({f"milestones.{m}": CheckType.DATE for m in MILESTONES})
    if for_each is None:
        paths.update({"stage": CheckType.STRING, "project.code": CheckType.STRING,
                      "project.name": CheckType.STRING, "project.city": CheckType.STRING})
        paths.update({f"checks.{k}": t for k, t in checks.items()})
        for name, spec in _all_lists().items():
            paths[f"count.{name}"] = CheckType.INT
            if spec.kind_field:
                choices = spec.fields[spec.kind_field].choices
                paths.update({f"count_by.{name}.{v}": CheckType.INT for v in choices})
        paths.update({f"count_by.inspections_done.{p}": CheckType.INT
                      for p in LISTS["inspections"].fields["phase"].choices})
        return paths
    spec = _all_lists()[for_each]
    paths.update(_item_types(spec))
    if for_each == "inspections":
        paths.update({"defects_found": CheckType.INT, "defects_rectified": CheckType.INT})
    if for_each in NESTED_LISTS:
        parent = LISTS[NESTED_LISTS[for_each][0]]
        paths.update({f"inspection.{k}": t for k, t in _item_types(parent).items()})
    return paths


def _all_lists() -> dict[str, ListSpec]:
    nested = {name: LISTS[parent].nested[child] for name, (parent, child) in NESTED_LISTS.items()}
    return {**LISTS, **nested}


def _item_types(spec: ListSpec) -> dict[str, CheckType]:
    # an item's own `id` is identity, not a fact rules decide on (facts.py keeps it out)
    return {k: CheckType(f.type) if f.type != "list" else CheckType.STRING
            for k, f in spec.fields.items() if k != "id"}


class _Compiler:
    """Compiles the conditions of one rule against its ruleset's parameters and fact paths."""

    def __init__(self, rule: Rule, ruleset: Ruleset, paths: Mapping[str, CheckType]) -> None:
        self.rule, self.params, self.paths = rule, ruleset.parameters, paths
        self.op = ""  # the operator of the leaf being compiled, for scaled references

    def condition(self, node: Any) -> list[list[dict[str, Any]]]:
        """Return the condition as a list of conjunctions of primitive durable tests."""
        if not isinstance(node, Mapping) or not node:
            raise RuleProblem(f"a condition must be a mapping, got {node!r}")
        if set(node) == {"all"} or set(node) == {"any"}:
            (op, items), = node.items()
            if not isinstance(items, list) or not items:
                raise RuleProblem(f"{op}: needs a non-empty list of conditions")
            parts = [self.condition(item) for item in items]
            if op == "any":
                return [conj for part in parts for conj in part]
            product: list[list[dict[str, Any]]] = [[]]
            for part in parts:
                product = [left + right for left in product for right in part]
            return product
        return self.leaf(node)

    def leaf(self, node: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
        ops = [k for k in node if k in LEAF_OPS]
        extra = set(node) - set(LEAF_OPS) - {"field", "ratio"}
        if len(ops) != 1 or extra or ("field" in node) == ("ratio" in node):
            raise RuleProblem(f"a leaf needs `field` or `ratio` and exactly one of {LEAF_OPS}; "
                              f"got keys {sorted(node)}")
        op = ops[0]
        if "ratio" in node:
            return [self.ratio(node["ratio"], op, node[op])]
        path = self.path(node["field"])
        value = node[op]
        if op == "exists":
            if not isinstance(value, bool):
                raise RuleProblem(f"exists: takes true or false, got {value!r}")
            return [[{"$ex" if value else "$nex": {path: 1}}]]
        if isinstance(value, Mapping) and "by" in value:
            return self.by_key(path, op, value)
        return [self.guarded([path], self.compare(path, op, value))]

    def path(self, path: Any) -> str:
        if not isinstance(path, str) or path not in self.paths:
            scope = f"for_each {self.rule.for_each}" if self.rule.for_each else "checklist"
            raise RuleProblem(f"field {path!r} is not a fact this rule can read ({scope})")
        return path

    def guarded(self, paths: Sequence[str], tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        refs = [*paths, *_references(tests)]
        return [*({"$ex": {p: 1}} for p in dict.fromkeys(refs)), *tests]

    def compare(self, path: str, op: str, value: Any) -> list[dict[str, Any]]:
        if op in ("in", "not_in"):
            values = self.value_list(value)
            if op == "not_in":
                return [{"$neq": {path: v}} for v in values]
            return [{path: values[0]} if len(values) == 1 else {"$or": [{path: v} for v in values]}]
        if op == "contains":
            return [{"$iany": {path: {"$i": self.scalar(value, path)}}}]
        self.op = op
        right = self.scalar(value, path)
        if op in ORDERED and isinstance(right, (bool, str)) and self.paths[path] != CheckType.DATE:
            raise RuleProblem(f"{op}: compares numbers or dates, got {value!r} for {path}")
        return [{path: right} if op == "eq" else {COMPARE[op]: {path: right}}]

    def ratio(self, pair: Any, op: str, value: Any) -> list[dict[str, Any]]:
        if op not in ORDERED or not isinstance(pair, list) or len(pair) != 2:
            raise RuleProblem("ratio: takes [NUMERATOR, DENOMINATOR] and one of lt lte gt gte")
        num, den = self.path(pair[0]), self.path(pair[1])
        factor = self.number(value)
        scaled = {"$mul": {"$l": {"$m": den}, "$r": _nudged(factor, op)}}
        return [{"$ex": {num: 1}}, {"$ex": {den: 1}}, {"$gt": {den: 0}},
                {COMPARE[op]: {num: scaled}}]

    def by_key(self, path: str, op: str, value: Mapping[str, Any]
               ) -> list[list[dict[str, Any]]]:
        if set(value) != {"param", "by"}:
            raise RuleProblem("{param, by} takes exactly those two keys")
        table = self.param(value["param"])
        key_field = self.path(value["by"])
        if not isinstance(table, Mapping) or not table:
            raise RuleProblem(f"param {value['param']!r} must be a map to be used with `by`")
        branches = []
        for key, bound in table.items():
            # "no bound" still needs the field: an absent field makes every leaf false
            head = [{"$ex": {key_field: 1}}, {key_field: key}, {"$ex": {path: 1}}]
            branches.append(head if bound is None else
                            head + self.guarded([path], self.compare(path, op, bound)))
        return branches

    def param(self, name: Any) -> Any:
        if name not in self.params:
            raise RuleProblem(f"param {name!r} is not a parameter of this ruleset "
                              f"(defined: {sorted(self.params)})")
        return self.params[name].value

    def number(self, value: Any) -> float | int:
        folded = self.fold(value) if isinstance(value, Mapping) else value
        if isinstance(folded, bool) or not isinstance(folded, (int, float)):
            raise RuleProblem(f"expected a number or a numeric parameter, got {value!r}")
        return folded

    def fold(self, value: Mapping[str, Any]) -> Any:
        if set(value) - {"param", "times", "plus"} or "param" not in value:
            raise RuleProblem(f"a parameter value takes param, times, plus; got {sorted(value)}")
        base = self.param(value["param"])
        if "times" not in value and "plus" not in value:
            return base
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            raise RuleProblem(f"param {value['param']!r} is not a number; times/plus need one")
        result = base * self.number(value.get("times", 1)) + self.number(value.get("plus", 0))
        return round(result, 10)

    def value_list(self, value: Any) -> list[Any]:
        values = self.fold(value) if isinstance(value, Mapping) else value
        if not isinstance(values, list) or not values:
            raise RuleProblem(f"in/not_in take a non-empty list or a list parameter, got {value!r}")
        return [self.literal(v) for v in values]

    def scalar(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping) and "field" in value:
            return self.reference(value, path)
        if isinstance(value, Mapping) and "date" in value:
            return self.literal(value)
        return self.literal(self.fold(value) if isinstance(value, Mapping) else value)

    def reference(self, value: Mapping[str, Any], left: str) -> Any:
        if set(value) - {"field", "offset_days", "times"} or len(value) > 2:
            raise RuleProblem(f"a field reference takes field and one of offset_days, times: "
                              f"{dict(value)}")
        ref = self.path(value["field"])
        node: Any = {"$m": ref}
        if "offset_days" in value:
            if self.paths[ref] != CheckType.DATE or self.paths[left] != CheckType.DATE:
                raise RuleProblem(f"offset_days compares dates; {left} or {ref} is not a date")
            days = int(self.number(value["offset_days"]))
            if days:
                node = {"$add" if days > 0 else "$sub": {"$l": node, "$r": abs(days)}}
        elif "times" in value:
            factor = self.number(value["times"])
            node = {"$mul": {"$l": node, "$r": _nudged(factor, self.op)}}
        return node

    def literal(self, value: Any) -> Any:
        if isinstance(value, Mapping) and set(value) == {"date"}:
            try:
                return dt.date.fromisoformat(str(value["date"])).toordinal()
            except ValueError as error:
                raise RuleProblem(f"date: {value['date']!r} is not YYYY-MM-DD") from error
        if value is None or isinstance(value, (Mapping, list)):
            raise RuleProblem(f"expected a bool, number or string, got {value!r}")
        return value


def _nudged(factor: float | int, op: str) -> float | int:
    return factor + abs(factor) * _NUDGE[op] if op in _NUDGE and factor else factor


def _references(node: Any) -> list[str]:
    """Return the same-fact fields a compiled test refers to with `$m`."""
    if isinstance(node, Mapping):
        found = [node["$m"]] if "$m" in node else []
        for child in node.values():
            found.extend(_references(child))
        return found
    if isinstance(node, list):
        return [ref for child in node for ref in _references(child)]
    return []


def fact_type(rule: Rule) -> str:
    return rule.for_each or CHECKLIST


MAX_CONJUNCTIONS = 64  # one durable rule each; a ruleset holds at most ~256 (field notes)
MAX_NODES = 15  # `$and`/`$or` nodes durable accepts in one condition (error 113)


def _rules(key: str, typed: dict[str, Any], conjunctions: list[list[dict[str, Any]]]
           ) -> dict[str, dict[str, Any]]:
    if len(conjunctions) > MAX_CONJUNCTIONS:
        raise RuleProblem(f"the condition expands to {len(conjunctions)} alternatives; at most "
                          f"{MAX_CONJUNCTIONS} (split the rule)")
    out = {}
    for index, tests in enumerate(conjunctions):
        tests = list({json.dumps(t, sort_keys=True): t for t in tests}.values())
        nodes = 1 + sum(1 for t in tests if "$or" in t)
        if nodes > MAX_NODES:
            raise RuleProblem(f"a conjunction needs {nodes} and/or nodes; the engine takes "
                              f"{MAX_NODES} (use fewer `in` lists in one branch)")
        out[key if index == 0 else f"{key}|{index}"] = {
            "all": [{"m": {"$and": [typed, *tests]}}]}
    return out


def compile_rule(rule: Rule, ruleset: Ruleset,
                 checks: Mapping[str, CheckType]) -> dict[str, dict[str, Any]]:
    """Compile one rule (and one check per required fact) to durable rule definitions."""
    if rule.for_each is not None and rule.for_each not in _all_lists():
        raise RuleProblem(f"for_each: {rule.for_each!r} is not a list; "
                          f"lists: {sorted(_all_lists())}")
    compiler = _Compiler(rule, ruleset, fact_fields(rule.for_each, checks))
    typed = {"t": fact_type(rule)}
    out = _rules(rule.id, typed, compiler.condition(rule.when))
    for index, requirement in enumerate(rule.requires):
        missing = [{"$nex": {compiler.path(requirement.path): 1}}]
        cases = compiler.condition(requirement.when) if requirement.when is not None else [[]]
        out.update(_rules(f"{rule.id}#missing:{index}", typed,
                          [missing + case for case in cases]))
    for path in rule.evidence:
        if not (path == "id" and rule.for_each and "id" in _all_lists()[rule.for_each].fields):
            compiler.path(path)
    return out


def check_rule(rule: Rule, ruleset: Ruleset, checks: Mapping[str, CheckType]) -> list[str]:
    """Return every problem compiling `rule` meets (empty when it compiles)."""
    try:
        compile_rule(rule, ruleset, checks)
    except RuleProblem as problem:
        return [str(problem)]
    return []


def compile_ruleset(ruleset: Ruleset, checks: Mapping[str, CheckType]) -> CompiledRuleset:
    """Compile a ruleset, adding the sentinel rule that makes every evaluation run an action."""
    definition: dict[str, Any] = {}
    keys: dict[str, RuleKey] = {}
    for rule in ruleset.rules:
        for key, body in compile_rule(rule, ruleset, checks).items():
            definition[key] = body
            base = key.split("|", 1)[0]
            index = base.split("#missing:")[1] if "#missing:" in base else None
            keys[key] = RuleKey(rule.id, int(index) if index is not None else None)
    definition[SENTINEL_KEY] = {"all": [{"m": {"t": END}}]}
    fact_types = frozenset(fact_type(rule) for rule in ruleset.rules)
    return CompiledRuleset(ruleset.id, definition, keys, fact_types)
