"""The pages people read: portfolio, project, assessment (with finding controls), gate review."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api.auth import Principal, Role, current, require_project
from api.errors import ApiError, NotFound, status_of
from api.lookups import project_or_404, render_stored
from api.permissions import CONTROLS, controls, move
from api.render import review_body
from api.state import service
from api.web.blueprint import label, lang, page, t
from riskengine.audits.store import next_slots, project_runs
from riskengine.errors import RiskEngineError, StoreError
from riskengine.output.charts import SEVERITY_FILL, Bar, Segment, stacked_bars
from riskengine.output.reports import blocking_findings, by_owner, waivers
from riskengine.refusals import refusal
from riskengine.review import ReviewRequest, audit_run_read, review_gate
from riskengine.standing import list_projects
from riskengine.store.findings import get_finding
from riskengine.store.portfolio import assessments, cities, open_counts
from riskengine.store.projects import (
    ProjectFilter,
    checklists,
    get_assessment,
    latest_assessments,
)
from riskengine.store.reviews import latest_numbers, list_reviews
from riskengine.vocabulary import FindingStatus, GateDecision, Severity, Stage

PER_PAGE = 25


def _choice(name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def portfolio() -> tuple[str, int]:
    """Every project the caller may see: stage, gate, open findings, next audit, overdue."""
    principal, state = current(), service()
    today = state.today()
    wanted = ProjectFilter(city=request.args.get("city") or None,
                           stage=_choice("stage", set(Stage)),
                           gate=_choice("gate", set(GateDecision)))
    number = _page_number()
    with state.database.write() as db:  # listing may re-decide gates a lapsed waiver changed
        rows, total = list_projects(db, wanted, principal.projects, today, number, PER_PAGE,
                                    state.assessor.catalog.policy.gate)
        ids = [p.id for p in rows]
        counts, slots = open_counts(db, ids, today), next_slots(db, ids, today)
        items = [{"code": p.code, "name": p.name, "city": p.city, "stage": p.stage,
                  "gate": p.gate, "counts": counts[p.id], "next_slot": slots.get(p.id),
                  "latest_assessment_id": p.latest_assessment_id} for p in rows]
        city_names = cities(db, principal.projects)
    return page("portfolio.html", title=t("portfolio"), items=items, total=total,
                number=number, pages=max(1, -(-total // PER_PAGE)), wanted=wanted,
                cities=city_names)


def project(code: str) -> tuple[str, int]:
    """A project over time: its checklists and assessments, gate trend, reviews, audit runs."""
    principal, state = require_project(code), service()
    with state.database.read() as db:
        row = project_or_404(db, code, principal)
        history = assessments(db, row.id)
        submitted = {c.id: c for c in checklists(db, row.id)}
        latest = latest_numbers(db, row.id)
        reviews = [review_body(r, code, latest) for r in list_reviews(db, row.id)]
        runs = project_runs(db, row.id)
        slot = next_slots(db, [row.id], state.today()).get(row.id)
        entries = [{"id": a.id, "stage": a.stage, "number": a.number, "as_of": a.as_of,
                    "gate": a.gate_at_submission, "created_at": a.created_at,
                    "checklist_id": a.checklist_id, "findings": len(a.findings),
                    "submitted_by": submitted[a.checklist_id].submitted_by
                    if a.checklist_id in submitted else "",
                    "latest": latest.get(a.stage) == a.number} for a in history]
        info = {"code": row.code, "name": row.name, "city": row.city, "stage": row.stage,
                "gate": row.gate}
        burn = {stage: _burn_down([a for a in history if a.stage == stage.value], submitted)
                for stage in Stage}
    trend = {stage: [e for e in entries if e["stage"] == stage] for stage in Stage}
    return page("project.html", title=f"{code} {info['name'] or ''}".strip(), project=info,
                entries=list(reversed(entries)), trend=trend, reviews=list(reversed(reviews)),
                runs=runs, next_slot=slot, burn=burn)


def _burn_down(history: list[Any], submitted: dict[str, Any]) -> Markup | None:
    """A stage's findings at each submission by severity, each bar counting down the days to
    the stage's milestone (from its latest checklist): is the project getting there?"""
    if not history:
        return None
    policy = service().assessor.catalog.policy
    latest = submitted.get(history[-1].checklist_id)
    given = json.loads(latest.raw_text).get("milestones") or {} if latest else {}
    stage = Stage(history[-1].stage)
    name = next((m for m in policy.stages[stage].due_milestones if given.get(m)), None)
    milestone = dt.date.fromisoformat(given[name]) if name else None
    bars = []
    for row in history:
        counts = Counter(str(entry["severity"]) for entry in row.findings)
        days = f" · T-{(milestone - row.as_of).days}" if milestone else ""
        bars.append(Bar(f"#{row.number} {row.as_of.isoformat()}{days}", [
            Segment(label("severity", s.value), counts[s.value], SEVERITY_FILL[s.value],
                    url_for("web.assessment", assessment_id=row.id))
            for s in Severity]))
    title = t("burn_down") + (f" · {t('milestone')} {milestone.isoformat()}" if milestone else "")
    # Markup: stacked_bars escapes every label, title and link it writes.
    return Markup(stacked_bars(bars, title))


