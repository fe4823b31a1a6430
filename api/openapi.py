"""What flask-smorest cannot infer: the checklist's schema, security, headers, error codes."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask_smorest import Api, Blueprint

from api.errors import HTTP_CODES
from riskengine.checklist.contract import LISTS, PROJECT_CODE_PATTERN, ItemField, ListSpec
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.rules.catalog import Catalog
from riskengine.vocabulary import MILESTONES, CheckType, Stage

_TYPES: dict[str, dict[str, Any]] = {
    CheckType.BOOL: {"type": "boolean"}, CheckType.INT: {"type": "integer", "minimum": 0},
    CheckType.NUMBER: {"type": "number"}, CheckType.DATE: {"type": "string", "format": "date"},
    CheckType.STRING: {"type": "string", "maxLength": 4000},
}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                   "description": "a retry with the same key and body gets the first answer"}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "the finding's ETag: refuse the change if someone changed it since"}
CHECKLIST_BODY = {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Checklist"}}}}
SUBMISSION_BODY = {
    "required": True,
    "description": (
        "the checklist as JSON, or the stage's Excel template "
        "(`GET /api/v1/templates/{stage}.xlsx`) filled in and sent as the body with its media "
        "type; a workbook is stored as the JSON it holds, and its problems answer 422 with "
        "details keyed by cell (`offsite_factors!C4`) or sheet"),
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Checklist"}},
        MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
    },
}


def _field(spec: ItemField, nullable: bool = True) -> dict[str, Any]:
    if spec.type == "list":
        schema: dict[str, Any] = {"type": "array", "items": {"type": "string",
                                                             "enum": list(spec.choices)}}
    elif spec.choices:
        schema = {"type": "string", "enum": list(spec.choices)}
    else:
        schema = dict(_TYPES[spec.type])
    if nullable and not spec.required:
        schema["nullable"] = True
    return schema


def _item(spec: ListSpec) -> dict[str, Any]:
    properties = {name: _field(f) for name, f in spec.fields.items()}
    for child, child_spec in spec.nested.items():
        properties[child] = {"type": "array", "items": _item(child_spec), "nullable": True}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": [n for n, f in spec.fields.items() if f.required]}


def checklist_schema(catalog: Catalog) -> dict[str, Any]:
    """The checklist-v1 contract as an OpenAPI schema, built from the same data validation uses."""
    checks = {key: {**_TYPES[c.type], "nullable": True, "description": c.description["en"]}
              for stage in Stage for key, c in catalog.checks(stage).items()}
    text = {"type": "string", "maxLength": 4000, "nullable": True}
    properties: dict[str, Any] = {
        "project": {"type": "object", "additionalProperties": False, "required": ["code"],
                    "properties": {"code": {"type": "string", "pattern": PROJECT_CODE_PATTERN},
                                   "name": text, "city": text}},
        "stage": {"type": "string", "enum": [s.value for s in Stage]},
        "as_of": {"type": "string", "format": "date"},
        "submitted_by": text,
        "milestones": {"type": "object", "additionalProperties": False, "properties": {
            m: {"type": "string", "format": "date", "nullable": True} for m in MILESTONES}},
        "checks": {"type": "object", "additionalProperties": False, "properties": checks,
                   "description": "keys declared by the rulesets of the checklist's stage"},
    }
    for name, spec in LISTS.items():
        properties[name] = {"type": "array", "items": _item(spec), "maxItems": 2000}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": ["project", "stage", "as_of"]}


def document(api: Api, catalog: Catalog) -> None:
    api.spec.components.schema("Checklist", component=checklist_schema(catalog))
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer",
                   "description": "`riskengine tokens create --role ROLE` prints one"})
    api.spec.options["security"] = [{"bearer": []}]


def errors(blp: Blueprint, *codes: int) -> Callable[[Any], Any]:
    """Document the error answers of an operation (every one is the error envelope)."""
    def decorate(view: Any) -> Any:
        for code in sorted({*codes, 401, 429}, reverse=True):  # 429: api/throttle.py
            view = blp.alt_response(code, response=HTTPStatus(code).name,
                                    description=HTTP_CODES.get(code, ""))(view)
        return view
    return decorate
