"""Projects: create, list with filters and pages, read one with its latest assessments."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.answers import page_answer
from api.auth import Role, current, require
from api.errors import Forbidden
from api.idempotency import run_write
from api.lookups import read_project
from api.openapi import IDEMPOTENCY_KEY, errors
from api.render import project_body
from api.schemas import ProjectIn, ProjectOut, ProjectPageOut, ProjectQuery
from api.state import service
from riskengine.refusals import refusal
from riskengine.standing import list_projects
from riskengine.store.projects import (
    ProjectFilter,
    create_project,
    latest_assessments,
)

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="Projects")


@blp.route("/projects")
class Projects(MethodView):
    @blp.arguments(ProjectQuery, location="query")
    @blp.response(200, ProjectPageOut)
    @errors(blp, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """List the projects you may see, by city, stage and gate of their latest checklist."""
        principal = current()
        state = service()
        wanted = ProjectFilter(query.get("city"), query.get("stage"), query.get("gate"))
        # Filtering by gate first re-decides the gates a lapsed waiver changed: a write.
        opened = state.database.write() if wanted.gate else state.database.read()
        with opened as session:
            rows, total = list_projects(session, wanted, principal.projects, state.today(),
                                        query["page"], query["per_page"],
                                        state.assessor.catalog.policy.gate)
            items = [project_body(p) for p in rows]
        return page_answer(ProjectPageOut, items, query, total)

    @blp.arguments(ProjectIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, ProjectOut)
    @errors(blp, 400, 403, 409, 413, 422)
    def post(self, data: dict[str, Any]) -> Response:
        """Create a project (submitting its first checklist creates it too)."""
        principal = require(Role.SUBMITTER)
        if not principal.sees(data["code"]):
            raise Forbidden(refusal("token_not_covering", code=data["code"]),
                            {"code": [refusal("outside_token")]})

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            project = create_project(session, data["code"], data.get("name"), data.get("city"),
                                     principal.actor)
            return 201, project_body(project, {})
        return run_write(work, ProjectOut)


@blp.route("/projects/<code>")
class ProjectView(MethodView):
    @blp.response(200, ProjectOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """A project with the latest assessment of each stage."""
        return read_project(code, lambda session, project: project_body(
            project, latest_assessments(session, project.id)), ProjectOut)
