"""A filled Excel template as the body of POST /projects/{code}/checklists: the same checklist,
assessment and idempotency as JSON; problems answer 422 keyed by cell."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from tests.api.support import Caller, checklist, unique_code, workbook


def test_an_uploaded_template_is_assessed_like_its_json(admin: Caller) -> None:
    data = checklist("sales-risky", unique_code())
    answer = admin.upload(data["project"]["code"], workbook(data))
    assert answer.status_code == 201, answer.get_json()
    uploaded = answer.get_json()
    evaluated = admin.post("/api/v1/evaluate", data).get_json()
    assert [f["fingerprint"] for f in uploaded["findings"]] == [
        f["fingerprint"] for f in evaluated["findings"]]
    stored_gate = {k: v for k, v in uploaded["gate"].items() if k != "blocking_ids"}
    assert stored_gate == evaluated["gate"]  # a stored one adds the blockers' tracked ids
    stored = admin.get(f"/api/v1/projects/{data['project']['code']}/checklists/"
                       f"{uploaded['checklist_id']}")
    assert stored.mimetype == "application/json"
    assert json.loads(stored.get_data(as_text=True))["project"]["code"] == data["project"]["code"]


def test_workbook_problems_are_422_keyed_by_cell(admin: Caller) -> None:
    data = checklist("sales-risky", unique_code())
    answer = admin.upload(data["project"]["code"], workbook(data, offsite_factors__C4="far"))
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_workbook"
    assert error["message"] == "工作簿中有错误的值"
    assert error["details"]["offsite_factors!C4"] == ["场外不利因素!C4 · 距离（米）：须为数字"]
    english = admin.upload(data["project"]["code"], workbook(data, offsite_factors__C4="far"),
                           query_string={"lang": "en"}).get_json()["error"]
    assert english["details"]["offsite_factors!C4"] == [
        "Off-site factors!C4 · Distance (m): must be a number"]
    assert admin.get(f"/api/v1/projects/{data['project']['code']}").status_code == 404


def test_workbook_nonsense_and_duplicates_are_422_by_cell(admin: Caller) -> None:
    data = checklist("sales-risky", unique_code())
    data["promises"] = [{"id": "P-2", "kind": "other"}, {"id": "P-2", "kind": "park"}]
    answer = admin.upload(data["project"]["code"], workbook(data, offsite_factors__C4=-1))
    assert answer.status_code == 422
    details = answer.get_json()["error"]["details"]
    assert set(details) == {"offsite_factors!C4", "promises!A4", "promises!A5"}
    assert details["promises!A5"] == ["销售承诺!A5 · 编号：与销售承诺!A4重复（编号相同）"]


def test_a_file_that_is_not_a_workbook_is_422(admin: Caller) -> None:
    answer = admin.upload(unique_code(), b"PK\x03\x04 not really a zip")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"]["workbook"]


def test_a_workbook_for_another_project_is_422(admin: Caller) -> None:
    data = checklist("sales-ready", unique_code())
    answer = admin.upload(unique_code(), workbook(data))
    assert answer.status_code == 422
    assert "project.code" in answer.get_json()["error"]["details"]


def test_idempotency_key_works_for_uploads(admin: Caller) -> None:
    data = checklist("sales-risky", unique_code())
    code, content = data["project"]["code"], workbook(data)
    first = admin.upload(code, content, headers={"Idempotency-Key": "upload-1"})
    retry = admin.upload(code, content, headers={"Idempotency-Key": "upload-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.get_data() == first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"
    other = admin.upload(code, workbook({**data, "as_of": "2026-11-21"}),
                         headers={"Idempotency-Key": "upload-1"})
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    listed = admin.get(f"/api/v1/projects/{code}/checklists").get_json()["items"]
    assert len(listed) == 1


def test_the_template_speaks_the_requested_language(admin: Caller) -> None:
    for asked, yes_no in (({}, '"是,否"'), ({"query_string": {"lang": "en"}}, '"Yes,No"')):
        answer = admin.get("/api/v1/templates/sales.xlsx", **asked)
        assert answer.status_code == 200
        book = load_workbook(io.BytesIO(answer.get_data()))
        formulas = {v.formula1 for v in book["offsite_factors"].data_validations.dataValidation}
        assert yes_no in formulas
