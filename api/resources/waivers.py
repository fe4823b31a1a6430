"""Waiver requests: an owner or a PM asks (justification, expiry), a reviewer who did not ask
decides. `riskengine.waivers` holds the rules; here, who may ask and decide."""

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
from api.permissions import may_decide_waiver, may_request_waiver
from api.resources.findings import detail, request_body
from api.schemas import (
    FindingDetailOut,
    WaiverDecisionIn,
    WaiverRequestIn,
    WaiverRequestListOut,
    WaiverRequestOut,
)
from api.state import service
from riskengine.refusals import refusal
from riskengine.store.findings import get_finding, locked_request, pending_requests
from riskengine.waivers import decide_waiver, lapse_if_due, request_waiver

blp = Blueprint("waiver_requests", __name__, url_prefix="/api/v1",
                description="Waiver requests: asked by owners or PMs, decided by reviewers")


@blp.route("/findings/<finding_id>/waiver-requests")
class FindingWaiverRequests(MethodView):
    @blp.arguments(WaiverRequestIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, WaiverRequestOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, data: dict[str, Any], finding_id: str) -> Response:
        """Ask for a waiver (or, for a waived finding, an extension): a reviewer decides."""
        principal, state = current(), service()

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            row, code = found
            if not may_request_waiver(principal, row.owner):
                raise Forbidden(refusal("waiver_requesters"), {"role": [refusal(
                    "needs_roles_or_owner", roles=("admin", "submitter"), owners=[row.owner])]})
            policy, today = state.assessor.catalog.policy, state.today()
            lapse_if_due(session, row, today, policy)
            request = request_waiver(session, row, data["justification"], data["expires"],
                                     today, policy, principal.actor)
            return 201, request_body(request, code)
        return run_write(work, WaiverRequestOut)


@blp.route("/waiver-requests")
class PendingWaiverRequests(MethodView):
    @blp.response(200, WaiverRequestListOut)
    @errors(blp)
    def get(self) -> Response:
        """Pending requests in the projects you see, oldest first: a reviewer's queue."""
        principal = current()
        with service().database.read() as session:
            items = [request_body(r, code)
                     for r, _, code in pending_requests(session, principal.projects)]
        return answer(WaiverRequestListOut, {"items": items}, 200)


@blp.route("/waiver-requests/<request_id>/decision")
class WaiverDecision(MethodView):
    @blp.arguments(WaiverDecisionIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(200, FindingDetailOut)
    @errors(blp, 400, 403, 404, 409, 413, 422)
    def post(self, data: dict[str, Any], request_id: str) -> Response:
        """Approve (the waiver is granted as asked) or deny (with a reason) a pending request;
        never your own. Answers the finding as it now stands."""
        principal, state = current(), service()
        if not may_decide_waiver(principal):
            raise Forbidden(refusal("waiver_deciders"),
                            {"role": [refusal("needs_roles", roles=("admin", "reviewer"))]})

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            found = locked_request(session, request_id, principal.projects)
            if found is None:
                raise NotFound(refusal("waiver_request_not_found", id=request_id))
            request, row, code = found
            policy, today = state.assessor.catalog.policy, state.today()
            decide_waiver(session, request, row, data["decision"] == "approve",
                          data["reason"], today, policy, principal.actor)
            return 200, detail(session, row, code)
        return run_write(work, FindingDetailOut)
