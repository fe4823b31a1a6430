"""Gate reviews: the recorded go/no-go decision, frozen to the assessment it judged (and, on
delivery, to the project's latest audit run). `riskengine.review.review_gate` decides."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import Role, require_project
from api.errors import NotFound
from api.idempotency import run_write
from api.lookups import project_or_404, read_project
from api.openapi import IDEMPOTENCY_KEY, errors
from api.render import review_body
from api.schemas import ReviewIn, ReviewListOut, ReviewOut, ReviewQuery
from api.state import service
from riskengine.refusals import refusal
from riskengine.review import ReviewRequest, review_gate
from riskengine.store import models as m
from riskengine.store.reviews import get_review, latest_numbers, list_reviews

blp = Blueprint("gate_reviews", __name__, url_prefix="/api/v1",
                description="Gate reviews: recorded once, never changed")


@blp.route("/projects/<code>/gate-reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, ReviewOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, data: dict[str, Any], code: str) -> Response:
        """Record a gate decision; pass over a failed gate (the assessment's, or on delivery the
        latest audit run's) needs an admin's written override."""
        principal = require_project(code, Role.REVIEWER)
        state = service()
        today, policy = state.today(), state.assessor.catalog.policy.gate
        asked = ReviewRequest(**data)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            project = project_or_404(session, code, principal, lock=True)
            review = review_gate(session, project, asked, principal.actor,
                                 principal.role is Role.ADMIN, today, policy)
            return 201, review_body(review, code, {review.stage: review.assessment_number})
        return run_write(work, ReviewOut)

    @blp.arguments(ReviewQuery, location="query")
    @blp.response(200, ReviewListOut)
    @errors(blp, 404, 422)
    def get(self, query: dict[str, Any], code: str) -> Response:
        """The project's gate reviews, oldest first; older than the latest checklist: superseded."""
        def build(session: Session, project: m.Project) -> dict[str, Any]:
            latest = latest_numbers(session, project.id)
            return {"items": [review_body(r, code, latest) for r in list_reviews(
                session, project.id, query.get("stage"))]}
        return read_project(code, build, ReviewListOut)


@blp.route("/projects/<code>/gate-reviews/<review_id>")
class ReviewView(MethodView):
    @blp.response(200, ReviewOut)
    @errors(blp, 404)
    def get(self, code: str, review_id: str) -> Response:
        """One gate review."""
        def build(session: Session, project: m.Project) -> dict[str, Any]:
            review = get_review(session, project.id, review_id)
            if review is None:
                raise NotFound(refusal("review_not_found", id=review_id))
            return review_body(review, code, latest_numbers(session, project.id))
        return read_project(code, build, ReviewOut)
