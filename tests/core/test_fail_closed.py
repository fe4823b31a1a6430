"""Fail closed: what an unknown is named, closed sets as data, sums per topic."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS
from riskengine.errors import RulesetInvalid
from riskengine.rules.catalog import load_catalog
from riskengine.vocabulary import MILESTONES, Lang, Stage

from .conftest import DATA


def _findings(assessor: Assessor, checklist: dict[str, Any]) -> dict[str, Any]:
    return {f.subject: f for f in assessor.assess(checklist).findings}


def test_a_missing_item_field_is_named_by_its_labels_and_row(
        assessor: Assessor, bases: dict[Stage, dict[str, Any]]) -> None:
    checklist = copy.deepcopy(bases[Stage.SALES])
    del checklist["offsite_factors"][0]["distance_m"]
    found = _findings(assessor, checklist)["offsite_factors[0].distance_m"]
    assert found.category.value == "information"
    assert found.severity.value == "critical" and found.blocking  # SALES-OFFSITE-001 needs it
    zh, en = found.texts[Lang.ZH], found.texts[Lang.EN]
    assert "红线外不利因素（现有或规划中） 第 1 行 · 距离（米）" in zh.message
    assert "row 1 · Distance (m)" in en.message
    assert "distance_m" not in zh.message + zh.action + zh.title


def test_a_missing_check_is_named_by_its_description(
        assessor: Assessor, bases: dict[Stage, dict[str, Any]]) -> None:
    checklist = copy.deepcopy(bases[Stage.SALES])
    del checklist["checks"]["parking_info_disclosed"]
    found = _findings(assessor, checklist)["checks.parking_info_disclosed"]
    assert "checks." not in found.texts[Lang.ZH].message
    spec = assessor.catalog.checks(Stage.SALES)["parking_info_disclosed"]
    assert spec.description["zh"] in found.texts[Lang.ZH].message


def test_a_closed_set_member_not_listed_is_named_by_its_label(
        assessor: Assessor, bases: dict[Stage, dict[str, Any]]) -> None:
    checklist = copy.deepcopy(bases[Stage.DELIVERY])
    checklist["acceptances"] = [a for a in checklist["acceptances"] if a["kind"] != "energy"]
    found = _findings(assessor, checklist)["acceptances/energy"]
    assert found.category.value == "information" and found.blocking
    assert "节能验收" in found.texts[Lang.ZH].message
    assert "竣工验收备案及五项专项验收" in found.texts[Lang.ZH].message  # the set's title
    assert "energy acceptance" in found.texts[Lang.EN].message


def test_the_open_day_prerequisites_are_closed_only_while_an_open_day_is_set(
        assessor: Assessor, bases: dict[Stage, dict[str, Any]]) -> None:
    checklist = copy.deepcopy(bases[Stage.DELIVERY])
    for key in [k for k in checklist["checks"] if k.startswith("open_day_")]:
        del checklist["checks"][key]
    checklist["milestones"].pop("open_day_date", None)
    assert not [s for s in _findings(assessor, checklist) if "open_day" in s]
    checklist["milestones"]["open_day_date"] = checklist["as_of"]
    named = {s for s in _findings(assessor, checklist) if s.startswith("checks.open_day_")}
    assert len(named) == 5


def test_defects_of_one_kind_in_one_inspection_are_summed(
        assessor: Assessor, bases: dict[Stage, dict[str, Any]]) -> None:
    checklist = copy.deepcopy(bases[Stage.DELIVERY])
    # 40 + 30 hollow plaster in 200 units: 0.35 per unit, over the 0.3 threshold; neither row
    # alone is over it
    checklist["inspections"][0]["defects"] = [
        {"kind": "hollow_plaster", "found": 40, "rectified": 40},
        {"kind": "hollow_plaster", "found": 30, "rectified": 30}]
    found = _findings(assessor, checklist)["inspections[0].defects[0]"]
    assert found.rule_id == "DELIVERY-QUALITY-003"
    assert found.evidence["found"] == 70


def _fixture_root(tmp_path: Path, closed_sets: str) -> Path:
    root = tmp_path / "rulesets"
    (root / "sales").mkdir(parents=True)
    (root / "delivery").mkdir()
    fixtures = DATA / "rulesets"
    (root / "policy.yaml").write_text((fixtures / "policy.yaml").read_text("utf-8"), "utf-8")
    text = (fixtures / "sales" / "fixture.yaml").read_text("utf-8")
    (root / "sales" / "fixture.yaml").write_text(
        text.replace("\nrules:\n", "\n" + closed_sets + "rules:\n", 1), "utf-8")
    return root


@pytest.mark.parametrize(("block", "problem"), [
    ("closed_sets:\n  - {list: permits, members: [presale_permit, warp_drive], "
     "title: {zh: 证照, en: Permits}}\n", "warp_drive"),
    ("closed_sets:\n  - {list: complaints, members: [x], title: {zh: 投诉, en: Complaints}}\n",
     "not a list with a kind"),
    ("closed_sets:\n  - {members: [flag], title: {zh: 标志, en: Flag}}\n", "checks: true"),
])
def test_a_bad_closed_set_stops_loading(tmp_path: Path, block: str, problem: str) -> None:
    with pytest.raises(RulesetInvalid) as caught:
        load_catalog(_fixture_root(tmp_path, block))
    assert any(problem in p for lines in caught.value.in_lang("en")[1].values() for p in lines)


def test_a_closed_set_takes_the_most_severe_rule_about_it(tmp_path: Path) -> None:
    catalog = load_catalog(_fixture_root(tmp_path, (
        "closed_sets:\n  - {list: permits, members: [presale_permit, eia_approval], "
        "title: {zh: 证照, en: Permits}}\n")))
    ruleset = catalog.ruleset("sales.fixture")
    assert ruleset is not None
    (closed,) = ruleset.closed_sets
    rules = {r.id: r for r in ruleset.rules}
    about = [r for r in ruleset.rules if r.for_each == "permits"]
    assert {rules[i].severity for i in closed.rule_ids} == {
        max(about, key=lambda r: catalog.policy.rank[r.severity]).severity}


def test_a_closed_set_whose_condition_does_not_compile_stops_loading(tmp_path: Path) -> None:
    block = ("closed_sets:\n  - {list: permits, members: [presale_permit], when: "
             "{field: milestones.nope, exists: true}, title: {zh: 证照, en: Permits}}\n")
    with pytest.raises(RulesetInvalid) as caught:
        load_catalog(_fixture_root(tmp_path, block))
    (where,) = [k for k in caught.value.details if "closed_sets[0]" in k]
    assert any("milestones.nope" in p for p in caught.value.details[where])


def test_every_fact_a_missing_finding_can_name_has_a_label(assessor: Assessor) -> None:
    labels = assessor.catalog.policy.labels["field"]
    names = set(MILESTONES) | {"defects_found", "defects_rectified"}
    for name, spec in LISTS.items():
        names |= {name, *spec.fields}
        for child, child_spec in spec.nested.items():
            names |= {child, *child_spec.fields}
    assert sorted(n for n in names if n not in labels) == []
    assert all(labels[n]["zh"] and labels[n]["en"] for n in names)


def test_a_rule_file_that_is_not_yaml_is_refused_at_its_line_in_both_languages(
        tmp_path: Path) -> None:
    root = _fixture_root(tmp_path, "")
    (root / "sales" / "fixture.yaml").write_text("ruleset: sales.fixture\nrules: [\n  a: b: c\n",
                                                 encoding="utf-8")
    with pytest.raises(RulesetInvalid) as caught:
        load_catalog(root)
    (zh,), = caught.value.details.values()
    (en,), = caught.value.in_lang("en")[1].values()
    assert zh == "第 3 行第 7 列不是有效的 YAML"
    assert en.startswith("not valid YAML at line 3, column 7: ")
