"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.answers import answer
from api.schemas import HealthOut
from api.state import service

blp = Blueprint("health", __name__, description="Liveness and readiness")
log = logging.getLogger("riskengine.api")
RETRY_AFTER = "5"  # seconds; the same as a route's 503 database_unavailable


@blp.route("/healthz", endpoint="healthz")
class Healthz(MethodView):
    @blp.response(200, HealthOut)
    @blp.doc(security=[])
    def get(self) -> Response:
        """The process answers (no dependency is checked)."""
        return answer(HealthOut, {"status": "ok"}, 200)


@blp.route("/readyz", endpoint="readyz")
class Readyz(MethodView):
    @blp.response(200, HealthOut)
    @blp.alt_response(503, schema=HealthOut, description="the database is unreachable")
    @blp.doc(security=[])
    def get(self) -> Response:
        """The database answers and rulesets are loaded: the process can take traffic."""
        state = service()
        try:
            state.database.ping()
        except Exception:  # any driver error means "not ready"; the log says which
            log.exception("readiness check failed")
            return answer(HealthOut, {"status": "unavailable", "checks": {
                "database": "unreachable"}}, 503, {"Retry-After": RETRY_AFTER})
        # The promise ledger is a ruleset too (`/rulesets` lists it): count what is listed.
        rulesets = len(state.assessor.catalog.rulesets) + len([state.submissions.ledger])
        return answer(HealthOut, {"status": "ok", "checks": {
            "database": "ok", "rulesets": rulesets}}, 200)
