"""Checklist entry: the web form, the Excel template (download, upload), and submission.

A submission goes the API's way, through the core's `Submissions` (validated once, judged with
the promise ledger for delivery, stored) and `run_once`: a per-form key makes a double click
store once.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as ResponseBase

from api.auth import Role, require, require_project
from api.errors import ApiError, NotFound, status_of
from api.lookups import project_or_404, stored_checklist
from api.state import service
from api.web.blueprint import lang, page, t
from api.web.forms import Form, blank, from_checklist, from_request, input_kind, received_of
from riskengine.checklist.contract import LISTS, ItemField
from riskengine.checklist.tables import TABLES, Table, project_rows
from riskengine.errors import RiskEngineError, WorkbookInvalid
from riskengine.idempotency import run_once
from riskengine.output.workbook import MEDIA_TYPE, write_template
from riskengine.refusals import refusal
from riskengine.rules.catalog import Catalog
from riskengine.submission import Received
from riskengine.vocabulary import Stage

_FORM_KEY = re.compile(r"[0-9a-f]{32}\Z")


def xlsx_response(content: bytes, filename: str) -> Response:
    return Response(content, mimetype=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def store(received: Received, form_key: str) -> str:
    """Judge and store a checklist for the caller; return its assessment's id."""
    principal = require_project(received.project_code, Role.SUBMITTER)
    state = service()
    request_hash = hashlib.sha256(received.text.encode()).hexdigest()
    with state.database.write() as db:
        def work() -> tuple[int, str]:
            done = state.submissions.submit(db, received, principal.actor, state.today())
            return 201, json.dumps({"id": done.row.assessment.id})
        answer = run_once(db, principal.token_id, f"web-form:{form_key}", request_hash, work)
    return str(json.loads(answer.body)["id"])


def closed_lists(catalog: Catalog, stage: Stage) -> dict[str, tuple[str, ...]]:
    """The lists a stage's rules go through whose items are one per kind of a closed set (the
    permits, the acceptances, the mock-acceptance phases), with their kinds: the form lists them
    so a project manager fills each rather than remembers which exist."""
    walked = {rule.for_each for rule in catalog.rules(stage)}
    closed = {}
    for name, spec in LISTS.items():
        kind = spec.kind_field
        if name in walked and kind is not None and spec.identity == (kind,):
            closed[name] = spec.fields[kind].choices
    return closed


def _filled(form: Form, table: Table) -> bool:
    return any(form.value(f"{table.name}.{row}.{column.key}")
               for row in range(form.count(table)) for column in table.columns)


def prelist(form: Form, catalog: Catalog) -> Form:
    """Give each closed list the form shows empty a row per kind, its kind chosen."""
    closed = closed_lists(catalog, form.stage)
    for table in TABLES:
        kinds = closed.get(table.name)
        if kinds is None or _filled(form, table):
            continue
        form.rows[table.name] = len(kinds)
        for row, kind in enumerate(kinds):
            form.values[f"{table.name}.{row}.{table.columns[0].key}"] = kind
    return form


def unlist(form: Form, catalog: Catalog) -> Form:
    """Empty a list still exactly as another stage's form pre-listed it (its kinds, nothing
    typed): switching stage must not carry those rows into a checklist they do not belong to."""
    mine = closed_lists(catalog, form.stage)
    for stage in Stage:
        for name, kinds in closed_lists(catalog, stage).items():
            table = next(t for t in TABLES if t.name == name)
            if name in mine or form.count(table) != len(kinds):
                continue
            as_listed = {f"{name}.{row}.{table.columns[0].key}": kind
                         for row, kind in enumerate(kinds)}
            given = {f"{name}.{row}.{c.key}": form.value(f"{name}.{row}.{c.key}")
                     for row in range(len(kinds)) for c in table.columns}
            if {k: v for k, v in given.items() if v} == as_listed:
                for path in given:
                    form.values.pop(path, None)
                form.rows[name] = 1
    return form


def remove_row(form: Form, given: str) -> Form:
    """Drop row `LIST.N` of the form: the rows after it move up one, one row always stays."""
    name, _, number = given.rpartition(".")
    table = next((t for t in TABLES if t.name == name), None)
    if table is None or not number.isdigit() or int(number) >= form.count(table):
        return form
    count, gone = form.count(table), int(number)
    for row in range(gone, count):
        for column in table.columns:
            later = form.values.pop(f"{table.name}.{row + 1}.{column.key}", "")
            form.values[f"{table.name}.{row}.{column.key}"] = later
    form.rows[table.name] = max(1, count - 1)
    return form