def _stored(db: Session, assessment_id: str, principal: Principal) -> tuple[dict[str, Any], Any]:
    found = get_assessment(db, assessment_id, principal.projects)
    if found is None:
        raise NotFound(refusal("assessment_not_found", id=assessment_id))
    body = render_stored(db, found[0], found[1], service().today(), lang())
    return body, found[1]


def actions(principal: Principal, finding: dict[str, Any]) -> list[str]:
    """Return the status controls this caller may use on a finding (the API decides again)."""
    return controls(principal, finding["owner"], FindingStatus(finding["status"]))


def severity_groups(findings: list[Any]) -> list[tuple[str, list[Any]]]:
    return [(severity, list(group)) for severity, group in groupby(
        findings, key=lambda f: f["severity"])]


def assessment(assessment_id: str) -> tuple[str, int]:
    """Findings grouped by owner then severity, with evidence, action, due date, provenance."""
    principal = current()
    with service().database.read() as db:
        body, project_row = _stored(db, assessment_id, principal)
    groups = [(owner, len(items), severity_groups(items))
              for owner, items in by_owner(body["findings"])]
    controls = {} if body["superseded"] else {f["id"]: actions(principal, f)
                                              for f in body["findings"]}
    return page("assessment.html", title=t("assessment_title", code=project_row.code,
                                           number=body["number"]),
                body=body, project=project_row, groups=groups, controls=controls,
                blocking=blocking_findings(body))


# ASCII digits, as many as a version can have: str.isdigit also takes "²", which int()
# refuses, as it does 5000 digits.
_VERSION = re.compile(r"[0-9]{1,18}\Z")
_TARGETS = CONTROLS


def _change_body(form: Any) -> dict[str, Any]:
    """Return the API's PATCH body for a posted status control."""
    action = form.get("action", "")
    if action not in _TARGETS:
        abort(400)
    body: dict[str, Any] = {"status": _TARGETS[action].value,
                            "reason": form.get("reason", "").strip()}
    version = form.get("version", "")
    if version:
        if not _VERSION.match(version):
            abort(400)  # the page writes the version it showed, a plain number
        body["version"] = int(version)
    if action == "waive":
        try:
            expires = dt.date.fromisoformat(form.get("expires", ""))
        except ValueError as error:
            raise ApiError(t("waiver_expiry_invalid"), {"waiver.expires": [t("date_format")]},
                           code="invalid") from error
        body["waiver"] = {"justification": form.get("justification", ""), "expires": expires,
                          "approver": form.get("approver", "").strip() or None}
    return body


def finding_status(finding_id: str) -> Response:
    """Move a finding along its lifecycle, by the API's rules; back to the assessment."""
    principal, state = current(), service()
    back = request.form.get("back", "")
    today = state.today()
    try:
        body = _change_body(request.form)
        with state.database.write() as db:
            found = get_finding(db, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            move(db, principal, found[0], body, today, state.assessor.catalog)
        flash(t("status_changed"), "ok")
    except StoreError as error:  # e.g. someone changed the finding since the page was read
        flash(f"{t('status_not_changed')}: {error.in_lang(lang())[0]}", "error")
    except RiskEngineError as error:
        flash(_problem(error), "error")
    target = url_for("web.assessment", assessment_id=back) if back else url_for("web.portfolio")
    return redirect(f"{target}#f-{finding_id}")


def _problem(error: RiskEngineError) -> str:
    message, problems = error.in_lang(lang())
    details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in problems.items()
                        if k != "allowed")
    return f"{t('status_not_changed')}: {message}" + (f" ({details})" if details else "")


