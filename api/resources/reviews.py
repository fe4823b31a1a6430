"""Gate reviews: the recorded go/no-go decision, frozen to the assessment it judged."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import Principal, Role, require_project
from api.errors import Conflict, Forbidden, NotFound
from api.idempotency import dump, json_response, run_write
from api.openapi import IDEMPOTENCY_KEY, errors
from api.render import review_body
from api.resources.projects import project_or_404
from api.schemas import ReviewIn, ReviewListOut, ReviewOut, ReviewQuery
from api.state import service
from riskengine.gate import decide_gate
from riskengine.store import models as m
from riskengine.store.findings import findings_by_id
from riskengine.store.projects import get_assessment, latest_assessments
from riskengine.store.records import with_statuses
from riskengine.store.reviews import (
    Verdict,
    get_review,
    latest_numbers,
    list_reviews,
    record_review,
)
from riskengine.vocabulary import GateDecision

blp = Blueprint("gate_reviews", __name__, url_prefix="/api/v1",
                description="Gate reviews: recorded once, never changed")


def judged(session: Session, project: m.Project, data: dict[str, Any],
           principal: Principal) -> m.Assessment:
    """The assessment a review judges: the stage's latest; an older one is refused."""
    latest = latest_assessments(session, project.id).get(data["stage"])
    if latest is None:
        raise Conflict(f"project {project.code} has no {data['stage']} assessment to review",
                       {"stage": ["submit a checklist for this stage first"]},
                       code="no_assessment")
    wanted = data.get("assessment_id")
    if wanted and wanted != latest.id:
        found = get_assessment(session, wanted, principal.projects)
        if found is None or found[0].project_id != project.id or found[0].stage != data["stage"]:
            raise NotFound(f"assessment {wanted} not found for this project and stage")
        raise Conflict("a newer checklist superseded this assessment",
                       {"assessment_id": [f"the latest is {latest.id}"]}, code="superseded")
    return latest


@blp.route("/projects/<code>/gate-reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, ReviewOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, data: dict[str, Any], code: str) -> Response:
        """Record a gate decision; pass over a failed gate needs an admin's written override."""
        principal = require_project(code, Role.REVIEWER)
        override = data.get("override_justification")
        if override is not None and principal.role is not Role.ADMIN:
            raise Forbidden("only an admin may override the computed gate",
                            {"override_justification": ["admin only"]})
        state = service()
        today = state.today()

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            project = project_or_404(session, code, principal, lock=True)
            assessment = judged(session, project, data, principal)
            tracked = findings_by_id(session, {e["finding_id"] for e in assessment.findings})
            gate = decide_gate(with_statuses(assessment.findings, tracked), today)
            if (data["decision"] == GateDecision.PASS and gate.decision is GateDecision.FAIL
                    and not (override and override.strip())):
                raise Conflict("the computed gate is fail: pass needs an admin override",
                               {"decision": ["pass refused while the gate is fail"],
                                "blocking": list(gate.blocking)}, code="gate_failed")
            review = record_review(session, assessment, Verdict(
                data["stage"], data["decision"], gate.decision.value, data["comments"],
                override), principal.actor)
            return 201, review_body(review, code, {assessment.stage: assessment.number})
        return run_write(work)

    @blp.arguments(ReviewQuery, location="query")
    @blp.response(200, ReviewListOut)
    @errors(blp, 404, 422)
    def get(self, query: dict[str, Any], code: str) -> Response:
        """The project's gate reviews, oldest first; older than the latest checklist: superseded."""
        principal = require_project(code)
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            latest = latest_numbers(session, project.id)
            items = [review_body(r, code, latest)
                     for r in list_reviews(session, project.id, query.get("stage"))]
        return json_response(dump({"items": items}), 200)


@blp.route("/projects/<code>/gate-reviews/<review_id>")
class ReviewView(MethodView):
    @blp.response(200, ReviewOut)
    @errors(blp, 404)
    def get(self, code: str, review_id: str) -> Response:
        """One gate review."""
        principal = require_project(code)
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            review = get_review(session, project.id, review_id)
            if review is None:
                raise NotFound(f"gate review {review_id} not found")
            body = review_body(review, code, latest_numbers(session, project.id))
        return json_response(dump(body), 200)
