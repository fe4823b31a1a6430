"""The generated floor follows the condition language, and says what it cannot express."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bench.engine import FloorMismatch, check_floor
from bench.floor import generate
from riskengine.vocabulary import Stage
from tests.api.support import shared_assessor


class OneRuleset:
    """A catalogue view holding one real ruleset whose first checklist rule's condition is
    replaced."""

    def __init__(self, stage: Stage, when: Any) -> None:
        ruleset = next(r for r in shared_assessor().catalog.for_stage(stage)
                       if any(rule.for_each is None for rule in r.rules))
        rules = list(ruleset.rules)
        index = next(i for i, rule in enumerate(rules) if rule.for_each is None)
        rules[index] = dataclasses.replace(rules[index], when=when)
        self.ruleset = dataclasses.replace(ruleset, rules=tuple(rules))
        self.rule_id = rules[index].id

    def for_stage(self, stage: Stage) -> list[Any]:
        return [self.ruleset]


def test_a_condition_outside_the_language_is_named_not_skipped() -> None:
    view = OneRuleset(Stage.SALES, {"field": "as_of", "is_unknown": True})
    floor = generate(view, Stage.SALES)  # type: ignore[arg-type]
    assert view.rule_id in floor.unsupported
    assert "is_unknown" in floor.unsupported[view.rule_id]
    assert view.rule_id not in floor.source
    # every rule is either written out or named (the ruleset's own cross-list rules too)
    assert floor.rules == len(view.ruleset.rules) - len(floor.unsupported)


def test_a_cross_list_condition_is_named_not_skipped() -> None:
    view = OneRuleset(Stage.SALES, {"some": {"list": "promises", "where": {
        "field": "funded", "eq": False}}})
    floor = generate(view, Stage.SALES)  # type: ignore[arg-type]
    assert view.rule_id in floor.unsupported


def test_the_floor_reads_nested_paths_dates_and_parameters_like_the_engine() -> None:
    view = OneRuleset(Stage.SALES, {"all": [
        {"field": "milestones.launch_date", "lt": {"date": "2027-01-01"}},
        {"field": "count.promises", "gte": 2}]})
    floor = generate(view, Stage.SALES)  # type: ignore[arg-type]
    fact = {"id": "checklist", "milestones": {"launch_date": 738000}, "count": {"promises": 2}}
    found = {m for m in floor.run({"checklist": [fact]}) if m[0] == view.rule_id}
    assert (view.rule_id, None, "checklist") in found
    fact["count"] = {"promises": 1}
    assert not {m for m in floor.run({"checklist": [fact]}) if m[0] == view.rule_id
                and m[1] is None}


def test_a_disagreement_with_the_engine_stops_the_benchmark() -> None:
    engine = {("R-1", None, "promises:0"), ("R-2", 0, "checklist")}
    check_floor("x", engine, set(engine), set())
    with pytest.raises(FloorMismatch, match="R-2"):
        check_floor("x", engine, {("R-1", None, "promises:0")}, set())
    check_floor("x", engine, {("R-1", None, "promises:0")}, {"R-2"})  # named as unsupported
