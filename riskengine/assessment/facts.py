"""Map a validated checklist to engine facts, and remember which part of it each fact is.

Counting, summing and date conversion happen here, in plain Python, so the engine only compares
(field notes: "what should stay out of the engine"). Every fact gets a unique positional id,
because durable_rules silently drops a second fact with identical content or a reused id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskengine.checklist.contract import LISTS, NESTED_LISTS, ListSpec
from riskengine.rules.compiler import CHECKLIST
from riskengine.vocabulary import CheckType

Checklist = Mapping[str, Any]


@dataclass(frozen=True)
class Subject:
    """The part of a checklist a fact stands for: its path, its raw item, its identity."""

    path: str
    item: Mapping[str, Any]
    identity: str
    parent: Mapping[str, Any] | None = None


@dataclass
class FactSet:
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)

    def fact(self, fact_id: str) -> Mapping[str, Any] | None:
        type_, _, position = fact_id.partition(":")
        facts = self.by_type.get(type_, ())
        if type_ != "defects" and position.isdigit() and int(position) < len(facts):
            return facts[int(position)]  # positional ids: the n-th fact of its type
        return next((f for f in facts if f["id"] == fact_id), None)


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


def identity(list_name: str, item: Mapping[str, Any], index: int) -> str:
    """Return what identifies an item across re-submissions (its contract identity fields)."""
    spec = LISTS.get(list_name) or LISTS[NESTED_LISTS[list_name][0]].nested[list_name]
    values = [item.get(k) for k in spec.identity]
    if any(v is None or v == "" for v in values):
        return f"{list_name}#{index}"
    return f"{list_name}/" + "/".join(str(v) for v in values)


def _unique(key: str, seen: dict[str, int]) -> str:
    """Two items with the same identity fields stay two subjects (the second is `key#2`)."""
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}#{seen[key]}"


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


def summed(name: str, items: list[Mapping[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Return the items of a list as facts see them, with the position of each first row:
    rows of one topic (or one defect kind) merged, their counts added."""
    if name not in _SUMMED:
        return list(enumerate(dict(item) for item in items))
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


def map_facts(checklist: Checklist, check_types: Mapping[str, CheckType]) -> FactSet:
    """Map a validated checklist to facts grouped by type, each with its subject."""
    context = _context(checklist)
    facts = FactSet()
    count, count_by = _counts(checklist)
    root = {"id": CHECKLIST, "t": CHECKLIST, **context, "stage": checklist["stage"],
            "project": dict(checklist["project"]), "checks": _checks(checklist, check_types),
            "count": count, "count_by": count_by}
    facts.by_type[CHECKLIST] = [root]
    facts.subjects[CHECKLIST] = Subject("checklist", checklist, "checklist")
    for name in LISTS:
        seen: dict[str, int] = {}
        for position, (index, item) in enumerate(summed(name, checklist.get(name) or [])):
            fact = {"id": f"{name}:{position}", "t": name, **_item_fact(item, _DATES[name]),
                    **context}
            subject = Subject(f"{name}[{index}]", item, _unique(identity(name, item, index), seen))
            if name == "inspections":
                fact.update(_add_defects(facts, item, subject, context))
            facts.by_type.setdefault(name, []).append(fact)
            facts.subjects[fact["id"]] = subject
    return facts


def _add_defects(facts: FactSet, inspection: Mapping[str, Any], parent: Subject,
                 context: Mapping[str, Any]) -> dict[str, int]:
    """Add a fact per defect of an inspection; return the inspection's defect sums."""
    defects = inspection.get("defects") or []
    summary = {"inspection": _item_fact(inspection, _DATES["inspections"])}
    index = parent.path[len("inspections["):-1]
    sums: dict[str, int | None] = {"defects_found": 0, "defects_rectified": 0}
    seen: dict[str, int] = {}
    for position, defect in summed("defects", defects):
        for total, count in (("defects_found", "found"), ("defects_rectified", "rectified")):
            # one row of unknown count leaves the inspection's sum unknown, never smaller
            known = sums[total]
            sums[total] = None if known is None or defect.get(count) is None else (
                known + defect[count])
        fact = {"id": f"defects:{index}:{position}", "t": "defects",
                **_item_fact(defect, _DATES["defects"]), **summary, **context}
        facts.by_type.setdefault("defects", []).append(fact)
        facts.subjects[fact["id"]] = Subject(
            f"{parent.path}.defects[{position}]", defect,
            f"{parent.identity}/{_unique(identity('defects', defect, position), seen)}",
            inspection)
    return {k: v for k, v in sums.items() if v is not None} if defects else {}
