"""Checklist validation: every problem at once, with its path and what is allowed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.validation import read_checklist
from riskengine.errors import ChecklistInvalid, ChecklistUnreadable
from riskengine.vocabulary import Lang

Base = Callable[[str], dict[str, Any]]


def _problems(assessor: Assessor, checklist: Any, lang: str = "en") -> dict[str, list[str]]:
    with pytest.raises(ChecklistInvalid) as caught:
        assessor.validate(checklist)
    details: dict[str, list[str]] = caught.value.in_lang(lang)[1]
    return details


def test_every_problem_is_reported_at_once_with_its_path(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["project"]["code"] = "bad code!"
    checklist["as_of"] = "2026-02-30"
    checklist["offsite_factors"] = [{"kind": "volcano", "distance_m": "far",
                                     "disclosed_publicly": "yes"}]
    checklist["checks"]["sales_staff_trained"] = 1
    checklist["colour"] = "blue"
    details = _problems(assessor, checklist)
    assert set(details) == {"project.code", "as_of", "offsite_factors.0.kind",
                            "offsite_factors.0.distance_m", "offsite_factors.0.disclosed_publicly",
                            "checks.sales_staff_trained", "colour"}
    assert "letters, digits" in details["project.code"][0]
    assert details["as_of"] == ["As-of date: must be a date YYYY-MM-DD"]
    assert details["offsite_factors.0.kind"][0].startswith(
        "Off-site factors row 1 · Kind: must be one of: landfill, waste station")
    assert details["offsite_factors.0.distance_m"] == [
        "Off-site factors row 1 · Distance (m): must be a number"]
    assert details["offsite_factors.0.disclosed_publicly"] == [
        "Off-site factors row 1 · Disclosed publicly: must be yes or no"]
    assert details["checks.sales_staff_trained"][0].endswith(": must be yes or no")
    assert "no field “colour”" in details["colour"][0]
    chinese = _problems(assessor, checklist, "zh")
    assert set(chinese) == set(details)
    assert chinese["offsite_factors.0.distance_m"] == [
        "场外不利因素 第 1 行 · 距离（米）：须为数字"]
    assert chinese["offsite_factors.0.kind"][0].startswith(
        "场外不利因素 第 1 行 · 类型：须为以下之一：垃圾场、垃圾站")


def test_unknown_check_key_lists_the_keys_of_the_stage(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["checks"]["quality_docs_ready"] = True  # a delivery key in a sales checklist
    message = _problems(assessor, checklist)["checks.quality_docs_ready"][0]
    assert "the Sales stage has no check" in message and "five_certificates_displayed" in message


@pytest.mark.parametrize(("patch", "path"), [
    pytest.param({"stage": "handover"}, "stage", id="stage-enum"),
    pytest.param({"project": {"name": "x"}}, "project.code", id="code-required"),
    pytest.param({"permits": [{"status": "obtained"}]}, "permits.0.kind", id="kind-required"),
    pytest.param({"milestones": {"launch_day": "2026-12-01"}}, "milestones.launch_day",
                 id="unknown-milestone"),
    pytest.param({"complaints": [{"topic": "车位", "open_count": 2.5}]},
                 "complaints.0.open_count", id="int-not-float"),
    pytest.param({"complaints": [{"topic": "车位", "open_count": -1}]},
                 "complaints.0.open_count", id="negative-count"),
    pytest.param({"sales_materials": [{"id": "A", "kind": "brochure", "mentions": ["moon"]}]},
                 "sales_materials.0.mentions.0", id="mention-enum"),
    pytest.param({"permits": "none"}, "permits", id="list-not-string"),
])
def test_single_problems_name_their_path(assessor: Assessor, base: Base, patch: dict[str, Any],
                                         path: str) -> None:
    checklist = base("sales")
    checklist.update(patch)
    assert path in _problems(assessor, checklist)


def test_a_non_object_is_refused(assessor: Assessor) -> None:
    assert "checklist" in _problems(assessor, ["not", "an", "object"])


def test_unreadable_json_says_where(assessor: Assessor) -> None:
    with pytest.raises(ChecklistUnreadable) as caught:
        read_checklist('{"stage": "sales",')
    assert caught.value.message == "无法读取 JSON：第 1 行第 19 列：此处应为带双引号的键"
    assert caught.value.details["checklist"] == ["第 1 行第 19 列"]
    assert caught.value.in_lang("en") == (
        "cannot read the JSON: line 1, column 19: a key in double quotes is expected",
        {"checklist": ["line 1, column 19"]})


def test_chinese_text_is_kept_intact(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["offsite_factors"] = [{"kind": "landfill", "name": "金口垃圾场（规划）",
                                     "distance_m": 400, "planned": True,
                                     "disclosed_publicly": False, "in_contract_appendix": False}]
    finding = next(f for f in assessor.assess(checklist).to_dict()["findings"]
                   if f["subject"] == "offsite_factors[0]")
    assert finding["evidence"]["name"] == "金口垃圾场（规划）"
    assert "金口垃圾场（规划）" in finding["message"]


def test_null_means_not_given(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["checks"]["parking_info_disclosed"] = None
    findings = assessor.assess(checklist).findings
    assert [(f.category.value, f.subject) for f in findings] == [
        ("information", "checks.parking_info_disclosed")]


def test_text_is_capped_far_below_the_engines_string_limit(assessor: Assessor, base: Base) -> None:
    # durable refuses strings over 16 MB (error 314); no checklist text gets near it
    checklist = base("sales")
    checklist["offsite_factors"] = [{"kind": "other", "name": "x" * 4001}]
    assert "at most 4000" in _problems(assessor, checklist)["offsite_factors.0.name"][0]


# --- nonsense is refused, duplicates are named (risk-catalogue.md) ----------------------------

@pytest.mark.parametrize(("stage", "patch", "path", "problem"), [
    pytest.param("sales", {"offsite_factors": [{"kind": "landfill", "distance_m": -400}]},
                 "offsite_factors.0.distance_m",
                 "Off-site factors row 1 · Distance (m): must be at least 0",
                 id="negative-distance"),
    pytest.param("delivery", {"area_survey": [{"unit_type": "A1", "contract_area_m2": 0}]},
                 "area_survey.0.contract_area_m2", "Contract area (m²): must be more than 0",
                 id="zero-area"),
    pytest.param("delivery", {"area_survey": [{"unit_type": "A1", "measured_area_m2": -89.5}]},
                 "area_survey.0.measured_area_m2", "Measured area (m²): must be more than 0",
                 id="negative-area"),
    pytest.param("delivery", {"inspections": [{"phase": "civil", "defects": [
        {"kind": "leak", "found": 3, "rectified": 4}]}]},
                 "inspections.0.defects.0.rectified",
                 "Inspections row 1 · Defects row 1 · Rectified: must not be more than “Found” (3)",
                 id="rectified-more-than-found"),
    pytest.param("sales", {"permits": [{"kind": "presale_permit", "status": "obtained",
                                        "obtained_date": "2026-12-01"}]},
                 "permits.0.obtained_date",
                 "Date obtained: records what happened, so it cannot be later than “As-of date” "
                 "(2026-11-20)",
                 id="permit-obtained-after-as-of"),
    pytest.param("delivery", {"acceptances": [{"kind": "fire", "status": "passed",
                                               "passed_date": "2029-01-01"}]},
                 "acceptances.0.passed_date",
                 "Acceptances row 1 · Date passed: records what happened",
                 id="passed-later"),
    pytest.param("delivery", {"inspections": [{"phase": "civil", "date": "2029-01-01"}]},
                 "inspections.0.date", "cannot be later than “As-of date” (2028-06-01)",
                 id="inspected-later"),
])
def test_nonsense_is_refused_naming_the_field(assessor: Assessor, base: Base, stage: str,
                                             patch: dict[str, Any], path: str,
                                             problem: str) -> None:
    checklist = base(stage)
    checklist.update(patch)
    checklist["as_of"] = "2026-11-20" if stage == "sales" else "2028-06-01"
    with pytest.raises(ChecklistInvalid) as caught:
        assessor.validate(checklist)
    english = caught.value.in_lang("en")[1]
    assert list(english) == [path]
    assert problem in english[path][0]
    assert list(caught.value.details) == [path]  # Chinese by default
    assert "：" in caught.value.details[path][0]


def test_a_survey_dated_after_as_of_is_refused(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["checks"]["offsite_survey_date"] = "2026-11-21"
    checklist["as_of"] = "2026-11-20"
    details = _problems(assessor, checklist, "zh")
    assert details == {"checks.offsite_survey_date": [
        details["checks.offsite_survey_date"][0]]}
    assert "不得晚于“基准日期”（2026-11-20）" in details["checks.offsite_survey_date"][0]


@pytest.mark.parametrize(("stage", "name", "items", "at"), [
    pytest.param("sales", "promises", [{"id": "P-2", "kind": "other"},
                                       {"id": "P-1", "kind": "park"},
                                       {"id": "P-2", "kind": "park"}], "id", id="promises"),
    pytest.param("delivery", "acceptances", [{"kind": "fire"}, {"kind": "fire"}], "kind",
                 id="acceptances"),
    pytest.param("sales", "permits", [{"kind": "presale_permit"}, {"kind": "presale_permit",
                                                                   "status": "pending"}],
                 "kind", id="permits"),
    pytest.param("delivery", "area_survey", [{"unit_type": "A1"}, {"unit_type": "A1"}],
                 "unit_type", id="area-survey"),
])
def test_duplicates_are_refused_naming_both_rows(assessor: Assessor, base: Base, stage: str,
                                                name: str, items: list[dict[str, Any]],
                                                at: str) -> None:
    checklist = base(stage)
    checklist[name] = items
    twin = len(items) - 1
    details = _problems(assessor, checklist, "zh")
    assert set(details) == {f"{name}.0.{at}", f"{name}.{twin}.{at}"}
    assert f"与{assessor.catalog.policy.label('section', name, Lang.ZH)} 第 {twin + 1} 行重复" in \
        details[f"{name}.0.{at}"][0]
    assert "第 1 行重复" in details[f"{name}.{twin}.{at}"][0]


def test_summed_lists_keep_their_repeats(assessor: Assessor, base: Base) -> None:
    checklist = base("delivery")
    checklist["complaints"] = [{"topic": "车位", "open_count": 12},
                               {"topic": "车位", "open_count": 9}]
    checklist["inspections"][0]["defects"] = [{"kind": "leak", "found": 2, "rectified": 1},
                                              {"kind": "leak", "found": 3, "rectified": 3}]
    assert assessor.validate(checklist)["complaints"][1]["open_count"] == 9
