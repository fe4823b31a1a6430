"""The work pages (issue 11): a department's queue with days left and SLA breaches and bulk
actions; a finding's page (resolve with evidence, verify or reject, due date and owner by hand,
waiver requests and decisions, comments); the reviewers' queue of waiver requests. Every act
goes through the API's own checks (api.permissions, riskengine.waivers, riskengine.comments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api.auth import Principal, current
from api.errors import ApiError, NotFound
from api.permissions import (
    may_comment,
    may_decide_waiver,
    may_request_waiver,
    may_schedule,
    may_verify,
    may_work,
    move,
    move_each,
)
from api.render import event_body, finding_body
from api.state import service
from api.web.blueprint import lang, page, t
from api.web.evidence import attachment_abilities, attachment_views
from riskengine.comments import add_comment
from riskengine.errors import RiskEngineError
from riskengine.lifecycle import TRANSITIONS
from riskengine.refusals import refusal
from riskengine.sla import due_facts
from riskengine.store import models as m
from riskengine.store.findings import (
    FindingFilter,
    comments,
    events,
    get_finding,
    last_resolver,
    list_findings,
    locked_request,
    pending_requests,
    waiver,
    waiver_requests,
    waivers_by_id,
)
from riskengine.vocabulary import FindingStatus, Owner, Severity
from riskengine.waivers import decide_waiver, request_waiver

PER_PAGE = 50
# The work pages' words join the pages' one table (their keys are new: none is replaced).
BULK_ACTIONS = ("start", "request_verification", "set_due_date", "assign")
_STATUSES = {s.value for s in FindingStatus}


def _date(name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(request.form.get(name, ""))
    except ValueError as error:
        raise ApiError(t("date_format"), {name: [t("date_format")]}, code="invalid") from error


def _view(row: m.Finding, code: str, granted: m.Waiver | None) -> dict[str, Any]:
    today = service().today()
    body = finding_body(row, code, granted, today, lang())
    body.update(due_facts(row, today), owner=row.owner)
    return body


def work() -> tuple[str, int]:
    """The queue: the caller's department first (owners), by due date, with bulk actions."""
    principal, state = current(), service()
    args = request.args
    status = args.get("status") if args.get("status") in _STATUSES else None
    severity = args.get("severity") if args.get("severity") in set(Severity) else None
    owner = args.get("owner", principal.department or "")
    owner = owner if owner in set(Owner) else ""
    wanted = FindingFilter(
        project=args.get("project") or None, owner=owner or None,
        severity=(severity,) if severity else (),
        status=(status,) if status else ("open", "in_progress", "resolved"),
        overdue=True if args.get("overdue") == "1" else None)
    with state.database.read() as db:
        rows, total = list_findings(db, wanted, principal.projects, state.today(), 1, PER_PAGE)
        granted = waivers_by_id(db, {f.waiver_id for f, _ in rows})
        items = [_view(f, code, granted.get(f.waiver_id or "")) for f, code in rows]
    return page("work.html", title=t("work_title"), items=items, total=total,
                chosen={"status": status or "", "severity": severity or "", "owner": owner,
                        "project": args.get("project", ""), "overdue": args.get("overdue")},
                statuses=sorted(_STATUSES), severities=[s.value for s in Severity],
                owners=[o.value for o in Owner], bulk_actions=BULK_ACTIONS)


def _abilities(db: Session, principal: Principal, row: m.Finding, shown: str
               ) -> dict[str, bool]:
    status = FindingStatus(shown)
    catalog = service().assessor.catalog
    rule = catalog.rule(row.rule_id)
    resolved = status is FindingStatus.RESOLVED
    work_it = may_work(principal, row.owner)
    return {
        "start": work_it and FindingStatus.IN_PROGRESS in TRANSITIONS[status]
        and not resolved,
        "resolve": work_it and FindingStatus.RESOLVED in TRANSITIONS[status],
        "reopen": work_it and status in (FindingStatus.RESOLVED, FindingStatus.VERIFIED),
        "verify": resolved and may_verify(principal, catalog.policy.workflow)
        and last_resolver(db, row.id) != principal.name,
        "schedule": may_schedule(principal),
        "request_waiver": may_request_waiver(principal, row.owner)
        and FindingStatus.WAIVED in TRANSITIONS[status],
        "decide": may_decide_waiver(principal),
        "comment": may_comment(principal),
        "evidence_required": bool(rule and rule.closure_evidence),
    }


def finding(finding_id: str) -> tuple[str, int]:
    """One finding: its due dates, what may be done with it, its history and comments."""
    principal = current()
    with service().database.read() as db:
        found = get_finding(db, finding_id, principal.projects)
        if found is None:
            raise NotFound(refusal("finding_not_found", id=finding_id))
        row, code = found
        body = _view(row, code, waiver(db, row.waiver_id))
        history = [event_body(e) for e in events(db, row.id)]
        notes = list(comments(db, row.id))
        requests = list(waiver_requests(db, row.id))
        can = _abilities(db, principal, row, body["status"])
        can.update(attachment_abilities(principal, row))
        files = attachment_views(db, row)
    return page("finding.html", title=body["title"], f=body, history=history,
                comments=notes, requests=requests, can=can, files=files,
                owners=[o.value for o in Owner])


