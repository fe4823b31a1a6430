"""GET /api/v1/projects/{code}/promises: the promise ledger of a project."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.lookups import read_project
from api.openapi import errors
from api.schemas import PromisesOut
from api.state import service

blp = Blueprint("promises", __name__, url_prefix="/api/v1",
                description="Promises from sales carried into delivery")


@blp.route("/projects/<code>/promises")
class Promises(MethodView):
    @blp.response(200, PromisesOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """Each promise from its first mention to its latest status, with evidence."""
        return read_project(code, lambda session, project: {
            "project_code": code,
            "promises": service().submissions.promises(session, project.id)}, PromisesOut)
