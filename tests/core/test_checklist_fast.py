"""The validation fast path gives exactly what marshmallow alone gives: value or error."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from bench.inputs import large_delivery, large_sales
from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS, ItemField, ListSpec
from riskengine.checklist.validation import MAX_ITEMS, MAX_NESTED, MAX_TEXT, ChecklistValidator
from riskengine.errors import RiskEngineError
from riskengine.vocabulary import MILESTONES, Stage

from .conftest import EXAMPLES

EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))
ALL_SPECS = [*LISTS.values(), *(child for spec in LISTS.values() for child in spec.nested.values())]

# Per kind of value: what a client gets wrong (types the contract refuses, one past a limit,
# NaN, dates that do not exist) beside what it may rightly send (limits themselves, -0.0, ...).
MISSES: dict[str, list[Any]] = {
    "bool": [1, 0, "true", "false", None, 1.0],
    "int": [True, 2.5, 1.0, -1, 10**9 + 1, "3", None, 10**400, float("nan")],
    "number": [True, False, "1", "far", float("nan"), float("inf"), float("-inf"), 10**12 + 1,
               1.0000000000001e12, -1e13, 10**400, None, [1]],
    "date": ["2026-02-30", "2026-2-03", "20260203", "2026-02-03T00:00", "２０２６-02-03",
             " 2026-02-03", "2026-13-01", "2026-W05-1", 20260203, None, ""],
    "string": [1, True, "x" * (MAX_TEXT + 1), None, ["x"], b"x", 2.5],
    "choice": ["moon", "Other", "OTHER", "", 1, None, ["other"], True],
    "list": ["school", ["moon"], [None], ("school",), [["school"]], None, {}, [1]],
    "code": ["bad code!", "a" * 41, "", "WH 1", b"WH-1", 7, None, ["WH-1"]],
    "container": ["none", None, {}, [], [None], [1], {"kind": "leak"}, [{}], [[]], 0],
    "element": [None, 1, "moon", {}, [], {"kind": "moon"}, {"kind": "other", "colour": 1}],
}
# Bounded numbers (contract `minimum`): a distance is never negative, an area more than zero.
MISSES["distance"] = [*MISSES["number"], -1, -0.001, -(10**12)]
MISSES["area"] = [*MISSES["number"], 0, -0.0, -1, -89.5]
FITS: dict[str, list[Any]] = {
    "bool": [True, False],
    "int": [0, 1, 10**9],
    "number": [0, -0.0, 2.5, 89.5, 10**12, -(10**12), 1e12, -1e12, 7],
    "date": ["2026-02-28", "2024-02-29", "0999-01-01", "9999-12-31"],
    "string": ["", "金口垃圾场（规划）", "x" * MAX_TEXT, "WH-1\n", "\x00"],
    "choice": ["other", "landfill", "planned", "obtained", "civil", "leak", "sales", "delivery"],
    "list": [[], ["school", "school"], ["other", "metro"]],
    "code": ["WH-1", "a" * 40, "A_b-9", "WH-1\n"],
    "container": [[], {}],
    "element": ["school", {"kind": "other"}, {"kind": "other", "id": "X", "topic": "T"}],
}
FITS["distance"] = [0, -0.0, 2.5, 400, 10**12, 1e12]
FITS["area"] = [0.01, 89.5, 7, 10**12]
LIMITS = {name: MAX_NESTED if spec.nested else MAX_ITEMS for name, spec in LISTS.items()}
LIMITS.update({child: MAX_NESTED for spec in LISTS.values() for child in spec.nested})
UNKNOWN_KEYS = ["colour", "launch_day", "quality_docs_ready", "five_certificates_displayed",
                "kind", "defects", "code", "permits"]


def _kind(field: ItemField) -> str:
    if field.type == "list":
        return "list"
    if field.minimum is not None:
        return "area" if field.above_minimum else "distance"
    return "choice" if field.choices else str(field.type)


def _kinds(validator: ChecklistValidator) -> dict[str, str]:
    """The kind of value each key of a checklist holds, whatever object it sits in."""
    kinds = {key: _kind(f) for spec in ALL_SPECS for key, f in spec.fields.items()}
    kinds.update({key: str(check.type) for stage in Stage
                  for key, check in validator.checks[stage].items()})
    kinds.update(dict.fromkeys(MILESTONES, "date"))
    kinds.update({"as_of": "date", "stage": "choice", "code": "code", "submitted_by": "string",
                  "city": "string", "project": "container", "milestones": "container",
                  "checks": "container", "defects": "container"})
    kinds.update(dict.fromkeys(LISTS, "container"))
    return kinds


def _declared(validator: ChecklistValidator, data: dict[str, Any]) -> dict[str, Any]:
    """The checklist with `checks` cut to the keys its stage's rulesets declare."""
    declared = validator.checks[Stage(data["stage"])]
    data["checks"] = {k: v for k, v in data.get("checks", {}).items() if k in declared}
    return data


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _shape(value: Any) -> Any:
    """The value with every type and order made visible (1, 1.0 and True differ; NaN is 'nan')."""
    if isinstance(value, dict):
        return (dict, [(_shape(k), _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (list, [_shape(v) for v in value])
    return (type(value), repr(value) if isinstance(value, float) else value)


def _plain_json(value: Any) -> bool:
    try:
        return bool(_shape(json.loads(json.dumps(value))) == _shape(value))
    except (TypeError, ValueError):
        return False


def _outcome(validator: ChecklistValidator, raw: Any, *, fast: bool) -> Any:
    try:
        return ("valid", _shape(validator.validate(raw, fast=fast)))
    except RiskEngineError as error:
        return (type(error).__name__, error.message, list(error.details.items()), str(error))
    except Exception as error:  # whatever escapes one way must escape the other
        return (type(error).__name__, str(error))


def _fitting(field: ItemField) -> st.SearchStrategy[Any]:
    if field.type == "list":
        each = st.sampled_from(field.choices or tuple(FITS["string"]))  # no choices: text
        return st.lists(each, max_size=3)
    if field.choices:
        return st.sampled_from(field.choices)
    return st.sampled_from(FITS[str(field.type)])


def _item(spec: ListSpec) -> st.SearchStrategy[dict[str, Any]]:
    """A valid item of a contract list, its optional fields some left out, some null."""
    values: dict[str, st.SearchStrategy[Any]] = {
        k: _fitting(f) if f.required else st.one_of(st.none(), _fitting(f))
        for k, f in spec.fields.items()}
    values.update({child: st.lists(_item(child_spec), max_size=3)
                   for child, child_spec in spec.nested.items()})
    required = [k for k, f in spec.fields.items() if f.required]
    optional = sorted(set(values) - set(required))
    return st.lists(st.sampled_from(optional), unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: values[k] for k in [*required, *keys]}))


Spot = tuple[Any, Any, str]  # an object and its key, or a list and its index; the value's kind


def _spots(data: Any, kinds: dict[str, str]) -> Iterator[Spot]:
    """Every place of a checklist that holds a value."""
    slots = data.keys() if isinstance(data, dict) else range(len(data))
    for slot in list(slots):
        yield data, slot, kinds.get(slot, "element") if isinstance(data, dict) else "element"
        if isinstance(data[slot], (dict, list)):
            yield from _spots(data[slot], kinds)


@st.composite
def _mutated(draw: st.DrawFn, bases: dict[str, dict[str, Any]],
             kinds: dict[str, str]) -> dict[str, Any]:
    """A contract example, some lists regenerated, then up to three things changed in it."""
    data = copy.deepcopy(bases[draw(st.sampled_from(sorted(bases)))])
    for name in draw(st.lists(st.sampled_from(sorted(LISTS)), max_size=3, unique=True)):
        data[name] = draw(st.lists(_item(LISTS[name]), max_size=4))
    for _ in range(draw(st.integers(0, 3))):
        spots = list(_spots(data, kinds))
        action = draw(st.sampled_from(["value", "delete", "add", "repeat"]))
        if action == "value" and spots:
            target, slot, kind = draw(st.sampled_from(spots))
            target[slot] = copy.deepcopy(draw(st.sampled_from(MISSES[kind] + FITS[kind])))
        elif action == "delete" and spots:
            target, slot, _ = draw(st.sampled_from(spots))
            del target[slot]
        elif action == "add":
            objects = [data, *(t[s] for t, s, _ in spots if isinstance(t[s], dict))]
            value = draw(st.sampled_from(MISSES[draw(st.sampled_from(sorted(MISSES)))]))
            draw(st.sampled_from(objects))[draw(st.sampled_from(UNKNOWN_KEYS))] = value
        else:
            _lengthen(draw, [(t[s], LIMITS.get(s)) for t, s, _ in spots
                             if isinstance(t[s], list) and t[s]])
    return data


def _lengthen(draw: st.DrawFn, lists: list[tuple[list[Any], int | None]]) -> None:
    """Repeat an item of a list: once, or up to a small limit, or one past it."""
    if lists:
        target, limit = draw(st.sampled_from(lists))
        small = [limit, limit + 1] if limit == MAX_NESTED else []  # MAX_ITEMS: its own test
        length = draw(st.sampled_from([len(target) + 1, *small]))
        target.extend(copy.deepcopy(target[-1]) for _ in range(length - len(target)))


@pytest.fixture(scope="module")
def validator(assessor: Assessor) -> ChecklistValidator:
    return assessor.validator


@pytest.fixture(scope="module")
def examples(validator: ChecklistValidator) -> dict[str, dict[str, Any]]:
    return {name: _declared(validator, _example(name)) for name in EXAMPLE_NAMES}


def _same_both_ways(validator: ChecklistValidator, raw: Any) -> str:
    before = _shape(raw)
    marshmallow = _outcome(validator, raw, fast=False)
    assert _outcome(validator, raw, fast=True) == marshmallow
    assert _shape(raw) == before, "validation changed its input"
    if marshmallow[0] == "valid" and _plain_json(raw):
        # any valid JSON checklist is the fast path's own: it raises rather than fall back
        validator.fast[Stage(raw["stage"])](raw)
    return str(marshmallow[0])


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fast_path_matches_marshmallow_on_near_valid_checklists(
        validator: ChecklistValidator, examples: dict[str, dict[str, Any]],
        data: st.DataObject) -> None:
    kinds = _kinds(validator)
    raw = data.draw(_mutated(examples, kinds))
    as_drawn = _same_both_ways(validator, raw)
    event(f"as drawn: {as_drawn}")
    # Then, in one place of each kind (of one kind when already invalid), every value of that
    # kind in turn: one wrong value in a checklist otherwise valid is where a fast path that
    # accepts too much shows, and drawn at random it is rare.
    spots = list(_spots(raw, kinds))
    present = sorted({kind for _, _, kind in spots})
    if present and as_drawn != "valid":
        present = [data.draw(st.sampled_from(present))]
    for kind in present:
        target, slot, _ = data.draw(st.sampled_from([s for s in spots if s[2] == kind]))
        original = target[slot]
        for value in MISSES[kind] + FITS[kind]:
            note(f"{slot!r} = {value!r}")
            target[slot] = copy.deepcopy(value)
            event(f"{kind} swapped in: {_same_both_ways(validator, raw)}")
        target[slot] = original


@pytest.mark.parametrize("build", [
    *(pytest.param(lambda name=name: _example(name), id=name) for name in EXAMPLE_NAMES),
    pytest.param(large_sales, id="large-sales-330"),
    pytest.param(large_delivery, id="large-delivery-330"),
])
def test_valid_checklists_are_vouched_for_by_the_fast_path_alone(
        validator: ChecklistValidator, build: Callable[[], dict[str, Any]]) -> None:
    raw = _declared(validator, build())
    # the compiled check itself, which raises where validate() would fall back to marshmallow
    fast = validator.fast[Stage(raw["stage"])](raw)
    assert _shape(fast) == _shape(validator.validate(raw, fast=False))


@pytest.mark.parametrize("name", sorted(LISTS))
def test_lists_at_their_limit_and_past_it(validator: ChecklistValidator,
                                          base: Callable[[str], dict[str, Any]],
                                          name: str) -> None:
    item = {k: f.choices[0] if f.choices else "X"
            for k, f in LISTS[name].fields.items() if f.required}
    for stage in Stage:
        for length in (LIMITS[name], LIMITS[name] + 1):
            raw = base(stage.value)
            raw[name] = [copy.deepcopy(item) for _ in range(length)]
            _same_both_ways(validator, raw)


def test_base_checklists_of_every_stage_match(validator: ChecklistValidator,
                                              base: Callable[[str], dict[str, Any]]) -> None:
    for stage in Stage:
        raw = base(stage.value)
        assert _shape(validator.fast[stage](raw)) == _shape(validator.validate(raw, fast=False))


@pytest.mark.parametrize("raw", [
    pytest.param({"stage": "sales"}, id="nearly-empty"),
    pytest.param({"stage": "handover", "colour": 1}, id="unknown-stage"),
    pytest.param({"stage": ["sales"]}, id="unhashable-stage"),
    pytest.param({"stage": {"sales": 1}}, id="object-stage"),
    pytest.param(["not", "an", "object"], id="not-an-object"),
])
def test_hopeless_checklists_fail_the_same_way(validator: ChecklistValidator, raw: Any) -> None:
    outcome = _outcome(validator, raw, fast=True)
    assert outcome == _outcome(validator, raw, fast=False)
    assert outcome[0] == "ChecklistInvalid", outcome  # never an unexpected error (a 500)


def _coherence_cases(base: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Checklists valid field by field whose values contradict each other."""
    def patched(**lists: Any) -> dict[str, Any]:
        raw = copy.deepcopy(base)
        raw.update(lists)
        return raw
    yield "twin-promises", patched(promises=[{"id": "P-2", "kind": "other"},
                                             {"id": "P-2", "kind": "park"}])
    yield "three-permits", patched(permits=[{"kind": "presale_permit"}] * 3)
    yield "future-permit", patched(permits=[{"kind": "presale_permit", "status": "obtained",
                                             "obtained_date": "9999-12-31"}])
    yield "rectified-more", patched(inspections=[{"phase": "civil", "defects": [
        {"kind": "leak", "found": 3, "rectified": 4}]}])
    yield "summed-complaints", patched(complaints=[{"topic": "车位", "open_count": 2}] * 2)
    yield "negative-distance", patched(offsite_factors=[{"kind": "landfill", "distance_m": -1}])
    yield "and-a-type-error", patched(promises=[{"id": "P-2", "kind": "other"}] * 2,
                                      complaints=[{"topic": "车位", "open_count": "2"}])


def test_contradictions_are_refused_the_same_both_ways(
        validator: ChecklistValidator, base: Callable[[str], dict[str, Any]]) -> None:
    outcomes = {}
    for stage in Stage:
        for name, raw in _coherence_cases(_declared(validator, base(stage.value))):
            outcomes[stage, name] = _same_both_ways(validator, raw)
    assert outcomes[Stage.SALES, "summed-complaints"] == "valid"
    assert {name for (_, name), outcome in outcomes.items() if outcome == "valid"} == {
        "summed-complaints"}