def _asked(act: str) -> dict[str, Any]:
    """The API's PATCH body for a posted act of the finding page."""
    form = request.form
    reason = form.get("reason", "").strip()
    if act == "start":
        return {"status": "in_progress", "reason": reason}
    if act == "reopen":
        return {"status": "open", "reason": reason}
    if act == "verify":
        return {"status": "verified", "reason": reason}
    if act == "reject":
        return {"status": "in_progress", "reason": reason}
    if act == "resolve":
        references = [r.strip() for r in form.get("references", "").splitlines() if r.strip()]
        return {"status": "resolved", "reason": reason, "evidence": {
            "note": form.get("note", "").strip(), "references": references,
            "attachments": form.getlist("attachments")}}
    if act == "due_date":
        return {"due_date": _date("due_date"), "reason": reason}
    if act == "assign":
        if form.get("assign_to") not in set(Owner):
            abort(400)
        return {"assign_to": form["assign_to"], "reason": reason}
    abort(400)


def finding_act(finding_id: str) -> Response:
    """Do one act on a finding (a move, a comment, a waiver request); back to its page."""
    principal, state = current(), service()
    act = request.form.get("act", "")
    try:
        with state.database.write() as db:
            found = get_finding(db, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            row, code = found
            today, policy = state.today(), state.assessor.catalog.policy
            if act == "comment":
                if not may_comment(principal):
                    abort(403)
                add_comment(db, row, code, request.form.get("body", ""),
                            policy.labels.get("owner", {}), principal.actor, today)
                flash(t("commented"), "ok")
            elif act == "request_waiver":
                if not may_request_waiver(principal, row.owner):
                    abort(403)
                request_waiver(db, row, request.form.get("justification", ""),
                               _date("expires"), today, policy, principal.actor)
                flash(t("requested"), "ok")
            else:
                move(db, principal, row, _asked(act), today, state.assessor.catalog)
                flash(t("done"), "ok")
    except RiskEngineError as error:
        flash(_problem(error), "error")
    return redirect(url_for("web.finding", finding_id=finding_id))


def waiver_queue() -> tuple[str, int]:
    """Pending waiver requests, oldest first: what reviewers decide."""
    principal = current()
    with service().database.read() as db:
        pending = [{"request": r, "finding": _view(f, code, None)}
                   for r, f, code in pending_requests(db, principal.projects)]
    return page("waiver_queue.html", title=t("waiver_queue"), pending=pending,
                can_decide=may_decide_waiver(principal))


def waiver_decision(request_id: str) -> Response:
    principal, state = current(), service()
    decision = request.form.get("decision", "")
    if decision not in ("approve", "deny"):
        abort(400)
    if not may_decide_waiver(principal):
        abort(403)
    back = request.form.get("back", "")
    try:
        with state.database.write() as db:
            found = locked_request(db, request_id, principal.projects)
            if found is None:
                raise NotFound(refusal("waiver_request_not_found", id=request_id))
            decide_waiver(db, found[0], found[1], decision == "approve",
                          request.form.get("reason", ""), state.today(),
                          state.assessor.catalog.policy, principal.actor)
        flash(t("decided"), "ok")
    except RiskEngineError as error:
        flash(_problem(error), "error")
    if back:
        return redirect(url_for("web.finding", finding_id=back))
    return redirect(url_for("web.waiver_queue"))


def bulk() -> Response:
    """One act on every ticked finding; each checked as one by one, each failure named."""
    principal, state = current(), service()
    action = request.form.get("action", "")
    if action not in BULK_ACTIONS:
        abort(400)
    ids = request.form.getlist("ids")[:200]
    if not ids:
        flash(t("bulk_none"), "warn")
        return redirect(url_for("web.work"))
    try:
        asked = _bulk_asked(action)
        with state.database.write() as db:
            items = move_each(db, principal, ids, asked, state.today(), state.assessor.catalog,
                              lang())
        failed = [i for i in items if not i["ok"]]
        flash(t("bulk_done", ok=len(items) - len(failed), failed=len(failed)),
              "ok" if not failed else "warn")
        for item in failed:
            flash(f"{t('not_done')} {item['id'][:8]}: {item['error']['message']}", "error")
    except RiskEngineError as error:
        flash(_problem(error), "error")
    return redirect(url_for("web.work"))


def _bulk_asked(action: str) -> dict[str, Any]:
    reason = request.form.get("reason", "").strip()
    if action == "start":
        return {"status": "in_progress", "reason": reason}
    if action == "request_verification":
        return {"status": "resolved", "reason": reason}
    if action == "set_due_date":
        return {"due_date": _date("due_date"), "reason": reason}
    if request.form.get("assign_to") not in set(Owner):
        raise ApiError(t("assign_to"), {"assign_to": [", ".join(o.value for o in Owner)]},
                       code="invalid")
    return {"assign_to": request.form["assign_to"], "reason": reason}


def _problem(error: RiskEngineError) -> str:
    message, problems = error.in_lang(lang())
    details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in problems.items()
                        if k != "allowed")
    return f"{t('not_done')}: {message}" + (f" ({details})" if details else "")


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/work", view_func=work)
    bp.add_url_rule("/work/findings/<finding_id>", view_func=finding)
    bp.add_url_rule("/work/findings/<finding_id>", view_func=finding_act, methods=["POST"])
    bp.add_url_rule("/work/waiver-requests", view_func=waiver_queue)
    bp.add_url_rule("/work/waiver-requests/<request_id>", view_func=waiver_decision,
                    methods=["POST"])
    bp.add_url_rule("/work/bulk", view_func=bulk, methods=["POST"])
