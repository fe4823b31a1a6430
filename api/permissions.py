"""Who may move a finding where: the role half of the finding lifecycle (the core's
`riskengine.lifecycle` holds the other half: which moves exist, what a waiver and a closure
must hold). The JSON API, bulk actions and the pages all ask here, so a page offers exactly
what the API allows, and a bulk action exactly what one by one would.

| act                                    | who                                                  |
|----------------------------------------|------------------------------------------------------|
| start, resolve, reopen, notes          | the owning department's owners; admins               |
| verify or reject a resolution          | reviewers, admins, owners of a verifier department   |
|                                        | (policy `workflow.verifier_departments`); never the  |
|                                        | person who resolved it                               |
| grant, renew, revoke a waiver directly | reviewers, admins                                    |
| request a waiver (or an extension)     | the owning department's owners, submitters (PMs)     |
|                                        | of the project, admins                               |
| approve or deny a waiver request       | reviewers, admins; never its requester               |
| set a due date, reassign an owner      | reviewers, admins                                    |
| comment                                | everyone who sees the finding but auditors           |
| attach evidence to a finding           | the owning department's owners, verifiers,           |
|                                        | submitters (PMs) of the project, admins              |
| attach evidence to a checklist item    | everyone who sees the project but auditors           |
| remove an attachment (an event)        | its uploader, reviewers, admins                      |
| read and download attachments          | everyone who sees the project                        |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from api.auth import Principal, Role
from api.errors import Forbidden
from riskengine.errors import NotFound, RiskEngineError
from riskengine.lifecycle import (
    ANYONE_CLOSES,
    TRANSITIONS,
    Closure,
    change_finding,
    closure_of,
    plan_change,
    target_of,
    touches_waiver,
    verifies,
)
from riskengine.refusals import refusal
from riskengine.rules.model import Catalog, FindingPolicy, WorkflowPolicy
from riskengine.sla import shown_status
from riskengine.store import models as m
from riskengine.store.findings import Change, get_finding
from riskengine.vocabulary import FindingStatus, Lang
from riskengine.waivers import lapse_if_due

# The page's controls, each a move of the lifecycle, in the order a page shows them.
CONTROLS = {"start": FindingStatus.IN_PROGRESS, "resolve": FindingStatus.RESOLVED,
            "reopen": FindingStatus.OPEN, "waive": FindingStatus.WAIVED}
_DEFAULT = WorkflowPolicy()
REVIEWERS = (Role.ADMIN, Role.REVIEWER)  # who sets due dates, waives, verifies


def may_work(principal: Principal, owner: str) -> bool:
    """Owners work their own department's findings; admins any."""
    return principal.role is Role.ADMIN or (
        principal.role is Role.OWNER and principal.department == owner)


def may_verify(principal: Principal, workflow: WorkflowPolicy = _DEFAULT) -> bool:
    return principal.role in (Role.REVIEWER, Role.ADMIN) or (
        principal.role is Role.OWNER
        and principal.department in {d.value for d in workflow.verifier_departments})


def may_schedule(principal: Principal) -> bool:
    """Setting a due date by hand or reassigning a finding: a reviewer's call."""
    return principal.role in (Role.REVIEWER, Role.ADMIN)


def may_request_waiver(principal: Principal, owner: str) -> bool:
    return may_work(principal, owner) or principal.role is Role.SUBMITTER


def may_decide_waiver(principal: Principal) -> bool:
    return principal.role in (Role.REVIEWER, Role.ADMIN)


def may_comment(principal: Principal) -> bool:
    return principal.role is not Role.AUDITOR


def may_attach(principal: Principal, owner: str | None,
               workflow: WorkflowPolicy = _DEFAULT) -> bool:
    """Evidence on a finding (`owner`: its department) or on a checklist item (None)."""
    if principal.role is Role.AUDITOR:
        return False
    if owner is None or principal.role is not Role.OWNER:
        return True
    return may_work(principal, owner) or may_verify(principal, workflow)


def may_remove_attachment(principal: Principal, uploaded_by: str) -> bool:
    return principal.role in (Role.REVIEWER, Role.ADMIN) or (
        principal.role is not Role.AUDITOR and principal.name == uploaded_by)


