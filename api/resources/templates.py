"""GET /api/v1/templates/{stage}.xlsx: the Excel checklist template of a stage."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current
from api.errors import NotFound
from api.openapi import errors
from api.render import requested_lang
from api.state import service
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.refusals import refusal
from riskengine.vocabulary import Stage

blp = Blueprint("templates", __name__, url_prefix="/api/v1",
                description="Excel templates of the checklist, one per stage")


@blp.route("/templates/<stage>.xlsx")
class TemplateView(MethodView):
    @blp.doc(parameters=[{"in": "path", "name": "stage", "required": True,
                          "schema": {"type": "string", "enum": [s.value for s in Stage]}}])
    @blp.response(200, content_type=MEDIA_TYPE, description=(
        "one sheet per list (headers zh/en, dropdowns for closed vocabularies and yes/no "
        "showing labels in the requested language: `?lang=` or Accept-Language, zh by "
        "default; codes, labels and common synonyms are all read back), a `checks` "
        "sheet with each key's type and zh/en description, and a `project` sheet; submit it "
        "filled as the body of `POST /api/v1/projects/{code}/checklists` (Content-Type: this "
        "media type), or upload it on the web page `/checklists/new`"))
    @errors(blp, 404)
    def get(self, stage: str) -> Response:
        """The Excel template of a stage's checklist."""
        current()
        if stage not in set(Stage):
            raise NotFound(refusal("stage_not_found", name=stage),
                           {"stage": [refusal("stage_choices", stages=list(Stage))]})
        return Response(service().template(Stage(stage), requested_lang()), mimetype=MEDIA_TYPE,
                        headers={
                            "Content-Disposition":
                                f'attachment; filename="riskengine-{stage}-template.xlsx"'})
