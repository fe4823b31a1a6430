"""What flask-smorest cannot infer: the checklist's schema, security, headers, error codes."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
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
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                              "pattern": "^[!-~]{1,255}$"},
                   "description": "printable ASCII without spaces, 1 to 255 characters (else "
                                  "400); a retry with the same key and body gets the first "
                                  "answer, the same key with another body 409 "
                                  "`idempotency_key_reused`"}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "the finding's ETag: refuse the change if someone changed it since "
                           "(a stale ETag answers 412 `precondition_failed`)"}
# What every operation enforces and no schema keyword says (the document's description).
SERVER_RULES = (
    "Rules every operation enforces: a body is `application/json` (the checklists route also "
    "takes the Excel template's media type), anything else answers 415 listing the accepted "
    "types; a body is UTF-8 JSON with each key once per object (a repeated key answers 400 "
    "naming it) nested at most 64 levels; no text in a body, query or form may contain a NUL "
    "character (U+0000) or a lone surrogate (422 naming the field); a body over the size limit "
    "answers 413, with or without Content-Length; a database that cannot be reached answers "
    "503 `database_unavailable` with Retry-After. A token scoped to projects sees, changes and "
    "creates nothing of another project (its objects are 404).")
# Rules of one operation that its schemas cannot state: appended to its description.
OPERATION_RULES: dict[tuple[str, str], str] = {
    ("patch", "/api/v1/findings/{finding_id}"):
        "`waiver` is accepted only with `status: waived`, and `status: waived` needs it; a "
        "stale `If-Match` answers 412.",
    ("post", "/api/v1/audit-subscriptions"):
        "A webhook `target` is an http:// or https:// URL; an email `target` is one e-mail "
        "address (with @, without spaces). `projects` is never empty; a token scoped to "
        "projects must name them, each within its scope (another project: 404; none: 403).",
    ("post", "/api/v1/evaluate"):
        "`checks` keys are those the rulesets of the checklist's `stage` declare "
        "(`x-checks-by-stage` of the Checklist schema); another stage's key answers 422.",
    ("post", "/api/v1/projects/{code}/checklists"):
        "`checks` keys are those the rulesets of the checklist's `stage` declare "
        "(`x-checks-by-stage` of the Checklist schema); another stage's key answers 422.",
    ("post", "/api/v1/projects/{code}/gate-reviews"):
        "A decision more lenient than the computed gate (or, for delivery, the latest audit "
        "run's) — pass or conditional over fail, pass over conditional — answers 409 unless an "
        "admin gives `override_justification`.",
}
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
        each: dict[str, Any] = {"type": "string", "enum": list(spec.choices)} \
            if spec.choices else {"type": "string", "maxLength": 4000}  # free text: file ids
        schema: dict[str, Any] = {"type": "array", "items": each}
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
                   "description": "keys declared by the rulesets of the checklist's stage "
                                  "(listed by stage in `x-checks-by-stage`); another stage's "
                                  "key is refused (422)",
                   "x-checks-by-stage": {stage.value: sorted(catalog.checks(stage))
                                         for stage in Stage}},
    }
    for name, spec in LISTS.items():
        properties[name] = {"type": "array", "items": _item(spec), "maxItems": 2000}
        if "attachments" in spec.fields:
            properties[name]["items"]["properties"]["attachments"]["description"] = (
                "ids of the project's evidence files backing the item (the `id` the upload "
                "routes answer); a stored submission refuses (422) an id that is not a live "
                "file of its project; `POST /evaluate` does not verify them")
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": ["project", "stage", "as_of"]}


def _pointer(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


_PROJECT = "/api/v1/projects/{code}"
_CODE = {"code": "$request.path.code"}
# The links a client (or schemathesis) follows from one answer to the next operation: every
# operation with a path parameter is the target of one, so each is reachable from the roots.
# (source method, source path, status): {link name: (target method, target path, parameters)}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/api/v1/projects", "201"): {
        f"{method}{name}": (method, _PROJECT + tail, {"code": "$response.body#/code"})
        for method, name, tail in (
            ("get", "Project", ""), ("get", "Checklists", "/checklists"),
            ("post", "Checklist", "/checklists"), ("get", "Reviews", "/gate-reviews"),
            ("post", "Review", "/gate-reviews"), ("get", "Promises", "/promises"),
            ("get", "Schedules", "/audit-schedules"), ("post", "Schedule", "/audit-schedules"),
            ("delete", "Schedules", "/audit-schedules"),
            ("get", "DeliveryDate", "/delivery-date"), ("put", "DeliveryDate", "/delivery-date"),
            ("get", "ItemAttachments", "/items/attachments"),
            ("post", "ItemAttachment", "/items/attachments"))},
    ("get", "/api/v1/projects", "200"): {
        "getProject": ("get", _PROJECT, {"code": "$response.body#/items/0/code"})},
    ("post", _PROJECT + "/checklists", "201"): {
        "getAssessment": ("get", "/api/v1/assessments/{assessment_id}",
                          {"assessment_id": "$response.body#/id"}),
        "getChecklist": ("get", _PROJECT + "/checklists/{checklist_id}",
                         {**_CODE, "checklist_id": "$response.body#/checklist_id"}),
        "getFinding": ("get", "/api/v1/findings/{finding_id}",
                       {"finding_id": "$response.body#/findings/0/id"}),
        "patchFinding": ("patch", "/api/v1/findings/{finding_id}",
                         {"finding_id": "$response.body#/findings/0/id"}),
        "getComments": ("get", "/api/v1/findings/{finding_id}/comments",
                        {"finding_id": "$response.body#/findings/0/id"}),
        "postComment": ("post", "/api/v1/findings/{finding_id}/comments",
                        {"finding_id": "$response.body#/findings/0/id"}),
        "requestWaiver": ("post", "/api/v1/findings/{finding_id}/waiver-requests",
                          {"finding_id": "$response.body#/findings/0/id"}),
        "getAttachments": ("get", "/api/v1/findings/{finding_id}/attachments",
                           {"finding_id": "$response.body#/findings/0/id"}),
        "postAttachment": ("post", "/api/v1/findings/{finding_id}/attachments",
                           {"finding_id": "$response.body#/findings/0/id"})},
    **{(method, path, "201"): {
        f"{verb}{name}": (verb, "/api/v1/attachments/{attachment_id}" + tail,
                          {"attachment_id": "$response.body#/id"})
        for verb, name, tail in (("get", "Attachment", ""), ("get", "Thumbnail", "/thumbnail"),
                                 ("delete", "Attachment", ""))}
       for method, path in (("post", "/api/v1/findings/{finding_id}/attachments"),
                            ("post", _PROJECT + "/items/attachments"))},
    ("post", "/api/v1/findings/{finding_id}/waiver-requests", "201"): {
        "decideWaiver": ("post", "/api/v1/waiver-requests/{request_id}/decision",
                         {"request_id": "$response.body#/id"})},
    ("get", "/api/v1/findings", "200"): {
        "getFinding": ("get", "/api/v1/findings/{finding_id}",
                       {"finding_id": "$response.body#/items/0/id"})},
    ("post", _PROJECT + "/gate-reviews", "201"): {
        "getReview": ("get", _PROJECT + "/gate-reviews/{review_id}",
                      {**_CODE, "review_id": "$response.body#/id"})},
    ("post", _PROJECT + "/audit-schedules", "201"): {
        f"{method}Schedule": (method, _PROJECT + "/audit-schedules/{schedule_id}",
                              {**_CODE, "schedule_id": "$response.body#/id"})
        for method in ("get", "delete")},
    ("get", "/api/v1/audit-runs", "200"): {
        "getRun": ("get", "/api/v1/audit-runs/{run_id}",
                   {"run_id": "$response.body#/items/0/id"})},
    ("post", "/api/v1/audit-subscriptions", "201"): {
        "deleteSubscription": ("delete", "/api/v1/audit-subscriptions/{subscription_id}",
                               {"subscription_id": "$response.body#/id"}),
        "getDeliveries": ("get", "/api/v1/audit-subscriptions/{subscription_id}/deliveries",
                          {"subscription_id": "$response.body#/id"})},
    ("get", "/api/v1/rulesets", "200"): {
        "getRule": ("get", "/api/v1/rules/{rule_id}",
                    {"rule_id": "$response.body#/rulesets/0/rules/0/id"}),
        "getTemplate": ("get", "/api/v1/templates/{stage}.xlsx",
                        {"stage": "$response.body#/rulesets/0/stage"}),
        "getReleases": ("get", "/api/v1/rulesets/{ruleset_id}/releases",
                        {"ruleset_id": "$response.body#/rulesets/0/id"}),
        "getRelease": ("get", "/api/v1/rulesets/{ruleset_id}/releases/{hash_}",
                       {"ruleset_id": "$response.body#/rulesets/0/id",
                        "hash_": "$response.body#/rulesets/0/hash"})},
}


class _Rules(BasePlugin):
    """Adds what flask-smorest cannot infer to each operation: its links and its rules."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            rule = OPERATION_RULES.get((method, path or ""))
            if rule:
                text = operation.get("description", "")
                operation["description"] = f"{text}\n\n{rule}".strip()
            for (source, source_path, status), links in LINKS.items():
                if (source, source_path) != (method, path):
                    continue
                responses = operation.setdefault("responses", {})
                # flask-smorest keys responses by int until apispec writes them out
                key = next((k for k in responses if str(k) == status), status)
                response = responses.setdefault(key, {})
                response["links"] = {
                    name: {"operationRef": _pointer(target, target_path),
                           "parameters": parameters}
                    for name, (target, target_path, parameters) in links.items()}


def document(api: Api, catalog: Catalog) -> None:
    rules = _Rules()
    rules.init_spec(api.spec)
    api.spec.plugins = (*api.spec.plugins, rules)
    api.spec.options.setdefault("info", {})["description"] = SERVER_RULES
    api.spec.components.schema("Checklist", component=checklist_schema(catalog))
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer",
                   "description": "`riskengine tokens create --role ROLE` prints one"})
    api.spec.options["security"] = [{"bearer": []}]


def errors(blp: Blueprint, *codes: int) -> Callable[[Any], Any]:
    """Document the error answers of an operation (every one is the error envelope)."""
    def decorate(view: Any) -> Any:
        # 429: api/throttle.py; 503: the database is unreachable (every token is checked in
        # it); 415: an operation that reads a body refuses another media type.
        documented = {*codes, 401, 429, 503, *((415,) if 413 in codes else ())}
        for code in sorted(documented, reverse=True):
            view = blp.alt_response(code, response=HTTPStatus(code).name,
                                    description=HTTP_CODES.get(code, ""))(view)
        return view
    return decorate