def _review_context(code: str, stage: Stage, principal: Principal) -> dict[str, Any]:
    with service().database.read() as db:
        project_row = project_or_404(db, code, principal)
        latest = latest_assessments(db, project_row.id).get(stage.value)
        body = render_stored(db, latest, project_row, service().today(), lang()) if latest \
            else None
        numbers = latest_numbers(db, project_row.id)
        reviews = [review_body(r, code, numbers)
                   for r in list_reviews(db, project_row.id, stage.value)]
        run = audit_run_read(db, project_row.id, stage.value)
    return {"project": project_row, "stage": stage, "body": body, "audit_run": run,
            "blocking": blocking_findings(body) if body else [],
            "waivers": waivers(body) if body else [], "reviews": list(reversed(reviews)),
            "may_review": principal.role in (Role.REVIEWER, Role.ADMIN),
            "may_override": principal.role is Role.ADMIN}


def _stage_of(code: str) -> Stage:
    given = request.values.get("stage")
    if given in set(Stage):
        return Stage(given)
    with service().database.read() as db:
        row = project_or_404(db, code, current())
        return Stage(row.stage) if row.stage else Stage.SALES


def gate_review(code: str) -> tuple[str, int]:
    """The computed decision, the latest audit run (delivery), blocking findings, waivers,
    earlier reviews, the form."""
    principal = require_project(code)
    context = _review_context(code, _stage_of(code), principal)
    return page("review.html", title=t("review_title", code=code), **context)


def _review_request(form: Any, stage: Stage) -> ReviewRequest:
    decision = form.get("decision", "")
    if decision not in set(GateDecision):
        raise ApiError(t("decision_required"), {"decision": [t("decision_required")]},
                       code="invalid")
    return ReviewRequest(stage.value, decision, form.get("comments", "").strip(),
                         form.get("assessment_id") or None,
                         form.get("override_justification", "").strip() or None)


@dataclass(frozen=True)
class Problem:
    """What the review page says about a refused decision, in the page's language."""

    message: str
    details: dict[str, list[str]]


# Refusals the page words itself (the API's words are English and name fingerprints).
_REFUSALS = {"gate_failed": "pass_over_fail", "audit_gate_failed": "pass_over_audit_fail",
             "gate_conditional": "lenient_over_gate",
             "audit_gate_conditional": "lenient_over_audit"}


def _refusal(error: RiskEngineError) -> tuple[int, Problem]:
    status = status_of(error)
    key = _REFUSALS.get(error.code)
    if key is not None:
        return status, Problem(t(key), {"decision": [t(key)]})
    return status, Problem(*error.in_lang(lang()))


def record_gate_review(code: str) -> Response | tuple[str, int]:
    """Record a gate decision by the API's rules (`review_gate`): pass over a failed gate, or
    over a failed audit run on delivery, needs an admin's override."""
    principal, state = require_project(code, Role.REVIEWER), service()
    stage = _stage_of(code)
    try:
        asked = _review_request(request.form, stage)
        with state.database.write() as db:
            project_row = project_or_404(db, code, principal, lock=True)
            review_gate(db, project_row, asked, principal.actor, principal.role is Role.ADMIN,
                        state.today(), state.assessor.catalog.policy.gate)
    except RiskEngineError as error:
        status, problem = _refusal(error)
        context = _review_context(code, stage, principal)
        return page("review.html", status, title=t("review_title", code=code),
                    problem=problem, posted=request.form, **context)
    flash(t("review_recorded"), "ok")
    return redirect(url_for("web.gate_review", code=code, stage=stage.value))


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/", view_func=portfolio)
    bp.add_url_rule("/projects/<code>", view_func=project)
    bp.add_url_rule("/assessments/<assessment_id>", view_func=assessment)
    bp.add_url_rule("/findings/<finding_id>", view_func=finding_status, methods=["POST"])
    bp.add_url_rule("/projects/<code>/gate-review", view_func=gate_review)
    bp.add_url_rule("/projects/<code>/gate-review", view_func=record_gate_review, methods=["POST"])
