"""GET /api/v1/projects/{code}/promises: the promise ledger of a project."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require_project
from api.idempotency import dump, json_response
from api.ledger import history
from api.openapi import errors
from api.resources.checklists import mentions
from api.resources.projects import project_or_404
from api.schemas import PromisesOut
from api.state import service
from riskengine.store.findings import by_fingerprints
from riskengine.vocabulary import Stage

blp = Blueprint("promises", __name__, url_prefix="/api/v1",
                description="Promises from sales carried into delivery")


@blp.route("/projects/<code>/promises")
class Promises(MethodView):
    @blp.response(200, PromisesOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """Each promise from its first mention to its latest status, with evidence."""
        principal = require_project(code)
        ledger = service().ledger
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            lines = history(mentions(session, code), ledger.ended)
            gaps = by_fingerprints(session, project.id, Stage.DELIVERY.value,
                                   {ledger.fingerprint(line["id"]) for line in lines})
        for line in lines:
            gap = gaps.get(ledger.fingerprint(line["id"]))
            line["finding"] = {"id": gap.id, "status": gap.status} if gap else None
        return json_response(dump({"project_code": code, "promises": lines}), 200)