def _form_page(form: Form, status: int = 200, problems: dict[str, list[str]] | None = None,
               key: str | None = None) -> tuple[str, int]:
    catalog = service().assessor.catalog
    checks = [(key, check.description, ItemField(check.type))
              for key, check in sorted(catalog.checks(form.stage).items())]
    return page("entry.html", status, title=t("entry"), form=form, tables=TABLES,
                project_rows=project_rows(), checks=checks, input_kind=input_kind,
                prelisted=closed_lists(catalog, form.stage),
                problems=problems or {}, form_key=key or uuid.uuid4().hex)


def _prefill(stage: Stage) -> Form:
    catalog, principal = service().assessor.catalog, require(Role.SUBMITTER)
    code, source = request.args.get("project"), request.args.get("from")
    if not (code and source):
        return prelist(blank(stage, principal.name), catalog)
    with service().database.read() as db:
        row = stored_checklist(db, project_or_404(db, code, principal), source)
        return from_checklist(json.loads(row.raw_text), catalog)


def entry() -> tuple[str, int]:
    """The checklist form for a stage (optionally filled from a stored checklist)."""
    given = request.args.get("stage")
    return _form_page(_prefill(Stage(given) if given in set(Stage) else Stage.SALES))


def submit_form() -> ResponseBase | tuple[str, int]:
    """Grow a list by a row, or submit the form: errors come back at their inputs."""
    require(Role.SUBMITTER)
    state = service()
    form = from_request(request.form)
    key = _form_key()
    removed = form.values.pop("remove", "")
    if removed:
        return _form_page(remove_row(form, removed), key=key)
    if request.form.get("switch"):
        catalog = state.assessor.catalog
        return _form_page(prelist(unlist(form, catalog), catalog), key=key)
    if request.form.get("add"):
        return _form_page(form, key=key)
    received = received_of(form, state.submissions, lang())
    if received is None:
        return _form_page(form, 422, key=key)
    try:
        assessment_id = store(received, key)
    except WorkbookInvalid as error:  # found at the form's inputs (evidence files it names)
        form.errors = _details(error)
        return _form_page(form, _status(error), key=key)
    except RiskEngineError as error:
        return _form_page(form, _status(error), _details(error), key)
    return redirect(url_for("web.assessment", assessment_id=assessment_id))


def _form_key() -> str:
    """The key the page drew for this form (a new one on the first post). Any other names no
    earlier submission and would not fit the stored key."""
    given = request.form.get("form_key") or uuid.uuid4().hex
    if not _FORM_KEY.match(given):
        raise ApiError(refusal("form_key_malformed"), {"form_key": [refusal("form_key_shape")]})
    return given


def _status(error: RiskEngineError) -> int:
    return status_of(error)


def _details(error: RiskEngineError) -> dict[str, list[str]]:
    message, worded = error.in_lang(lang())
    details: dict[str, list[str]] = dict(worded or {})
    return details or {"checklist": [message]}


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
        received = state.submissions.receive_workbook(content)
        assessment_id = store(received, hashlib.sha256(content).hexdigest())
    except RiskEngineError as error:
        return _form_page(form, _status(error), _details(error))
    return redirect(url_for("web.assessment", assessment_id=assessment_id))


def template(stage: str) -> Response:
    """The empty Excel template of a stage."""
    if stage not in set(Stage):
        raise NotFound(refusal("stage_not_found", name=stage))
    return xlsx_response(service().template(Stage(stage), lang()),
                         f"riskengine-{stage}-template.xlsx")


def checklist_workbook(code: str, checklist_id: str) -> Response:
    """A stored checklist in the Excel template, to correct and upload again."""
    principal = require_project(code)
    with service().database.read() as db:
        row = stored_checklist(db, project_or_404(db, code, principal), checklist_id)
        data, stage, number = json.loads(row.raw_text), row.stage, row.number
    content = write_template(service().assessor.catalog, Stage(stage), data, lang=lang())
    return xlsx_response(content, f"{code}-{stage}-{number}.xlsx")


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/checklists/new", view_func=entry)
    bp.add_url_rule("/checklists/new", view_func=submit_form, methods=["POST"])
    bp.add_url_rule("/checklists/upload", view_func=upload, methods=["POST"])
    bp.add_url_rule("/templates/<stage>.xlsx", view_func=template)
    bp.add_url_rule("/projects/<code>/checklists/<checklist_id>.xlsx", view_func=checklist_workbook)
