"""GET /api/v1/rulesets and /api/v1/rules/{rule_id}: the loaded catalogue; the release log
of a ruleset (every version judged with, and what changed) and any version as it was."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from api.answers import answer
from api.auth import current
from api.errors import NotFound
from api.openapi import errors
from api.render import checks_body, requested_lang, rule_body, ruleset_body
from api.schemas import LangQuery, ResponseSchema, RuleOut, RulesetsOut
from api.state import service
from riskengine.refusals import refusal
from riskengine.releases import release_log
from riskengine.store.releases import release, releases


class ReleaseLogOut(ResponseSchema):
    ruleset = fields.String()
    releases = fields.List(fields.Dict(), metadata={
        "description": "version, hash, first_used_at, changes (rules_added, rules_removed, "
                       "rules_changed {rule: [fields]}, parameters_changed)"})


class ReleaseOut(ResponseSchema):
    ruleset = fields.String()
    version = fields.String()
    hash = fields.String()
    stage = fields.String()
    title = fields.Dict()
    parameters = fields.Dict()
    rules = fields.Dict(metadata={"description": "rule id → its fields and texts as they were"})


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
        return answer(RulesetsOut, {"rulesets": rulesets, "checks": checks_body(catalog, lang)},
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
            raise NotFound(refusal("rule_not_found", id=rule_id))
        return answer(RuleOut, rule_body(rule, requested_lang()), 200)


@blp.route("/rulesets/<ruleset_id>/releases")
class Releases(MethodView):
    @blp.response(200, ReleaseLogOut)
    @errors(blp, 404)
    def get(self, ruleset_id: str) -> Response:
        """Every version of a ruleset assessments were judged with, oldest first, each with
        what changed from the one before: rules added, removed, changed, parameters."""
        current()
        state = service()
        with state.database.write() as session:
            state.submissions.keep_releases(session)  # today's versions are in the log too
            found = releases(session, ruleset_id)
        if not found:
            raise NotFound(refusal("ruleset_not_found", id=ruleset_id),
                           {"ruleset_id": [ruleset_id]})
        return answer(ReleaseLogOut, {"ruleset": ruleset_id, "releases": release_log(found)}, 200)


@blp.route("/rulesets/<ruleset_id>/releases/<hash_>")
class ReleaseView(MethodView):
    @blp.response(200, ReleaseOut)
    @errors(blp, 404)
    def get(self, ruleset_id: str, hash_: str) -> Response:
        """A ruleset version as it was: its rules, texts (zh and en) and parameters."""
        current()
        with service().database.read() as session:
            found = release(session, ruleset_id, hash_)
        if found is None:
            raise NotFound(refusal("ruleset_version_not_found", id=ruleset_id, hash=hash_),
                           {"hash": [refusal("not_a_named_version")]})
        return answer(ReleaseOut, {"ruleset": found.ruleset_id, "version": found.version,
                                   "hash": found.hash, "stage": found.stage,
                                   **found.content}, 200)
