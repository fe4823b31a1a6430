"""Gate reviews: frozen to what they judged, refused over a failed gate, superseded later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.api.support import Caller, checklist, unique_code


def review(caller: Caller, code: str, decision: str, **extra: Any) -> Any:
    return caller.post(f"/api/v1/projects/{code}/gate-reviews",
                       {"stage": "sales", "decision": decision, "comments": "现场核查", **extra})


def test_review_freezes_the_assessment(admin: Caller, caller: Callable[..., Caller]) -> None:
    code = unique_code()
    assessment = admin.submit(checklist("sales-ready", code)).get_json()
    reviewer = caller("reviewer", name="reviewer.chen")
    answer = review(reviewer, code, "pass")
    assert answer.status_code == 201
    recorded = answer.get_json()
    assert recorded["assessment"] == {"id": assessment["id"], "number": assessment["number"],
                                      "content_hash": assessment["content_hash"]}
    assert (recorded["decision"], recorded["computed_gate"]) == ("pass", assessment["gate"][
        "decision"])
    assert (recorded["reviewer"], recorded["status"]) == ("reviewer.chen", "active")
    listed = admin.get(f"/api/v1/projects/{code}/gate-reviews").get_json()["items"]
    assert listed == [recorded]
    assert admin.get(f"/api/v1/projects/{code}/gate-reviews/{recorded['id']}").get_json() == \
        recorded


def test_pass_is_refused_while_the_gate_fails(admin: Caller,
                                              caller: Callable[..., Caller]) -> None:
    code = unique_code()
    admin.submit(checklist("sales-risky", code))
    refused = review(caller("reviewer"), code, "pass")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "gate_failed"
    assert refused.get_json()["error"]["details"]["blocking"]
    assert review(caller("reviewer"), code, "fail").status_code == 201
    not_admin = review(caller("reviewer"), code, "pass", override_justification="trust me")
    assert not_admin.status_code == 403
    assert review(admin, code, "pass").status_code == 409
    overridden = review(admin, code, "pass",
                        override_justification="集团批准：不利因素已在合同附件补充公示")
    assert overridden.status_code == 201
    assert overridden.get_json()["computed_gate"] == "fail"
    assert overridden.get_json()["override_justification"].startswith("集团批准")


def test_a_newer_checklist_supersedes_reviews(admin: Caller,
                                              caller: Callable[..., Caller]) -> None:
    code = unique_code()
    first = admin.submit(checklist("sales-ready", code)).get_json()
    recorded = review(caller("reviewer"), code, "pass").get_json()
    admin.submit(checklist("sales-ready", code))
    again = admin.get(f"/api/v1/projects/{code}/gate-reviews/{recorded['id']}").get_json()
    assert again["status"] == "superseded"
    assert {k: v for k, v in again.items() if k != "status"} == {
        k: v for k, v in recorded.items() if k != "status"}
    stale = review(caller("reviewer"), code, "pass", assessment_id=first["id"])
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "superseded"


def test_reviews_cannot_be_changed(admin: Caller) -> None:
    code = unique_code()
    admin.submit(checklist("sales-ready", code))
    recorded = review(admin, code, "conditional").get_json()
    path = f"/api/v1/projects/{code}/gate-reviews/{recorded['id']}"
    for method in ("PATCH", "PUT", "DELETE"):
        answer = admin.request(method, path, json_body={"decision": "pass"})
        assert answer.status_code == 405
        assert answer.get_json()["error"]["code"] == "method_not_allowed"


def test_review_needs_an_assessment_of_the_stage(admin: Caller) -> None:
    code = unique_code()
    admin.submit(checklist("sales-ready", code))
    answer = admin.post(f"/api/v1/projects/{code}/gate-reviews",
                        {"stage": "delivery", "decision": "fail"})
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "no_assessment"
