"""GET /api/v1/rulesets and /api/v1/rules/{rule_id}: the loaded catalogue."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current
from api.errors import NotFound
from api.idempotency import dump, json_response
from api.openapi import errors
from api.render import checks_body, requested_lang, rule_body, ruleset_body
from api.schemas import LangQuery, RuleOut, RulesetsOut
from api.state import service

blp = Blueprint("rulesets", __name__, url_prefix="/api/v1",
                description="The rulesets, their rules and the checklist's `checks` keys")


@blp.route("/rulesets")
class Rulesets(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.response(200, RulesetsOut)
    @errors(blp, 422)
    def get(self, **query: str) -> Response:
        """Every loaded ruleset with its version, content hash and rules; every checks key."""
        current()
        state, lang = service(), requested_lang()
        catalog = state.assessor.catalog
        rulesets = [ruleset_body(r, lang) for r in catalog.rulesets]
        ledger = state.submissions.ledger
        rulesets.append({"id": ledger.ref.id, "version": ledger.ref.version,
                         "hash": ledger.ref.hash, "stage": ledger.ref.id.split(".", 1)[0],
                         "title": ledger.rule.title[lang], "rules": [rule_body(ledger.rule, lang)]})
        return json_response(dump({"rulesets": rulesets, "checks": checks_body(catalog, lang)}),
                             200)


@blp.route("/rules/<rule_id>")
class RuleView(MethodView):
    @blp.arguments(LangQuery, location="query", as_kwargs=True)
    @blp.response(200, RuleOut)
    @errors(blp, 404, 422)
    def get(self, rule_id: str, **query: str) -> Response:
        """One rule: what it checks, its severity, owner, texts and source."""
        current()
        state = service()
        rule = state.assessor.catalog.rule(rule_id)
        if rule is None and rule_id == state.submissions.ledger.rule.id:
            rule = state.submissions.ledger.rule
        if rule is None:
            raise NotFound(f"rule {rule_id} not found")
        return json_response(dump(rule_body(rule, requested_lang())), 200)
