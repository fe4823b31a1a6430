"""Comments on a finding: added, never edited or removed; `@department` tells a department."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.answers import answer
from api.auth import current
from api.errors import Forbidden, NotFound
from api.idempotency import run_write
from api.openapi import IDEMPOTENCY_KEY, errors
from api.permissions import may_comment
from api.resources.findings import comment_body
from api.schemas import CommentIn, CommentListOut, CommentOut
from api.state import service
from riskengine.comments import add_comment
from riskengine.refusals import refusal
from riskengine.store.findings import comments, get_finding

blp = Blueprint("finding_comments", __name__, url_prefix="/api/v1",
                description="Comments on findings, with @department mentions")


@blp.route("/findings/<finding_id>/comments")
class FindingComments(MethodView):
    @blp.response(200, CommentListOut)
    @errors(blp, 404)
    def get(self, finding_id: str) -> Response:
        """A finding's comments, oldest first."""
        principal = current()
        with service().database.read() as session:
            if get_finding(session, finding_id, principal.projects) is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            items = [comment_body(c) for c in comments(session, finding_id)]
        return answer(CommentListOut, {"items": items}, 200)

    @blp.arguments(CommentIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, CommentOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, data: dict[str, Any], finding_id: str) -> Response:
        """Comment; `@legal` or `@法务` (a department's code or label) sends it a notice."""
        principal, state = current(), service()

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:  # scope first: another project's finding is simply not found
                raise NotFound(refusal("finding_not_found", id=finding_id))
            if not may_comment(principal):
                raise Forbidden(refusal("auditors_read"), {"role": [refusal("needs_not_auditor")]})
            row, code = found
            labels = state.assessor.catalog.policy.labels.get("owner", {})
            comment = add_comment(session, row, code, data["body"], labels, principal.actor,
                                  state.today())
            return 201, comment_body(comment)
        return run_write(work, CommentOut)
