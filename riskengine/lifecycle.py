"""The finding lifecycle: which status may follow which, what a waiver must hold, and moving a
finding (its event, its version, its project's gate decided anew). The API and the pages call
`plan_change` and `change_finding`; only "may this role do it" stays with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine.errors import Invalid, Refused
from riskengine.rules.model import FindingPolicy, GatePolicy
from riskengine.standing import refresh_gate
from riskengine.store import Actor
from riskengine.store import models as m
from riskengine.store.findings import Change, WaiverGrant, apply
from riskengine.vocabulary import FindingStatus

OPEN, IN_PROGRESS = FindingStatus.OPEN, FindingStatus.IN_PROGRESS
RESOLVED, WAIVED = FindingStatus.RESOLVED, FindingStatus.WAIVED

TRANSITIONS: dict[FindingStatus, tuple[FindingStatus, ...]] = {
    OPEN: (IN_PROGRESS, WAIVED),
    IN_PROGRESS: (OPEN, RESOLVED, WAIVED),
    RESOLVED: (OPEN,),
    WAIVED: (OPEN, RESOLVED, WAIVED),  # waived → waived renews the waiver
}


def allowed(status: FindingStatus) -> list[str]:
    """The statuses a finding in `status` may move to."""
    return [s.value for s in TRANSITIONS[status]]


def touches_waiver(current: FindingStatus, target: FindingStatus | None) -> bool:
    """Whether a move grants, renews or revokes a waiver (a reviewer's act, not an owner's)."""
    return target is WAIVED or (current is WAIVED and target is OPEN)


def target_of(asked: Mapping[str, Any]) -> FindingStatus | None:
    """Return the status asked for (None: the status stays), refusing a request that asks
    nothing or a waiver without status waived."""
    target = FindingStatus(asked["status"]) if "status" in asked else None
    if target is None and "notes" not in asked and "waiver" not in asked:
        raise Invalid("nothing to change", {"body": ["give status, notes or waiver"]})
    if "waiver" in asked and target is not WAIVED:
        raise Invalid("a waiver goes with status waived", {"status": ["must be waived"]})
    return target


def plan_change(current: FindingStatus, asked: Mapping[str, Any], today: dt.date,
                policy: FindingPolicy, approver: str) -> Change:
    """Turn what was asked (status, notes, waiver, reason) into a Change, or refuse it:
    Invalid for the data, Refused (`invalid_transition`) for a move the lifecycle forbids."""
    target = target_of(asked)
    if target is not None and target != current and target not in TRANSITIONS[current]:
        raise Refused(f"a finding cannot go from {current.value} to {target.value}",
                      {"status": [f"allowed from {current.value}: {', '.join(allowed(current))}"],
                       "allowed": allowed(current)}, code="invalid_transition")
    if target is WAIVED and target == current and "waiver" not in asked:
        raise Invalid("the finding is already waived", {"waiver": ["give a new waiver to renew"]})
    change = Change(status=target, notes=asked.get("notes"), reason=asked.get("reason", ""))
    if target is WAIVED:
        change.waiver = _waiver(asked.get("waiver"), today, policy, approver)
    return change


def _waiver(given: Mapping[str, Any] | None, today: dt.date, policy: FindingPolicy,
            approver: str) -> WaiverGrant:
    if not given:
        raise Invalid("a waiver needs a justification, an approver and an expiry date",
                      {"waiver": ["is required with status waived"]})
    expires: dt.date = given["expires"]
    problems = {}
    if not given["justification"].strip():
        problems["waiver.justification"] = ["must be written out"]
    longest = policy.max_waiver_days
    if expires <= today:
        problems["waiver.expires"] = [f"must be after today ({today.isoformat()})"]
    elif expires > today + dt.timedelta(days=longest):
        problems["waiver.expires"] = [f"must be within {longest} days"]
    if problems:
        raise Invalid("the waiver is invalid", problems)
    return WaiverGrant(given["justification"].strip(), given.get("approver") or approver, expires)


def change_finding(session: Session, row: m.Finding, change: Change,
                   expected_version: int | None, actor: Actor, today: dt.date,
                   policy: GatePolicy) -> bool:
    """Apply a change to a locked finding; when anything changed, its project's gate is
    decided anew. Return whether anything changed."""
    changed = apply(session, row, change, expected_version, actor)
    if changed:
        refresh_gate(session, row.project_id, today, policy)
    return changed
