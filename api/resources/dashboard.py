"""GET /api/v1/dashboard: where the portfolio stands (the caller's projects), each figure with
the link of the listing it counts; `?format=xlsx` is the same figures as a workbook."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from api.answers import answer
from api.auth import current
from api.openapi import errors
from api.render import requested_lang
from api.schemas import RequestSchema, ResponseSchema
from api.state import service
from riskengine.dashboard import figures
from riskengine.output.dashboard import render_dashboard_xlsx
from riskengine.store.dashboard import Scope
from riskengine.vocabulary import Lang, Owner, Stage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1",
                description="Portfolio figures: open findings, age, time to resolve, gates")


class DashboardQuery(RequestSchema):
    city = fields.String(validate=validate.Length(min=1, max=200))
    stage = fields.String(validate=validate.OneOf([s.value for s in Stage]))
    owner = fields.String(validate=validate.OneOf([o.value for o in Owner]))
    lang = fields.String(validate=validate.OneOf([lang.value for lang in Lang]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class DashboardOut(ResponseSchema):
    as_of = fields.Date()
    filters = fields.Dict()
    open_by_owner = fields.List(fields.Dict(), metadata={
        "description": "owner, total, by_severity [{severity, count, link}], link"})
    age_by_owner = fields.List(fields.Dict(), metadata={
        "description": "owner, buckets {days range: count}, overdue, overdue_link"})
    time_to_resolve = fields.List(fields.Dict(), metadata={
        "description": "month, severity, resolved, mean_days, p90_days"})
    gates = fields.List(fields.Dict(), metadata={"description": "city, stage, gates, link"})


def scope_of(query: dict[str, Any], projects: frozenset[str] | None) -> Scope:
    return Scope(projects, query.get("city"), query.get("stage"), query.get("owner"))


@blp.route("/dashboard")
class DashboardView(MethodView):
    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardOut)
    @blp.doc(responses={"200": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/DashboardOut"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
    @errors(blp, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """The portfolio's figures over the projects you may see, by city, stage and owner."""
        principal = current()
        state = service()
        with state.database.read() as session:
            found = figures(session, scope_of(query, principal.projects), state.today())
        if query["format"] == "xlsx":
            content = render_dashboard_xlsx(found, requested_lang(),
                                            state.assessor.catalog.policy)
            return Response(content, mimetype=XLSX, headers={
                "Content-Disposition": 'attachment; filename="portfolio.xlsx"'})
        return answer(DashboardOut, found, 200)
