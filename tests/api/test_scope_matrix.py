"""The authorization matrix, generated from the OpenAPI document: every operation × every role
× a token scoped to one project or to all × its own project or another's.

The operations come from /api/v1/openapi.json, not from this file: a route added without a row
in `EXPECTED` fails `test_every_documented_operation_has_expectations`, so none is left out.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from riskengine.audits.runner import run_due
from tests.api.support import (
    RULESETS,
    Caller,
    checklist,
    new_token,
    photo,
    send_file,
    unique_code,
)

ROLES = ("submitter", "owner", "reviewer", "auditor", "admin")
ANY = frozenset(ROLES)
WRITERS = frozenset({"submitter", "reviewer", "admin"})


@dataclass
class Project:
    code: str
    checklist: str = ""
    assessment: str = ""
    finding: str = ""
    department: str = ""
    review: str = ""
    run: str = ""


@dataclass
class World:
    app: Flask
    root: Caller
    root_reviewer: Caller
    own: Project
    other: Project
    callers: dict[tuple[str, bool], Caller] = field(default_factory=dict)


Send = Callable[[World, Caller, Project], TestResponse]


@dataclass(frozen=True)
class Rule:
    """Who may call an operation and how its project is named.

    `roles`: the roles that succeed (None: public, no token needed). `kind`: "project" (the
    project is in the path or names the object: another's is 404 to a scoped token),
    "global" (no project: the same answer for both), "listing" (the answer lists what the
    caller may see: another's objects are absent), "create" (a scoped token naming a project
    outside its scope is refused with `outside`; with `scoped_ok` False, whatever it names),
    "object" (an object named by a global id: the role is checked first, then the scope)."""

    send: Send
    roles: frozenset[str] | None
    kind: str = "project"
    outside: int = 404
    scoped_ok: bool = True
    listed: Callable[[dict[str, Any], Project], bool] | None = None


def _fresh_schedule(world: World, project: Project) -> int:
    answer = world.root.post(f"/api/v1/projects/{project.code}/audit-schedules",
                             {"kind": "offsets", "offsets_days": [20]})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return int(answer.get_json()["id"])


def _fresh_subscription(world: World, project: Project) -> int:
    answer = world.root.post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": f"http://127.0.0.1:9/{project.code}",
        "projects": [project.code]})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return int(answer.get_json()["id"])


def _expires(world: World) -> str:
    return (world.app.extensions["riskengine"].today() + dt.timedelta(days=30)).isoformat()


def _request_waiver(world: World, caller: Caller, project: Project) -> TestResponse:
    """Ask for a waiver; a request made is denied at once, so the next caller may ask too."""
    answer = caller.post(f"/api/v1/findings/{project.finding}/waiver-requests",
                         {"justification": "矩阵测试", "expires": _expires(world)})
    if answer.status_code == 201:
        decided = world.root.post(f"/api/v1/waiver-requests/{answer.get_json()['id']}/decision",
                                  {"decision": "deny", "reason": "matrix"})
        assert decided.status_code == 200, decided.get_data(as_text=True)
    return answer


def _fresh_request(world: World, project: Project) -> str:
    answer = world.root.post(f"/api/v1/findings/{project.finding}/waiver-requests",
                             {"justification": "矩阵测试", "expires": _expires(world)})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return str(answer.get_json()["id"])


def _decide(world: World, caller: Caller, project: Project) -> TestResponse:
    request = _fresh_request(world, project)
    answer = caller.post(f"/api/v1/waiver-requests/{request}/decision",
                         {"decision": "deny", "reason": "matrix"})
    if answer.status_code != 200:  # leave no request pending for the next caller
        world.root_reviewer.post(f"/api/v1/waiver-requests/{request}/decision",
                                 {"decision": "deny", "reason": "cleanup"})
    return answer


_SIZES = itertools.count(20)


def _new_photo() -> bytes:
    """A photo no other call sent (the same bytes to one place answer the first upload)."""
    return photo((next(_SIZES), 20), "gray")


def _attach(caller: Caller, project: Project) -> TestResponse:
    return send_file(caller, f"/api/v1/findings/{project.finding}/attachments", _new_photo())


def _attach_item(caller: Caller, project: Project) -> TestResponse:
    kind = checklist("sales-risky", project.code)["permits"][0]["kind"]
    return send_file(caller, f"/api/v1/projects/{project.code}/items/attachments",
                     _new_photo(), stage="sales", item=f"permits/{kind}")


def _fresh_attachment(world: World, project: Project) -> str:
    answer = _attach(world.root, project)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return str(answer.get_json()["id"])


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["items"]
    return items


P = "/api/v1/projects/{code}"
EXPECTED: dict[tuple[str, str], Rule] = {
    ("get", "/healthz"): Rule(lambda w, c, p: c.get("/healthz"), None, "global"),
    ("get", "/readyz"): Rule(lambda w, c, p: c.get("/readyz"), None, "global"),
    ("post", "/api/v1/evaluate"): Rule(
        lambda w, c, p: c.post("/api/v1/evaluate", checklist("sales-ready", p.code)),
        ANY, "global"),
    ("get", "/api/v1/rulesets"): Rule(lambda w, c, p: c.get("/api/v1/rulesets"), ANY,
                                      "global"),
    ("get", "/api/v1/rules/{rule_id}"): Rule(
        lambda w, c, p: c.get("/api/v1/rules/" + w.root.get("/api/v1/rulesets").get_json()[
            "rulesets"][0]["rules"][0]["id"]), ANY, "global"),
    ("get", "/api/v1/templates/{stage}.xlsx"): Rule(
        lambda w, c, p: c.get("/api/v1/templates/sales.xlsx"), ANY, "global"),
    ("get", "/api/v1/projects"): Rule(
        lambda w, c, p: c.get("/api/v1/projects?per_page=100"), ANY, "listing",
        listed=lambda body, p: p.code in {i["code"] for i in _items(body)}),
    ("post", "/api/v1/projects"): Rule(
        lambda w, c, p: c.post("/api/v1/projects", {"code": f"{p.code}-{uuid.uuid4().hex[:4]}"}),
        frozenset({"submitter", "admin"}), "create", outside=403, scoped_ok=False),
    ("get", P): Rule(lambda w, c, p: c.get(f"/api/v1/projects/{p.code}"), ANY),
    ("get", P + "/checklists"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/checklists"), ANY),
    ("post", P + "/checklists"): Rule(
        lambda w, c, p: c.submit(checklist("sales-risky", p.code)),
        frozenset({"submitter", "admin"})),
    ("get", P + "/checklists/{checklist_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/checklists/{p.checklist}"), ANY),
    ("get", "/api/v1/assessments/{assessment_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/assessments/{p.assessment}"), ANY),
    ("get", "/api/v1/findings"): Rule(
        lambda w, c, p: c.get(f"/api/v1/findings?project={p.code}"), ANY, "listing",
        listed=lambda body, p: body["total"] > 0),
    ("get", "/api/v1/findings/{finding_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/findings/{p.finding}"), ANY),
    ("patch", "/api/v1/findings/{finding_id}"): Rule(
        lambda w, c, p: c.patch(f"/api/v1/findings/{p.finding}", {"notes": "已跟进"}),
        frozenset({"owner", "reviewer", "admin"})),
    ("get", P + "/gate-reviews"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/gate-reviews"), ANY),
    ("post", P + "/gate-reviews"): Rule(
        lambda w, c, p: c.post(f"/api/v1/projects/{p.code}/gate-reviews",
                               {"stage": "sales", "decision": "fail"}),
        frozenset({"reviewer", "admin"})),
    ("get", P + "/gate-reviews/{review_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/gate-reviews/{p.review}"), ANY),
    ("get", P + "/promises"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/promises"), ANY),
    ("get", P + "/audit-schedules"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/audit-schedules"), ANY),
    ("post", P + "/audit-schedules"): Rule(
        lambda w, c, p: c.post(f"/api/v1/projects/{p.code}/audit-schedules",
                               {"kind": "offsets", "offsets_days": [21]}), WRITERS),
    ("delete", P + "/audit-schedules"): Rule(
        lambda w, c, p: c.request("DELETE", f"/api/v1/projects/{p.code}/audit-schedules"),
        WRITERS),
    ("get", P + "/audit-schedules/{schedule_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/audit-schedules/"
                              f"{_fresh_schedule(w, p)}"), ANY),
    ("delete", P + "/audit-schedules/{schedule_id}"): Rule(
        lambda w, c, p: c.request("DELETE", f"/api/v1/projects/{p.code}/audit-schedules/"
                                  f"{_fresh_schedule(w, p)}"), WRITERS),
    ("get", P + "/delivery-date"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/delivery-date"), ANY),
    ("put", P + "/delivery-date"): Rule(
        lambda w, c, p: c.request("PUT", f"/api/v1/projects/{p.code}/delivery-date",
                                  json_body={"contract_delivery_date": "2027-06-30"}), WRITERS),
    ("get", "/api/v1/audit-runs"): Rule(
        lambda w, c, p: c.get(f"/api/v1/audit-runs?project={p.code}"), ANY, "listing",
        listed=lambda body, p: p.run in {i["id"] for i in _items(body)}),
    ("get", "/api/v1/audit-runs/{run_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/audit-runs/{p.run}"), ANY),
    ("get", "/api/v1/audit-subscriptions"): Rule(
        lambda w, c, p: c.get("/api/v1/audit-subscriptions"),
        frozenset({"auditor", "admin"}), "listing",
        listed=lambda body, p: any(p.code in (i["projects"] or [p.code])
                                   for i in _items(body))),
    ("post", "/api/v1/audit-subscriptions"): Rule(
        lambda w, c, p: c.post("/api/v1/audit-subscriptions", {
            "channel": "email", "target": "pm@example.com", "projects": [p.code]}),
        frozenset({"admin"}), "create"),
    ("delete", "/api/v1/audit-subscriptions/{subscription_id}"): Rule(
        lambda w, c, p: c.request("DELETE", "/api/v1/audit-subscriptions/"
                                  f"{_fresh_subscription(w, p)}"), frozenset({"admin"}),
        "object"),
    ("get", "/api/v1/audit-subscriptions/{subscription_id}/deliveries"): Rule(
        lambda w, c, p: c.get(f"/api/v1/audit-subscriptions/{_fresh_subscription(w, p)}"
                              "/deliveries"), frozenset({"auditor", "admin"}), "object"),
    ("get", "/api/v1/rulesets/{ruleset_id}/releases"): Rule(
        lambda w, c, p: c.get("/api/v1/rulesets/sales.parking/releases"), ANY, "global"),
    ("get", "/api/v1/rulesets/{ruleset_id}/releases/{hash_}"): Rule(
        lambda w, c, p: c.get("/api/v1/rulesets/sales.parking/releases/" + next(
            r["hash"] for r in w.root.get("/api/v1/rulesets").get_json()["rulesets"]
            if r["id"] == "sales.parking")), ANY, "global"),
    ("get", "/api/v1/dashboard"): Rule(
        lambda w, c, p: c.get("/api/v1/dashboard"), ANY, "global"),
    ("get", "/api/v1/findings/{finding_id}/comments"): Rule(
        lambda w, c, p: c.get(f"/api/v1/findings/{p.finding}/comments"), ANY),
    ("post", "/api/v1/findings/{finding_id}/comments"): Rule(
        lambda w, c, p: c.post(f"/api/v1/findings/{p.finding}/comments", {"body": "已跟进"}),
        frozenset({"submitter", "owner", "reviewer", "admin"})),
    ("get", "/api/v1/findings/{finding_id}/attachments"): Rule(
        lambda w, c, p: c.get(f"/api/v1/findings/{p.finding}/attachments"), ANY),
    ("post", "/api/v1/findings/{finding_id}/attachments"): Rule(
        lambda w, c, p: _attach(c, p), frozenset({"submitter", "owner", "reviewer", "admin"})),
    ("get", P + "/items/attachments"): Rule(
        lambda w, c, p: c.get(f"/api/v1/projects/{p.code}/items/attachments"), ANY),
    ("post", P + "/items/attachments"): Rule(
        lambda w, c, p: _attach_item(c, p),
        frozenset({"submitter", "owner", "reviewer", "admin"})),
    ("get", "/api/v1/attachments/{attachment_id}"): Rule(
        lambda w, c, p: c.get(f"/api/v1/attachments/{_fresh_attachment(w, p)}"), ANY),
    ("get", "/api/v1/attachments/{attachment_id}/thumbnail"): Rule(
        lambda w, c, p: c.get(f"/api/v1/attachments/{_fresh_attachment(w, p)}/thumbnail"),
        ANY),
    ("delete", "/api/v1/attachments/{attachment_id}"): Rule(
        lambda w, c, p: c.request("DELETE", f"/api/v1/attachments/{_fresh_attachment(w, p)}"
                                  "?reason=matrix"), frozenset({"reviewer", "admin"})),
    ("post", "/api/v1/findings/{finding_id}/waiver-requests"): Rule(
        _request_waiver, frozenset({"submitter", "owner", "admin"})),
    ("get", "/api/v1/waiver-requests"): Rule(
        lambda w, c, p: c.get("/api/v1/waiver-requests"), ANY, "global"),
    ("post", "/api/v1/waiver-requests/{request_id}/decision"): Rule(
        _decide, frozenset({"reviewer", "admin"}), "object"),
    ("post", "/api/v1/findings/bulk"): Rule(
        lambda w, c, p: c.post("/api/v1/findings/bulk", {"action": "start", "ids": [p.finding]}),
        ANY, "global"),
    ("post", "/api/v1/rules/whatif"): Rule(
        lambda w, c, p: c.post("/api/v1/rules/whatif", {"files": {"sales/parking.yaml": (
            RULESETS / "sales" / "parking.yaml").read_text(encoding="utf-8")}}),
        frozenset({"reviewer", "admin"}), "listing",
        listed=lambda body, p: p.code in {i["project_code"] for i in body["projects"]}),
}


def operations(app: Flask) -> list[tuple[str, str, str]]:
    """(method, path, success status) of every operation the document lists."""
    spec = Caller(app, None).get("/api/v1/openapi.json").get_json()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ok = min(int(code) for code in operation["responses"] if code.startswith("2"))
                found.append((method, path, ok))
    return found


def _project(root: Caller, app: Flask) -> Project:
    code = unique_code("SM")
    sales = root.submit(checklist("sales-risky", code))
    assert sales.status_code == 201, sales.get_data(as_text=True)
    body = sales.get_json()
    delivery = checklist("delivery-risky", code)
    assert root.submit(delivery).status_code == 201
    review = root.post(f"/api/v1/projects/{code}/gate-reviews",
                       {"stage": "sales", "decision": "fail"}).get_json()
    project = Project(code, body["checklist_id"], body["id"], body["findings"][0]["id"],
                      body["findings"][0]["owner"], review["id"])
    return project


@pytest.fixture(scope="module")
def world(app: Flask) -> World:
    root = Caller(app, new_token(app, "admin"))
    world = World(app, root, Caller(app, new_token(app, "reviewer")), _project(root, app),
                  _project(root, app))
    assert world.own.department == world.other.department  # one owner token fits both
    for project in (world.own, world.other):
        _fresh_schedule(world, project)
        _fresh_subscription(world, project)
    auditor = app.extensions["riskengine.audits"].scheduler.auditor
    run_due(auditor, now=dt.datetime(2027, 6, 12, tzinfo=dt.UTC), deliver=False)
    for project in (world.own, world.other):
        runs = root.get(f"/api/v1/audit-runs?project={project.code}").get_json()["items"]
        assert runs, f"no audit run for {project.code}"
        project.run = runs[0]["id"]
    for role in ROLES:
        department = world.own.department if role == "owner" else None
        for scoped in (True, False):
            token = new_token(app, role, [world.own.code] if scoped else None, department)
            world.callers[(role, scoped)] = Caller(app, token)
    return world


def expected_status(rule: Rule, ok: int, role: str, scoped: bool, whose: str) -> int:
    outside = scoped and whose == "other"
    if outside and rule.kind == "project":
        return 404  # another project's objects are not found, whatever the role
    if rule.roles is not None and role not in rule.roles:
        return 403
    if scoped and rule.kind == "create" and (outside or not rule.scoped_ok):
        return rule.outside
    if outside and rule.kind == "object":
        return 404
    return ok


def test_every_documented_operation_has_expectations(app: Flask) -> None:
    documented = {(method, path) for method, path, _ in operations(app)}
    assert documented - set(EXPECTED) == set(), "operations without authorization rules"
    assert set(EXPECTED) - documented == set(), "rules for operations no longer documented"


def test_without_a_token_only_public_operations_answer(app: Flask, world: World) -> None:
    anonymous = Caller(app, None)
    for method, path, ok in operations(app):
        rule = EXPECTED[(method, path)]
        answer = rule.send(world, anonymous, world.own)
        assert answer.status_code == (ok if rule.roles is None else 401), (method, path)


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("scoped", [True, False], ids=["scoped", "unscoped"])
@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app: Flask, world: World, role: str, scoped: bool,
                              whose: str) -> None:
    caller = world.callers[(role, scoped)]
    project = world.own if whose == "own" else world.other
    wrong = []
    for method, path, ok in operations(app):
        rule = EXPECTED[(method, path)]
        answer = rule.send(world, caller, project)
        expected = expected_status(rule, ok, role, scoped, whose)
        if answer.status_code != expected:
            wrong.append(f"{method.upper()} {path}: {answer.status_code} (expected "
                         f"{expected}) {answer.get_data(as_text=True)[:200]}")
        elif rule.kind == "listing" and expected == ok and rule.listed is not None:
            seen = rule.listed(answer.get_json(), project)
            if seen != (not (scoped and whose == "other")):
                wrong.append(f"{method.upper()} {path}: {project.code} "
                             f"{'listed' if seen else 'not listed'}")
    assert not wrong, "\n".join(wrong)


def test_a_scoped_token_cannot_subscribe_to_every_project(world: World) -> None:
    admin = world.callers[("admin", True)]
    answer = admin.post("/api/v1/audit-subscriptions",
                        {"channel": "webhook", "target": "http://127.0.0.1:9/all"})
    assert answer.status_code == 403, answer.get_json()
    assert "projects" in answer.get_json()["error"]["details"]
    mixed = admin.post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": "http://127.0.0.1:9/x",
        "projects": [world.own.code, world.other.code]})
    assert mixed.status_code == 404


def test_an_empty_project_list_is_refused(world: World) -> None:
    for scoped in (True, False):
        answer = world.callers[("admin", scoped)].post("/api/v1/audit-subscriptions", {
            "channel": "webhook", "target": "http://127.0.0.1:9/none", "projects": []})
        assert answer.status_code == 422, answer.get_json()
        assert "projects" in answer.get_json()["error"]["details"]


def test_an_unfiltered_subscription_is_seen_only_by_unscoped_tokens(world: World) -> None:
    created = world.root.post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": "http://127.0.0.1:9/everything"}).get_json()
    for scoped in (True, False):
        listed = world.callers[("auditor", scoped)].get("/api/v1/audit-subscriptions")
        ids = {i["id"] for i in listed.get_json()["items"]}
        assert (created["id"] in ids) is (not scoped)
    gone = world.callers[("admin", True)].request(
        "DELETE", f"/api/v1/audit-subscriptions/{created['id']}")
    assert gone.status_code == 404


def test_delivery_rechecks_the_creator_s_scope(app: Flask, world: World) -> None:
    from riskengine.audits import store
    from riskengine.store.tokens import revoke_token
    name = f"admin.{uuid.uuid4().hex[:6]}"
    token = new_token(app, "admin", [world.own.code], name=name)
    created = Caller(app, token).post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": "http://127.0.0.1:9/own",
        "projects": [world.own.code]}).get_json()
    database = app.extensions["riskengine"].database
    with database.read() as session:
        row = store.subscription_within(session, created["id"], None)
        assert store.creator_may_receive(session, row, world.own.code)
        assert not store.creator_may_receive(session, row, world.other.code)
    with database.write() as session:
        assert revoke_token(session, prefix=token[:10])
    with database.read() as session:
        row = store.subscription_within(session, created["id"], None)
        assert not store.creator_may_receive(session, row, world.own.code)


def test_the_outbox_stops_sending_to_a_revoked_creator(app: Flask, world: World) -> None:
    from riskengine.audits.models import AuditOutbox
    from riskengine.audits.outbox import deliver_due
    from riskengine.store.tokens import revoke_token
    from tests.api.support import checklist, unique_code
    code = unique_code("SC")
    admin = Caller(app, new_token(app, "admin"))
    assert admin.submit(checklist("sales-ready", code)).status_code == 201
    token = new_token(app, "admin", [code], name=f"admin.{uuid.uuid4().hex[:6]}")
    created = Caller(app, token).post("/api/v1/audit-subscriptions", {
        "channel": "webhook", "target": "http://127.0.0.1:9/own",
        "projects": [code], "events": ["finding.blocking"]}).get_json()
    database = app.extensions["riskengine"].database
    with database.write() as session:
        assert revoke_token(session, prefix=token[:10])
    assert admin.submit(checklist("sales-risky", code)).status_code == 201
    auditor = app.extensions["riskengine.audits"].scheduler.auditor
    deliver_due(database, auditor.sender, auditor.clock)
    with database.read() as session:
        entries = session.query(AuditOutbox).filter_by(subscription_id=created["id"]).all()
    assert entries and all(e.status == "failed" for e in entries)
    assert all("no longer sees" in (e.last_error or "") for e in entries)
