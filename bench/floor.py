"""The floor: the loaded rules generated as straight-line Python over the same facts.

It answers "what would evaluating these rules cost with no rule engine at all": for each
stage it writes Python source — one loop per fact type, one inline test per rule and per
missing-fact check, every parameter folded into a literal — and compiles it with `compile()`.
No closure, no interpretation of the YAML at evaluation time; this is the cheapest a plain
Python evaluation of the same conditions can be, so the engine's cost is printed as a ratio
against it, measured in the same run.

The generator follows the condition language of rulesets/README.md as the compiler reads it
(riskengine/rules/compiler.py). A condition it does not know (an operator, a value form or a
rule shape added to the language after it was written) is never skipped silently: the rule
is listed in `Floor.unsupported` with the reason, and the benchmark says so.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.rules.catalog import Catalog
from riskengine.rules.compiler import CHECKLIST
from riskengine.rules.model import Rule, Ruleset
from riskengine.vocabulary import Stage

MatchKey = tuple[str, int | None, str]  # rule id, requirement index (None: the rule), fact id
_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_ORDERED = ("lt", "lte", "gt", "gte")
_LEAF_OPS = (*_COMPARE, "in", "not_in", "exists", "contains")
_KNOWN_RULE_FIELDS = frozenset({
    "id", "ruleset_id", "title", "category", "severity", "blocking", "owner", "support", "due",
    "source", "catalogue", "for_each", "subject", "when", "requires", "evidence", "message",
    "action", "effective_on"})
# `den × factor` in binary floating point misses exact boundaries (0.29 × 100 =
# 28.999999999999996); the language means the exact boundary, so the factor is nudged toward
# it, exactly as the compiler does. Without this the floor and the engine would disagree on
# counts that sit on a threshold.
_NUDGE = {"gt": 1e-9, "lte": 1e-9, "lt": -1e-9, "gte": -1e-9}


class Inexpressible(ValueError):
    """A condition the generator does not know how to write as Python."""


@dataclass
class Floor:
    """One stage's generated evaluator, its source text and what it could not express."""

    stage: Stage
    source: str
    run: Callable[[Mapping[str, Sequence[Mapping[str, Any]]]], list[MatchKey]]
    rules: int  # rules written as Python
    tests: int  # inline tests (a rule's condition, each of its missing-fact checks)
    unsupported: dict[str, str] = field(default_factory=dict)  # rule id -> why


def _nudged(factor: float | int, op: str) -> float | int:
    return factor + abs(factor) * _NUDGE[op] if op in _NUDGE and factor else factor


