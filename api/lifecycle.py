"""The finding lifecycle: which status may follow which, and who may move a finding there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.auth import Principal, Role
from api.errors import Conflict, Forbidden, Invalid
from riskengine.store import models as m
from riskengine.store.findings import Change, WaiverGrant
from riskengine.vocabulary import FindingStatus

OPEN, IN_PROGRESS = FindingStatus.OPEN, FindingStatus.IN_PROGRESS
RESOLVED, WAIVED = FindingStatus.RESOLVED, FindingStatus.WAIVED

TRANSITIONS: dict[FindingStatus, tuple[FindingStatus, ...]] = {
    OPEN: (IN_PROGRESS, WAIVED),
    IN_PROGRESS: (OPEN, RESOLVED, WAIVED),
    RESOLVED: (OPEN,),
    WAIVED: (OPEN, RESOLVED, WAIVED),  # waived → waived renews the waiver
}
MAX_WAIVER_DAYS = 366


def allowed(status: FindingStatus) -> list[str]:
    return [s.value for s in TRANSITIONS[status]]


def _may_work(principal: Principal, row: m.Finding) -> bool:
    """Owners work their own department's findings; admins any."""
    return principal.role is Role.ADMIN or (
        principal.role is Role.OWNER and principal.department == row.owner)


def _waiver_touched(current: FindingStatus, target: FindingStatus | None) -> bool:
    return target is WAIVED or (current is WAIVED and target is OPEN)


def check_change(principal: Principal, row: m.Finding, body: dict[str, Any],
                 today: dt.date) -> Change:
    """Turn a PATCH body into a Change, or refuse it: 403 role, 409 transition, 422 data."""
    current = FindingStatus(row.status)
    target = FindingStatus(body["status"]) if "status" in body else None
    if target is None and "notes" not in body and "waiver" not in body:
        raise Invalid("nothing to change", {"body": ["give status, notes or waiver"]})
    if "waiver" in body and target is not WAIVED:
        raise Invalid("a waiver goes with status waived", {"status": ["must be waived"]})
    if _waiver_touched(current, target):
        if principal.role not in (Role.REVIEWER, Role.ADMIN):
            raise Forbidden("waivers are granted and revoked by reviewers",
                            {"role": ["needs one of: admin, reviewer"]})
    elif not _may_work(principal, row) and not (
            target is None and principal.role is Role.REVIEWER):
        raise Forbidden(f"this finding is owned by {row.owner}",
                        {"owner": [f"only the {row.owner} department or an admin may change it"]})
    if target is not None and target != current and target not in TRANSITIONS[current]:
        raise Conflict(f"a finding cannot go from {current.value} to {target.value}",
                       {"status": [f"allowed from {current.value}: {', '.join(allowed(current))}"],
                        "allowed": allowed(current)}, code="invalid_transition")
    if target is WAIVED and target == current and "waiver" not in body:
        raise Invalid("the finding is already waived", {"waiver": ["give a new waiver to renew"]})
    change = Change(status=target, notes=body.get("notes"), reason=body.get("reason", ""))
    if target is WAIVED:
        change.waiver = _waiver(principal, body.get("waiver"), today)
    return change


def _waiver(principal: Principal, given: dict[str, Any] | None, today: dt.date) -> WaiverGrant:
    if not given:
        raise Invalid("a waiver needs a justification, an approver and an expiry date",
                      {"waiver": ["is required with status waived"]})
    expires: dt.date = given["expires"]
    problems = {}
    if not given["justification"].strip():
        problems["waiver.justification"] = ["must be written out"]
    if expires <= today:
        problems["waiver.expires"] = [f"must be after today ({today.isoformat()})"]
    elif expires > today + dt.timedelta(days=MAX_WAIVER_DAYS):
        problems["waiver.expires"] = [f"must be within {MAX_WAIVER_DAYS} days"]
    if problems:
        raise Invalid("the waiver is invalid", problems)
    return WaiverGrant(given["justification"].strip(), given.get("approver") or principal.name,
                       expires)
