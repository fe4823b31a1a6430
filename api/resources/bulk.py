"""Bulk actions on a set of findings (given by id, or by the listing's filter): reassign, set a
due date, start, request verification. Each finding is moved exactly as one by one would move
it (api.permissions.move): its own permission check, its own event; one that is refused is
reported with its error and leaves the others alone."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from api.auth import Principal, current
from api.idempotency import run_write
from api.openapi import IDEMPOTENCY_KEY, errors
from api.permissions import move_each
from api.render import requested_lang
from api.schemas import BulkIn, BulkOut
from api.state import service
from riskengine.errors import Invalid
from riskengine.refusals import refusal
from riskengine.store.findings import FindingFilter, list_findings
from riskengine.vocabulary import FindingStatus

blp = Blueprint("bulk", __name__, url_prefix="/api/v1", description="Bulk actions on findings")
MAX_ITEMS = 200


def asked_of(data: dict[str, Any]) -> dict[str, Any]:
    """The one-finding request each item of a bulk action makes."""
    action, reason = data["action"], data["reason"]
    needs = {"assign": "assign_to", "set_due_date": "due_date"}.get(action)
    if needs and needs not in data:
        raise Invalid(refusal("bulk_needs", action=refusal(f"bulk_{action}"),
                              field=refusal(f"field_{needs}")),
                      {needs: [refusal("required_for_action")]})
    if action == "assign":
        return {"assign_to": data["assign_to"], "reason": reason}
    if action == "set_due_date":
        return {"due_date": data["due_date"], "reason": reason}
    if action == "start":
        return {"status": FindingStatus.IN_PROGRESS.value, "reason": reason}
    asked = {"status": FindingStatus.RESOLVED.value, "reason": reason}
    return {**asked, "evidence": data["evidence"]} if "evidence" in data else asked


def _targets(session: Session, principal: Principal, data: dict[str, Any]) -> list[str]:
    if ("ids" in data) == ("filter" in data):
        raise Invalid(refusal("bulk_ids_or_filter"), {"ids": [refusal("ids_or_filter_once")]})
    if "ids" in data:
        return list(dict.fromkeys(data["ids"]))
    given = data["filter"]
    wanted = FindingFilter(
        project=given.get("project"), owner=given.get("owner"),
        severity=tuple(given.get("severity") or ()), status=tuple(given.get("status") or ()),
        stage=given.get("stage"), rule_id=given.get("rule_id"), overdue=given.get("overdue"))
    rows, total = list_findings(session, wanted, principal.projects, service().today(), 1,
                                MAX_ITEMS)
    if total > MAX_ITEMS:
        raise Invalid(refusal("bulk_too_many", total=total, limit=MAX_ITEMS),
                      {"filter": [refusal("narrow_filter")]})
    return [f.id for f, _ in rows]


@blp.route("/findings/bulk")
class Bulk(MethodView):
    @blp.arguments(BulkIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(200, BulkOut)
    @errors(blp, 400, 409, 413, 422)
    def post(self, data: dict[str, Any]) -> Response:
        """Apply one action to each finding; each item's result (changed, refused and why)."""
        principal, state = current(), service()
        asked = asked_of(data)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            ids = _targets(session, principal, data)
            items = move_each(session, principal, ids, asked, state.today(),
                              state.assessor.catalog, requested_lang())
            done = sum(1 for i in items if i["ok"])
            return 200, {"action": data["action"], "total": len(items), "succeeded": done,
                         "failed": len(items) - done, "items": items}
        return run_write(work, BulkOut)
