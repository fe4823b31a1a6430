"""Findings: the department's queue across projects, and the lifecycle of each finding."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import current
from api.errors import NotFound, PreconditionFailed
from api.idempotency import dump, json_response, page_response, run_write
from api.openapi import IDEMPOTENCY_KEY, IF_MATCH, errors
from api.permissions import check_change
from api.render import event_body, finding_body, requested_lang
from api.schemas import FindingDetailOut, FindingPageOut, FindingPatch, FindingQuery, LangQuery
from api.state import service
from riskengine.lifecycle import allowed, change_finding
from riskengine.store import models as m
from riskengine.store.findings import (
    FindingFilter,
    events,
    get_finding,
    list_findings,
    waiver,
    waivers_by_id,
)
from riskengine.vocabulary import FindingStatus

blp = Blueprint("findings", __name__, url_prefix="/api/v1", description="Findings")


def etag(version: int) -> str:
    return f'"v{version}"'


def detail(session: Session, row: m.Finding, code: str) -> dict[str, Any]:
    state = service()
    body = finding_body(row, code, waiver(session, row.waiver_id), state.today(),
                        requested_lang())
    body.update({"events": [event_body(e) for e in events(session, row.id)],
                 "first_assessment_id": row.first_assessment_id,
                 "last_assessment_id": row.last_assessment_id,
                 "allowed_transitions": allowed(FindingStatus(row.status))})
    return body


@blp.route("/findings")
class Findings(MethodView):
    @blp.arguments(FindingQuery, location="query")
    @blp.response(200, FindingPageOut)
    @errors(blp, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Findings you may see: by project, owner, severity, status, stage, rule; overdue."""
        principal = current()
        state = service()
        wanted = FindingFilter(
            project=query.get("project"), owner=query.get("owner"),
            severity=tuple(query.get("severity") or ()), status=tuple(query.get("status") or ()),
            stage=query.get("stage"), rule_id=query.get("rule_id"), overdue=query.get("overdue"))
        today, lang = state.today(), requested_lang()
        with state.database.read() as session:
            rows, total = list_findings(session, wanted, principal.projects, today,
                                        query["page"], query["per_page"])
            waivers = waivers_by_id(session, {f.waiver_id for f, _ in rows})
            items = [finding_body(f, code, waivers.get(f.waiver_id or ""), today, lang)
                     for f, code in rows]
        return page_response(items, query, total)


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
                raise NotFound(f"finding {finding_id} not found")
            body = detail(session, *found)
        return json_response(dump(body), 200, {"ETag": etag(body["version"])})

    @blp.arguments(FindingPatch)
    @blp.doc(parameters=[IF_MATCH, IDEMPOTENCY_KEY])
    @blp.response(200, FindingDetailOut, headers={"ETag": {"schema": {"type": "string"}}})
    @errors(blp, 400, 403, 404, 409, 412, 413, 422)
    def patch(self, data: dict[str, Any], finding_id: str) -> Response:
        """Move a finding along its lifecycle, add notes, or waive it (reviewers)."""
        principal = current()
        state = service()
        if_match = request.headers.get("If-Match")

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(f"finding {finding_id} not found")
            row, code = found
            tags = {t.strip().removeprefix("W/") for t in (if_match or "").split(",")}
            if if_match is not None and "*" not in tags and etag(row.version) not in tags:
                raise PreconditionFailed("the finding changed since you read it",
                                         {"If-Match": [f"current ETag is {etag(row.version)}"]})
            policy, today = state.assessor.catalog.policy, state.today()
            change = check_change(principal, row.owner, FindingStatus(row.status), data, today,
                                  policy.findings)
            change_finding(session, row, change, data.get("version"), principal.actor, today,
                           policy.gate)
            return 200, detail(session, row, code)
        response = run_write(work)
        if response.status_code == 200 and response.is_json:
            response.headers["ETag"] = etag(response.get_json()["version"])
        return response
