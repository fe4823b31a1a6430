"""Closing the loop (issue 11): verification before closure, SLA due dates, waivers requested
and approved (reminders, lapses), comments with mentions, bulk actions. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from riskengine.audits import outbox
from riskengine.audits.models import AuditOutbox
from riskengine.audits.notice_text import _default_labels, render_email_notice
from riskengine.cli import main
from riskengine.store import utcnow
from riskengine.waivers import sweep
from tests.api.support import Caller, checklist, unique_code

TODAY = dt.date(2026, 11, 23)
# Milestones far ahead: the SLA's date comes first.
LATER = {"launch_date": "2027-06-01", "subscription_start": "2027-05-01",
         "contract_delivery_date": "2028-06-30", "forecast_completion_date": "2028-06-20"}


@pytest.fixture
def project(admin: Caller, today: Callable[[dt.date], None]) -> dict[str, Any]:
    today(TODAY)
    code = unique_code()
    body = checklist("sales-risky", code, project={"code": code, "city": unique_code("城")},
                     milestones=LATER)
    answer = admin.submit(body)
    assert answer.status_code == 201, answer.get_json()
    assessment: dict[str, Any] = answer.get_json()
    return assessment


def blocking(assessment: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in assessment["findings"] if f["blocking"])


def path(finding: dict[str, Any]) -> str:
    return f"/api/v1/findings/{finding['id']}"


def owner_of(caller: Callable[..., Caller], finding: dict[str, Any],
             name: str | None = None) -> Caller:
    return caller("owner", department=finding["owner"], name=name or f"head.{finding['owner']}")


def gate_of(admin: Caller, assessment: dict[str, Any]) -> str:
    project: dict[str, Any] = admin.get(f"/api/v1/projects/{assessment['project_code']}").get_json()
    return str(project["gate"])


def resolve(owner: Caller, finding: dict[str, Any], **extra: Any) -> Any:
    assert owner.patch(path(finding), {"status": "in_progress"}).status_code == 200
    return owner.patch(path(finding), {"status": "resolved", **extra})


# 1. Verification before closure ------------------------------------------------------------

def test_a_resolved_blocking_finding_holds_the_gate_until_verified(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    others = [f for f in project["findings"] if f["blocking"]]
    reviewer = caller("reviewer", name="reviewer.zhao")
    for finding in others:
        assert resolve(owner_of(caller, finding), finding).status_code == 200
    assert gate_of(admin, project) == "fail"  # resolved is the owner's word only
    for finding in others:
        answer = reviewer.patch(path(finding), {"status": "verified"})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["status"] == "verified"
        assert answer.get_json()["events"][-1]["action"] == "verified"
    assert gate_of(admin, project) != "fail"


def test_only_a_verifier_verifies_and_never_the_resolver(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    owner = owner_of(caller, finding)
    assert resolve(owner, finding).status_code == 200
    refused = owner.patch(path(finding), {"status": "verified"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == (
        "整改结果由评审人、管理员或核实部门（客户关系）核实")
    english = owner.patch(path(finding), {"status": "verified"}, query_string={"lang": "en"})
    assert "verifier department (Customer relationship)" in english.get_json()["error"]["message"]
    # an admin who resolved it may not verify it either
    other = next(f for f in project["findings"] if f["blocking"] and f["id"] != finding["id"])
    assert resolve(admin, other).status_code == 200
    own = admin.patch(path(other), {"status": "verified"})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "self_verification"
    crm = caller("owner", department="crm", name="crm.li")
    assert crm.patch(path(other), {"status": "verified"}).get_json()["status"] == "verified"


def test_a_rejection_needs_a_reason_and_goes_back_to_in_progress(
        project: dict[str, Any], caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    assert resolve(owner_of(caller, finding), finding).status_code == 200
    reviewer = caller("reviewer", name="reviewer.qian")
    bare = reviewer.patch(path(finding), {"status": "in_progress"})
    assert bare.status_code == 422 and "reason" in bare.get_json()["error"]["details"]
    answer = reviewer.patch(path(finding), {"status": "in_progress",
                                            "reason": "the permit copy is unsigned"})
    body = answer.get_json()
    assert answer.status_code == 200 and body["status"] == "in_progress"
    assert body["events"][-1]["action"] == "rejected"
    assert body["events"][-1]["reason"] == "the permit copy is unsigned"


def test_a_rule_can_require_evidence_to_resolve(
        project: dict[str, Any], caller: Callable[..., Caller],
        evidence_required: set[str]) -> None:
    finding = blocking(project)
    evidence_required.add(finding["rule_id"])
    owner = owner_of(caller, finding)
    refused = resolve(owner, finding)
    assert refused.status_code == 422
    assert "evidence" in refused.get_json()["error"]["details"]
    blank = owner.patch(path(finding), {"status": "resolved", "evidence": {"note": "  "}})
    assert blank.status_code == 422
    done = owner.patch(path(finding), {"status": "resolved", "evidence": {
        "note": "permit issued", "references": ["预售许可证 2026-118"]}})
    assert done.status_code == 200, done.get_json()
    event = done.get_json()["events"][-1]
    assert event["to_status"] == "resolved"
    assert event["details"]["evidence"] == {"note": "permit issued",
                                            "references": ["预售许可证 2026-118"],
                                            "attachments": []}


def test_auto_resolution_by_a_resubmission_stays(admin: Caller,
                                                 today: Callable[[dt.date], None]) -> None:
    today(TODAY)
    code = unique_code()
    first = admin.submit(checklist("sales-risky", code, project={"code": code})).get_json()
    admin.submit(checklist("sales-ready", code, project={"code": code}))
    finding = admin.get(path(blocking(first))).get_json()
    assert finding["status"] == "resolved"
    assert finding["events"][-1]["action"] == "auto_resolved"


# 2. SLA by severity ----------------------------------------------------------------------

def test_the_due_date_is_the_earlier_of_milestone_and_sla(project: dict[str, Any],
                                                         admin: Caller) -> None:
    critical = blocking(project)
    body = admin.get(path(critical)).get_json()
    assert body["severity"] == "critical"
    assert body["sla_due_date"] == (TODAY + dt.timedelta(days=7)).isoformat()
    assert body["milestone_due_date"] == "2027-04-24"
    assert body["due_date"] == body["sla_due_date"] and body["days_left"] == 7
    medium = next(f for f in project["findings"] if f["severity"] == "medium")
    assert admin.get(path(medium)).get_json()["days_left"] == 30


def test_breaches_show_and_filter(project: dict[str, Any], admin: Caller,
                                  today: Callable[[dt.date], None]) -> None:
    today(TODAY + dt.timedelta(days=8))
    code = project["project_code"]
    listed = admin.get(f"/api/v1/findings?project={code}&overdue=true&per_page=100").get_json()
    critical = {f["id"] for f in project["findings"] if f["severity"] == "critical"}
    assert {f["id"] for f in listed["items"]} == critical
    assert all(f["sla_breached"] and f["days_left"] == -1 for f in listed["items"])


def test_a_due_date_set_by_hand_is_an_event_and_survives_resubmission(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    owner = owner_of(caller, finding)
    assert owner.patch(path(finding), {"due_date": "2027-01-15"}).status_code == 403
    reviewer = caller("reviewer", name="reviewer.sun")
    answer = reviewer.patch(path(finding), {"due_date": "2027-01-15", "reason": "board agreed"})
    body = answer.get_json()
    assert answer.status_code == 200 and body["due_date"] == "2027-01-15"
    assert body["due_set_by_hand"] is True
    assert body["events"][-1]["action"] == "due_date"
    assert body["events"][-1]["details"]["due_date"] == "2027-01-15"
    again = checklist("sales-risky", project["project_code"],
                      project={"code": project["project_code"]},
                      milestones={**LATER, "subscription_start": "2027-03-01"})
    assert admin.submit(again).status_code == 201
    after = admin.get(path(finding)).get_json()
    assert after["due_date"] == "2027-01-15" and after["milestone_due_date"] == "2027-02-22"


# 3. Waivers requested and approved --------------------------------------------------------

def request_waiver(who: Caller, finding: dict[str, Any], days: int = 30) -> Any:
    expires = (TODAY + dt.timedelta(days=days)).isoformat()
    return who.post(f"{path(finding)}/waiver-requests",
                    {"justification": "买方签约前书面告知", "expires": expires})


def decide(who: Caller, request_id: str, decision: str, reason: str = "") -> Any:
    return who.post(f"/api/v1/waiver-requests/{request_id}/decision",
                    {"decision": decision, "reason": reason})


def test_a_waiver_is_requested_then_approved_by_another(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    owner = owner_of(caller, finding)
    asked = request_waiver(owner, finding)
    assert asked.status_code == 201, asked.get_json()
    request = asked.get_json()
    assert request["status"] == "pending" and request["requested_by"] == f"head.{finding['owner']}"
    assert request_waiver(owner, finding).get_json()["error"]["code"] == "request_pending"
    assert decide(owner, request["id"], "approve").status_code == 403
    queue = caller("reviewer", name="reviewer.zhou").get("/api/v1/waiver-requests").get_json()
    assert request["id"] in {r["id"] for r in queue["items"]}
    approved = decide(caller("reviewer", name="reviewer.zhou"), request["id"], "approve")
    body = approved.get_json()
    assert approved.status_code == 200 and body["status"] == "waived"
    assert body["waiver"]["expires"] == request["expires"]
    assert body["waiver"]["approver"] == "reviewer.zhou"
    assert [e["action"] for e in body["events"]][-2:] == ["waiver_requested", "waived"]
    assert body["waiver_requests"][0]["status"] == "approved"
    assert decide(admin, request["id"], "deny", "late").get_json()["error"]["code"] == (
        "request_decided")


def test_nobody_approves_their_own_request_and_a_denial_has_a_reason(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    request = request_waiver(admin, finding).get_json()
    own = decide(admin, request["id"], "approve")
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "self_approval"
    reviewer = caller("reviewer", name="reviewer.wu")
    assert decide(reviewer, request["id"], "deny").status_code == 422
    denied = decide(reviewer, request["id"], "deny", "fix it instead").get_json()
    assert denied["status"] == "open" and denied["events"][-1]["action"] == "waiver_denied"
    assert denied["waiver_requests"][0]["decision_reason"] == "fix it instead"


def test_a_pm_requests_and_an_extension_is_a_new_request(
        project: dict[str, Any], caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    pm = caller("submitter", projects=[project["project_code"]], name="pm.chen")
    reviewer = caller("reviewer", name="reviewer.he")
    first = request_waiver(pm, finding, 20).get_json()
    assert decide(reviewer, first["id"], "approve").status_code == 200
    extension = request_waiver(pm, finding, 60)
    assert extension.status_code == 201
    body = decide(reviewer, extension.get_json()["id"], "approve").get_json()
    assert body["waiver"]["expires"] == (TODAY + dt.timedelta(days=60)).isoformat()
    assert [r["status"] for r in body["waiver_requests"]] == ["approved", "approved"]
    auditor = caller("auditor")
    assert request_waiver(auditor, finding).status_code == 403


def test_the_direct_waiver_is_recorded_as_a_request_approved_at_once(
        project: dict[str, Any], caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    reviewer = caller("reviewer", name="reviewer.ma")
    answer = reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": (TODAY + dt.timedelta(days=10)).isoformat()}})
    body = answer.get_json()
    assert answer.status_code == 200 and body["status"] == "waived"
    [request] = body["waiver_requests"]
    assert request["status"] == "approved" and request["requested_by"] == "reviewer.ma"
    assert request["waiver_id"] == body["waiver"]["id"]
    assert body["events"][-1]["details"]["request_id"] == request["id"]


@pytest.fixture
def subscribed(app: Flask, project: dict[str, Any]) -> Callable[[], list[dict[str, Any]]]:
    """A webhook for every department of the project; returns the notices queued for it."""
    with app.extensions["riskengine"].database.write() as session:
        row = outbox.create_subscription(session, "webhook", "http://127.0.0.1:9/hook", "s",
                                         None, [project["project_code"]], "admin", utcnow())
        subscription_id = row.id

    def queued() -> list[dict[str, Any]]:
        with app.extensions["riskengine"].database.read() as session:
            rows = session.scalars(select(AuditOutbox).where(
                AuditOutbox.subscription_id == subscription_id).order_by(AuditOutbox.id))
            return [{"recipient": r.recipient, "run_id": r.run_id, **json.loads(r.payload)}
                    for r in rows]
    return queued


def swept(app: Flask, day: dt.date) -> Any:
    state = app.extensions["riskengine"]
    with state.database.write() as session:
        return sweep(session, day, state.assessor.catalog.policy)


def test_reminders_are_queued_once_before_expiry(
        app: Flask, project: dict[str, Any], caller: Callable[..., Caller],
        subscribed: Callable[[], list[dict[str, Any]]]) -> None:
    finding = blocking(project)
    expires = TODAY + dt.timedelta(days=20)
    reviewer = caller("reviewer", name="reviewer.lin")
    assert reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": expires.isoformat()}}).status_code == 200
    assert finding["id"] not in swept(app, expires - dt.timedelta(days=15)).reminded
    assert finding["id"] in swept(app, expires - dt.timedelta(days=14)).reminded
    assert finding["id"] not in swept(app, expires - dt.timedelta(days=13)).reminded  # once
    assert finding["id"] in swept(app, expires - dt.timedelta(days=3)).reminded
    swept(app, expires - dt.timedelta(days=2))
    notices = [n for n in subscribed() if n.get("finding", {}).get("id") == finding["id"]]
    assert [(n["event"], n["details"]["days_left"]) for n in notices] == [
        ("waiver.expiring", 14), ("waiver.expiring", 3)]
    assert all(n["recipient"] == finding["owner"] and n["run_id"] is None for n in notices)


def test_a_lapsed_waiver_reads_open_everywhere_and_is_recorded_once(
        app: Flask, project: dict[str, Any], admin: Caller, caller: Callable[..., Caller],
        today: Callable[[dt.date], None],
        subscribed: Callable[[], list[dict[str, Any]]]) -> None:
    finding = blocking(project)
    expires = TODAY + dt.timedelta(days=5)
    reviewer = caller("reviewer", name="reviewer.gao")
    assert reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": expires.isoformat()}}).status_code == 200
    code = project["project_code"]
    listing = f"/api/v1/findings?project={code}&status=open&per_page=100"
    assert finding["id"] not in {f["id"] for f in admin.get(listing).get_json()["items"]}
    lapsed_on = expires + dt.timedelta(days=1)
    today(lapsed_on)
    # before the sweep: open in the filter and in the body, not waived
    assert finding["id"] in {f["id"] for f in admin.get(listing).get_json()["items"]}
    waived = admin.get(f"/api/v1/findings?project={code}&status=waived").get_json()["items"]
    assert finding["id"] not in {f["id"] for f in waived}
    assert admin.get(path(finding)).get_json()["status"] == "open"
    assert finding["id"] in swept(app, lapsed_on).lapsed
    assert finding["id"] not in swept(app, lapsed_on).lapsed  # recorded once
    body = admin.get(path(finding)).get_json()
    lapse = [e for e in body["events"] if e["action"] == "waiver_lapsed"]
    assert len(lapse) == 1 and lapse[0]["to_status"] == "open"
    assert lapse[0]["details"]["expired_on"] == expires.isoformat()
    # the SLA clock starts again from the lapse
    assert body["sla_due_date"] == (lapsed_on + dt.timedelta(days=7)).isoformat()
    notices = [n for n in subscribed() if n.get("finding", {}).get("id") == finding["id"]
               and n["event"] == "waiver.expired"]
    assert len(notices) == 1 and notices[0]["recipient"] == finding["owner"]
    assert [(n["kind"], n["recipient"]) for n in body["notices"]] == [
        ("waiver_lapsed", finding["owner"])]
    assert gate_of(admin, project) == "fail"


def test_touching_a_lapsed_finding_records_the_lapse_first(
        project: dict[str, Any], caller: Callable[..., Caller],
        today: Callable[[dt.date], None]) -> None:
    finding = blocking(project)
    reviewer = caller("reviewer", name="reviewer.luo")
    waived = reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": (TODAY + dt.timedelta(days=2)).isoformat()}})
    today(TODAY + dt.timedelta(days=4))
    owner = owner_of(caller, finding)
    read = owner.get(path(finding)).get_json()
    assert read["status"] == "open" and read["allowed_transitions"] == ["in_progress", "waived"]
    started = owner.patch(path(finding), {"status": "in_progress",
                                          "version": waived.get_json()["version"]})
    assert started.status_code == 200, started.get_json()
    assert [e["action"] for e in started.get_json()["events"]][-2:] == ["waiver_lapsed",
                                                                         "status"]


def test_the_sweep_command(db_url: str, project: dict[str, Any], caller: Callable[..., Caller],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    finding = blocking(project)
    reviewer = caller("reviewer", name="reviewer.cao")
    expires = TODAY + dt.timedelta(days=1)
    assert reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": expires.isoformat()}}).status_code == 200
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["findings", "sweep", "--today",
                                       (expires + dt.timedelta(days=1)).isoformat()])
    assert result.exit_code == 0, result.output
    assert finding["id"] in json.loads(result.output)["lapsed"]
    bad = CliRunner().invoke(main, ["findings", "sweep", "--today", "soon"])
    assert bad.exit_code == 2 and "not an ISO date" in bad.output


# 4. Comments ---------------------------------------------------------------------------------

def test_comments_mention_departments_by_code_or_label(
        app: Flask, project: dict[str, Any], caller: Callable[..., Caller],
        subscribed: Callable[[], list[dict[str, Any]]]) -> None:
    finding = blocking(project)
    owner = owner_of(caller, finding)
    answer = owner.post(f"{path(finding)}/comments",
                        {"body": "请@法务确认合同条款，@crm 通知客户；@法务 尽快"})
    assert answer.status_code == 201, answer.get_json()
    comment = answer.get_json()
    assert comment["mentions"] == ["legal", "crm"]
    listed = owner.get(f"{path(finding)}/comments").get_json()["items"]
    assert [c["id"] for c in listed] == [comment["id"]]
    notices = [n for n in subscribed() if n["event"] == "comment.mention"
               and n["finding"]["id"] == finding["id"]]
    assert sorted(n["recipient"] for n in notices) == ["crm", "legal"]
    # an e-mail subscription gets it through the notices' own renderer
    subject, body = render_email_notice(notices[0], "zh", _default_labels(), "https://re.example")
    assert project["project_code"] in subject + body
    assert finding["title"] in body and "请@法务确认合同条款" in body
    assert f"/findings/{finding['id']}" in body or "https://re.example" in body
    events = owner.get(path(finding)).get_json()["events"]
    assert events[-1]["action"] == "commented"
    assert events[-1]["details"]["comment_id"] == comment["id"]


def test_a_mention_of_no_department_is_refused(project: dict[str, Any],
                                               caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    owner = owner_of(caller, finding)
    answer = owner.post(f"{path(finding)}/comments", {"body": "@财务部 看一下"})
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert "@财务部" in error["details"]["body"][0] and "legal" in error["details"]["allowed"]
    assert owner.get(f"{path(finding)}/comments").get_json()["items"] == []
    assert caller("auditor").post(f"{path(finding)}/comments",
                                  {"body": "ok"}).status_code == 403


# 5. Bulk actions -----------------------------------------------------------------------------

def test_bulk_start_reports_each_item_with_one_event_each(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    marketing = [f for f in project["findings"] if f["owner"] == "marketing"]
    crm = next(f for f in project["findings"] if f["owner"] == "crm")
    owner = caller("owner", department="marketing", name="head.marketing")
    answer = owner.post("/api/v1/findings/bulk", {
        "action": "start", "ids": [f["id"] for f in marketing] + [crm["id"], "nope"]})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["total"] == len(marketing) + 2 and body["succeeded"] == len(marketing)
    results = {i["id"]: i for i in body["items"]}
    assert all(results[f["id"]]["ok"] and results[f["id"]]["status"] == "in_progress"
               for f in marketing)
    assert results[crm["id"]]["ok"] is False and results["nope"]["error"]["code"] == (
        "not_found")
    for finding in marketing:
        events = admin.get(path(finding)).get_json()["events"]
        assert [e["action"] for e in events] == ["status"]
    assert admin.get(path(crm)).get_json()["status"] == "open"


def test_bulk_by_filter_sets_due_dates_for_reviewers_only(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    wanted = {"action": "set_due_date", "due_date": "2027-02-01",
              "filter": {"project": project["project_code"], "severity": ["high"]}}
    owner = caller("owner", department="marketing")
    refused = owner.post("/api/v1/findings/bulk", wanted).get_json()
    assert refused["succeeded"] == 0 and refused["failed"] > 0
    assert {i["error"]["code"] for i in refused["items"]} == {"forbidden"}
    body = caller("reviewer", name="reviewer.bulk").post("/api/v1/findings/bulk",
                                                         wanted).get_json()
    high = {f["id"] for f in project["findings"] if f["severity"] == "high"}
    assert {i["id"] for i in body["items"]} == high and body["failed"] == 0
    assert all(admin.get(f"/api/v1/findings/{i}").get_json()["due_date"] == "2027-02-01"
               for i in high)


def test_bulk_reassign_and_request_verification(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = next(f for f in project["findings"] if f["owner"] == "engineering")
    reviewer = caller("reviewer", name="reviewer.re")
    moved = reviewer.post("/api/v1/findings/bulk", {"action": "assign", "assign_to": "design",
                                                    "ids": [finding["id"]]}).get_json()
    assert moved["succeeded"] == 1
    design = caller("owner", department="design", name="head.design")
    assert design.patch(path(finding), {"status": "in_progress"}).status_code == 200
    asked = design.post("/api/v1/findings/bulk", {"action": "request_verification",
                                                  "ids": [finding["id"]]}).get_json()
    assert asked["items"][0]["status"] == "resolved"
    # a re-submission keeps the reassignment
    again = checklist("sales-risky", project["project_code"],
                      project={"code": project["project_code"]},
                      milestones={**LATER, "subscription_start": "2027-04-01"})
    assert admin.submit(again).status_code == 201
    after = admin.get(path(finding)).get_json()
    assert after["milestone_due_date"] == "2027-03-25"  # the evaluation was refreshed
    assert after["owner"] == "design"


def test_bulk_needs_ids_or_filter_and_the_action_s_value(admin: Caller) -> None:
    both = admin.post("/api/v1/findings/bulk", {"action": "start"})
    assert both.status_code == 422 and "ids" in both.get_json()["error"]["details"]
    missing = admin.post("/api/v1/findings/bulk", {"action": "assign", "ids": ["x"]})
    assert missing.status_code == 422 and "assign_to" in missing.get_json()["error"]["details"]
    unknown = admin.post("/api/v1/findings/bulk", {"action": "close", "ids": ["x"]})
    assert unknown.status_code == 422


def test_two_sweeps_at_once_record_one_lapse_and_one_notice(
        app: Flask, project: dict[str, Any], admin: Caller, caller: Callable[..., Caller],
        subscribed: Callable[[], list[dict[str, Any]]]) -> None:
    finding = blocking(project)
    expires = TODAY + dt.timedelta(days=3)
    reviewer = caller("reviewer", name="reviewer.twice")
    assert reviewer.patch(path(finding), {"status": "waived", "waiver": {
        "justification": "告知", "expires": expires.isoformat()}}).status_code == 200
    day, start = expires + dt.timedelta(days=1), threading.Barrier(2)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            swept(app, day)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    events = admin.get(path(finding)).get_json()["events"]
    assert [e["action"] for e in events].count("waiver_lapsed") == 1
    lapses = [n for n in subscribed() if n.get("finding", {}).get("id") == finding["id"]
              and n["event"] == "waiver.expired"]
    assert len(lapses) == 1

