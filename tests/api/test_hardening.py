"""The smaller refusals of the hardening issue: a body's media type, a repeated key, a body
over the limit however it is sent, a review more lenient than the gate, security headers on
every answer, and an OpenAPI document that states the rules and links every operation."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from api.observability import SECURITY_HEADERS
from riskengine.output.workbook import MEDIA_TYPE
from tests.api.support import Caller, checklist, unique_code


@pytest.mark.parametrize(("path", "accepted"), [
    ("/api/v1/evaluate", ["application/json"]),
    ("/api/v1/projects/{code}/checklists", ["application/json", MEDIA_TYPE]),
    ("/api/v1/projects", ["application/json"]),
])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_a_body_of_another_type_is_415_listing_the_accepted(
        admin: Caller, path: str, accepted: list[str], content_type: str | None) -> None:
    code = unique_code()
    headers = {"Content-Type": content_type} if content_type else {}
    answer = admin.request("POST", path.format(code=code), data='{"code": "X-1"}',
                           headers=headers, query_string={"lang": "en"})
    assert answer.status_code == 415, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["details"]["Content-Type"] == [f"send one of: {', '.join(accepted)}"]
    chinese = admin.request("POST", path.format(code=code), data='{"code": "X-1"}',
                            headers=headers).get_json()["error"]
    assert chinese["details"]["Content-Type"] == [f"请使用以下之一：{'、'.join(accepted)}"]
    assert answer.headers["Accept-Post"] == ", ".join(accepted)


def test_a_workbook_type_is_refused_where_only_json_is_taken(admin: Caller) -> None:
    answer = admin.request("POST", "/api/v1/evaluate", data=b"PK\x03\x04",
                           headers={"Content-Type": MEDIA_TYPE})
    assert answer.status_code == 415


@pytest.mark.parametrize("text", [
    '{"project": {"code": "A-1", "code": "B-2"}, "stage": "sales", "as_of": "2026-11-23"}',
    '{"stage": "sales", "stage": "delivery"}',
])
def test_a_repeated_key_is_400_naming_it(admin: Caller, text: str) -> None:
    answer = admin.request("POST", "/api/v1/evaluate", data=text,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    repeated = "code" if '"code": "B-2"' in text else "stage"
    assert error["message"] == f"请求正文重复了键 {repeated}"
    assert repeated in error["details"]["body"][0]
    english = admin.request("POST", "/api/v1/evaluate", data=text, query_string={"lang": "en"},
                            headers={"Content-Type": "application/json"}).get_json()["error"]
    assert english["message"] == f"the body repeats the key {repeated}"


def _chunked(caller: Caller, path: str, data: bytes, content_type: str) -> Any:
    return caller.client.open(path, method="POST", input_stream=io.BytesIO(data),
                              headers={**caller.headers(None), "Content-Type": content_type,
                                       "Transfer-Encoding": "chunked"},
                              environ_overrides={"wsgi.input_terminated": True})


@pytest.mark.parametrize("content_type", ["application/json", MEDIA_TYPE])
def test_a_body_over_the_limit_is_413_however_it_is_sent(app: Flask, admin: Caller,
                                                         content_type: str) -> None:
    limit = int(app.config["MAX_CONTENT_LENGTH"])
    big = b"{" + b" " * limit + b"}"
    path = f"/api/v1/projects/{unique_code()}/checklists"
    declared = admin.request("POST", path, data=big, headers={"Content-Type": content_type})
    chunked = _chunked(admin, path, big, content_type)
    for answer in (declared, chunked):
        assert answer.status_code == 413, answer.get_data(as_text=True)[:300]
        assert answer.get_json()["error"]["code"] == "too_large"
    small = _chunked(admin, "/api/v1/evaluate", b"{}", "application/json")
    assert small.status_code == 422  # read whole, judged as usual


def _review(caller: Caller, code: str, decision: str, **extra: Any) -> Any:
    return caller.post(f"/api/v1/projects/{code}/gate-reviews",
                       {"stage": "sales", "decision": decision, **extra})


def test_a_review_more_lenient_than_the_gate_needs_an_admin_override(
        admin: Caller, caller: Callable[..., Caller],
        today: Callable[[dt.date], None]) -> None:
    code = unique_code()
    risky = admin.submit(checklist("sales-risky", code)).get_json()
    reviewer = caller("reviewer")
    over_fail = _review(reviewer, code, "conditional")
    assert over_fail.status_code == 409, over_fail.get_json()
    assert over_fail.get_json()["error"]["code"] == "gate_failed"
    today(dt.date(2026, 11, 23))
    for fingerprint in risky["gate"]["blocking"]:  # waived: the gate becomes conditional
        finding = next(f for f in risky["findings"] if f["fingerprint"] == fingerprint)
        assert reviewer.patch(f"/api/v1/findings/{finding['id']}", {
            "status": "waived", "waiver": {"justification": "书面告知购房人", "approver": "gm.wang",
                                           "expires": "2026-12-20"}}).status_code == 200
    assert admin.get(f"/api/v1/projects/{code}").get_json()["gate"] == "conditional"
    over_conditional = _review(reviewer, code, "pass")
    assert over_conditional.status_code == 409, over_conditional.get_json()
    error = over_conditional.get_json()["error"]
    assert error["code"] == "gate_conditional"
    assert error["details"]["decision"] == ["闸口结论为“有条件通过”时不能评审为“通过”"]
    assert error["message"] == "计算得出的闸口结论为“有条件通过”：评审为“通过”须由管理员否决"
    english = reviewer.post(f"/api/v1/projects/{code}/gate-reviews",
                            {"stage": "sales", "decision": "pass"},
                            query_string={"lang": "en"}).get_json()["error"]
    assert english["code"] == "gate_conditional"
    assert english["details"]["decision"] == ["Pass refused while the gate is Conditional"]
    assert _review(admin, code, "pass").status_code == 409  # an admin too, without a reason
    assert _review(reviewer, code, "conditional").status_code == 201
    assert _review(reviewer, code, "fail").status_code == 201  # stricter: always
    overridden = _review(admin, code, "pass", override_justification="集团批准：整改已落实")
    assert overridden.status_code == 201
    assert overridden.get_json()["computed_gate"] == "conditional"


def test_every_answer_carries_the_security_headers(app: Flask, admin: Caller) -> None:
    anonymous = Caller(app, None)
    answers = {
        "200": admin.get("/api/v1/rulesets"),
        "401": anonymous.get("/api/v1/rulesets"),
        "404 route": admin.get("/api/v1/no-such-route"),
        "404 object": admin.get("/api/v1/projects/NOPE-1"),
        "405": admin.request("PUT", "/api/v1/rulesets"),
        "415": admin.request("POST", "/api/v1/evaluate", data="x",
                             headers={"Content-Type": "text/plain"}),
        "400": admin.request("POST", "/api/v1/evaluate", data="{",
                             headers={"Content-Type": "application/json"}),
        "413": admin.request("POST", "/api/v1/evaluate",
                             data=b" " * (int(app.config["MAX_CONTENT_LENGTH"]) + 1),
                             headers={"Content-Type": "application/json"}),
        "422": admin.post("/api/v1/evaluate", {}),
        "422 query": admin.get("/api/v1/findings?per_page=0"),
        "openapi": anonymous.get("/api/v1/openapi.json"),
        "healthz": anonymous.get("/healthz"),
    }
    for name, answer in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, (name, answer.status_code, header)


def test_an_unexpected_error_carries_them_too(app: Flask, admin: Caller,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")
    assessor = app.extensions["riskengine"].assessor
    monkeypatch.setattr(type(assessor), "assess", broken)
    answer = admin.post("/api/v1/evaluate", checklist("sales-ready", "X-1"))
    assert answer.status_code == 500 and answer.get_json()["error"]["code"] == "internal_error"
    for header, value in SECURITY_HEADERS.items():
        assert answer.headers.get(header) == value, header
