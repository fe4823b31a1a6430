"""POST /api/v1/projects/{code}/checklists: store a checklist and its assessment."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import Role, require_project
from api.bodies import body
from api.errors import Invalid, NotFound
from api.idempotency import dump, json_response, run_write
from api.ledger import Mention, add_gaps
from api.openapi import CHECKLIST_BODY, IDEMPOTENCY_KEY, errors
from api.render import assessment_body, requested_lang, stamp
from api.resources.projects import project_or_404
from api.schemas import AssessmentOut, LangQuery
from api.state import service
from riskengine.store.findings import waivers_by_id
from riskengine.store.projects import checklist, checklists, get_project
from riskengine.store.submissions import submit
from riskengine.vocabulary import Stage

blp = Blueprint("checklists", __name__, url_prefix="/api/v1",
                description="Checklists, stored exactly as submitted, and their assessments")


def mentions(session: Session, code: str) -> list[Mention]:
    """Every promise every stored checklist of a project states, in submission order."""
    project = get_project(session, code, None)
    if project is None:
        return []
    found = []
    for row in checklists(session, project.id):
        for promise in json.loads(row.raw_text).get("promises") or []:
            found.append(Mention(row.id, row.stage, row.number, row.as_of.isoformat(), promise))
    return found


@blp.route("/projects/<code>/checklists")
class Checklists(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.doc(requestBody=CHECKLIST_BODY, parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, AssessmentOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, code: str, **query: str) -> Response:
        """Store a checklist and its assessment; findings are new, persisting or resolved."""
        principal = require_project(code, Role.SUBMITTER)
        state = service()
        text, raw = body()
        valid = state.assessor.validate(raw)
        if valid["project"]["code"] != code:
            raise Invalid("the checklist is for another project",
                          {"project.code": [f"must be {code}, the project in the path"]})
        assessment = state.assessor.assess_valid(valid)
        lang, today = requested_lang(), state.today()

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            judged = assessment
            if assessment.stage is Stage.DELIVERY:
                gaps = state.ledger.gaps(mentions(session, code), valid)
                judged = add_gaps(assessment, state.ledger, gaps)
            done = submit(session, judged, text, valid["project"], principal.actor, today)
            waivers = waivers_by_id(session, {f.waiver_id for f in done.findings.values()})
            return 201, assessment_body(done.assessment, code, done.judged, done.findings,
                                        waivers, today, lang, done.assessment.number)
        return run_write(work)

    @blp.response(200)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """The project's checklists, oldest first, each with its assessment's id."""
        principal = require_project(code)
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            items = [{"id": c.id, "stage": c.stage, "number": c.number,
                      "as_of": c.as_of.isoformat(), "sha256": c.sha256,
                      "submitted_by": c.submitted_by, "created_at": stamp(c.created_at)}
                     for c in checklists(session, project.id)]
        return json_response(dump({"items": items}), 200)


@blp.route("/projects/<code>/checklists/<checklist_id>")
class ChecklistView(MethodView):
    @blp.response(200, description="the checklist exactly as it was submitted")
    @errors(blp, 404)
    def get(self, code: str, checklist_id: str) -> Response:
        """A checklist, byte for byte as submitted."""
        principal = require_project(code)
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            row = checklist(session, checklist_id)
            if row is None or row.project_id != project.id:
                raise NotFound(f"checklist {checklist_id} not found")
        return json_response(row.raw_text, 200, {"X-Content-SHA256": row.sha256})
