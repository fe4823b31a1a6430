"""Findings: the department's queue across projects, and the lifecycle of each finding (its
due date by milestone, SLA or hand; verification; waiver requests and comments beside it)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.answers import answer, page_answer
from api.auth import current
from api.errors import NotFound, PreconditionFailed
from api.idempotency import run_write
from api.openapi import IDEMPOTENCY_KEY, IF_MATCH, errors
from api.permissions import move
from api.render import event_body, finding_body, requested_lang, stamp
from api.schemas import FindingDetailOut, FindingPageOut, FindingPatch, FindingQuery, LangQuery
from api.state import service
from riskengine.lifecycle import allowed
from riskengine.refusals import refusal
from riskengine.sla import due_facts
from riskengine.store import models as m
from riskengine.store.findings import (
    FindingFilter,
    comments,
    events,
    get_finding,
    list_findings,
    notices,
    waiver,
    waiver_requests,
    waivers_by_id,
)
from riskengine.vocabulary import FindingStatus

blp = Blueprint("findings", __name__, url_prefix="/api/v1", description="Findings")


def etag(version: int) -> str:
    return f'"v{version}"'


def item(row: m.Finding, code: str, granted: m.Waiver | None) -> dict[str, Any]:
    """A finding as listings show it: its status as read today (a lapsed waiver reads open),
    and its due date with days left and breaches."""
    today = service().today()
    body = finding_body(row, code, granted, today, requested_lang())
    body.update(due_facts(row, today), owner=row.owner)  # reassigned: the row's, not the rule's
    return body


def request_body(request: m.WaiverRequest, code: str | None = None) -> dict[str, Any]:
    return {"id": request.id, "finding_id": request.finding_id, "project_code": code,
            "justification": request.justification, "expires": request.expires.isoformat(),
            "requested_by": request.requested_by, "created_at": stamp(request.created_at),
            "status": request.status, "decided_by": request.decided_by,
            "decided_at": stamp(request.decided_at) if request.decided_at else None,
            "decision_reason": request.decision_reason, "waiver_id": request.waiver_id}


def comment_body(comment: m.FindingComment) -> dict[str, Any]:
    return {"id": comment.id, "finding_id": comment.finding_id, "author": comment.author,
            "body": comment.body, "mentions": list(comment.mentions),
            "created_at": stamp(comment.created_at)}


def detail(session: Session, row: m.Finding, code: str) -> dict[str, Any]:
    body = item(row, code, waiver(session, row.waiver_id))
    body.update({"events": [event_body(e) for e in events(session, row.id)],
                 "first_assessment_id": row.first_assessment_id,
                 "last_assessment_id": row.last_assessment_id,
                 "allowed_transitions": allowed(FindingStatus(body["status"])),
                 "waiver_requests": [request_body(r, code)
                                     for r in waiver_requests(session, row.id)],
                 "comments": [comment_body(c) for c in comments(session, row.id)],
                 "notices": [{"kind": n.kind, "recipient": n.recipient,
                              "created_at": stamp(n.created_at)}
                             for n in notices(session, row.id)]})
    return body


@blp.route("/findings")
class Findings(MethodView):
    @blp.arguments(FindingQuery, location="query")
    @blp.response(200, FindingPageOut)
    @errors(blp, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Findings you may see: by project, owner, severity, status, stage, rule; overdue.
        A finding whose waiver lapsed is `open` here, in its status and in `status=open`."""
        principal = current()
        state = service()
        wanted = FindingFilter(
            project=query.get("project"), owner=query.get("owner"),
            severity=tuple(query.get("severity") or ()), status=tuple(query.get("status") or ()),
            stage=query.get("stage"), rule_id=query.get("rule_id"), overdue=query.get("overdue"))
        today = state.today()
        with state.database.read() as session:
            rows, total = list_findings(session, wanted, principal.projects, today,
                                        query["page"], query["per_page"])
            waivers = waivers_by_id(session, {f.waiver_id for f, _ in rows})
            items = [item(f, code, waivers.get(f.waiver_id or "")) for f, code in rows]
        return page_answer(FindingPageOut, items, query, total)


@blp.route("/findings/<finding_id>")
class FindingView(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.response(200, FindingDetailOut, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(blp, 404, 422)
    def get(self, finding_id: str, **query: str) -> Response:
        """A finding with its waiver, its history of events and the transitions open to it."""
        principal = current()
        with service().database.read() as session:
            found = get_finding(session, finding_id, principal.projects)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            body = detail(session, *found)
        return answer(FindingDetailOut, body, 200, {"ETag": etag(body["version"])})

    @blp.arguments(FindingPatch)
    @blp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY])
    @blp.response(200, FindingDetailOut, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(blp, 400, 403, 404, 409, 412, 413, 422)
    def patch(self, data: dict[str, Any], finding_id: str) -> Response:
        """Move a finding along its lifecycle (resolve with `evidence`; verify or reject a
        resolution: verifiers), add notes, waive it or set its due date or owner (reviewers)."""
        principal = current()
        state = service()
        if_match = request.headers.get("If-Match")

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            row, code = found
            tags = {t.strip().removeprefix("W/") for t in (if_match or "").split(",")}
            if if_match is not None and "*" not in tags and etag(row.version) not in tags:
                raise PreconditionFailed(refusal("finding_changed"), {
                    "If-Match": [refusal("current_etag", etag=etag(row.version))]})
            move(session, principal, row, data, state.today(), state.assessor.catalog)
            return 200, detail(session, row, code)
        response = run_write(work, FindingDetailOut)
        if response.status_code == 200 and response.is_json:
            response.headers["ETag"] = etag(response.get_json()["version"])
        return response
