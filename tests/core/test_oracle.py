"""The engine and a plain-Python oracle agree on generated checklists (hypothesis)."""

from __future__ import annotations

import copy
import datetime as dt
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.assessment.assessor import Assessor
from riskengine.assessment.facts import map_facts
from riskengine.assessment.findings import settle
from riskengine.checklist.contract import LISTS, PAST_CHECKS, ItemField, ListSpec
from riskengine.rules.engine import Match
from riskengine.vocabulary import MILESTONES, CheckType, Stage

from .oracle import expected_matches

AS_OF = dt.date(2026, 11, 20)
# values around every default threshold of the catalogue, so boundaries are hit often
NUMBERS = [0, 1, 2, 3, 4, 5, 9, 10, 11, 23, 24, 25, 29, 30, 31, 40, 59, 60, 61, 80, 89.5, 92.9,
           95, 96, 97, 100, 103, 113.9, 118, 120, 180, 200, 299, 300, 301, 320, 499, 500, 501,
           999, 1000, 1001, 2999, 3000, 3001, 5000]
DAYS = [-400, -181, -180, -179, -60, -31, -30, -29, -15, -14, -8, -7, -6, -1, 0, 1, 6, 7, 8, 13,
        14, 15, 29, 30, 31, 60, 90, 179, 180, 181, 400, 800]
TEXT = ["", "A1", "B2", "P-1", "P-2", "车位", "金口垃圾场", "x"]


def _date(past: bool = False) -> st.SearchStrategy[str]:
    # a date that records the past is never after as_of (validation refuses it)
    days = [d for d in DAYS if d <= 0] if past else DAYS
    return st.sampled_from(days).map(lambda d: (AS_OF + dt.timedelta(days=d)).isoformat())


def _value(kind: CheckType | str, choices: tuple[str, ...]) -> st.SearchStrategy[Any]:
    if kind == "list":  # a closed vocabulary, or free text (evidence file ids)
        return st.lists(st.sampled_from(choices or TEXT), max_size=3, unique=True)
    if choices:
        return st.sampled_from(choices)
    return {
        CheckType.BOOL: st.booleans(), CheckType.INT: st.sampled_from([int(n) for n in NUMBERS]),
        CheckType.NUMBER: st.sampled_from(NUMBERS), CheckType.DATE: _date(),
        CheckType.STRING: st.sampled_from(TEXT),
    }[CheckType(kind)]


def _field_value(f: ItemField) -> st.SearchStrategy[Any]:
    """A value validation accepts for the field (bounds and the past respected)."""
    if f.type == CheckType.DATE:
        return _date(f.past)
    if f.minimum is not None:
        return st.sampled_from([n for n in NUMBERS
                                if n > f.minimum or (n == f.minimum and not f.above_minimum)])
    return _value(f.type, f.choices)


def _coherent(spec: ListSpec, item: dict[str, Any]) -> dict[str, Any]:
    for part, whole in spec.parts:  # a part is never larger than its whole
        if part in item and whole in item and item[part] > item[whole]:
            item[part] = item[whole]
    return item


def _items(spec: ListSpec) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Items of a list; one identity once, unless the rules sum the list's items."""
    if spec.summed:
        return st.lists(_item(spec), max_size=3)
    return st.lists(_item(spec), max_size=3,
                    unique_by=lambda item: tuple(str(item.get(k)) for k in spec.identity))


def _item(spec: ListSpec) -> st.SearchStrategy[dict[str, Any]]:
    def field(f: ItemField) -> st.SearchStrategy[Any]:
        value = _field_value(f)
        return value if f.required else st.one_of(st.just(None), value, value)

    strategies: dict[str, st.SearchStrategy[Any]] = {k: field(f) for k, f in spec.fields.items()}
    for child, child_spec in spec.nested.items():
        strategies[child] = _items(child_spec)
    return st.fixed_dictionaries(strategies).map(
        lambda item: _coherent(spec, {k: v for k, v in item.items() if v is not None}))


@st.composite
def checklists(draw: st.DrawFn, stage: Stage, checks: dict[str, CheckType]) -> dict[str, Any]:
    milestones = {m: draw(_date()) for m in MILESTONES if draw(st.integers(0, 4))}
    check_values = {k: draw(_date(True) if k in PAST_CHECKS else _value(t, ()))
                    for k, t in checks.items() if draw(st.integers(0, 5))}
    lists = {name: draw(_items(spec)) for name, spec in LISTS.items()}
    return {"project": {"code": "GEN-1", "name": "生成", "city": "武汉"}, "stage": stage.value,
            "as_of": AS_OF.isoformat(), "milestones": milestones, "checks": check_values,
            **lists}


