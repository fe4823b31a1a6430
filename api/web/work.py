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
from api.web.messages import MESSAGES
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
_TEXTS = {
    "work": ("待办", "My work"),
    "work_title": ("发现待办", "Findings to work"),
    "work_help": ("按到期日排序；可勾选多条后批量处理，每条按各自权限判断并逐条报告结果。",
                  "Ordered by due date; tick several to act on them at once: each is checked "
                  "on its own and reported."),
    "days_left": ("剩余天数", "Days left"), "days_left_n": ("剩 {n} 天", "{n} days left"),
    "days_over_n": ("逾期 {n} 天", "{n} days overdue"),
    "sla_breached": ("超出时限", "SLA breached"), "due_by_hand": ("人工设定", "set by hand"),
    "milestone_due": ("节点到期日", "Milestone due date"),
    "sla_due": ("时限到期日", "SLA due date"),
    "any": ("不限", "Any"), "overdue_only": ("仅逾期", "Overdue only"),
    "bulk_action": ("批量操作", "Bulk action"), "apply": ("执行", "Apply"),
    "bulk_start": ("开始处理", "Start"),
    "bulk_request_verification": ("提交核实", "Request verification"),
    "bulk_set_due_date": ("设定到期日", "Set due date"), "bulk_assign": ("改派部门", "Reassign"),
    "bulk_done": ("批量操作：成功 {ok} 条，未执行 {failed} 条。",
                  "Bulk action: {ok} done, {failed} not done."),
    "bulk_none": ("请先勾选发现。", "Tick at least one finding."),
    "select": ("选择", "Select"),
    "finding_page": ("发现详情", "Finding"),
    "work_history": ("处理记录", "History"), "work_comments": ("评论", "Comments"),
    "no_comments": ("暂无评论。", "No comments yet."),
    "comment_help": ("用 @部门 通知相关部门，如 @法务 或 @legal。",
                     "Mention a department to notify it: @法务 or @legal."),
    "add_comment": ("发表评论", "Comment"), "commented": ("评论已发表。", "Comment added."),
    "resolve_with_evidence": ("标记已解决（提交核实）", "Resolve (for verification)"),
    "evidence_note": ("整改证据说明", "Evidence of the fix"),
    "evidence_refs": ("证据编号/链接（每行一个）", "References (one a line)"),
    "evidence_required": ("本规则要求提供整改证据。", "This rule asks for evidence."),
    "verify": ("核实通过", "Verify"), "reject": ("退回整改", "Reject"),
    "reject_reason": ("退回原因", "Why it is rejected"),
    "verify_help": ("由解决人以外的核实人（客户关系部门、评审人或管理员）核实。",
                    "Verified by someone other than the resolver (CRM, a reviewer or an admin)."),
    "set_due": ("设定到期日", "Set due date"), "assign_to": ("改派至", "Reassign to"),
    "reason": ("原因", "Reason"),
    "waiver_requests": ("豁免申请", "Waiver requests"),
    "request_waiver": ("申请豁免", "Request a waiver"),
    "request_extension": ("申请延期", "Request an extension"),
    "requested": ("豁免申请已提交，等待评审人决定。", "Waiver requested; a reviewer decides."),
    "approve": ("批准", "Approve"), "deny": ("驳回", "Deny"),
    "request_pending": ("待决定", "pending"), "request_approved": ("已批准", "approved"),
    "request_denied": ("已驳回", "denied"),
    "decided": ("已记录决定。", "Decision recorded."),
    "waiver_queue": ("待决定的豁免申请", "Waiver requests to decide"),
    "no_requests": ("没有待决定的申请。", "No request waits for a decision."),
    "requested_by": ("申请人", "Requested by"),
    "done": ("已更新。", "Updated."), "not_done": ("未执行", "Not done"),
    "event_status": ("状态变更", "status"), "event_verified": ("核实通过", "verified"),
    "event_rejected": ("退回整改", "rejected"), "event_waived": ("豁免", "waived"),
    "event_waiver_requested": ("申请豁免", "waiver requested"),
    "event_waiver_denied": ("驳回豁免", "waiver denied"),
    "event_waiver_lapsed": ("豁免到期，重新打开", "waiver lapsed, reopened"),
    "event_due_date": ("设定到期日", "due date set"), "event_reassigned": ("改派", "reassigned"),
    "event_commented": ("评论", "comment"), "event_notes": ("备注", "notes"),
    "event_auto_resolved": ("新清单自动解决", "resolved by a checklist"),
    "event_reopened": ("新清单重新打开", "reopened by a checklist"),
}
# The work pages' words join the pages' one table (their keys are new: none is replaced).
assert not set(_TEXTS) & set(MESSAGES), set(_TEXTS) & set(MESSAGES)
MESSAGES.update(_TEXTS)
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
