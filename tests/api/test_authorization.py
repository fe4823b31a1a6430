"""The authorization matrix: every endpoint × every role × own or another project."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from riskengine.output.workbook import write_template
from riskengine.vocabulary import Stage
from tests.api.support import Caller, checklist, new_token, shared_assessor, unique_code

ROLES = ("submitter", "owner", "reviewer", "auditor", "admin")


@dataclass(frozen=True)
class Project:
    code: str
    assessment: str
    finding: str
    department: str


@dataclass(frozen=True)
class World:
    own: Project
    other: Project
    callers: dict[str, Caller]


@pytest.fixture(scope="module")
def world(app: Flask) -> World:
    """Two projects with findings; one token per role, each scoped to the first project."""
    root = Caller(app, new_token(app, "admin"))
    projects = []
    for _ in range(2):
        assessment = root.submit(checklist("sales-risky", unique_code("AZ"))).get_json()
        finding = assessment["findings"][0]
        projects.append(Project(assessment["project_code"], assessment["id"], finding["id"],
                                finding["owner"]))
    own, other = projects
    callers = {role: Caller(app, new_token(
        app, role, [own.code], own.department if role == "owner" else None)) for role in ROLES}
    return World(own, other, callers)


@functools.cache
def filled_template(code: str) -> bytes:
    return write_template(shared_assessor().catalog, Stage.SALES, checklist("sales-risky", code))


Call = Callable[[Caller, Project], Any]
# endpoint: (call, status by role on its own project, status on the other project)
MATRIX: dict[str, tuple[Call, dict[str, int], int]] = {
    "GET project": (lambda c, p: c.get(f"/api/v1/projects/{p.code}"),
                    dict.fromkeys(ROLES, 200), 404),
    "POST checklist": (lambda c, p: c.submit(checklist("sales-risky", p.code)),
                       {"submitter": 201, "owner": 403, "reviewer": 403, "auditor": 403,
                        "admin": 201}, 404),
    "POST checklist (Excel)": (lambda c, p: c.upload(p.code, filled_template(p.code)),
                               {"submitter": 201, "owner": 403, "reviewer": 403,
                                "auditor": 403, "admin": 201}, 404),
    "GET checklists": (lambda c, p: c.get(f"/api/v1/projects/{p.code}/checklists"),
                       dict.fromkeys(ROLES, 200), 404),
    "GET assessment": (lambda c, p: c.get(f"/api/v1/assessments/{p.assessment}"),
                       dict.fromkeys(ROLES, 200), 404),
    "GET finding": (lambda c, p: c.get(f"/api/v1/findings/{p.finding}"),
                    dict.fromkeys(ROLES, 200), 404),
    "PATCH finding": (lambda c, p: c.patch(f"/api/v1/findings/{p.finding}", {"notes": "已跟进"}),
                      {"submitter": 403, "owner": 200, "reviewer": 200, "auditor": 403,
                       "admin": 200}, 404),
    "POST gate review": (lambda c, p: c.post(f"/api/v1/projects/{p.code}/gate-reviews",
                                             {"stage": "sales", "decision": "fail"}),
                         {"submitter": 403, "owner": 403, "reviewer": 201, "auditor": 403,
                          "admin": 201}, 404),
    "GET gate reviews": (lambda c, p: c.get(f"/api/v1/projects/{p.code}/gate-reviews"),
                         dict.fromkeys(ROLES, 200), 404),
    "GET promises": (lambda c, p: c.get(f"/api/v1/projects/{p.code}/promises"),
                     dict.fromkeys(ROLES, 200), 404),
    "POST project": (lambda c, p: c.post("/api/v1/projects", {"code": p.code}),
                     {"submitter": 409, "owner": 403, "reviewer": 403, "auditor": 403,
                      "admin": 409}, 403),
    "POST evaluate": (lambda c, p: c.post("/api/v1/evaluate", checklist("sales-ready", p.code)),
                      dict.fromkeys(ROLES, 200), 200),
    "GET rulesets": (lambda c, p: c.get("/api/v1/rulesets"), dict.fromkeys(ROLES, 200), 200),
    "GET template": (lambda c, p: c.get("/api/v1/templates/delivery.xlsx"),
                     dict.fromkeys(ROLES, 200), 200),
}


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_authorization_matrix(world: World, endpoint: str, role: str, whose: str) -> None:
    call, own_status, other_status = MATRIX[endpoint]
    project = world.own if whose == "own" else world.other
    answer = call(world.callers[role], project)
    expected = own_status[role] if whose == "own" else other_status
    assert answer.status_code == expected, answer.get_data(as_text=True)[:300]


@pytest.mark.parametrize("role", ROLES)
def test_listings_show_only_the_token_s_projects(world: World, role: str) -> None:
    caller = world.callers[role]
    mine = caller.get(f"/api/v1/findings?project={world.own.code}").get_json()
    theirs = caller.get(f"/api/v1/findings?project={world.other.code}").get_json()
    assert mine["total"] > 0 and theirs == {**theirs, "total": 0, "items": []}
    codes = {p["code"] for p in caller.get("/api/v1/projects?per_page=100").get_json()["items"]}
    assert world.own.code in codes and world.other.code not in codes


def test_unscoped_auditor_reads_everything_and_writes_nothing(app: Flask, world: World) -> None:
    auditor = Caller(app, new_token(app, "auditor"))
    for project in (world.own, world.other):
        assert auditor.get(f"/api/v1/assessments/{project.assessment}").status_code == 200
    assert auditor.patch(f"/api/v1/findings/{world.other.finding}",
                         {"notes": "x"}).status_code == 403


def test_revoked_token_is_refused(app: Flask, world: World) -> None:
    from riskengine.store.tokens import revoke_token
    token = new_token(app, "auditor")
    caller = Caller(app, token)
    assert caller.get("/api/v1/rulesets").status_code == 200
    with app.extensions["riskengine"].database.write() as session:
        assert revoke_token(session, prefix=token[:10])
    assert caller.get("/api/v1/rulesets").status_code == 401