def outcomes(matches: list[Match]) -> set[tuple[str, Any, str]]:
    """The engine's matches, settled, in the oracle's terms."""
    out: set[tuple[str, Any, str]] = set()
    for m in settle(matches):
        if m.key.requirement is not None:
            out.add((m.key.rule_id, m.key.requirement, m.fact_id))
        elif m.key.unknown:
            tag = "closed" if m.key.closed else "unknown"
            out.update((m.key.rule_id, f"{tag}:{p}", m.fact_id) for p in m.key.unknown)
        else:
            out.add((m.key.rule_id, None, m.fact_id))
    return out


def _agree(assessor: Assessor, raw: dict[str, Any]) -> None:
    checklist = assessor.validate(raw)
    stage = Stage(checklist["stage"])
    # the engine sees facts carrying only what the rules read; the oracle reads every field
    # of the full facts, so a field the shape wrongly left out shows as a disagreement
    _, matches = assessor.match(checklist)
    engine = outcomes(matches)
    oracle = expected_matches(assessor.catalog, stage,
                              map_facts(checklist, assessor.check_types[stage]))
    assert engine == oracle, {"raw": raw, "engine only": sorted(engine - oracle, key=str),
                              "oracle only": sorted(oracle - engine, key=str)}


_SETTINGS = settings(max_examples=int(os.environ.get("ORACLE_EXAMPLES", "600")),
                     deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_ASSESSOR = Assessor.from_path()


@_SETTINGS
@given(checklists(Stage.SALES, _ASSESSOR.check_types[Stage.SALES]))
def test_engine_agrees_with_oracle_on_sales_checklists(raw: dict[str, Any]) -> None:
    _agree(_ASSESSOR, raw)


@_SETTINGS
@given(checklists(Stage.DELIVERY, _ASSESSOR.check_types[Stage.DELIVERY]))
def test_engine_agrees_with_oracle_on_delivery_checklists(raw: dict[str, Any]) -> None:
    _agree(_ASSESSOR, raw)


def _bases() -> list[dict[str, Any]]:
    from riskengine.rules.cases import base_checklist
    from riskengine.rules.catalog import DEFAULT_ROOT

    return [base_checklist(DEFAULT_ROOT, stage) for stage in Stage]


def _omitted(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The base with each single fact left out: a milestone, a `checks` key, an item's field."""
    out = []
    for group in ("milestones", "checks"):
        for key in base.get(group) or {}:
            raw = copy.deepcopy(base)
            del raw[group][key]
            out.append(raw)
    for name, spec in LISTS.items():
        for index, item in enumerate(base.get(name) or []):
            for key, f in spec.fields.items():
                if key in item and not f.required:
                    raw = copy.deepcopy(base)
                    del raw[name][index][key]
                    out.append(raw)
    return out


def test_engine_agrees_with_oracle_on_every_single_omission_from_the_bases() -> None:
    cases = [raw for base in _bases() for raw in _omitted(base)]
    assert len(cases) > 100
    for raw in cases:
        _agree(_ASSESSOR, raw)


def test_engine_agrees_with_oracle_on_zero_and_absent_denominators() -> None:
    delivery = next(b for b in _bases() if b["stage"] == "delivery")
    variants = []
    for index in range(len(delivery["inspections"])):
        for change in ({"units_inspected": 0}, {"units_inspected": None},
                       {"defects": [{"kind": "crack", "found": 0, "rectified": 0}]},
                       {"defects": [{"kind": "crack", "found": 3}]},
                       {"defects": []}):
            raw = copy.deepcopy(delivery)
            raw["inspections"][index].update(change)
            raw["inspections"][index] = {k: v for k, v in raw["inspections"][index].items()
                                         if v is not None}
            variants.append(raw)
    undecided = set()
    for raw in variants:
        _agree(_ASSESSOR, raw)
        _, matches = _ASSESSOR.match(_ASSESSOR.validate(raw))
        undecided.update(p for m in settle(matches) for p in m.key.unknown)
    # a zero or absent denominator and an absent numerator are unknown, never 0 %
    assert {"inspection.units_inspected", "defects_found", "defects_rectified"} <= undecided
