"""One durable ruleset per stage, facts carrying only what its rules read, and the engine's
per-node tables checked before durable sees a definition (rules/network.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import durable_rules_engine
import pytest

from bench.inputs import inputs
from riskengine.assessment.assessor import Assessor
from riskengine.assessment.facts import map_facts
from riskengine.assessment.findings import FindingBuilder
from riskengine.errors import RulesetInvalid
from riskengine.rules import network
from riskengine.rules.catalog import load_catalog
from riskengine.rules.compiler import END, SENTINEL_KEY, RuleProblem, compile_stage
from riskengine.rules.network import NetworkTooLarge, check_network
from riskengine.vocabulary import Lang, Stage

from .conftest import DATA


def _paths(fact: Mapping[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in fact.items():
        out |= _paths(value, f"{prefix}{key}.") if type(value) is dict else {prefix + key}
    return out


def test_the_engine_loads_one_ruleset_per_stage(assessor: Assessor) -> None:
    assert set(assessor.engine.rulesets) == {s.value for s in Stage}
    for stage in Stage:
        compiled = assessor.catalog.stages[stage]
        parts = [assessor.catalog.compiled[r.id] for r in assessor.catalog.for_stage(stage)]
        # every durable rule of every ruleset, each with the key it had, and one sentinel
        assert {k: v for k, v in compiled.keys.items()} == {
            k: v for part in parts for k, v in part.keys.items()}
        assert sum(1 for k in compiled.definition if k == SENTINEL_KEY) == 1
        assert len(compiled.definition) == sum(len(p.definition) - 1 for p in parts) + 1


def test_a_key_used_twice_in_a_stage_is_refused(assessor: Assessor) -> None:
    part = assessor.catalog.compiled["sales.parking"]
    with pytest.raises(RuleProblem) as refused:
        compile_stage("sales", [part, part])
    assert "also used by another ruleset of stage Sales" in refused.value.said.say("en")
    assert "也被“销售”阶段的另一个规则集使用" in str(refused.value)


@pytest.mark.parametrize("name", list(inputs()))
def test_facts_carry_only_what_the_rules_read(assessor: Assessor, name: str) -> None:
    checklist = assessor.validate(inputs()[name])
    stage = Stage(checklist["stage"])
    reads = assessor.catalog.stages[stage].reads
    facts = assessor.facts(checklist)
    full = map_facts(checklist, assessor.check_types[stage])
    assert set(facts.by_type) <= set(reads)
    for kind, shaped in facts.by_type.items():
        assert len(shaped) == len(full.by_type[kind])
        for fact, whole in zip(shaped, full.by_type[kind], strict=True):
            carried = _paths(fact) - {"id", "t", "sid"}
            assert carried <= reads[kind], (kind, carried - reads[kind])
            # what is carried is what the full fact says, and nothing read is left out
            wanted = {p for p in _paths(whole) if p in reads[kind]}
            assert carried == wanted, (kind, wanted ^ carried)
    # milestones and as_of are no longer copied into items whose rules never read them
    assert "milestones.launch_date" not in reads.get("offsite_factors", frozenset())
    assert all("milestones" not in f for f in facts.by_type.get("offsite_factors", []))


@pytest.mark.parametrize("name", list(inputs()))
def test_full_and_shaped_facts_give_the_same_findings(assessor: Assessor, name: str) -> None:
    checklist = assessor.validate(inputs()[name])
    stage = Stage(checklist["stage"])
    full = map_facts(checklist, assessor.check_types[stage])
    from_full = FindingBuilder(assessor.catalog, checklist, full).build(
        assessor.engine.evaluate([stage.value], full.by_type))
    shaped = assessor.assess_valid(checklist).findings
    assert [f.to_dict(lang) for f in from_full for lang in Lang] == [
        f.to_dict(lang) for f in shaped for lang in Lang]
    assert len(shaped) > 0


def _rules(count: int, test: Any) -> dict[str, Any]:
    rules = {f"r{i}": {"all": [{"m": {"$and": [{"t": "x"}, test(i)]}}]} for i in range(count)}
    rules[SENTINEL_KEY] = {"all": [{"m": {"t": END}}]}
    return rules


def test_the_network_check_refuses_before_durable_does() -> None:
    # durable's own tables: 128 absence tests after one node (error 107), 256 rules ending at
    # one node (error 108); the check refuses earlier, naming the node and the count
    absences = _rules(130, lambda i: {"$nex": {f"f{i}": 1}})
    alike = _rules(260, lambda i: {"f": 1})
    for definition, code in ((absences, "107"), (alike, "108")):
        with pytest.raises(Exception, match=code):
            durable_rules_engine.create_ruleset(f"network-{code}", _json(definition))
    with pytest.raises(NetworkTooLarge) as refused:
        check_network("absences", absences)
    assert re.search(r"130 absence tests .* follow t \$eq 'x'", refused.value.said.say("en"))
    assert "t $eq 'x' 之后有 130 个缺失测试" in str(refused.value)
    with pytest.raises(NetworkTooLarge) as refused:
        check_network("alike", alike)
    assert "260 rules end at t $eq 'x' → f $eq 1" in refused.value.said.say("en")
    many = _rules(network.MAX_TESTS + 1, lambda i: {"f": i})
    with pytest.raises(NetworkTooLarge) as refused:
        check_network("many", many)
    assert f"{network.MAX_TESTS + 1} tests follow" in refused.value.said.say("en")
    check_network("fits", _rules(network.MAX_TESTS, lambda i: {"f": i}))


def test_a_stage_that_overflows_the_engine_is_refused_with_its_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_RULES_AT_NODE", 1)
    with pytest.raises(RulesetInvalid) as refused:
        load_catalog(DATA / "rulesets")
    problems = refused.value.in_lang("en")[1]
    assert any(where.startswith("rulesets/") and "does not fit the rule engine" in " ".join(text)
               for where, text in problems.items()), problems
    assert any("超出规则引擎的容量" in " ".join(text) for text in refused.value.details.values())


def _json(definition: Mapping[str, Any]) -> str:
    import json

    return json.dumps(definition)


def test_a_path_read_that_facts_never_hold_is_refused_at_load() -> None:
    from riskengine.assessment.facts import Shape

    with pytest.raises(ValueError, match=r"offsite_factors read \['distance_km'\]"):
        Shape({"offsite_factors": frozenset({"kind", "distance_km"})})
    assert Shape({"offsite_factors": frozenset({"kind", "as_of", "milestones.launch_date"})})
