"""Printable reports of an assessment and of a gate review: a page (print CSS), XLSX and PDF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from api.auth import current, require_project
from api.errors import NotFound
from api.lookups import project_or_404, render_stored
from api.render import review_body
from api.state import service
from api.web.blueprint import lang, page, t
from api.web.entry import xlsx_response
from riskengine.attachments.evidence import report_files
from riskengine.output.evidence import EvidenceFile
from riskengine.output.reports import (
    Report,
    blocking_findings,
    by_owner,
    render_pdf,
    render_xlsx,
    waivers,
)
from riskengine.refusals import refusal
from riskengine.store.projects import get_assessment
from riskengine.store.reviews import get_review, latest_numbers

FORMATS = ("xlsx", "pdf")


def assessment_report(assessment_id: str) -> Report:
    principal, state = current(), service()
    with state.database.read() as db:
        found = get_assessment(db, assessment_id, principal.projects)
        if found is None:
            raise NotFound(refusal("assessment_not_found", id=assessment_id))
        body = render_stored(db, found[0], found[1], state.today(), lang())
        project = {"code": found[1].code, "name": found[1].name, "city": found[1].city}
        files = _evidence(db, body)
    return Report(body, project, evidence=files)


def review_report(code: str, review_id: str) -> Report:
    principal, state = require_project(code), service()
    with state.database.read() as db:
        project_row = project_or_404(db, code, principal)
        review = get_review(db, project_row.id, review_id)
        found = get_assessment(db, review.assessment_id, principal.projects) if review else None
        if review is None or found is None:
            raise NotFound(refusal("review_not_found", id=review_id))
        body = render_stored(db, found[0], project_row, state.today(), lang())
        judged = review_body(review, code, latest_numbers(db, project_row.id))
        project = {"code": project_row.code, "name": project_row.name, "city": project_row.city}
        files = _evidence(db, body)
    return Report(body, project, judged, files)


def _evidence(db: Session, body: Mapping[str, Any]) -> dict[str, list[EvidenceFile]]:
    """The report's findings' evidence files; links under RISKENGINE_PUBLIC_URL, else the
    address this request came to."""
    ids = {str(f["id"]) for f in body.get("findings") or [] if f.get("id")}
    base = current_app.config.get("PUBLIC_URL") or request.host_url
    return report_files(db, service().storage, ids, str(base))


def _download(report: Report, fmt: str) -> Response:
    catalog = service().assessor.catalog
    if fmt == "xlsx":
        return xlsx_response(render_xlsx(report, catalog, lang()), report.filename("xlsx"))
    if fmt == "pdf":
        return Response(render_pdf(report, catalog, lang()), mimetype="application/pdf",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{report.filename("pdf")}"'})
    raise NotFound(refusal("format_not_found", name=fmt))


def _page(report: Report, title: str) -> tuple[str, int]:
    return page("report.html", title=title, report=report, body=report.assessment,
                review=report.review, groups=by_owner(report.assessment["findings"]),
                blocking=blocking_findings(report.assessment),
                waivers=waivers(report.assessment))


def assessment_print(assessment_id: str) -> tuple[str, int]:
    report = assessment_report(assessment_id)
    return _page(report, t("report_title", code=report.project["code"]))


def assessment_download(assessment_id: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        raise NotFound(refusal("format_not_found", name=fmt))
    return _download(assessment_report(assessment_id), fmt)


def review_print(code: str, review_id: str) -> tuple[str, int]:
    report = review_report(code, review_id)
    return _page(report, t("review_report_title", code=code))


def review_download(code: str, review_id: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        raise NotFound(refusal("format_not_found", name=fmt))
    return _download(review_report(code, review_id), fmt)


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/assessments/<assessment_id>/report", view_func=assessment_print)
    bp.add_url_rule("/assessments/<assessment_id>/report.<fmt>", view_func=assessment_download)
    bp.add_url_rule("/projects/<code>/gate-reviews/<review_id>/report", view_func=review_print)
    bp.add_url_rule("/projects/<code>/gate-reviews/<review_id>/report.<fmt>",
                    view_func=review_download)
