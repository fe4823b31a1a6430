"""POST /api/v1/evaluate: assess a checklist without storing anything."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.answers import answer
from api.auth import current
from api.bodies import body
from api.openapi import CHECKLIST_BODY, errors
from api.render import requested_lang
from api.schemas import AssessmentOut, LangQuery
from api.state import service

blp = Blueprint("evaluate", __name__, url_prefix="/api/v1",
                description="Stateless evaluation of a checklist")


@blp.route("/evaluate")
class Evaluate(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.doc(requestBody=CHECKLIST_BODY)
    @blp.response(200, AssessmentOut)
    @errors(blp, 400, 413, 422)
    def post(self, **query: str) -> Response:
        """Assess a checklist; the answer is the contract's assessment, without an id."""
        current()
        assessment = service().assessor.assess(body()[1])
        return answer(AssessmentOut, assessment.to_dict(requested_lang()), 200)
