"""Compile rules to durable_rules JSON rulesets: a pure function of the ruleset data.

Every leaf guards each field it reads with `$ex`, because durable_rules treats a comparison
against a missing field as true inside `$and` (field notes). Lists become `$or` of equalities
(durable has no `$in`), dates arrive as day numbers, and parameters are folded in here, so the
engine sees only literals and same-fact references.

durable_rules refuses a condition with more than 15 `$and`/`$or` nodes (error 113, measured on
2.0.28; not in the field notes), so a condition is put in disjunctive normal form: each
conjunction becomes its own durable rule with one flat `$and`, all standing for the same rule.
A fact that satisfies two conjunctions fires twice; findings keep one.

Conditions are three-valued (rulesets/README.md "Fail closed"): a leaf reading an absent operand
is unknown. Kleene logic distributes, so a condition is unknown exactly when no conjunction
holds and some conjunction has no false leaf and an unknown one. Each conjunction therefore also
compiles to companion rules, one per way its leaves can be unknown (`$nex` on the operand read,
or a denominator of zero) while every other leaf holds; the key of a companion names the absent
operands. A companion fires even where another conjunction holds; `settle` drops it then.
A leaf over another list (`{list, where, exists}`) is a join behind the END fact, which arrives
last, so the negation is decided with every item present (field notes, trap 6).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.checklist.contract import LISTS, NESTED_LISTS, ListSpec
from riskengine.errors import Words
from riskengine.refusals import refusal
from riskengine.rules.model import ClosedSet, Parameter, Rule, Ruleset
from riskengine.rules.network import NetworkTooLarge, check_network
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
    """A condition that does not fit the ruleset language, said by a refusal (`said`)."""

    def __init__(self, said: Words) -> None:
        super().__init__(str(said))
        self.said = said


@dataclass(frozen=True)
class RuleKey:
    """What a compiled durable rule stands for: a rule, one of its missing-fact checks
    (`requirement`), one way its condition is unknown (`unknown`: the absent operands), or a
    member of a closed set the checklist does not list (`closed`)."""

    rule_id: str
    requirement: int | None = None
    unknown: tuple[str, ...] = ()
    closed: bool = False
    # whether this key stands for the rule's condition holding (kept, not recomputed: read
    # several times for every match)
    decided: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decided", self.requirement is None and not self.unknown)


@dataclass(frozen=True)
class Join:
    """A test on another list of the checklist: some item matches `tests` (or none does)."""

    list: str
    tests: tuple[dict[str, Any], ...]
    present: bool


@dataclass(frozen=True)
class Atom:
    """One leaf, compiled: the tests under which it holds, and each way it is unknown
    (the operands it names, the tests under which they are unavailable)."""

    holds: tuple[dict[str, Any], ...]
    unknown: tuple[tuple[frozenset[str], tuple[dict[str, Any], ...]], ...] = ()
    join: Join | None = None


Conjunction = list[Atom]


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    definition: dict[str, Any]
    keys: dict[str, RuleKey]
    fact_types: frozenset[str]
    # per fact type, every path its conditions read (`reads`): a fact needs no other field
    reads: dict[str, frozenset[str]] = field(default_factory=dict)


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

    def __init__(self, rule: Rule, params: Mapping[str, Parameter],
                 paths: Mapping[str, CheckType], present: frozenset[str] = frozenset(),
                 lists: Mapping[str, Mapping[str, CheckType]] | None = None) -> None:
        self.rule, self.params, self.paths = rule, params, paths
        self.present = present  # paths every fact of the type has: never unknown
        self.lists = lists or {}  # item paths of the other lists a `{list: ...}` leaf may test
        self.op = ""  # the operator of the leaf being compiled, for scaled references

    def condition(self, node: Any) -> list[Conjunction]:
        """Return the condition as a list of conjunctions of compiled leaves."""
        if not isinstance(node, Mapping) or not node:
            raise RuleProblem(refusal("condition_not_mapping", value=repr(node)))
        if set(node) == {"all"} or set(node) == {"any"}:
            (op, items), = node.items()
            if not isinstance(items, list) or not items:
                raise RuleProblem(refusal("needs_conditions", op=op))
            parts = [self.condition(item) for item in items]
            if op == "any":
                return [conj for part in parts for conj in part]
            product: list[Conjunction] = [[]]
            for part in parts:
                product = [left + right for left in product for right in part]
            return product
        if "list" in node:
            return [[self.join(node)]]
        return self.leaf(node)

    def tests(self, node: Any) -> list[list[dict[str, Any]]]:
        """Return the condition as conjunctions of the tests under which it holds."""
        return [[t for atom in conj for t in atom.holds] for conj in self.condition(node)]

    def leaf(self, node: Mapping[str, Any]) -> list[Conjunction]:
        ops = [k for k in node if k in LEAF_OPS]
        extra = set(node) - set(LEAF_OPS) - {"field", "ratio"}
        if len(ops) != 1 or extra or ("field" in node) == ("ratio" in node):
            raise RuleProblem(refusal("leaf_shape", ops=str(LEAF_OPS),
                                      keys=str(sorted(node))))
        op = ops[0]
        if "ratio" in node:
            return [[self.ratio(node["ratio"], op, node[op])]]
        path = self.path(node["field"])
        value = node[op]
        if op == "exists":
            if not isinstance(value, bool):
                raise RuleProblem(refusal("exists_takes_bool", value=repr(value)))
            return [[Atom(({"$ex" if value else "$nex": {path: 1}},))]]
        if isinstance(value, Mapping) and "by" in value:
            return [[atom] for atom in self.by_key(path, op, value)]
        tests = self.compare(path, op, value)
        return [[self.atom([path, *_references(tests)], tests)]]

    def atom(self, operands: Sequence[str], tests: list[dict[str, Any]],
             head: Sequence[dict[str, Any]] = ()) -> Atom:
        """A leaf reading `operands`: it holds when all are present and the tests pass; it is
        unknown (naming one operand) when that operand is absent and `head` holds."""
        operands = list(dict.fromkeys(operands))
        unknown = tuple((frozenset([p]), (*head, {"$nex": {p: 1}}))
                        for p in operands if p not in self.present)
        return Atom((*head, *({"$ex": {p: 1}} for p in operands), *tests), unknown)

    def join(self, node: Mapping[str, Any]) -> Atom:
        """`{list: NAME, where: condition, exists: bool}`: whether an item of another list of
        the checklist matches `where` (two-valued: an item lacking a field does not match)."""
        if set(node) != {"list", "where", "exists"} or not isinstance(node["exists"], bool):
            raise RuleProblem(refusal("list_leaf_shape", keys=str(sorted(node))))
        name = node["list"]
        if name not in self.lists:
            raise RuleProblem(refusal("not_a_checklist_list", name=repr(name),
                                      lists=str(sorted(self.lists))))
        inner = _Compiler(self.rule, self.params, self.lists[name])
        conjunctions = inner.tests(node["where"])
        if len(conjunctions) != 1:
            raise RuleProblem(refusal("where_one_conjunction"))
        return Atom((), join=Join(name, tuple(conjunctions[0]), node["exists"]))

    def path(self, path: Any) -> str:
        if not isinstance(path, str) or path not in self.paths:
            scope = refusal("scope_for_each", name=self.rule.for_each) if self.rule.for_each \
                else refusal("scope_checklist")
            raise RuleProblem(refusal("field_not_a_fact", path=repr(path), scope=scope))
        return path

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
            raise RuleProblem(refusal("compares_numbers", op=op, value=repr(value), path=path))
        return [{path: right} if op == "eq" else {COMPARE[op]: {path: right}}]

    def ratio(self, pair: Any, op: str, value: Any) -> Atom:
        if op not in ORDERED or not isinstance(pair, list) or len(pair) != 2:
            raise RuleProblem(refusal("ratio_shape"))
        num, den = self.path(pair[0]), self.path(pair[1])
        factor = self.number(value)
        scaled = {"$mul": {"$l": {"$m": den}, "$r": _nudged(factor, op)}}
        # a denominator of zero (or less) leaves the ratio undefined: unknown, never 0 %
        zero = (frozenset([den]), ({"$ex": {den: 1}}, {"$lte": {den: 0}}))
        atom = self.atom([num, den], [{"$gt": {den: 0}}, {COMPARE[op]: {num: scaled}}])
        return Atom(atom.holds, (*atom.unknown, zero))

    def by_key(self, path: str, op: str, value: Mapping[str, Any]) -> list[Atom]:
        if set(value) != {"param", "by"}:
            raise RuleProblem(refusal("by_keys"))
        table = self.param(value["param"])
        key_field = self.path(value["by"])
        if not isinstance(table, Mapping) or not table:
            raise RuleProblem(refusal("by_needs_map", name=repr(value["param"])))
        # the field's absence is one alternative for every key of the map (deduplicated
        # across the branches), not one per key: the engine holds a few hundred rules at most
        keys = [{key_field: key} for key in table]
        unknown: tuple[tuple[frozenset[str], tuple[dict[str, Any], ...]], ...] = ()
        if path not in self.present:
            unknown += ((frozenset([path]), ({"$ex": {key_field: 1}},
                         keys[0] if len(keys) == 1 else {"$or": keys}, {"$nex": {path: 1}})),)
        if key_field not in self.present:
            unknown += ((frozenset([key_field]), ({"$nex": {key_field: 1}},)),)
        atoms = []
        for key, bound in table.items():
            # "no bound" still needs the field: an absent field makes the leaf unknown
            tests = [] if bound is None else self.compare(path, op, bound)
            keyed = self.atom([path, *_references(tests)], tests,
                              head=({"$ex": {key_field: 1}}, {key_field: key}))
            refs = tuple(u for u in keyed.unknown if not u[0] & {key_field, path})
            atoms.append(Atom(keyed.holds, unknown + refs))
        return atoms

    def param(self, name: Any) -> Any:
        if name not in self.params:
            raise RuleProblem(refusal("param_unknown", name=repr(name),
                                      names=str(sorted(self.params))))
        return self.params[name].value

    def number(self, value: Any) -> float | int:
        folded = self.fold(value) if isinstance(value, Mapping) else value
        if isinstance(folded, bool) or not isinstance(folded, (int, float)):
            raise RuleProblem(refusal("expected_number", value=repr(value)))
        return folded

    def fold(self, value: Mapping[str, Any]) -> Any:
        if set(value) - {"param", "times", "plus"} or "param" not in value:
            raise RuleProblem(refusal("param_value_keys", keys=str(sorted(value))))
        base = self.param(value["param"])
        if "times" not in value and "plus" not in value:
            return base
        if isinstance(base, bool) or not isinstance(base, (int, float)):
            raise RuleProblem(refusal("param_not_number", name=repr(value["param"])))
        result = base * self.number(value.get("times", 1)) + self.number(value.get("plus", 0))
        return round(result, 10)

    def value_list(self, value: Any) -> list[Any]:
        values = self.fold(value) if isinstance(value, Mapping) else value
        if not isinstance(values, list) or not values:
            raise RuleProblem(refusal("in_takes_list", value=repr(value)))
        return [self.literal(v) for v in values]

    def scalar(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping) and "field" in value:
            return self.reference(value, path)
        if isinstance(value, Mapping) and "date" in value:
            return self.literal(value)
        return self.literal(self.fold(value) if isinstance(value, Mapping) else value)

    def reference(self, value: Mapping[str, Any], left: str) -> Any:
        if set(value) - {"field", "offset_days", "times"} or len(value) > 2:
            raise RuleProblem(refusal("reference_shape", value=str(dict(value))))
        ref = self.path(value["field"])
        node: Any = {"$m": ref}
        if "offset_days" in value:
            if self.paths[ref] != CheckType.DATE or self.paths[left] != CheckType.DATE:
                raise RuleProblem(refusal("offset_days_dates", left=left, ref=ref))
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
                raise RuleProblem(refusal("date_not_iso", value=repr(value["date"]))) from error
        if value is None or isinstance(value, (Mapping, list)):
            raise RuleProblem(refusal("expected_scalar", value=repr(value)))
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


def always_present(for_each: str | None, paths: Mapping[str, CheckType]) -> frozenset[str]:
    """Return the paths every fact of a type carries (validation requires them, or facts.py
    always fills them): a leaf reading only these is never unknown."""
    if for_each is None:
        return frozenset(p for p in paths if p in ("as_of", "stage", "project.code")
                         or p.startswith(("count.", "count_by.")))
    spec = _all_lists()[for_each]
    present = {"as_of", *(k for k, f in spec.fields.items() if f.required)}
    if for_each in NESTED_LISTS:
        parent = LISTS[NESTED_LISTS[for_each][0]]
        present.update(f"inspection.{k}" for k, f in parent.fields.items() if f.required)
    return frozenset(present)


def operands(node: Any) -> list[str]:
    """Return every path a condition (as written in YAML) reads, in order."""
    if isinstance(node, Mapping):
        if "list" in node and "where" in node:
            return []  # another list's fields, not this fact's
        found = [node["field"]] if isinstance(node.get("field"), str) else []
        if isinstance(node.get("ratio"), list):
            found.extend(str(p) for p in node["ratio"])
        if isinstance(node.get("by"), str):
            found.append(node["by"])
        for key, child in node.items():
            if key not in ("field", "ratio", "by"):
                found.extend(operands(child))
        return list(dict.fromkeys(found))
    if isinstance(node, list):
        return list(dict.fromkeys(p for child in node for p in operands(child)))
    return []


MAX_CONJUNCTIONS = 64  # one durable rule each; a ruleset holds at most ~256 (field notes)
MAX_NODES = 15  # `$and`/`$or` nodes durable accepts in one condition (error 113)
MAX_UNKNOWN = 96  # companions of one rule; see MAX_CONJUNCTIONS


def _body(typed: dict[str, Any], tests: Sequence[dict[str, Any]],
          joins: Sequence[Join]) -> dict[str, Any] | None:
    tests = list({json.dumps(t, sort_keys=True): t for t in tests}.values())
    ex = {p for t in tests for p in t.get("$ex", {})}
    if any(p in ex for t in tests for p in t.get("$nex", {})):
        return None  # an operand both present and absent: never matches
    nodes = 1 + sum(1 for t in tests if "$or" in t)
    if nodes > MAX_NODES:
        raise RuleProblem(refusal("too_many_nodes", nodes=nodes, limit=MAX_NODES))
    head = {"m": {"$and": [typed, *tests]}}
    if not joins:
        return {"all": [head]}
    others = {f"j{i}" + ("" if j.present else "$not"): {"$and": [{"t": j.list}, *j.tests]}
              for i, j in enumerate(joins)}
    return {"all": [{"s": {"t": END}}, head, *({k: v} for k, v in others.items())]}


def _variants(conj: Conjunction) -> list[tuple[frozenset[str], list[dict[str, Any]]]]:
    """Return each way a conjunction is unknown: some leaves unknown (naming their operands),
    every other leaf holding."""
    out: list[tuple[frozenset[str], list[dict[str, Any]]]] = [(frozenset(), [])]
    for atom in conj:
        out = [(names | more, tests + list(extra))
               for names, tests in out
               for more, extra in [(frozenset(), atom.holds), *atom.unknown]]
    return [(names, tests) for names, tests in out if names]


def _rules(key: str, rule_key: RuleKey, typed: dict[str, Any],
           conjunctions: list[Conjunction], *, unknowns: bool = False
           ) -> dict[str, tuple[dict[str, Any], RuleKey]]:
    if len(conjunctions) > MAX_CONJUNCTIONS:
        raise RuleProblem(refusal("too_many_alternatives", count=len(conjunctions),
                                  limit=MAX_CONJUNCTIONS))
    out: dict[str, tuple[dict[str, Any], RuleKey]] = {}
    seen: set[str] = set()

    def add(name: str, body: dict[str, Any] | None, stands_for: RuleKey) -> None:
        text = json.dumps([body, stands_for.unknown], sort_keys=True)
        if body is not None and text not in seen:
            seen.add(text)
            out[name] = (body, stands_for)

    for index, conj in enumerate(conjunctions):
        joins = [a.join for a in conj if a.join is not None]
        add(key if index == 0 else f"{key}|{index}",
            _body(typed, [t for a in conj for t in a.holds], joins), rule_key)
        if not unknowns:
            continue
        for number, (names, tests) in enumerate(_variants(conj)):
            add(f"{key}|{index}#unknown:{number}", _body(typed, tests, joins),
                RuleKey(rule_key.rule_id, unknown=tuple(sorted(names))))
    if sum(1 for _, k in out.values() if k.unknown) > MAX_UNKNOWN:
        raise RuleProblem(refusal("too_many_unknowns", limit=MAX_CONJUNCTIONS))
    return out


def _compiler(rule: Rule, ruleset: Ruleset, checks: Mapping[str, CheckType]) -> _Compiler:
    if rule.for_each is not None and rule.for_each not in _all_lists():
        raise RuleProblem(refusal("for_each_not_a_list", name=repr(rule.for_each),
                                  lists=str(sorted(_all_lists()))))
    paths = fact_fields(rule.for_each, checks)
    lists = {name: fact_fields(name, checks) for name in _all_lists()}
    return _Compiler(rule, ruleset.parameters, paths, always_present(rule.for_each, paths), lists)


def compile_rule(rule: Rule, ruleset: Ruleset, checks: Mapping[str, CheckType]
                 ) -> dict[str, tuple[dict[str, Any], RuleKey]]:
    """Compile one rule (its companions for unknown operands, one check per required fact) to
    durable rule definitions, each with what it stands for."""
    compiler = _compiler(rule, ruleset, checks)
    typed = {"t": fact_type(rule)}
    out = _rules(rule.id, RuleKey(rule.id), typed, compiler.condition(rule.when), unknowns=True)
    for index, requirement in enumerate(rule.requires):
        missing = Atom(({"$nex": {compiler.path(requirement.path): 1}},))
        cases = compiler.condition(requirement.when) if requirement.when is not None else [[]]
        out.update(_rules(f"{rule.id}#missing:{index}", RuleKey(rule.id, index), typed,
                          [[missing, *case] for case in cases]))
    for path in rule.evidence:
        if not (path == "id" and rule.for_each and "id" in _all_lists()[rule.for_each].fields):
            compiler.path(path)
    return out


def member_path(closed: ClosedSet, member: str) -> str:
    """The fact that says whether the checklist lists a member of a closed set."""
    return f"count_by.{closed.list}.{member}" if closed.list else f"checks.{member}"


Compiled = dict[str, tuple[dict[str, Any], RuleKey]]


def compile_closed_set(closed: ClosedSet, index: int, ruleset: Ruleset,
                       checks: Mapping[str, CheckType]) -> Compiled:
    """Compile a closed set: one rule per member, matching the checklist that does not list it
    (while the set's `when` holds)."""
    rules = {r.id: r for r in ruleset.rules}
    paths = fact_fields(None, checks)
    out: Compiled = {}
    for member, rule_id in zip(closed.members, closed.rule_ids, strict=True):
        compiler = _Compiler(rules[rule_id], ruleset.parameters, paths,
                             always_present(None, paths))
        cases = compiler.condition(closed.when) if closed.when is not None else [[]]
        path = compiler.path(member_path(closed, member))
        absent = Atom(({path: 0},) if closed.list else ({"$nex": {path: 1}},))
        out.update(_rules(f"{ruleset.id}#closed:{index}:{member}",
                          RuleKey(rule_id, unknown=(path,), closed=True), {"t": CHECKLIST},
                          [[absent, *case] for case in cases]))
    return out


def check_rule(rule: Rule, ruleset: Ruleset, checks: Mapping[str, CheckType]) -> list[Words]:
    """Return every problem compiling `rule` meets (empty when it compiles)."""
    try:
        compile_rule(rule, ruleset, checks)
    except RuleProblem as problem:
        return [problem.said]
    return []


def check_closed_sets(ruleset: Ruleset, checks: Mapping[str, CheckType]
                      ) -> list[tuple[int, Words]]:
    """Return (index, problem) for every closed set of a ruleset that does not compile."""
    out = []
    for index, closed in enumerate(ruleset.closed_sets):
        try:
            compile_closed_set(closed, index, ruleset, checks)
        except RuleProblem as problem:
            out.append((index, problem.said))
    return out


def compile_ruleset(ruleset: Ruleset, checks: Mapping[str, CheckType]) -> CompiledRuleset:
    """Compile a ruleset, adding the sentinel rule that makes every evaluation run an action."""
    compiled: dict[str, tuple[dict[str, Any], RuleKey]] = {}
    for rule in ruleset.rules:
        compiled.update(compile_rule(rule, ruleset, checks))
    for index, closed in enumerate(ruleset.closed_sets):
        compiled.update(compile_closed_set(closed, index, ruleset, checks))
    definition = {key: body for key, (body, _) in compiled.items()}
    keys = {key: stands_for for key, (_, stands_for) in compiled.items()}
    definition[SENTINEL_KEY] = {"all": [{"m": {"t": END}}]}
    fact_types = {fact_type(rule) for rule in ruleset.rules}
    fact_types.update(_joined(definition))
    if ruleset.closed_sets:
        fact_types.add(CHECKLIST)
    return CompiledRuleset(ruleset.id, definition, keys, frozenset(fact_types),
                           reads(definition))


def compile_stage(name: str, rulesets: Sequence[CompiledRuleset]) -> CompiledRuleset:
    """Join the compiled rulesets of a stage into one durable ruleset with one sentinel: the
    engine then reads each fact once per evaluation, not once per ruleset. Rule keys are
    unique across a stage (rule ids are unique in the catalogue; closed sets carry their
    ruleset's id), so each durable rule keeps its key and its results. Raise RuleProblem
    when the joined ruleset would not fit the engine's tables (rules/network.py)."""
    definition: dict[str, Any] = {}
    keys: dict[str, RuleKey] = {}
    for compiled in rulesets:
        for key, body in compiled.definition.items():
            if key == SENTINEL_KEY:
                continue
            if key in definition:
                raise RuleProblem(refusal("rule_key_reused", rule_key=repr(key),
                                          ruleset=compiled.name, stage=name))
            definition[key] = body
            keys[key] = compiled.keys[key]
    definition[SENTINEL_KEY] = {"all": [{"m": {"t": END}}]}
    try:
        check_network(name, definition)
    except NetworkTooLarge as problem:
        raise RuleProblem(problem.said) from problem
    types = frozenset(t for compiled in rulesets for t in compiled.fact_types)
    return CompiledRuleset(name, definition, keys, types, reads(definition))


def reads(definition: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Return, per fact type, every path the conditions of a definition test or refer to
    (absence tests included: a fact must carry a field for `$nex` to see it present)."""
    found: dict[str, set[str]] = {}
    for body in definition.values():
        for condition in body["all"]:
            (test,) = condition.values()
            parts = test["$and"] if "$and" in test else [test]
            kind = next(p["t"] for p in parts if "t" in p)
            found.setdefault(kind, set()).update(
                p for part in parts for p in _tested(part) if p != "t")
    return {kind: frozenset(paths) for kind, paths in found.items()}


def _tested(test: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in test.items():
        if key in ("$and", "$or"):
            out.extend(p for part in value for p in _tested(part))
        elif key in ("$ex", "$nex"):
            out.extend(value)
        elif key.startswith("$"):
            (path, right), = value.items()
            out.extend([path, *_references(right)])
        else:
            out.extend([key, *_references(value)])
    return out


def _joined(definition: Mapping[str, Any]) -> set[str]:
    """Return the fact types the joins of a definition read (the other lists)."""
    found: set[str] = set()
    for body in definition.values():
        for part in body["all"][2:]:
            (test,) = part.values()
            found.add(test["$and"][0]["t"])
    return found
