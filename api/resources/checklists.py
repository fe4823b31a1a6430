"""POST /api/v1/projects/{code}/checklists: store a checklist and its assessment.

The body is the checklist as JSON, or a filled Excel template (Content-Type: the .xlsx media
type) read back by `riskengine.output.workbook`; either way the core's `Submissions.submit` judges
and stores it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.answers import json_response
from api.auth import Role, require_project
from api.bodies import body
from api.idempotency import run_write
from api.lookups import project_or_404, read_project, stored_checklist
from api.openapi import IDEMPOTENCY_KEY, SUBMISSION_BODY, errors
from api.render import assessment_body, requested_lang, stamp
from api.schemas import AssessmentOut, ChecklistListOut, LangQuery
from api.state import service
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.store.findings import waivers_by_id
from riskengine.store.projects import checklists
from riskengine.submission import Received, Submissions

blp = Blueprint("checklists", __name__, url_prefix="/api/v1",
                description="Checklists, stored exactly as submitted, and their assessments")


def received(submissions: Submissions) -> Received:
    """Return the checklist as received, validated once: a JSON body as sent, or an uploaded
    workbook read back (stored as the JSON it holds); workbook problems are keyed by cell."""
    if request.mimetype == MEDIA_TYPE:
        return submissions.receive_workbook(request.get_data(cache=True))
    text, raw = body()
    return submissions.receive(raw, text)


@blp.route("/projects/<code>/checklists")
class Checklists(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.doc(requestBody=SUBMISSION_BODY, parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, AssessmentOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, code: str, **query: str) -> Response:
        """Store a checklist (JSON, or a filled Excel template) and its assessment; findings are
        new, persisting or resolved."""
        principal = require_project(code, Role.SUBMITTER)
        state = service()
        submissions = state.submissions
        checklist = received(submissions)
        lang, today = requested_lang(), state.today()

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            done = submissions.submit(session, checklist, principal.actor, today, code).row
            waivers = waivers_by_id(session, {f.waiver_id for f in done.findings.values()})
            return 201, assessment_body(done.assessment, code, done.judged, done.findings,
                                        waivers, today, lang, submissions.policy.gate,
                                        done.assessment.number)
        return run_write(work, AssessmentOut)

    @blp.response(200, ChecklistListOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """The project's checklists, oldest first, each with its assessment's id."""
        return read_project(code, lambda session, project: {"items": [
            {"id": c.id, "stage": c.stage, "number": c.number, "as_of": c.as_of.isoformat(),
             "sha256": c.sha256, "submitted_by": c.submitted_by,
             "created_at": stamp(c.created_at)} for c in checklists(session, project.id)]},
            ChecklistListOut)


@blp.route("/projects/<code>/checklists/<checklist_id>")
class ChecklistView(MethodView):
    @blp.response(200, description="the checklist exactly as it was submitted")
    @errors(blp, 404)
    def get(self, code: str, checklist_id: str) -> Response:
        """A checklist, byte for byte as submitted (an uploaded workbook: the JSON it held)."""
        principal = require_project(code)
        with service().database.read() as session:
            row = stored_checklist(session, project_or_404(session, code, principal),
                                   checklist_id)
        return json_response(row.raw_text, 200, {"X-Content-SHA256": row.sha256})
