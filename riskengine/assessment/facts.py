"""Map a validated checklist to engine facts, and remember which part of it each fact is.

Counting, summing and date conversion happen here, in plain Python, so the engine only compares
(field notes: "what should stay out of the engine"). Every fact gets a unique positional id,
because durable_rules silently drops a second fact with identical content or a reused id.

A fact carries only what its rules read (`Shape`, from the compiler's `reads`): the engine's
cost follows the properties it parses, and copying `as_of` and the milestones into every item
was a third of it. Evidence is quoted from the checklist item and the values computed here
(`Subject.derived`), never from the fact, so a field no condition reads needs no place in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from riskengine.checklist.contract import LISTS, NESTED_LISTS, ListSpec
from riskengine.rules.compiler import CHECKLIST
from riskengine.vocabulary import CheckType

Checklist = Mapping[str, Any]


class Subject(NamedTuple):
    """The part of a checklist a fact stands for: its path, its raw item, its identity, the
    item it belongs to (a defect's inspection), the values computed for it (counts, sums)."""

    path: str
    item: Mapping[str, Any]
    identity: str
    parent: Mapping[str, Any] | None = None
    derived: Mapping[str, Any] | None = None


class _Row(NamedTuple):
    """An item whose subject is not made yet: identities are worked out only for the lists
    where some rule matched (most lists of most checklists have none)."""

    fact_id: str
    at: int  # the item's index in its list
    item: Mapping[str, Any]
    derived: Mapping[str, Any] | None = None
    parent: str | None = None  # a defect's: its inspection's fact id


@dataclass
class FactSet:
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    rows: dict[str, list[_Row]] = field(default_factory=dict)

    def subject(self, fact_id: str) -> Subject:
        """Return what a fact stands for (KeyError for a fact this set does not hold)."""
        found = self.subjects.get(fact_id)
        if found is None:
            self._settle(fact_id.partition(":")[0])
            found = self.subjects[fact_id]
        return found

    def _settle(self, name: str) -> None:
        rows = self.rows.pop(name, None)
        if rows is None:
            return
        if name != "defects":
            seen: dict[str, int] = {}
            for row in rows:
                self.subjects[row.fact_id] = Subject(
                    f"{name}[{row.at}]", row.item,
                    _unique(identity(name, row.item, row.at), seen), None, row.derived)
            return
        self._settle("inspections")
        per_parent: dict[str | None, dict[str, int]] = {}
        for row in rows:
            parent = self.subjects[str(row.parent)]
            seen = per_parent.setdefault(row.parent, {})
            self.subjects[row.fact_id] = Subject(
                f"{parent.path}.defects[{row.at}]", row.item,
                f"{parent.identity}/{_unique(identity('defects', row.item, row.at), seen)}",
                parent.item)


def day_number(value: Any) -> int | None:
    """Return an ISO date as its ordinal day, the form the engine compares."""
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, str):
        return dt.date.fromisoformat(value).toordinal()
    return None


def _date_fields(spec: ListSpec) -> frozenset[str]:
    return frozenset(k for k, f in spec.fields.items() if f.type == CheckType.DATE)


_DATES = {name: _date_fields(spec) for name, spec in LISTS.items()}
_DATES.update({name: _date_fields(LISTS[p].nested[c]) for name, (p, c) in NESTED_LISTS.items()})


# An item's own `id` (a promise's "P-1") must not replace the fact's unique positional id:
# two items sharing one would collide inside the engine. Evidence quotes it from the item.
_NOT_FACTS = frozenset({"id", "defects"})


def _item_fact(item: Mapping[str, Any], dates: frozenset[str]) -> dict[str, Any]:
    fact: dict[str, Any] = {}
    for key, value in item.items():
        if value is None or key in _NOT_FACTS:
            continue
        fact[key] = day_number(value) if key in dates else value
    return fact


_IDENTITY = {name: spec.identity for name, spec in LISTS.items()}
_IDENTITY.update({name: LISTS[p].nested[c].identity for name, (p, c) in NESTED_LISTS.items()})


def identity(list_name: str, item: Mapping[str, Any], index: int) -> str:
    """Return what identifies an item across re-submissions (its contract identity fields)."""
    values = [item.get(k) for k in _IDENTITY[list_name]]
    if None in values or "" in values:
        return f"{list_name}#{index}"
    return f"{list_name}/" + "/".join(map(str, values))


