"""The audits over HTTP: schedules, the delivery date, runs with diffs and delivery status."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from riskengine.audits.clock import ManualClock
from riskengine.audits.runner import run_due
from tests.api.support import Caller, make_app, new_token
from tests.audits.support import at

D = dt.date
Make = Callable[..., dict[str, Any]]
CODE = "NJ-JY-01"


@pytest.fixture
def app(db_url: str, clock: ManualClock) -> Iterator[Flask]:
    app = make_app(db_url, AUDIT_CLOCK=clock, AUDIT_SCHEDULER=False)
    yield app
    app.extensions["riskengine"].database.engine.dispose()


@pytest.fixture
def as_role(app: Flask) -> Callable[..., Caller]:
    def make(role: str = "admin", projects: list[str] | None = None) -> Caller:
        return Caller(app, new_token(app, role, projects))
    return make


def _submit(caller: Caller, checklist: dict[str, Any]) -> None:
    assert caller.submit(checklist).status_code == 201


def _run(app: Flask, now: dt.datetime) -> list[str]:
    return run_due(app.extensions["riskengine.audits"].scheduler.auditor, now=now).runs


def test_empty_body_creates_the_default_schedule(as_role: Callable[..., Caller],
                                                 delivery_checklist: Make) -> None:
    pm = as_role("submitter", [CODE])
    _submit(pm, delivery_checklist(as_of=D(2026, 12, 20)))
    answer = pm.post(f"/api/v1/projects/{CODE}/audit-schedules", {})
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["kind"] == "default" and body["offsets_days"] == [90, 60, 30, 14, 7]
    assert body["delivery_date"] == "2027-06-30" and body["delivery_source"] == "checklist"
    assert [s["slot_date"] for s in body["slots"]] == [
        "2027-04-01", "2027-05-01", "2027-05-31", "2027-06-16", "2027-06-23"]
    listed = pm.get(f"/api/v1/projects/{CODE}/audit-schedules").json["items"]
    assert [s["id"] for s in listed] == [body["id"]]


def test_without_a_delivery_date_the_schedule_is_refused(as_role: Callable[..., Caller]) -> None:
    admin = as_role()
    assert admin.post("/api/v1/projects", {"code": "EMPTY-1"}).status_code == 201
    answer = admin.post("/api/v1/projects/EMPTY-1/audit-schedules", {})
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "delivery_date_unknown"
    assert "contract_delivery_date" in answer.json["error"]["details"]
    answer = admin.request("PUT", "/api/v1/projects/EMPTY-1/delivery-date",
                       json_body={"contract_delivery_date": "2027-06-30"})
    assert answer.status_code == 200 and answer.json["source"] == "project"
    assert admin.post("/api/v1/projects/EMPTY-1/audit-schedules", {}).status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"kind": "weekly"}, "start", id="weekly_without_dates"),
    pytest.param({"offsets_days": ["x"]}, "offsets_days.0", id="offset_not_integer"),
    pytest.param({"kind": "yearly"}, "kind", id="unknown_kind"),
    pytest.param({"id": 3}, "id", id="server_owned_field"),
])
def test_invalid_schedules_get_422_with_the_field(as_role: Callable[..., Caller],
                                                  delivery_checklist: Make,
                                                  body: dict[str, Any], field: str) -> None:
    admin = as_role()
    _submit(admin, delivery_checklist())
    answer = admin.post(f"/api/v1/projects/{CODE}/audit-schedules", body)
    assert answer.status_code == 422
    assert field in answer.json["error"]["details"]


def test_runs_are_listed_with_diffs_and_delivery_status(
        app: Flask, as_role: Callable[..., Caller], delivery_checklist: Make) -> None:
    admin = as_role()
    _submit(admin, delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    assert admin.post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": "http://127.0.0.1:9/hook",
        "recipients": ["engineering"]}).status_code == 201
    admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {})
    assert len(_run(app, at("2027-04-01"))) == 1
    listed = admin.get(f"/api/v1/audit-runs?project={CODE}").json
    assert listed["total"] == 1
    (item,) = listed["items"]
    assert item["gate"]["decision"] == "fail" and item["deliveries"]["pending"] == 1
    run = admin.get(f"/api/v1/audit-runs/{item['id']}?lang=en").json
    assert run["diff"]["gate"] == {"before": None, "after": "fail", "changed": False}
    assert {f["change"] for f in run["findings"]} == {"new"}
    assert run["findings"][0]["title"].isascii()
    (delivery,) = run["delivery_status"]
    assert delivery["recipient"] == "engineering" and delivery["attempts"] == 1
    assert delivery["last_error"]


def test_runs_of_other_projects_are_not_found(app: Flask, as_role: Callable[..., Caller],
                                              delivery_checklist: Make) -> None:
    admin = as_role()
    _submit(admin, delivery_checklist(as_of=D(2027, 3, 30)))
    admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {})
    (run_id,) = _run(app, at("2027-04-01"))
    outsider = as_role("auditor", ["OTHER-1"])
    assert outsider.get(f"/api/v1/audit-runs/{run_id}").status_code == 404
    assert outsider.get(f"/api/v1/audit-runs?project={CODE}").json["total"] == 0
    assert outsider.get(f"/api/v1/projects/{CODE}/audit-schedules").status_code == 404


@pytest.mark.parametrize(("role", "status"), [
    pytest.param("owner", 403, id="owner"), pytest.param("auditor", 403, id="auditor"),
    pytest.param("reviewer", 201, id="reviewer"), pytest.param("submitter", 201, id="pm"),
])
def test_who_may_schedule(as_role: Callable[..., Caller], delivery_checklist: Make,
                          role: str, status: int) -> None:
    _submit(as_role(), delivery_checklist())
    caller = as_role(role, [CODE])
    assert caller.post(f"/api/v1/projects/{CODE}/audit-schedules", {}).status_code == status


def test_subscriptions_are_admin_only_and_secrets_shown_once(
        as_role: Callable[..., Caller]) -> None:
    body = {"channel": "webhook", "target": "https://hooks.example.test/riskengine"}
    assert as_role("reviewer").post("/api/v1/audit-subscriptions", body).status_code == 403
    admin = as_role()
    created = admin.post("/api/v1/audit-subscriptions", body)
    assert created.status_code == 201 and len(created.json["secret"]) >= 32
    (listed,) = admin.get("/api/v1/audit-subscriptions").json["items"]
    assert "secret" not in listed
    bad = admin.post("/api/v1/audit-subscriptions", {**body, "target": "ftp://x"})
    assert bad.status_code == 422 and "target" in bad.json["error"]["details"]
    assert admin.request("DELETE", f"/api/v1/audit-subscriptions/{listed['id']}").status_code == 204
    assert admin.get("/api/v1/audit-subscriptions").json["items"] == []
    assert admin.request("DELETE", f"/api/v1/audit-subscriptions/{listed['id']}").status_code == 404


def test_deleting_a_schedule_keeps_its_runs(app: Flask, as_role: Callable[..., Caller],
                                            delivery_checklist: Make) -> None:
    admin = as_role()
    _submit(admin, delivery_checklist(as_of=D(2027, 3, 30)))
    schedule = admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {}).json
    _run(app, at("2027-04-01"))
    path = f"/api/v1/projects/{CODE}/audit-schedules/{schedule['id']}"
    assert admin.request("DELETE", path).status_code == 204
    assert admin.get(path).status_code == 404
    assert _run(app, at("2027-06-30")) == []
    assert admin.get(f"/api/v1/audit-runs?project={CODE}").json["total"] == 1


def test_moving_the_delivery_date_over_http_moves_future_slots(
        app: Flask, clock: ManualClock, as_role: Callable[..., Caller],
        delivery_checklist: Make) -> None:
    admin = as_role()
    _submit(admin, delivery_checklist(as_of=D(2027, 3, 30)))
    admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {})
    _run(app, at("2027-04-01"))
    clock.set(at("2027-04-10"))
    answer = admin.request("PUT", f"/api/v1/projects/{CODE}/delivery-date",
                       json_body={"contract_delivery_date": "2027-08-31"})
    assert answer.json == {"project_code": CODE, "contract_delivery_date": "2027-08-31",
                           "effective_delivery_date": "2027-08-31", "source": "project"}
    (schedule,) = admin.get(f"/api/v1/projects/{CODE}/audit-schedules").json["items"]
    assert [(s["slot_date"], s["status"]) for s in schedule["slots"]] == [
        ("2027-04-01", "done"), ("2027-06-02", "pending"), ("2027-07-02", "pending"),
        ("2027-08-01", "pending"), ("2027-08-17", "pending"), ("2027-08-24", "pending")]


def test_the_app_factory_starts_the_scheduler_when_configured(
        db_url: str, clock: ManualClock, delivery_checklist: Make) -> None:
    app = make_app(db_url, AUDIT_CLOCK=clock, AUDIT_SCHEDULER=True,
                   AUDIT_SCHEDULER_INTERVAL=0.05)
    scheduler = app.extensions["riskengine.audits"].scheduler
    try:
        assert scheduler.running
        admin = Caller(app, new_token(app, "admin"))
        _submit(admin, delivery_checklist(as_of=D(2026, 12, 20)))
        admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {})
        clock.set(at("2027-05-01", 1))
        deadline = time.monotonic() + 10
        while admin.get("/api/v1/audit-runs").json["total"] < 2:
            assert time.monotonic() < deadline, "the scheduler ran nothing"
            time.sleep(0.05)
    finally:
        scheduler.stop()
        app.extensions["riskengine"].database.engine.dispose()
    assert not scheduler.running
    assert admin.get("/api/v1/audit-runs").json["total"] == 2


def test_no_scheduler_unless_asked(app: Flask) -> None:
    assert not app.extensions["riskengine.audits"].scheduler.running


def test_test_apps_ignore_an_exported_scheduler_switch(db_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKENGINE_SCHEDULER", "1")
    app = make_app(db_url)
    try:
        assert not app.extensions["riskengine.audits"].scheduler.running
    finally:
        app.extensions["riskengine"].database.engine.dispose()


ROLES = ("submitter", "owner", "reviewer", "auditor", "admin")
WRITE = {"submitter": 2, "owner": 403, "reviewer": 2, "auditor": 403, "admin": 2}
ADMIN = {"submitter": 403, "owner": 403, "reviewer": 403, "auditor": 403, "admin": 2}


def test_authorization_matrix(app: Flask, as_role: Callable[..., Caller],
                              delivery_checklist: Make) -> None:
    """Every audit endpoint × every role × own or another project → the expected status
    (2 stands for the endpoint's success code)."""
    root = as_role()
    for code in (CODE, "OTHER-01"):
        _submit(root, delivery_checklist(code=code, as_of=D(2027, 3, 30)))
    run_ids = {}
    for code in (CODE, "OTHER-01"):
        root.post(f"/api/v1/projects/{code}/audit-schedules", {"offsets_days": [90]})
    for run_id in _run(app, at("2027-04-01")):
        run_ids[root.get(f"/api/v1/audit-runs/{run_id}").json["project_code"]] = run_id

    def schedule(code: str) -> int:
        made = root.post(f"/api/v1/projects/{code}/audit-schedules", {"offsets_days": [7]})
        return int(made.json["id"])

    def subscription(code: str) -> int:
        made = root.post("/api/v1/audit-subscriptions",
                         {"channel": "email", "target": "crm@example.test", "projects": [code]})
        return int(made.json["id"])

    every = dict.fromkeys(ROLES, 2)
    # endpoint: (call, status by role on its own project, on the other project; None: the same)
    matrix: dict[str, tuple[Callable[[Caller, str], Any], dict[str, int], int | None]] = {
        "GET schedules": (lambda c, p: c.get(f"/api/v1/projects/{p}/audit-schedules"),
                          every, 404),
        "POST schedule": (lambda c, p: c.post(f"/api/v1/projects/{p}/audit-schedules", {}),
                          WRITE, 404),
        "GET schedule": (lambda c, p: c.get(
            f"/api/v1/projects/{p}/audit-schedules/{schedule(p)}"), every, 404),
        "DELETE schedule": (lambda c, p: c.request(
            "DELETE", f"/api/v1/projects/{p}/audit-schedules/{schedule(p)}"), WRITE, 404),
        "DELETE schedules": (lambda c, p: c.request(
            "DELETE", f"/api/v1/projects/{p}/audit-schedules"), WRITE, 404),
        "GET delivery date": (lambda c, p: c.get(f"/api/v1/projects/{p}/delivery-date"),
                              every, 404),
        "PUT delivery date": (lambda c, p: c.request(
            "PUT", f"/api/v1/projects/{p}/delivery-date",
            json_body={"contract_delivery_date": "2027-06-30"}), WRITE, 404),
        "GET run": (lambda c, p: c.get(f"/api/v1/audit-runs/{run_ids[p]}"), every, 404),
        "GET subscriptions": (lambda c, p: c.get("/api/v1/audit-subscriptions"),
                              {**ADMIN, "auditor": 2}, None),
        # A scoped token subscribes only to its own projects, and revokes only those.
        "POST subscription": (lambda c, p: c.post("/api/v1/audit-subscriptions", {
            "channel": "webhook", "target": "https://example.test/h", "projects": [p]}),
            ADMIN, None),
        "DELETE subscription": (lambda c, p: c.request(
            "DELETE", f"/api/v1/audit-subscriptions/{subscription(p)}"), ADMIN, None),
    }
    callers = {role: as_role(role, [CODE]) for role in ROLES}
    wrong = []
    for name, (call, own, other) in matrix.items():
        for role, caller in callers.items():
            outside = other or (404 if name.endswith(" subscription") and own[role] == 2
                                else own[role])
            for project, expected in ((CODE, own[role]), ("OTHER-01", outside)):
                status = call(caller, project).status_code
                if status != expected and not (expected == 2 and 200 <= status < 300):
                    wrong.append(f"{name} as {role} on {project}: {status} != {expected}")
    assert wrong == []
    for role, caller in callers.items():
        listed = caller.get("/api/v1/audit-runs").json["items"]
        assert {item["project_code"] for item in listed} == {CODE}, role


def test_a_delivery_review_reads_the_latest_audit_run(app: Flask,
                                                      as_role: Callable[..., Caller],
                                                      delivery_checklist: Make) -> None:
    admin, reviewer = as_role(), as_role("reviewer", [CODE])

    def review(caller: Caller, decision: str, **extra: Any) -> Any:
        return caller.post(f"/api/v1/projects/{CODE}/gate-reviews",
                           {"stage": "delivery", "decision": decision, **extra})

    _submit(admin, delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    assert admin.post(f"/api/v1/projects/{CODE}/audit-schedules", {}).status_code == 201
    (failed_run,) = _run(app, at("2027-04-01", 1))
    _submit(admin, delivery_checklist(as_of=D(2027, 4, 2)))  # the assessment's gate: no fail
    refused = review(reviewer, "pass")
    assert refused.status_code == 409, refused.json
    error = refused.json["error"]
    assert error["code"] == "audit_gate_failed" and error["details"]["audit_run"] == [failed_run]
    assert error["details"]["blocking"]
    read = {"id": failed_run, "slot_date": "2027-04-01", "gate": "fail"}
    lenient = review(reviewer, "conditional")  # more lenient than the run's fail: refused too
    assert lenient.status_code == 409 and lenient.json["error"]["code"] == "audit_gate_failed"
    recorded = review(reviewer, "fail")
    assert recorded.status_code == 201 and recorded.json["audit_run"] == read
    assert recorded.json["computed_gate"] != "fail"
    assert review(reviewer, "pass", override_justification="我说了算").status_code == 403
    overridden = review(admin, "pass", override_justification="集团批准：审计问题已整改")
    assert overridden.status_code == 201 and overridden.json["audit_run"] == read
    listed = admin.get(f"/api/v1/projects/{CODE}/gate-reviews?stage=delivery").json["items"]
    assert [r["audit_run"] for r in listed] == [read, read]
    (next_run,) = _run(app, at("2027-05-01", 1))  # the clean checklist, audited: no fail
    if admin.get(f"/api/v1/audit-runs/{next_run}").json["gate"]["decision"] == "conditional":
        refused = review(reviewer, "pass")  # pass over a conditional run: more lenient
        assert refused.status_code == 409, refused.json
        assert refused.json["error"]["code"] == "audit_gate_conditional"
    passed = review(reviewer, "conditional")
    assert passed.status_code == 201, passed.json
    assert passed.json["audit_run"]["id"] == next_run
    assert passed.json["audit_run"]["gate"] != "fail"


def test_a_sales_review_reads_no_audit_run(as_role: Callable[..., Caller]) -> None:
    from tests.api.support import checklist
    admin = as_role()
    _submit(admin, checklist("sales-ready", CODE))
    recorded = admin.post(f"/api/v1/projects/{CODE}/gate-reviews",
                          {"stage": "sales", "decision": "conditional"})
    assert recorded.status_code == 201 and recorded.json["audit_run"] is None
