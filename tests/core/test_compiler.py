"""The compiler is a pure function: golden files pin its output; bad conditions are refused."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from riskengine.errors import RulesetInvalid
from riskengine.rules.catalog import Catalog, load_catalog
from riskengine.rules.compiler import RuleProblem, compile_rule, compile_ruleset

from .conftest import DATA

CJK = re.compile(r"[\u4e00-\u9fff]")

GOLDEN = Path(__file__).resolve().parent / "golden"
FIXTURES = DATA / "rulesets"


@pytest.fixture(scope="module")
def fixture_catalog() -> Catalog:
    return load_catalog(FIXTURES)


def _checks(catalog: Catalog, stage: Any) -> dict[str, Any]:
    return {k: v.type for k, v in catalog.checks(stage).items()}


@pytest.mark.parametrize("ruleset_id", ["sales.fixture", "sales.offsite", "delivery.fixture"])
def test_compiled_ruleset_matches_golden_file(fixture_catalog: Catalog, ruleset_id: str) -> None:
    ruleset = fixture_catalog.ruleset(ruleset_id)
    assert ruleset is not None
    compiled = compile_ruleset(ruleset, _checks(fixture_catalog, ruleset.stage))
    text = json.dumps(compiled.definition, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    golden = GOLDEN / f"{ruleset_id}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "UPDATE_GOLDEN=1, then review the diff"


def test_compiling_twice_gives_identical_output(fixture_catalog: Catalog) -> None:
    ruleset = fixture_catalog.ruleset("sales.fixture")
    assert ruleset is not None
    checks = _checks(fixture_catalog, ruleset.stage)
    assert compile_ruleset(ruleset, checks) == compile_ruleset(ruleset, checks)


def test_every_leaf_guards_its_fields_and_references(fixture_catalog: Catalog) -> None:
    # durable treats a comparison with a missing (referenced) field as true inside $and
    ruleset = fixture_catalog.ruleset("sales.fixture")
    assert ruleset is not None
    body = compile_ruleset(ruleset, _checks(fixture_catalog, ruleset.stage)).definition
    tests = body["SALES-FIXTURE-001"]["all"][0]["m"]["$and"]
    assert {"$ex": {"milestones.launch_date": 1}} in tests
    assert {"$ex": {"expected_date": 1}} in tests
    assert {"$gt": {"expected_date": {"$sub": {"$l": {"$m": "milestones.launch_date"},
                                               "$r": 7}}}} in tests


def test_any_becomes_one_durable_rule_per_alternative(fixture_catalog: Catalog) -> None:
    ruleset = fixture_catalog.ruleset("sales.fixture")
    assert ruleset is not None
    compiled = compile_ruleset(ruleset, _checks(fixture_catalog, ruleset.stage))
    keys = [k for k in compiled.keys if compiled.keys[k].rule_id == "SALES-FIXTURE-003"
            and compiled.keys[k].decided]
    assert keys == ["SALES-FIXTURE-003", "SALES-FIXTURE-003|1", "SALES-FIXTURE-003|2",
                    "SALES-FIXTURE-003|3"]
    # negation is compiled only as a join over another list, behind the END fact
    assert "$not" not in json.dumps(compiled.definition)


def _rule_with(catalog: Catalog, when: Any) -> Any:
    from dataclasses import replace

    ruleset = catalog.ruleset("sales.fixture")
    assert ruleset is not None
    return replace(ruleset.rules[0], when=when), ruleset


@pytest.mark.parametrize(("when", "problem"), [
    pytest.param({"field": "no_such_field", "eq": 1}, "is not a fact", id="unknown-field"),
    pytest.param({"field": "status", "eq": 1, "ne": 2}, "exactly one", id="two-operators"),
    pytest.param({"field": "status", "in": []}, "non-empty list", id="empty-in"),
    pytest.param({"field": "status", "eq": {"param": "nope"}}, "not a parameter", id="no-param"),
    pytest.param({"all": []}, "non-empty list", id="empty-all"),
    pytest.param({"field": "status", "lt": "x"}, "compares numbers", id="ordered-string"),
    pytest.param({"field": "kind", "eq": {"field": "status", "offset_days": 3}},
                 "compares dates", id="offset-on-non-date"),
    pytest.param({"ratio": ["expected_date"], "gt": 1}, "NUMERATOR", id="bad-ratio"),
    pytest.param({"field": "status", "exists": "yes"}, "true or false", id="exists-non-bool"),
    pytest.param({"field": "status", "eq": {"date": "2026-13-01"}}, "YYYY-MM-DD", id="bad-date"),
])
def test_bad_conditions_are_refused_with_a_reason(fixture_catalog: Catalog, when: Any,
                                                  problem: str) -> None:
    rule, ruleset = _rule_with(fixture_catalog, when)
    with pytest.raises(RuleProblem) as refused:
        compile_rule(rule, ruleset, _checks(fixture_catalog, ruleset.stage))
    assert re.search(problem, refused.value.said.say("en")), refused.value.said.say("en")
    assert CJK.search(str(refused.value))  # said in Chinese unless English is asked for


def test_a_conjunction_over_the_engine_node_limit_is_refused(fixture_catalog: Catalog) -> None:
    # durable_rules 2.0.28 refuses more than 15 and/or nodes in one condition (error 113)
    kinds = ["presale_permit", "construction_permit", "eia_approval", "land_use_certificate"]
    many = {"all": [{"field": "kind", "in": [kinds[0], kinds[1 + i % 3], f"k{i}"]}
                    for i in range(16)]}
    rule, ruleset = _rule_with(fixture_catalog, many)
    with pytest.raises(RuleProblem) as refused:
        compile_rule(rule, ruleset, _checks(fixture_catalog, ruleset.stage))
    assert "and/or nodes" in refused.value.said.say("en")
    assert "个 and/or 节点" in str(refused.value)


def test_a_bad_file_stops_loading_with_path_rule_and_every_problem(tmp_path: Path) -> None:
    root = tmp_path / "rulesets"
    (root / "sales").mkdir(parents=True)
    (root / "delivery").mkdir()
    (root / "policy.yaml").write_text((FIXTURES / "policy.yaml").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    text = (FIXTURES / "sales" / "fixture.yaml").read_text(encoding="utf-8")
    text = text.replace("severity: high", "severity: huge", 1)
    text = text.replace("owner: marketing", "owner: nobody", 1)
    text = text.replace("{field: checks.flag, eq: false}", "{field: checks.nope, eq: false}")
    (root / "sales" / "fixture.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesetInvalid) as caught:
        load_catalog(root)
    details = caught.value.details
    path = str(root / "sales" / "fixture.yaml")
    assert any("severity" in p for p in details[f"{path}: SALES-FIXTURE-001"])
    assert any("owner" in p for p in details[f"{path}: SALES-FIXTURE-002"])
    assert any("checks.nope" in p for p in details[f"{path}: SALES-FIXTURE-003"])