def may_move(principal: Principal, owner: str, current: FindingStatus,
             target: FindingStatus | None, workflow: WorkflowPolicy = _DEFAULT) -> bool:
    """Whether this caller's role lets it make the move (the lifecycle may still refuse)."""
    if touches_waiver(current, target):
        return principal.role in (Role.REVIEWER, Role.ADMIN)
    if target is not None and verifies(current, target):
        return may_verify(principal, workflow)
    return may_work(principal, owner) or (target is None and principal.role is Role.REVIEWER)


def check_change(principal: Principal, owner: str, current: FindingStatus,
                 asked: Mapping[str, Any], today: dt.date, policy: FindingPolicy,
                 closure: Closure = ANYONE_CLOSES, workflow: WorkflowPolicy = _DEFAULT) -> Change:
    """Turn a PATCH body into a Change, or refuse it: 403 role, 409 transition, 422 data."""
    target = target_of(asked)
    for scheduled in ("due_date", "assign_to"):
        if scheduled in asked and not may_schedule(principal):
            raise Forbidden(refusal("reviewers_schedule"),
                            {scheduled: [refusal("needs_roles", roles=REVIEWERS)]})
    if not may_move(principal, owner, current, target, workflow):
        if touches_waiver(current, target):
            raise Forbidden(refusal("reviewers_waive"),
                            {"role": [refusal("needs_roles", roles=REVIEWERS)]})
        if target is not None and verifies(current, target):
            departments = sorted(d.value for d in workflow.verifier_departments)
            raise Forbidden(refusal("verified_by", owners=departments), {"role": [refusal(
                "needs_roles_or_owner", roles=REVIEWERS, owners=departments)]})
        raise Forbidden(refusal("owned_by", owner=owner),
                        {"owner": [refusal("owner_or_admin", owner=owner)]})
    return plan_change(current, asked, today, policy, principal.name, closure)


def move(session: Session, principal: Principal, row: m.Finding, asked: Mapping[str, Any],
         today: dt.date, catalog: Catalog) -> bool:
    """Check and apply one move of a locked finding, as the API, a bulk action and a page
    make it; return whether anything changed."""
    read, expected = row.version, asked.get("version")
    if lapse_if_due(session, row, today, catalog.policy) and expected == read:
        expected = row.version  # the caller read it as the lapse left it: open
    rule = catalog.rule(row.rule_id)
    closure = closure_of(session, row, bool(rule and rule.closure_evidence))
    policy = catalog.policy
    change = check_change(principal, row.owner, FindingStatus(row.status), asked, today,
                          policy.findings, closure, policy.workflow)
    return change_finding(session, row, change, expected, principal.actor, today, policy.gate)


def move_each(session: Session, principal: Principal, ids: list[str],
              asked: Mapping[str, Any], today: dt.date, catalog: Catalog,
              lang: Lang = Lang.ZH) -> list[dict[str, Any]]:
    """A bulk action: each finding moved as `move` moves one (its own permission check, its
    own event), each result reported; one refused leaves the others alone. Every refusal is
    raised before its finding is touched, so one transaction holds them all."""
    items: list[dict[str, Any]] = []
    for finding_id in dict.fromkeys(ids):
        try:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            row = found[0]
            changed = move(session, principal, row, asked, today, catalog)
            items.append({"id": finding_id, "ok": True, "changed": changed,
                          "status": shown_status(row, today), "version": row.version})
        except RiskEngineError as error:
            message, details = error.in_lang(lang)
            items.append({"id": finding_id, "ok": False, "error": {
                "code": error.code, "message": message,
                "details": {k: [str(v) for v in (vs if isinstance(vs, list) else [vs])]
                            for k, vs in details.items()}}})
    return items


def controls(principal: Principal, owner: str, status: FindingStatus,
             workflow: WorkflowPolicy = _DEFAULT) -> list[str]:
    """The status controls this caller may use on a finding in `status`."""
    return [name for name, target in CONTROLS.items()
            if target in TRANSITIONS[status] and (status, target) not in _BACKWARD
            and may_move(principal, owner, status, target, workflow)]


# Moves the lifecycle allows but the assessment page does not offer as a control: giving up
# work in progress, closing a waived finding without fixing it (through the API), and
# rejecting a resolution (the work page, with a reason).
_BACKWARD = {(FindingStatus.IN_PROGRESS, FindingStatus.OPEN),
             (FindingStatus.WAIVED, FindingStatus.RESOLVED),
             (FindingStatus.RESOLVED, FindingStatus.IN_PROGRESS)}
