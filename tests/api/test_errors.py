"""Every error is the JSON envelope with the right status; never a 500 for client input."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask

from api.config import ConfigError
from api.observability import SECURITY_HEADERS
from tests.api.support import Caller, checklist, make_app, unique_code


def envelope(answer: object, status: int, code: str | None = None) -> dict[str, object]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error"}
    error: dict[str, object] = body["error"]
    assert {"code", "message", "details", "request_id"} <= set(error)
    assert isinstance(error["details"], dict)
    if code:
        assert error["code"] == code
    assert "Traceback" not in json.dumps(body) and "SELECT" not in json.dumps(body)
    return error


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/nowhere", 404, "not_found"),
    ("/nowhere", 404, "not_found"),
    ("/api/v1/assessments/0000", 404, "not_found"),
    ("/api/v1/findings/0000", 404, "not_found"),
    ("/api/v1/projects/NOPE-1", 404, "not_found"),
    ("/api/v1/rules/SALES-NOPE-999", 404, "not_found"),
    ("/api/v1/findings?severity=extreme", 422, "invalid"),
    ("/api/v1/projects?per_page=1000", 422, "invalid"),
])
def test_get_errors(admin: Caller, path: str, status: int, code: str) -> None:
    envelope(admin.get(path), status, code)


def test_method_not_allowed(admin: Caller) -> None:
    answer = admin.request("DELETE", "/api/v1/projects")
    envelope(answer, 405, "method_not_allowed")
    assert "GET" in answer.headers["Allow"]


@pytest.mark.parametrize("data", [b"{", b"\xff\xfe", b"[1, 2", b'{"a": NaN}'],
                         ids=["truncated", "not-utf8", "open-list", "nan"])
def test_unreadable_json_is_400(admin: Caller, data: bytes) -> None:
    code = unique_code()
    for path in ("/api/v1/evaluate", f"/api/v1/projects/{code}/checklists", "/api/v1/projects"):
        envelope(admin.post(path, data=data, headers={"Content-Type": "application/json"}),
                 400)


def test_invalid_checklist_is_422_with_paths(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    body["offsite_factors"][0]["distance_m"] = "near"
    body["surprise"] = True
    error = envelope(admin.post("/api/v1/evaluate", body), 422, "invalid_checklist")
    details = error["details"]
    assert isinstance(details, dict)
    assert "offsite_factors.0.distance_m" in details and "surprise" in details


@pytest.mark.parametrize("value", ["a\x00b", "\ud800"], ids=["nul", "lone-surrogate"])
def test_text_no_database_stores_is_422(admin: Caller, value: str) -> None:
    body = checklist("sales-risky", unique_code())
    body["project"]["name"] = value
    data = json.dumps(body).encode()
    answer = admin.post(f"/api/v1/projects/{body['project']['code']}/checklists", data=data,
                        headers={"Content-Type": "application/json"})
    assert "project.name" in envelope(answer, 422)["details"]  # type: ignore[operator]


@pytest.mark.parametrize("field", ["id", "created_at", "gate", "created_by"])
def test_server_owned_fields_are_refused(admin: Caller, field: str) -> None:
    answer = admin.post("/api/v1/projects", {"code": unique_code(), field: "x"})
    assert field in envelope(answer, 422, "invalid")["details"]  # type: ignore[operator]


def test_server_owned_finding_fields_are_refused(admin: Caller) -> None:
    finding = admin.submit(checklist("sales-risky", unique_code())).get_json()["findings"][0]
    for field in ("owner", "severity", "id", "fingerprint"):
        answer = admin.patch(f"/api/v1/findings/{finding['id']}", {field: "x"})
        assert field in envelope(answer, 422)["details"]  # type: ignore[operator]


def test_body_too_large_is_413(db_url: str) -> None:
    app = make_app(db_url, MAX_CONTENT_LENGTH=1000)
    from tests.api.support import new_token
    caller = Caller(app, new_token(app, "admin"))
    body = checklist("sales-risky", unique_code())
    body["project"]["name"] = "x" * 2000
    envelope(caller.post("/api/v1/evaluate", body), 413, "too_large")


def test_missing_and_bad_tokens_are_401(app: Flask) -> None:
    anonymous = Caller(app, None)
    answer = anonymous.get("/api/v1/projects")
    envelope(answer, 401, "unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    envelope(Caller(app, "rk_forged").get("/api/v1/projects"), 401)


def test_duplicate_project_is_409(admin: Caller) -> None:
    code = unique_code()
    assert admin.post("/api/v1/projects", {"code": code, "name": "一期"}).status_code == 201
    envelope(admin.post("/api/v1/projects", {"code": code}), 409)


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/nowhere", "/api/v1/projects",
                                  "/api/v1/openapi.json", "/api/v1/docs"])
def test_security_headers_on_every_answer(app: Flask, path: str) -> None:
    answer = Caller(app, None).get(path, headers={"X-Request-Id": "req-42"})
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers[name] == value
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Request-Id"] == "req-42"


def test_request_logs_are_json_with_the_request_id(db_url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(db_url, LOG_REQUESTS=True)
    with caplog.at_level(logging.INFO, logger="riskengine.api"):
        Caller(app, None).get("/healthz", headers={"X-Request-Id": "trace-7"})
    record = next(r for r in caplog.records if r.getMessage() == "request")
    from api.observability import JsonFormatter
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-7" and line["status"] == 200
    assert line["path"] == "/healthz" and "duration_ms" in line


@pytest.mark.parametrize("secret", [None, "short", "x" * 40],
                         ids=["missing", "short", "repetitive"])
def test_production_refuses_a_weak_secret_key(db_url: str, secret: str | None) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_app(db_url, ENV="production", SECRET_KEY=secret)


def test_production_starts_with_a_strong_secret_key(db_url: str) -> None:
    app = make_app(db_url, ENV="production", SECRET_KEY="k3Y-" + "abcdefghijklmnopqrstuvwxyz0123")
    assert Caller(app, None).get("/healthz").status_code == 200


def test_readiness_reports_an_unreachable_database() -> None:
    app = make_app("postgresql://postgres@127.0.0.1:9/none?connect_timeout=2")
    answer = Caller(app, None).get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["status"] == "unavailable"


@pytest.mark.parametrize("path", [
    "/api/v1/projects/A%00B", "/api/v1/assessments/a%00b", "/api/v1/findings/" + "f" * 80,
    "/api/v1/projects/%E4%B8%AD/promises", "/api/v1/rules/R%00",
])
def test_odd_ids_in_paths_are_404(admin: Caller, path: str) -> None:
    envelope(admin.get(path), 404, "not_found")


def test_nul_in_a_query_is_422(admin: Caller) -> None:
    envelope(admin.get("/api/v1/projects?city=a%00b"), 422, "invalid")


def test_deeply_nested_json_is_400(admin: Caller) -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    envelope(admin.post("/api/v1/evaluate", data=data,
                        headers={"Content-Type": "application/json"}), 400)


def test_overlong_project_fields_are_422(admin: Caller) -> None:
    envelope(admin.post("/api/v1/projects", {"code": unique_code(), "name": "名" * 4001}), 422)


@pytest.mark.parametrize("stage", [["sales"], {"sales": 1}, 1, None], ids=str)
def test_a_stage_of_another_json_type_is_422(admin: Caller, stage: object) -> None:
    body = checklist("sales-risky", unique_code())
    body["stage"] = stage
    assert "stage" in envelope(admin.post("/api/v1/evaluate", body), 422)["details"]  # type: ignore[operator]


def test_a_project_code_with_a_final_newline_is_refused(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    body["project"]["code"] += "\n"
    assert "project.code" in envelope(admin.post("/api/v1/evaluate", body), 422)["details"]  # type: ignore[operator]
    created = admin.post("/api/v1/projects", {"code": unique_code() + "\n"})
    assert "code" in envelope(created, 422)["details"]  # type: ignore[operator]
    assert admin.get("/api/v1/projects/AB%0A").status_code == 404
