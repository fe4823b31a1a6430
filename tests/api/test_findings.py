"""The finding lifecycle, waivers, optimistic concurrency and the department's queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.support import Caller, checklist, unique_code

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def risky(admin: Caller, today: Callable[[dt.date], None]) -> dict[str, Any]:
    today(TODAY)
    code = unique_code()
    body = checklist("sales-risky", code, project={"code": code, "city": unique_code("城")})
    assessment: dict[str, Any] = admin.submit(body).get_json()
    return assessment


def blocking(assessment: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in assessment["findings"] if f["blocking"])


def owner_of(caller: Callable[..., Caller], finding: dict[str, Any]) -> Caller:
    return caller("owner", department=finding["owner"], name=f"head.{finding['owner']}")


def test_lifecycle_open_in_progress_resolved(risky: dict[str, Any],
                                             caller: Callable[..., Caller]) -> None:
    finding = risky["findings"][0]
    owner = owner_of(caller, finding)
    path = f"/api/v1/findings/{finding['id']}"
    started = owner.patch(path, {"status": "in_progress", "reason": "survey booked"})
    assert started.status_code == 200 and started.get_json()["status"] == "in_progress"
    done = owner.patch(path, {"status": "resolved", "notes": "disclosed on site"})
    assert done.get_json()["status"] == "resolved"
    events = done.get_json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events if e["action"] == "status"] == [
        ("open", "in_progress"), ("in_progress", "resolved")]
    assert all(e["actor"] == f"head.{finding['owner']}" and e["at"] for e in events)
    assert events[0]["reason"] == "survey booked"


def test_invalid_transition_is_409_listing_the_allowed(risky: dict[str, Any],
                                                       admin: Caller) -> None:
    answer = admin.patch(f"/api/v1/findings/{risky['findings'][0]['id']}", {"status": "resolved"})
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"]["allowed"] == ["in_progress", "waived"]


def test_owner_changes_only_its_own_findings(risky: dict[str, Any],
                                             caller: Callable[..., Caller]) -> None:
    finding = risky["findings"][0]
    other = next(d for d in ("crm", "legal", "design") if d != finding["owner"])
    stranger = caller("owner", department=other)
    answer = stranger.patch(f"/api/v1/findings/{finding['id']}", {"status": "in_progress"})
    assert answer.status_code == 403


def waive(caller: Caller, finding_id: str, expires: dt.date,
          changes: dict[str, str] | None = None) -> Any:
    return caller.patch(f"/api/v1/findings/{finding_id}", {"status": "waived", "waiver": {
        "justification": "buyers are told in writing before signing", "approver": "gm.wang",
        "expires": expires.isoformat(), **(changes or {})}})


def test_waiver_needs_a_reviewer(risky: dict[str, Any], caller: Callable[..., Caller]) -> None:
    finding = blocking(risky)
    owner = owner_of(caller, finding)
    assert waive(owner, finding["id"], TODAY + dt.timedelta(days=30)).status_code == 403


@pytest.mark.parametrize(("waiver", "field"), [
    ({"justification": " "}, "waiver.justification"),
    ({"expires": "2026-11-01"}, "waiver.expires"),
    ({"expires": "2031-01-01"}, "waiver.expires"),
], ids=["blank-justification", "expired", "too-long"])
def test_waiver_is_validated(risky: dict[str, Any], caller: Callable[..., Caller],
                             waiver: dict[str, str], field: str) -> None:
    reviewer = caller("reviewer")
    answer = waive(reviewer, blocking(risky)["id"], TODAY + dt.timedelta(days=30), waiver)
    assert answer.status_code == 422 and field in answer.get_json()["error"]["details"]


def test_waiver_without_its_details_is_refused(risky: dict[str, Any],
                                               caller: Callable[..., Caller]) -> None:
    path = f"/api/v1/findings/{blocking(risky)['id']}"
    assert caller("reviewer").patch(path, {"status": "waived"}).status_code == 422


def test_waived_blocking_finding_lifts_the_gate_until_it_expires(
        risky: dict[str, Any], caller: Callable[..., Caller], admin: Caller,
        today: Callable[[dt.date], None]) -> None:
    reviewer = caller("reviewer", name="reviewer.li")
    expires = TODAY + dt.timedelta(days=10)
    for fingerprint in risky["gate"]["blocking"]:
        finding = next(f for f in risky["findings"] if f["fingerprint"] == fingerprint)
        answer = waive(reviewer, finding["id"], expires)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["waiver"]["granted_by"] == "reviewer.li"
    code = risky["project_code"]
    gate = admin.get(f"/api/v1/assessments/{risky['id']}").get_json()["gate"]
    assert gate == {"decision": "conditional", "blocking": [], "blocking_ids": []}
    assert admin.get(f"/api/v1/projects/{code}").get_json()["gate"] == "conditional"
    today(expires + dt.timedelta(days=1))
    lapsed = admin.get(f"/api/v1/assessments/{risky['id']}").get_json()
    assert lapsed["gate"]["decision"] == "fail"
    assert sorted(lapsed["gate"]["blocking"]) == sorted(risky["gate"]["blocking"])
    # the lapsed waivers read as open in the assessment too: its statuses and its counts
    reopened = [f for f in lapsed["findings"] if f["fingerprint"] in risky["gate"]["blocking"]]
    assert {f["status"] for f in reopened} == {"open"}
    assert all(f["waiver"]["holds"] is False for f in reopened)
    assert "waived" not in lapsed["summary"]["by_status"]
    listed = admin.get(f"/api/v1/projects?gate=fail&city={risky_city(admin, code)}").get_json()
    assert code in [p["code"] for p in listed["items"]]
    review = admin.post(f"/api/v1/projects/{code}/gate-reviews",
                        {"stage": "sales", "decision": "pass"})
    assert review.status_code == 409


def risky_city(admin: Caller, code: str) -> str:
    return str(admin.get(f"/api/v1/projects/{code}").get_json()["city"])


def test_revoking_a_waiver_reopens(risky: dict[str, Any], caller: Callable[..., Caller]) -> None:
    reviewer = caller("reviewer")
    finding = blocking(risky)
    waive(reviewer, finding["id"], TODAY + dt.timedelta(days=5))
    answer = reviewer.patch(f"/api/v1/findings/{finding['id']}", {"status": "open"})
    assert answer.get_json()["status"] == "open" and answer.get_json()["waiver"] is None


def test_concurrent_edits_are_detected(risky: dict[str, Any],
                                       caller: Callable[..., Caller]) -> None:
    finding = risky["findings"][0]
    path = f"/api/v1/findings/{finding['id']}"
    first, second = owner_of(caller, finding), owner_of(caller, finding)
    read = first.get(path)
    etag, version = read.headers["ETag"], read.get_json()["version"]
    assert first.patch(path, {"notes": "mine"}, headers={"If-Match": etag}).status_code == 200
    stale = second.patch(path, {"notes": "theirs"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert second.patch(path, {"notes": "theirs", "version": version}).status_code == 409
    assert first.get(path).get_json()["notes"] == "mine"


def test_a_waiver_persists_across_resubmission(risky: dict[str, Any], admin: Caller,
                                               caller: Callable[..., Caller]) -> None:
    finding = blocking(risky)
    waive(caller("reviewer"), finding["id"], TODAY + dt.timedelta(days=20))
    again = admin.submit(checklist("sales-risky", risky["project_code"])).get_json()
    kept = next(f for f in again["findings"] if f["id"] == finding["id"])
    assert kept["change"] == "persisting" and kept["status"] == "waived"
    assert kept["waiver"]["expires"] == (TODAY + dt.timedelta(days=20)).isoformat()


def test_department_queries_across_projects(admin: Caller, caller: Callable[..., Caller],
                                            today: Callable[[dt.date], None]) -> None:
    today(TODAY)
    codes = [unique_code() for _ in range(2)]
    found = [admin.submit(checklist("sales-risky", c)).get_json()["findings"] for c in codes]
    critical = [f for findings in found for f in findings if f["severity"] == "critical"]
    owner = critical[0]["owner"]
    mine = [f for f in critical if f["owner"] == owner]
    query = f"owner={owner}&severity=critical&status=open"
    one = admin.get(f"/api/v1/findings?{query}&project={codes[0]}").get_json()
    assert one["total"] == len(mine) // 2 and {f["project_code"] for f in one["items"]} == {
        codes[0]}
    everywhere = owner_of(caller, critical[0]).get(f"/api/v1/findings?{query}&per_page=100")
    ids = {f["id"] for f in everywhere.get_json()["items"]}
    assert {f["id"] for f in mine} <= ids
    page = admin.get(f"/api/v1/findings?project={codes[0]}&per_page=2").get_json()
    assert page["total"] == len(found[0]) and len(page["items"]) == min(2, len(found[0]))


def test_overdue_findings(risky: dict[str, Any], admin: Caller,
                          today: Callable[[dt.date], None]) -> None:
    code = risky["project_code"]
    latest_due = max(dt.date.fromisoformat(f["due_date"]) for f in risky["findings"])
    today(latest_due + dt.timedelta(days=1))
    overdue = admin.get(f"/api/v1/findings?project={code}&overdue=true&per_page=100").get_json()
    assert overdue["total"] == len(risky["findings"])
    assert all(f["overdue"] for f in overdue["items"])
    earliest_due = min(dt.date.fromisoformat(f["due_date"]) for f in risky["findings"])
    today(earliest_due)
    assert admin.get(f"/api/v1/findings?project={code}&overdue=true").get_json()["total"] == 0
    assert admin.get(f"/api/v1/findings?project={code}&overdue=false").get_json()["total"] == len(
        risky["findings"])
