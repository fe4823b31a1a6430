"""GET /api/v1/assessments/{id}: a stored assessment with its findings' current statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import current
from api.errors import NotFound
from api.idempotency import dump, json_response
from api.openapi import errors
from api.render import assessment_body, requested_lang
from api.schemas import AssessmentOut, LangQuery
from api.state import service
from riskengine.store import models as m
from riskengine.store.findings import findings_by_id, waivers_by_id
from riskengine.store.projects import get_assessment
from riskengine.store.records import with_statuses
from riskengine.store.reviews import latest_numbers
from riskengine.vocabulary import Lang

blp = Blueprint("assessments", __name__, url_prefix="/api/v1", description="Assessments")


def render_stored(session: Session, row: m.Assessment, project: m.Project, today: dt.date,
                  lang: Lang) -> dict[str, Any]:
    """Load what a stored assessment's answer needs and build it."""
    tracked = findings_by_id(session, {e["finding_id"] for e in row.findings} | set(row.resolved))
    waivers = waivers_by_id(session, {f.waiver_id for f in tracked.values()})
    latest = latest_numbers(session, project.id).get(row.stage)
    return assessment_body(row, project.code, with_statuses(row.findings, tracked), tracked,
                           waivers, today, lang, latest)


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
                raise NotFound(f"assessment {assessment_id} not found")
            body = render_stored(session, found[0], found[1], state.today(), requested_lang())
        return json_response(dump(body), 200)
