"""The web form: generated from the contract, read like Excel cells, errors at their inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from api.web.conditions import describe
from api.web.forms import checklist_of, from_checklist, from_request
from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS
from riskengine.vocabulary import Lang
from tests.web.conftest import checklist


def posted(assessor: Assessor, data: dict[str, Any], **changes: str) -> MultiDict[str, str]:
    """The form a browser would post for a checklist, with some inputs changed."""
    form = from_checklist(data, assessor.catalog)
    fields = MultiDict(form.values)
    for table, rows in form.rows.items():
        fields[f"rows.{table}"] = str(rows)
    for name, value in changes.items():
        fields[name.replace("__", ".")] = value
    return fields


@pytest.mark.parametrize("name", ["sales-ready", "sales-risky", "delivery-risky"])
def test_form_round_trip(assessor: Assessor, name: str) -> None:
    data = checklist(name)
    form = from_request(posted(assessor, data))
    back = checklist_of(form, assessor.catalog, assessor.validator)
    assert form.errors == {}
    assert back == {**{k: [] for k in LISTS}, **data}


def test_form_errors_come_back_at_their_inputs(assessor: Assessor) -> None:
    fields = posted(assessor, checklist("sales-risky"), **{
        "offsite_factors__0__distance_m": "far", "checks__parking_info_disclosed": "maybe",
        "as_of": ""})
    form = from_request(fields)
    assert checklist_of(form, assessor.catalog, assessor.validator) is None
    assert form.errors["offsite_factors.0.distance_m"] == [
        "场外不利因素 第 1 行 · 距离（米）：须为数字"]
    assert form.errors["checks.parking_info_disclosed"][0].startswith("检查项 · ")
    assert form.errors["checks.parking_info_disclosed"][0].endswith("：须为是或否")
    assert form.errors["as_of"] == ["基准日期：必填"]
    assert checklist_of(form, assessor.catalog, assessor.validator, Lang.EN) is None
    assert form.errors["offsite_factors.0.distance_m"] == [
        "Off-site factors row 1 · Distance (m): must be a number"]
    assert form.errors["as_of"] == ["As-of date: is required"]


def test_form_refuses_nonsense_and_names_both_duplicate_rows(assessor: Assessor) -> None:
    data = checklist("sales-risky")
    data["promises"] = [{"id": "P-2", "kind": "other"}, {"id": "P-2", "kind": "park"}]
    fields = posted(assessor, data, offsite_factors__0__distance_m="-3")
    form = from_request(fields)
    assert checklist_of(form, assessor.catalog, assessor.validator) is None
    assert form.errors == {
        "offsite_factors.0.distance_m": ["场外不利因素 第 1 行 · 距离（米）：不得小于 0"],
        "promises.0.id": ["销售承诺 第 1 行 · 编号：与销售承诺 第 2 行重复（编号相同）"],
        "promises.1.id": ["销售承诺 第 2 行 · 编号：与销售承诺 第 1 行重复（编号相同）"]}


def test_form_reads_labels_and_yes_no_words(assessor: Assessor) -> None:
    fields = posted(assessor, checklist("sales-risky"), offsite_factors__0__kind="变电站",
                    offsite_factors__0__planned="有")
    back = checklist_of(from_request(fields), assessor.catalog, assessor.validator)
    assert back is not None
    assert back["offsite_factors"][0]["kind"] == "substation"
    assert back["offsite_factors"][0]["planned"] is True


def test_a_list_grows_by_a_row(assessor: Assessor) -> None:
    fields = posted(assessor, checklist("sales-risky"))
    fields["add"] = "promises"
    form = from_request(fields)
    assert form.rows["promises"] == 2  # the example has none: one empty row, plus one


@pytest.mark.parametrize(("rule_id", "lang", "words"), [
    ("SALES-OFFSITE-001", Lang.ZH,
     "同时满足：已公示 = 否；距离（米） ≤ influence_radius_m（按类型）"),
    ("SALES-OFFSITE-001", Lang.EN,
     "all of: Disclosed publicly = no; Distance (m) ≤ influence_radius_m (by Kind)"),
    ("DELIVERY-REGULATORY-009", Lang.EN, "Forecast of actual handover > Contract delivery date"),
], ids=["offsite-zh", "offsite-en", "handover-en"])
def test_conditions_in_words(assessor: Assessor, rule_id: str, lang: Lang, words: str) -> None:
    rule = assessor.catalog.rule(rule_id)
    assert rule is not None
    assert describe(assessor.catalog, rule, lang)["when"] == words


def test_every_rule_reads_in_words(assessor: Assessor) -> None:
    for rule in assessor.catalog.rules():
        for lang in Lang:
            text = describe(assessor.catalog, rule, lang)["when"]
            assert text and "{" not in text, (rule.id, text)



def test_the_page_words_problems_and_suggestions_in_its_language(
        visitor: Callable[..., Any]) -> None:
    pm = visitor("submitter")
    page = pm.get("/checklists/new?stage=sales").text
    assert 'placeholder="学校、幼儿园' in page  # mentions: labels, not codes
    fields = {"stage": "sales", "project.code": "WH-1", "as_of": "2026-11-20",
              "offsite_factors.0.kind": "landfill", "offsite_factors.0.distance_m": "-2"}
    chinese = pm.post("/checklists/new", fields)
    assert chinese.status_code == 422
    assert "场外不利因素 第 1 行 · 距离（米）：不得小于 0" in chinese.text
    english = pm.post("/checklists/new?lang=en", fields)
    assert "Off-site factors row 1 · Distance (m): must be at least 0" in english.text
