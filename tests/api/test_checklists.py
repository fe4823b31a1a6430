"""Submitting checklists: stored as sent, assessed, and matched to the previous submission."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.support import Caller, checklist, unique_code


def test_evaluate_is_stateless(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    answer = admin.post("/api/v1/evaluate", body)
    assert answer.status_code == 200
    assessment = answer.get_json()
    assert "id" not in assessment
    assert assessment["gate"]["decision"] == "fail"
    assert admin.get(f"/api/v1/projects/{body['project']['code']}").status_code == 404


def test_submission_answers_201_with_a_stored_assessment(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    answer = admin.submit(body)
    assert answer.status_code == 201
    assessment = answer.get_json()
    assert assessment["id"] and assessment["project_code"] == body["project"]["code"]
    assert assessment["findings"], "the risky example raises findings"
    assert {f["change"] for f in assessment["findings"]} == {"new"}
    assert all(f["status"] == "open" and f["id"] for f in assessment["findings"])
    assert assessment["gate"]["decision"] == "fail"
    assert {r["id"] for r in assessment["rulesets"]} and all(
        r["version"] and r["hash"] for r in assessment["rulesets"])
    stored = admin.get(f"/api/v1/assessments/{assessment['id']}").get_json()
    assert stored["findings"] == assessment["findings"]
    assert stored["content_hash"] == assessment["content_hash"]


def test_checklist_is_stored_byte_for_byte(admin: Caller) -> None:
    code = unique_code()
    text = json.dumps(checklist("sales-ready", code), ensure_ascii=False, indent=3) + "\n\n"
    assessment = admin.post(f"/api/v1/projects/{code}/checklists", data=text.encode(),
                            headers={"Content-Type": "application/json"}).get_json()
    stored = admin.get(f"/api/v1/projects/{code}/checklists/{assessment['checklist_id']}")
    assert stored.get_data(as_text=True) == text


def test_texts_follow_the_requested_language(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    zh = admin.post("/api/v1/evaluate", body).get_json()["findings"][0]["title"]
    en = admin.post("/api/v1/evaluate?lang=en", body).get_json()["findings"][0]["title"]
    header = admin.post("/api/v1/evaluate", body, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert zh != en and header.get_json()["findings"][0]["title"] == en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_resubmission_matches_findings_by_fingerprint(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    first = admin.submit(body).get_json()
    finding = first["findings"][0]
    admin.patch(f"/api/v1/findings/{finding['id']}", {"status": "in_progress",
                                                       "notes": "survey booked"})
    second = admin.submit(body).get_json()
    assert second["number"] == first["number"] + 1
    assert second["changes"]["new"] == [] and second["changes"]["resolved"] == []
    assert set(second["changes"]["persisting"]) == {f["id"] for f in first["findings"]}
    kept = next(f for f in second["findings"] if f["id"] == finding["id"])
    assert kept["change"] == "persisting"
    assert (kept["status"], kept["notes"]) == ("in_progress", "survey booked")


def test_a_fixed_risk_resolves_and_a_new_one_is_new(admin: Caller) -> None:
    code = unique_code()
    risky = admin.submit(checklist("sales-risky", code)).get_json()
    ready = checklist("sales-ready", code)
    ready["offsite_factors"].append({"kind": "landfill", "name": "新垃圾场", "distance_m": 300,
                                     "planned": False, "disclosed_publicly": False,
                                     "in_contract_appendix": False})
    later = admin.submit(ready).get_json()
    gone = {f["id"] for f in risky["findings"]} - {f["id"] for f in later["findings"]}
    assert gone and set(later["changes"]["resolved"]) == gone
    assert all(r["status"] == "resolved" for r in later["resolved"])
    assert later["changes"]["new"], "the new landfill raises a new finding"
    for finding_id in gone:
        finding = admin.get(f"/api/v1/findings/{finding_id}").get_json()
        assert finding["status"] == "resolved"
        assert finding["events"][-1]["action"] == "auto_resolved"
    first = admin.get(f"/api/v1/assessments/{risky['id']}").get_json()
    assert first["superseded"] is True and len(first["findings"]) == len(risky["findings"])


def test_a_resolved_risk_that_returns_is_open_again(admin: Caller) -> None:
    code = unique_code()
    risky = checklist("sales-risky", code)
    first = admin.submit(risky).get_json()
    ready = admin.submit(checklist("sales-ready", code)).get_json()
    again = admin.submit(risky).get_json()
    # What both raise (facts of guidelines newer than the examples) persists throughout.
    kept = {f["id"] for f in ready["findings"]}
    assert kept and set(again["changes"]["persisting"]) == kept
    returned = {f["id"] for f in first["findings"]} - kept
    assert set(again["changes"]["new"]) == returned
    assert all(f["status"] == "open" for f in again["findings"])
    fixed = next(f for f in first["findings"] if f["id"] in returned)
    events = admin.get(f"/api/v1/findings/{fixed['id']}").get_json()["events"]
    assert [e["action"] for e in events][-2:] == ["auto_resolved", "reopened"]


def test_project_created_by_its_first_checklist(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    assessment = admin.submit(body).get_json()
    project = admin.get(f"/api/v1/projects/{body['project']['code']}").get_json()
    assert project["name"] == body["project"]["name"] and project["city"] == body["project"]["city"]
    assert (project["stage"], project["gate"]) == ("sales", "fail")
    assert project["assessments"]["sales"]["id"] == assessment["id"]


def test_checklist_for_another_project_is_refused(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    answer = admin.post(f"/api/v1/projects/{unique_code()}/checklists", body)
    assert answer.status_code == 422
    assert "project.code" in answer.get_json()["error"]["details"]


def test_listing_projects_filters_and_pages(admin: Caller, caller: Callable[..., Caller]) -> None:
    city = unique_code("城")
    codes = sorted(unique_code("P") for _ in range(3))
    for code, name in zip(codes, ("sales-risky", "sales-ready", "sales-ready"), strict=True):
        admin.submit(checklist(name, code, project={"code": code, "city": city}))
    listed = admin.get(f"/api/v1/projects?city={city}&per_page=2").get_json()
    assert listed["total"] == 3 and len(listed["items"]) == 2
    second = admin.get(f"/api/v1/projects?city={city}&per_page=2&page=2").get_json()
    assert [p["code"] for p in listed["items"] + second["items"]] == codes
    failing = admin.get(f"/api/v1/projects?city={city}&gate=fail&stage=sales").get_json()
    assert [p["code"] for p in failing["items"]] == codes[:1]
    scoped = caller("submitter", projects=[codes[1]]).get(f"/api/v1/projects?city={city}")
    assert [p["code"] for p in scoped.get_json()["items"]] == [codes[1]]


def test_two_items_with_one_identity_are_refused_naming_both_rows(admin: Caller) -> None:
    # risk-catalogue.md: duplicates are named (two factors of one kind and name are one)
    code = unique_code()
    body = checklist("sales-risky", code)
    body["offsite_factors"].append(dict(body["offsite_factors"][0]))
    last = len(body["offsite_factors"]) - 1
    answer = admin.submit(body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_checklist" and error["message"] == "清单有误"
    assert error["details"] == {
        "offsite_factors.0.kind": [
            f"场外不利因素 第 1 行 · 类型：与场外不利因素 第 {last + 1} 行重复（类型、名称相同）"],
        f"offsite_factors.{last}.kind": [
            f"场外不利因素 第 {last + 1} 行 · 类型：与场外不利因素 第 1 行重复（类型、名称相同）"]}
    assert admin.get(f"/api/v1/projects/{code}").status_code == 404  # nothing stored


def test_summed_twins_are_accepted(admin: Caller) -> None:
    # complaints are summed per topic: two rows of one topic are one topic's complaints
    body = checklist("delivery-risky", unique_code())
    body["complaints"] = [{"topic": "车位", "open_count": 12}, {"topic": "车位", "open_count": 11}]
    assert admin.submit(body).status_code == 201


@pytest.mark.parametrize(("patch", "path"), [
    pytest.param({"offsite_factors": [{"kind": "landfill", "distance_m": -1}]},
                 "offsite_factors.0.distance_m", id="negative-distance"),
    pytest.param({"permits": [{"kind": "presale_permit", "status": "obtained",
                               "obtained_date": "2099-01-01"}]},
                 "permits.0.obtained_date", id="obtained-in-the-future"),
])
def test_nonsense_is_422_on_both_routes(admin: Caller, patch: dict[str, Any], path: str) -> None:
    body = checklist("sales-ready", unique_code())
    body.update(patch)
    for answer in (admin.post("/api/v1/evaluate", body), admin.submit(body)):
        assert answer.status_code == 422
        assert list(answer.get_json()["error"]["details"]) == [path]


def test_problems_are_worded_in_the_requested_language(admin: Caller) -> None:
    body = checklist("sales-ready", unique_code())
    body["offsite_factors"] = [{"kind": "volcano", "distance_m": "far"}]
    chinese = admin.post("/api/v1/evaluate", body).get_json()["error"]
    assert chinese["details"]["offsite_factors.0.distance_m"] == [
        "场外不利因素 第 1 行 · 距离（米）：须为数字"]
    assert "垃圾场、垃圾站" in chinese["details"]["offsite_factors.0.kind"][0]
    for asked in ({"query_string": {"lang": "en"}}, {"headers": {"Accept-Language": "en"}}):
        english = admin.post("/api/v1/evaluate", body, **asked).get_json()["error"]
        assert english["message"] == "the checklist is invalid"
        assert english["details"]["offsite_factors.0.distance_m"] == [
            "Off-site factors row 1 · Distance (m): must be a number"]
        assert english["details"]["offsite_factors.0.kind"][0].startswith(
            "Off-site factors row 1 · Kind: must be one of: landfill, waste station")


def test_an_unreadable_body_is_worded_too(admin: Caller) -> None:
    headers = {"Content-Type": "application/json"}
    chinese = admin.post("/api/v1/evaluate", data=b'{"stage": ', headers=headers)
    assert chinese.status_code == 400
    error = chinese.get_json()["error"]
    assert error["message"] == "请求正文不是有效的 UTF-8 JSON"
    assert error["details"]["body"][0].startswith("请求正文：第 1 行第 11 列不是有效的 JSON")
    english = admin.post("/api/v1/evaluate", data=b'{"stage": ', headers=headers,
                         query_string={"lang": "en"}).get_json()["error"]
    assert english["message"] == "the body is not valid UTF-8 JSON"
    assert english["details"]["body"][0].startswith(
        "Request body: not valid JSON at line 1, column 11")
