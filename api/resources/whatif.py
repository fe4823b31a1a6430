"""POST /api/v1/rules/whatif: what a draft of the rulesets would change, project by project.

Reviewers and admins send the draft's files (relative name → YAML text) laid over the current
rulesets; every visible project's latest checklist of each stage is judged by both, and the
answer (JSON, or the Excel report with `?format=xlsx`) says what changes. Nothing is stored.
It runs in the request, on one core: a large portfolio is the CLI's job
(`riskengine rules whatif DRAFT_DIR`, over processes).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from api.answers import answer
from api.auth import Role, require
from api.openapi import errors
from api.render import requested_lang
from api.schemas import RequestSchema, ResponseSchema
from api.state import service
from riskengine.output.whatif import render_whatif_xlsx
from riskengine.store.latest import latest_checklists
from riskengine.store.promises import sales_mentions
from riskengine.vocabulary import Lang
from riskengine.whatif import (
    candidates_of,
    compare_loaded,
    load_draft,
    refuse_unforcing,
    write_draft,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("whatif", __name__, url_prefix="/api/v1",
                description="What a draft of the rulesets would change, before release")


class WhatIfIn(RequestSchema):
    files = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=120)),
        values=fields.String(validate=validate.Length(max=512 * 1024)), required=True,
        validate=validate.Length(min=1, max=60), metadata={
            "description": "draft files laid over the current rulesets: `<stage>/<topic>.yaml` "
                           "(or `.test.yaml`), `policy.yaml`, `ledger.yaml` → YAML text"})


class WhatIfQuery(RequestSchema):
    lang = fields.String(validate=validate.OneOf([lang.value for lang in Lang]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class WhatIfOut(ResponseSchema):
    summary = fields.Dict(metadata={"description": "projects, gate_changed, worse, better, "
                                                   "refused_by_draft, rules (which move gates)"})
    projects = fields.List(fields.Dict(), metadata={
        "description": "per checklist: gate before/after, findings added, removed, changed"})


@blp.route("/rules/whatif")
class WhatIfView(MethodView):
    @blp.arguments(WhatIfIn)
    @blp.arguments(WhatIfQuery, location="query", as_kwargs=True)
    @blp.response(200, WhatIfOut)
    @blp.doc(responses={"200": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/WhatIfOut"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
    @errors(blp, 400, 403, 413, 422)
    def post(self, data: dict[str, Any], **query: str) -> Response:
        """Judge every visible project's latest checklists by a draft beside the current
        rulesets; a draft that does not load is refused (422) with every problem by file."""
        principal = require(Role.REVIEWER)
        state = service()
        current = Path(current_app.config["RULESETS_DIR"])
        with tempfile.TemporaryDirectory(prefix="riskengine-draft-") as folder:
            root = write_draft(current, data["files"], Path(folder))
            draft = load_draft(root)
        with state.database.read() as session:
            refuse_unforcing(session, draft)
            stored = latest_checklists(session, principal.projects)
            candidates = candidates_of(stored, lambda pid: sales_mentions(session, pid))
        report = compare_loaded(state.submissions, draft, candidates)
        policy = draft.policy
        if query.get("format") == "xlsx":
            return Response(render_whatif_xlsx(report, requested_lang(), policy),
                            mimetype=XLSX, headers={
                                "Content-Disposition": 'attachment; filename="whatif.xlsx"'})
        return answer(WhatIfOut, report.to_dict(), 200)
