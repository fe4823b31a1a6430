"""The OpenAPI document covers every endpoint, and the live API honours it (schemathesis)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.support import Caller, new_token

CONTRACT_PATHS = {
    ("post", "/api/v1/evaluate"), ("post", "/api/v1/projects"), ("get", "/api/v1/projects"),
    ("get", "/api/v1/projects/{code}"), ("post", "/api/v1/projects/{code}/checklists"),
    ("get", "/api/v1/assessments/{assessment_id}"), ("patch", "/api/v1/findings/{finding_id}"),
    ("post", "/api/v1/projects/{code}/gate-reviews"), ("get", "/api/v1/rulesets"),
    ("get", "/api/v1/rules/{rule_id}"), ("get", "/api/v1/findings"),
    ("get", "/api/v1/projects/{code}/promises"), ("get", "/healthz"), ("get", "/readyz"),
}


@pytest.fixture
def spec(app: Flask) -> dict[str, Any]:
    document: dict[str, Any] = Caller(app, None).get("/api/v1/openapi.json").get_json()
    return document


def test_every_contract_endpoint_is_documented(spec: dict[str, Any]) -> None:
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert CONTRACT_PATHS <= documented


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_patterns_are_json_schema_regexes(spec: dict[str, Any]) -> None:
    """JSON Schema's regexes are ECMA-262: Python-only syntax (\\Z, \\A, (?P<) breaks clients."""
    found = set(_patterns(spec))
    assert "^[A-Za-z0-9_-]{1,40}$" in found
    for pattern in found:
        assert not re.search(r"\\[AZ]|\(\?P<", pattern), pattern


def test_every_operation_documents_its_errors(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            assert "default" in codes, (method, path)
            if operation.get("security") != []:
                assert "401" in codes, (method, path)
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorBody")
    assert spec["components"]["schemas"]["Checklist"]["required"] == ["project", "stage", "as_of"]


def test_docs_page_lists_every_operation(app: Flask, spec: dict[str, Any]) -> None:
    page = Caller(app, None).get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in text


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_live_api_honours_its_document(app: Flask) -> None:
    """Generated requests to every operation: no 5xx, answers as documented."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {new_token(app, 'admin')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= len(CONTRACT_PATHS)
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def honour(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)
        honour()
