"""The OpenAPI document states the server's rules and links every operation; schemathesis
walks those links (stateful): no 5xx, no answer the document does not describe.

The suite runs a bounded walk (a fixed seed, a few seconds); RISKENGINE_STATEFUL_EXAMPLES=N
runs a longer one (e.g. 500) with the same checks."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import hypothesis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.support import Caller, new_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = int(os.environ.get("RISKENGINE_STATEFUL_EXAMPLES", "15"))
SEEDS = 5


def _document(app: Flask) -> dict[str, Any]:
    spec: dict[str, Any] = Caller(app, None).get("/api/v1/openapi.json").get_json()
    return spec


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation by its JSON pointer, its path item's parameters merged into its own."""
    return {f"#/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}": {
        **operation, "parameters": [*item.get("parameters", []),
                                    *operation.get("parameters", [])]}
            for path, item in spec["paths"].items() for method, operation in item.items()
            if method in ("get", "post", "put", "patch", "delete")}


def test_links_reach_every_operation(app: Flask) -> None:
    spec = _document(app)
    operations = _operations(spec)
    targets: set[str] = set()
    for operation in operations.values():
        for response in operation["responses"].values():
            for name, link in (response.get("links") or {}).items():
                target = operations.get(link["operationRef"])
                assert target is not None, (name, link["operationRef"])
                wanted = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert set(link["parameters"]) == wanted, (name, link)
                targets.add(link["operationRef"])
    for ref, operation in operations.items():
        needs = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        if needs:  # reachable only from an answer naming the object
            assert ref in targets, f"no link reaches {ref}"


def test_the_document_states_the_server_s_rules(app: Flask) -> None:
    spec = _document(app)
    rules = spec["info"]["description"]
    for words in ("415", "each key once", "NUL", "413", "503"):
        assert words in rules, words
    paths = spec["paths"]
    patch = paths["/api/v1/findings/{finding_id}"]["patch"]
    params = {p["name"]: p for p in patch["parameters"]}
    assert params["Idempotency-Key"]["schema"]["pattern"] == "^[!-~]{1,255}$"
    assert "412" in params["If-Match"]["description"] and "412" in patch["responses"]
    assert "status: waived" in patch["description"]
    subscribe = paths["/api/v1/audit-subscriptions"]["post"]
    assert "e-mail" in subscribe["description"]
    by_stage = spec["components"]["schemas"]["Checklist"]["properties"]["checks"][
        "x-checks-by-stage"]
    assert set(by_stage) == {"sales", "delivery"} and all(by_stage.values())
    subscription = spec["components"]["schemas"]["SubscriptionIn"]["properties"]["projects"]
    assert subscription["minItems"] == 1


def test_a_stateful_walk_over_the_links(app: Flask) -> None:
    """Scenarios of up to 6 linked calls from the roots; every answer checked, failures
    collected (not raised: Hypothesis would replay them against a server whose state moved)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {new_token(app, 'admin')}"}
    calls: Counter[str] = Counter()
    failures: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def after_call(self, response: Any, case: Any) -> None:
            calls[f"{case.method.upper()} {case.path}"] += 1

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as error:  # noqa: BLE001 - every check failure is reported below
                failures.append(f"{case.method.upper()} {case.formatted_path} → "
                                f"{response.status_code}: {str(error)[:400]}")

    # A scenario's preconditions read the server's answers, which change as the walk writes:
    # Hypothesis may call that "flaky" and stop; like schemathesis' own runner, start again
    # with the next seed (a bounded number of times) until the budget of scenarios has run.
    for seed in range(SEEDS):
        try:
            hypothesis.seed(seed)(Workflow).run(settings=settings(
                max_examples=EXAMPLES, stateful_step_count=6, deadline=None,
                database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck)))
            break
        except FlakyStrategyDefinition:
            continue
    assert not failures, "\n".join(failures[:20])
    assert sum(calls.values()) >= EXAMPLES, calls


def test_every_operation_documents_the_outage_and_media_type_answers(app: Flask) -> None:
    for ref, operation in _operations(_document(app)).items():
        codes = set(operation["responses"])
        if operation.get("security") != []:
            assert "503" in codes, ref  # the token is checked in the database
        if "requestBody" in operation:
            assert {"413", "415"} <= codes, ref