class _Writer:
    """Writes one rule's conditions as Python expressions over the fact `f`."""

    def __init__(self, ruleset: Ruleset, constants: dict[str, Any]) -> None:
        self.params = {k: p.value for k, p in ruleset.parameters.items()}
        self.constants = constants  # name -> value, shared by the whole generated module
        self.temps = 0

    # -- values -------------------------------------------------------------------------
    def constant(self, value: Any) -> str:
        if isinstance(value, (bool, int, float, str)):
            return repr(value)
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def param(self, name: Any) -> Any:
        if name not in self.params:
            raise Inexpressible(f"param {name!r} is not a parameter of the ruleset")
        return self.params[name]

    def fold(self, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        if set(value) == {"date"}:
            return dt.date.fromisoformat(str(value["date"])).toordinal()
        if "param" not in value or set(value) - {"param", "times", "plus"}:
            raise Inexpressible(f"value form {sorted(value)}")
        base = self.param(value["param"])
        if "times" not in value and "plus" not in value:
            return base
        return round(base * self.fold(value.get("times", 1)) + self.fold(value.get("plus", 0)),
                     10)

    # -- reading a field ----------------------------------------------------------------
    @staticmethod
    def read(path: Any) -> str:
        """An expression for the field's value, or the sentinel A when it is absent."""
        if not isinstance(path, str) or not path:
            raise Inexpressible(f"field {path!r}")
        parts = path.split(".")
        expression = "f"
        for part in parts[:-1]:
            expression = f"{expression}.get({part!r}, E)"
        return f"{expression}.get({parts[-1]!r}, A)"

    def temp(self) -> str:
        self.temps += 1
        return f"v{self.temps}"

    def bound(self, path: str) -> tuple[str, str]:
        """(a walrus binding the field to a temporary and testing it is present, the temp)."""
        name = self.temp()
        return f"({name} := {self.read(path)}) is not A", name

    # -- conditions ---------------------------------------------------------------------
    def condition(self, node: Any) -> str:
        if not isinstance(node, Mapping) or not node:
            raise Inexpressible(f"condition {node!r}")
        if set(node) == {"all"} or set(node) == {"any"}:
            (op, items), = node.items()
            if not isinstance(items, list) or not items:
                raise Inexpressible(f"{op} without conditions")
            joiner = " and " if op == "all" else " or "
            return "(" + joiner.join(self.condition(item) for item in items) + ")"
        return self.leaf(node)

    def leaf(self, node: Mapping[str, Any]) -> str:
        ops = [k for k in node if k in _LEAF_OPS]
        extra = set(node) - set(_LEAF_OPS) - {"field", "ratio"}
        if len(ops) != 1 or extra or ("field" in node) == ("ratio" in node):
            raise Inexpressible(f"leaf with keys {sorted(node)}")
        op, value = ops[0], node[ops[0]]
        if "ratio" in node:
            return self.ratio(node["ratio"], op, value)
        path = node["field"]
        if op == "exists":
            test = "is not" if value is True else "is" if value is False else None
            if test is None:
                raise Inexpressible(f"exists: {value!r}")
            return f"({self.read(path)} {test} A)"
        present, v = self.bound(path)
        if isinstance(value, Mapping) and "by" in value:
            return self.by_key(present, v, op, value)
        if op in ("in", "not_in"):
            values = self.fold(value)
            if not isinstance(values, list) or not values:
                raise Inexpressible(f"{op}: {value!r}")
            folded = [self.fold(x) for x in values]
            members = self.constant(frozenset(folded)) if len(folded) > 3 else \
                "(" + ", ".join(repr(x) for x in folded) + ",)"
            return f"({present} and {v} {'in' if op == 'in' else 'not in'} {members})"
        if op == "contains":
            return f"({present} and type({v}) is list and {self.constant(self.fold(value))} in {v})"
        return self.compare(present, v, op, value)

    def compare(self, present: str, v: str, op: str, value: Any) -> str:
        if isinstance(value, Mapping) and "field" in value:
            if set(value) - {"field", "offset_days", "times"} or len(value) > 2:
                raise Inexpressible(f"field reference {sorted(value)}")
            ref_present, r = self.bound(value["field"])
            right = r
            if "offset_days" in value:
                days = int(self.fold(value["offset_days"]))
                right = f"({r} + {days})" if days else r
            elif "times" in value:
                right = f"({r} * {_nudged(self.fold(value['times']), op)!r})"
            return f"({present} and {ref_present} and {v} {_COMPARE[op]} {right})"
        return f"({present} and {v} {_COMPARE[op]} {self.constant(self.fold(value))})"

    def ratio(self, pair: Any, op: str, value: Any) -> str:
        if op not in _ORDERED or not isinstance(pair, list) or len(pair) != 2:
            raise Inexpressible(f"ratio {pair!r} {op}")
        num_present, n = self.bound(pair[0])
        den_present, d = self.bound(pair[1])
        factor = _nudged(self.fold(value), op)
        return (f"({num_present} and {den_present} and {d} > 0 and "
                f"{n} {_COMPARE[op]} {d} * {factor!r})")

    def by_key(self, present: str, v: str, op: str, value: Mapping[str, Any]) -> str:
        if set(value) != {"param", "by"}:
            raise Inexpressible(f"by-key value {sorted(value)}")
        table = self.param(value["param"])
        if not isinstance(table, Mapping):
            raise Inexpressible(f"param {value['param']!r} is not a map")
        folded = {k: self.fold(b) for k, b in table.items()}
        name, key = self.constant(folded), self.temp()
        # a key missing from the map never matches; a null entry holds for any present value
        return (f"({present} and ({key} := {self.read(value['by'])}) in {name} and "
                f"({name}[{key}] is None or {v} {_COMPARE[op]} {name}[{key}]))")


def _rule_tests(rule: Rule, writer: _Writer) -> list[tuple[int | None, str]]:
    """(requirement index or None, Python test) for a rule and each of its missing-fact checks."""
    unknown = {f for f in getattr(rule, "__dataclass_fields__", {}) if f not in _KNOWN_RULE_FIELDS}
    unknown = {f for f in unknown if getattr(rule, f) not in (None, (), [], {}, False)}
    if unknown:
        raise Inexpressible(f"rule fields the generator does not know: {sorted(unknown)}")
    tests: list[tuple[int | None, str]] = [(None, writer.condition(rule.when))]
    for index, requirement in enumerate(rule.requires):
        missing = f"({writer.read(requirement.path)} is A)"
        if requirement.when is not None:
            missing = f"({missing} and {writer.condition(requirement.when)})"
        tests.append((index, missing))
    return tests


def generate(catalog: Catalog, stage: Stage, skip: frozenset[str] = frozenset()) -> Floor:
    """Write and compile one stage's floor. Rules in `skip` are left out and listed as such."""
    constants: dict[str, Any] = {}
    by_type: dict[str, list[str]] = defaultdict(list)
    unsupported: dict[str, str] = {}
    rules = tests = 0
    for ruleset in catalog.for_stage(stage):
        writer = _Writer(ruleset, constants)
        for rule in ruleset.rules:
            if rule.id in skip:
                unsupported[rule.id] = "left out on request"
                continue
            try:
                written = _rule_tests(rule, writer)
            except (Inexpressible, TypeError, ValueError, KeyError) as problem:
                unsupported[rule.id] = str(problem)
                continue
            rules += 1
            for requirement, test in written:
                tests += 1
                by_type[rule.for_each or CHECKLIST].append(
                    f"        if {test}:\n"
                    f"            append(({rule.id!r}, {requirement!r}, f['id']))")
    lines = ["def floor(by_type):", "    out = []", "    append = out.append"]
    for kind, body in by_type.items():
        lines.append(f"    for f in by_type.get({kind!r}, ()):")
        lines.extend(body)
    lines.append("    return out")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {"A": object(), "E": {}, **constants}
    exec(compile(source, f"<floor {stage.value}>", "exec"), namespace)  # noqa: S102
    return Floor(stage, source, namespace["floor"], rules, tests, unsupported)