def _unique(key: str, seen: dict[str, int]) -> str:
    """Two items with the same identity fields stay two subjects (the second is `key#2`)."""
    count = seen[key] = seen.get(key, 0) + 1
    return key if count == 1 else f"{key}#{count}"


def _context(checklist: Checklist) -> dict[str, Any]:
    milestones = {k: day_number(v) for k, v in (checklist.get("milestones") or {}).items()
                  if v is not None}
    return {"as_of": day_number(checklist["as_of"]), "milestones": milestones}


def _checks(checklist: Checklist, check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (checklist.get("checks") or {}).items():
        if value is not None:
            out[key] = day_number(value) if check_types.get(key) == CheckType.DATE else value
    return out


def _counts(checklist: Checklist) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    count: dict[str, int] = {}
    count_by: dict[str, dict[str, int]] = {}
    for name, spec in LISTS.items():
        items = checklist.get(name) or []
        count[name] = len(items)
        if spec.kind_field:
            count_by[name] = _tally(items, spec, spec.kind_field)
    inspections = checklist.get("inspections") or []
    done = [i for i in inspections if i.get("done") is True]
    count_by["inspections_done"] = _tally(done, LISTS["inspections"], "phase")
    defects = [d for i in inspections for d in (i.get("defects") or [])]
    count["defects"] = len(defects)
    count_by["defects"] = _tally(defects, LISTS["inspections"].nested["defects"], "kind")
    return count, count_by


def _tally(items: list[Mapping[str, Any]], spec: ListSpec, kind_field: str) -> dict[str, int]:
    tally = dict.fromkeys(spec.fields[kind_field].choices, 0)
    for item in items:
        kind = item.get(kind_field)
        if kind in tally:
            tally[kind] += 1
    return tally


# Where the catalogue counts per topic, rows sharing a key are one fact whose counts are summed
# (rules judge the sum): complaints per topic, defects per kind within one inspection. A sum
# with a row of unknown count is unknown.
_SUMMED = {"complaints": (("topic",), ("open_count",)),
           "defects": (("kind",), ("found", "rectified"))}


def summed(name: str, items: list[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """Return the items of a list as facts see them, with the position of each first row:
    rows of one topic (or one defect kind) merged, their counts added."""
    if name not in _SUMMED:
        return list(enumerate(items))  # read, never changed: no copies
    keys, counts = _SUMMED[name]
    groups: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for index, item in enumerate(items):
        group = tuple(item.get(k) for k in keys)
        if group not in groups:
            groups[group] = (index, dict(item))
            continue
        merged = groups[group][1]
        for count in counts:
            if merged.get(count) is None or item.get(count) is None:
                merged.pop(count, None)
            else:
                merged[count] += item[count]
    return list(groups.values())


Tree = dict[str, "Tree | None"]  # nested keys to keep; None: keep the value whole


def _tree(paths: frozenset[str]) -> Tree:
    tree: Tree = {}
    for path in sorted(paths):
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node.setdefault(last, None)
    return tree


def _cut(data: Mapping[str, Any], tree: Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, below in tree.items():
        if key in data:
            value = data[key]
            if below is None:
                out[key] = value
            elif type(value) is dict:
                kept = _cut(value, below)
                if kept:
                    out[key] = kept
    return out


class _ItemShape(NamedTuple):
    fields: tuple[str, ...]  # the item's own fields the rules read
    context: Tree  # of as_of and the milestones
    inspection: tuple[str, ...]  # a defect's: its inspection's fields the rules read
    sums: tuple[str, ...]  # an inspection's: its defect sums the rules read


class Shape:
    """Which paths the facts of each type carry: what the rules of a stage read."""

    def __init__(self, reads: Mapping[str, frozenset[str]]) -> None:
        self.types = frozenset(reads)
        self.root = _tree(reads.get(CHECKLIST, frozenset()))
        self.items: dict[str, _ItemShape] = {}
        for name in (*LISTS, *NESTED_LISTS):
            if name not in reads:
                continue
            paths = reads[name]
            own = _own_fields(name)
            made = self.items[name] = _ItemShape(
                tuple(k for k in own if k in paths),
                _tree(frozenset(p for p in paths if p == "as_of"
                                or p.startswith("milestones."))),
                tuple(p.removeprefix("inspection.") for p in sorted(paths)
                      if p.startswith("inspection.")),
                tuple(p for p in ("defects_found", "defects_rectified") if p in paths))
            built = {*made.fields, *made.sums, *(f"inspection.{k}" for k in made.inspection)}
            # a path read but never built would read as absent: fail at load, not quietly
            unbuilt = sorted(p for p in paths if p not in built and p != "as_of"
                             and not p.startswith("milestones."))
            if unbuilt:
                raise ValueError(f"rules over {name} read {unbuilt}, which its facts never hold")


def _own_fields(name: str) -> tuple[str, ...]:
    spec = LISTS.get(name) or LISTS[NESTED_LISTS[name][0]].nested[name]
    return tuple(k for k in spec.fields if k not in _NOT_FACTS)


def _shaped_item(item: Mapping[str, Any], keep: tuple[str, ...],
                 dates: frozenset[str]) -> dict[str, Any]:
    fact = {key: value for key in keep if (value := item.get(key)) is not None}
    for key in dates.intersection(fact):
        fact[key] = day_number(fact[key])
    return fact


def map_facts(checklist: Checklist, check_types: Mapping[str, CheckType],
              shape: Shape | None = None) -> FactSet:
    """Map a validated checklist to facts grouped by type, each with its subject; with a
    shape, each fact carries only the paths its rules read (and only read types get facts)."""
    context = _context(checklist)
    facts = FactSet()
    count, count_by = _counts(checklist)
    root = {"id": CHECKLIST, "t": CHECKLIST, **context, "stage": checklist["stage"],
            "project": dict(checklist["project"]), "checks": _checks(checklist, check_types),
            "count": count, "count_by": count_by}
    if shape is not None:
        root = {"id": CHECKLIST, "t": CHECKLIST, **_cut(root, shape.root)}
    facts.by_type[CHECKLIST] = [root]
    facts.subjects[CHECKLIST] = Subject("checklist", checklist, "checklist",
                                        derived={"count": count, "count_by": count_by})
    for name in LISTS:
        items = checklist.get(name) or []
        if shape is not None and name not in shape.types and not (
                name == "inspections" and "defects" in shape.types):
            continue
        made = shape.items.get(name) if shape is not None else None
        extra = context if made is None else _cut(context, made.context)
        dates = _DATES[name]
        rows = facts.rows[name] = []
        kept = facts.by_type[name] = []
        for position, (index, item) in enumerate(summed(name, items)):
            own = _item_fact(item, dates) if made is None else _shaped_item(
                item, made.fields, dates)
            fact_id = f"{name}:{position}"
            fact = {"id": fact_id, "t": name, **own, **extra}
            sums = None
            if name == "inspections":
                sums = _add_defects(facts, item, fact_id, index, context, shape)
                fact.update(sums if made is None else {k: sums[k] for k in made.sums
                                                       if k in sums})
            if made is not None or shape is None:
                kept.append(fact)
            rows.append(_Row(fact_id, index, item, sums))
        if not kept:
            del facts.by_type[name]
    return facts


def _add_defects(facts: FactSet, inspection: Mapping[str, Any], parent: str, index: int,
                 context: Mapping[str, Any], shape: Shape | None) -> dict[str, int]:
    """Add a fact per defect of an inspection; return the inspection's defect sums."""
    defects = inspection.get("defects") or []
    made = shape.items.get("defects") if shape is not None else None
    if made is None:
        summary = {"inspection": _item_fact(inspection, _DATES["inspections"])}
    else:
        cut = _shaped_item(inspection, made.inspection, _DATES["inspections"])
        summary = {"inspection": cut} if cut else {}
        context = _cut(context, made.context)
    sums: dict[str, int | None] = {"defects_found": 0, "defects_rectified": 0}
    rows = facts.rows.setdefault("defects", [])
    for position, defect in summed("defects", defects):
        for total, count in (("defects_found", "found"), ("defects_rectified", "rectified")):
            # one row of unknown count leaves the inspection's sum unknown, never smaller
            known = sums[total]
            sums[total] = None if known is None or defect.get(count) is None else (
                known + defect[count])
        own = _item_fact(defect, _DATES["defects"]) if made is None else _shaped_item(
            defect, made.fields, _DATES["defects"])
        fact = {"id": f"defects:{index}:{position}", "t": "defects", **own, **summary,
                **context}
        if made is not None or shape is None:
            facts.by_type.setdefault("defects", []).append(fact)
        rows.append(_Row(fact["id"], position, defect, None, parent))
    return {k: v for k, v in sums.items() if v is not None} if defects else {}
