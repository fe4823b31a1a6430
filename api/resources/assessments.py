"""GET /api/v1/assessments/{id}: a stored assessment with its findings' current statuses."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.answers import answer
from api.auth import current
from api.errors import NotFound
from api.lookups import render_stored
from api.openapi import errors
from api.render import requested_lang
from api.schemas import AssessmentOut, LangQuery
from api.state import service
from riskengine.refusals import refusal
from riskengine.store.projects import get_assessment

blp = Blueprint("assessments", __name__, url_prefix="/api/v1", description="Assessments")


@blp.route("/assessments/<assessment_id>")
class AssessmentView(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.response(200, AssessmentOut)
    @errors(blp, 404, 422)
    def get(self, assessment_id: str, **query: str) -> Response:
        """An assessment as stored, each finding with its current status; gate decided today."""
        principal = current()
        state = service()
        with state.database.read() as session:
            found = get_assessment(session, assessment_id, principal.projects)
            if found is None:
                raise NotFound(refusal("assessment_not_found", id=assessment_id))
            body = render_stored(session, found[0], found[1], state.today(), requested_lang())
        return answer(AssessmentOut, body, 200)
