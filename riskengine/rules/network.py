"""What durable_rules builds from a compiled definition, checked against its fixed limits.

durable_rules 2.0.28 (src/rules/rete.c) turns every condition into a chain of alpha nodes, one
per test, shared between rules wherever a chain starts alike (same property, operator and
value), and ends each chain at its rule's beta node. Each alpha node holds its children in
fixed tables: 512 slots for ordinary tests (the search for a free slot loops forever once they
are full: "513 single-condition rules hang register_rulesets"), 128 for `$nex` tests and `$or`
joins (error 107), 256 for the rules ending there (error 108). A ruleset that overflows one of
them fails at load, or hangs it, with no word about which rule: so the compiler counts the
children of every node here, before durable sees the definition, and refuses clearly.

The model errs on the side of counting too much: a value that is an expression (a reference
to another field, arithmetic) or an `$iany` test is never shared, as durable never shares it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.errors import Words
from riskengine.refusals import Semicolons, Trail, refusal

# Kept well under the C tables (512, 128, 256): the tables are the engine's, the margin ours.
MAX_TESTS = 400
MAX_ABSENCES = 100
MAX_RULES_AT_NODE = 200
_ABSENCE_OPS = ("$nex",)
_OPERATORS = ("$lt", "$lte", "$gt", "$gte", "$eq", "$neq", "$ex", "$nex", "$mt", "$imt")


@dataclass
class _Node:
    """One alpha node: its shared children by test, its unshared ones, the rules ending here."""

    label: str | Words
    tests: dict[tuple[str, str, str], _Node] = field(default_factory=dict)
    unshared: list[_Node] = field(default_factory=list)
    absences: dict[tuple[str, str, str], _Node] = field(default_factory=dict)
    joins: int = 0  # `$or` nodes this node's test leads into (they sit in its `$nex` table)
    forwards: list[_Node] = field(default_factory=list)  # those `$or` nodes, to walk on
    rules: list[str] = field(default_factory=list)


class NetworkTooLarge(ValueError):
    """A definition that would overflow a table of durable's alpha network (`said`)."""

    def __init__(self, said: Words) -> None:
        super().__init__(str(said))
        self.said = said


def check_network(name: str, definition: Mapping[str, Any]) -> None:
    """Raise NetworkTooLarge naming the node, the table, its size and the rules behind it
    when `definition` would overflow one of durable's per-node tables."""
    root = _Node(refusal("network_root"))
    for rule, body in definition.items():
        for condition in body["all"]:
            (test,) = condition.values()
            _chain(root, test, rule).rules.append(rule)
    problems = list(_overflows(root))
    if problems:
        raise NetworkTooLarge(refusal("network_too_large", name=name,
                                      problems=Semicolons(tuple(problems[:5]))))


def _chain(parent: _Node, test: Mapping[str, Any], rule: str) -> _Node:
    """Return the node a test ends at, adding its nodes under `parent` as durable would."""
    (key, value), = test.items()
    if key == "$and":
        node = parent
        for part in value:
            node = _chain(node, part, rule)
        return node
    if key == "$or":
        forward = _Node(refusal("node_or", rule=rule))  # never shared: a new node per `$or`
        parent.forwards.append(forward)
        for part in value:
            _chain(parent, part, rule).joins += 1
        return forward
    if key in ("$iany", "$iall"):
        return _unshared(parent, refusal("node_of", test=key, rule=rule))
    if key in _OPERATORS:
        (path, right), = value.items()
    else:
        key, path, right = "$eq", key, value
    if isinstance(right, Mapping):  # an expression: durable never shares its node
        return _unshared(parent, refusal("node_expression", test=f"{path} {key}", rule=rule))
    table = parent.absences if key in _ABSENCE_OPS else parent.tests
    found = table.get((path, key, repr(right)))
    if found is None:
        found = table[(path, key, repr(right))] = _Node(f"{path} {key} {right!r}")
    return found


def _unshared(parent: _Node, label: str | Words) -> _Node:
    node = _Node(label)
    parent.unshared.append(node)
    return node


def _overflows(node: _Node, trail: Sequence[str | Words] = ()) -> list[Words]:
    where = Trail(tuple(trail)) if trail else refusal("network_root")
    out: list[Words] = []
    tests = len(node.tests) + len(node.unshared)
    if tests > MAX_TESTS:
        out.append(refusal("tests_follow", count=tests, where=where, limit=MAX_TESTS))
    if len(node.absences) + node.joins > MAX_ABSENCES:
        out.append(refusal("absences_follow", count=len(node.absences) + node.joins,
                           where=where, limit=MAX_ABSENCES))
    if len(node.rules) > MAX_RULES_AT_NODE:
        out.append(refusal("rules_end_at", count=len(node.rules), where=where,
                           limit=MAX_RULES_AT_NODE, first=str(sorted(node.rules)[:3])))
    for child in (*node.tests.values(), *node.unshared, *node.absences.values(),
                  *node.forwards):
        out.extend(_overflows(child, (*trail, child.label)))
    return out
