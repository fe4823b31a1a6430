"""Checklist entry: the web form, the Excel template (download, upload), and submission.

A submission goes the API's way: validate, assess, and store with `store_checklist` (which
judges a delivery checklist with the promise ledger). A per-form key makes a double click
store once.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as ResponseBase

from api.auth import Role, require, require_project
from api.errors import ApiError, NotFound
from api.resources.checklists import stored_checklist
from api.resources.projects import project_or_404
from api.state import service
from api.web import bp, page, t
from api.web.excel import template_bytes
from api.web.forms import Form, blank, checklist_of, from_checklist, from_request, input_kind
from riskengine.contract import ItemField
from riskengine.errors import RiskEngineError
from riskengine.store import StoreError
from riskengine.store.checklists import store_checklist
from riskengine.store.idempotency import claim, complete
from riskengine.tables import TABLES, project_rows
from riskengine.vocabulary import Stage
from riskengine.workbook import MEDIA_TYPE, load_checklist, write_template

_FORM_KEY = re.compile(r"[0-9a-f]{32}\Z")


def xlsx_response(content: bytes, filename: str) -> Response:
    return Response(content, mimetype=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def store(checklist: dict[str, Any], form_key: str) -> str:
    """Assess and store a checklist for the caller; return its assessment's id."""
    code = str((checklist.get("project") or {}).get("code", ""))
    principal = require_project(code, Role.SUBMITTER)
    state = service()
    valid = state.assessor.validate(checklist)
    assessment = state.assessor.assess_valid(valid)
    text = json.dumps(checklist, ensure_ascii=False)
    key = f"web-form:{form_key}"
    with state.database.write() as db:
        replay = claim(db, principal.token_id, key, hashlib.sha256(text.encode()).hexdigest())
        if replay is not None:
            return str(json.loads(replay.body)["id"])
        done = store_checklist(db, state.ledger, assessment, valid, text, principal.actor,
                               state.today())
        complete(db, principal.token_id, key, 201, json.dumps({"id": done.assessment.id}))
        return done.assessment.id


def _form_page(form: Form, status: int = 200, problems: dict[str, list[str]] | None = None,
               key: str | None = None) -> tuple[str, int]:
    catalog = service().assessor.catalog
    checks = [(key, check.description, ItemField(check.type))
              for key, check in sorted(catalog.checks(form.stage).items())]
    return page("entry.html", status, title=t("entry"), form=form, tables=TABLES,
                project_rows=project_rows(), checks=checks, input_kind=input_kind,
                problems=problems or {}, form_key=key or uuid.uuid4().hex)


def _prefill(stage: Stage) -> Form:
    catalog, principal = service().assessor.catalog, require(Role.SUBMITTER)
    code, source = request.args.get("project"), request.args.get("from")
    if not (code and source):
        return blank(stage, principal.name)
    with service().database.read() as db:
        row = stored_checklist(db, project_or_404(db, code, principal), source)
        return from_checklist(json.loads(row.raw_text), catalog)


@bp.route("/checklists/new")
def entry() -> tuple[str, int]:
    """The checklist form for a stage (optionally filled from a stored checklist)."""
    given = request.args.get("stage")
    return _form_page(_prefill(Stage(given) if given in set(Stage) else Stage.SALES))


@bp.route("/checklists/new", methods=["POST"])
def submit_form() -> ResponseBase | tuple[str, int]:
    """Grow a list by a row, or submit the form: errors come back at their inputs."""
    require(Role.SUBMITTER)
    state = service()
    form = from_request(request.form)
    key = _form_key()
    if request.form.get("add") or request.form.get("switch"):
        return _form_page(form, key=key)
    checklist = checklist_of(form, state.assessor.catalog, state.assessor.validator)
    if checklist is None:
        return _form_page(form, 422, key=key)
    try:
        assessment_id = store(checklist, key)
    except (ApiError, RiskEngineError, StoreError) as error:
        return _form_page(form, _status(error), _details(error), key)
    return redirect(url_for("web.assessment", assessment_id=assessment_id))


def _form_key() -> str:
    """The key the page drew for this form (a new one on the first post). Any other names no
    earlier submission and would not fit the stored key."""
    given = request.form.get("form_key") or uuid.uuid4().hex
    if not _FORM_KEY.match(given):
        raise ApiError("the form's key is malformed",
                       {"form_key": ["32 hexadecimal digits, as the page wrote it"]})
    return given


def _status(error: Exception) -> int:
    if isinstance(error, ApiError):
        return error.status
    return 409 if isinstance(error, StoreError) else 422


def _details(error: Any) -> dict[str, list[str]]:
    details: dict[str, list[str]] = dict(getattr(error, "details", {}) or {})
    return details or {"checklist": [str(getattr(error, "message", error))]}


@bp.route("/checklists/upload", methods=["POST"])
def upload() -> ResponseBase | tuple[str, int]:
    """Submit a filled Excel template; its problems are listed by sheet, row and column."""
    require(Role.SUBMITTER)
    state = service()
    given = request.values.get("stage")
    form = blank(Stage(given) if given in set(Stage) else Stage.SALES)
    upload_file = request.files.get("workbook")
    if upload_file is None or not upload_file.filename:
        return _form_page(form, 400, {"workbook": [t("choose_file")]})
    content = upload_file.read()
    try:
        checklist = load_checklist(content, state.assessor.catalog, state.assessor.validator)
        assessment_id = store(checklist, hashlib.sha256(content).hexdigest())
    except (ApiError, RiskEngineError, StoreError) as error:
        return _form_page(form, _status(error), _details(error))
    return redirect(url_for("web.assessment", assessment_id=assessment_id))


@bp.route("/templates/<stage>.xlsx")
def template(stage: str) -> Response:
    """The empty Excel template of a stage."""
    if stage not in set(Stage):
        raise NotFound(f"stage {stage} not found")
    return xlsx_response(template_bytes(Stage(stage)), f"riskengine-{stage}-template.xlsx")


@bp.route("/projects/<code>/checklists/<checklist_id>.xlsx")
def checklist_workbook(code: str, checklist_id: str) -> Response:
    """A stored checklist in the Excel template, to correct and upload again."""
    principal = require_project(code)
    with service().database.read() as db:
        row = stored_checklist(db, project_or_404(db, code, principal), checklist_id)
        data, stage, number = json.loads(row.raw_text), row.stage, row.number
    content = write_template(service().assessor.catalog, Stage(stage), data)
    return xlsx_response(content, f"{code}-{stage}-{number}.xlsx")
