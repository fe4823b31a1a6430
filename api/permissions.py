"""Who may move a finding where: the role half of the finding lifecycle (the core's
`riskengine.lifecycle` holds the other half: which moves exist, what a waiver must hold). The
JSON API and the pages both ask here, so a page offers exactly what the API allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from api.auth import Principal, Role
from api.errors import Forbidden
from riskengine.lifecycle import TRANSITIONS, plan_change, target_of, touches_waiver
from riskengine.rules.model import FindingPolicy
from riskengine.store.findings import Change
from riskengine.vocabulary import FindingStatus

# The page's controls, each a move of the lifecycle, in the order a page shows them.
CONTROLS = {"start": FindingStatus.IN_PROGRESS, "resolve": FindingStatus.RESOLVED,
            "reopen": FindingStatus.OPEN, "waive": FindingStatus.WAIVED}


def may_work(principal: Principal, owner: str) -> bool:
    """Owners work their own department's findings; admins any."""
    return principal.role is Role.ADMIN or (
        principal.role is Role.OWNER and principal.department == owner)


def may_move(principal: Principal, owner: str, current: FindingStatus,
             target: FindingStatus | None) -> bool:
    """Whether this caller's role lets it make the move (the lifecycle may still refuse)."""
    if touches_waiver(current, target):
        return principal.role in (Role.REVIEWER, Role.ADMIN)
    return may_work(principal, owner) or (target is None and principal.role is Role.REVIEWER)


def check_change(principal: Principal, owner: str, current: FindingStatus,
                 asked: Mapping[str, Any], today: dt.date, policy: FindingPolicy) -> Change:
    """Turn a PATCH body into a Change, or refuse it: 403 role, 409 transition, 422 data."""
    target = target_of(asked)
    if not may_move(principal, owner, current, target):
        if touches_waiver(current, target):
            raise Forbidden("waivers are granted and revoked by reviewers",
                            {"role": ["needs one of: admin, reviewer"]})
        raise Forbidden(f"this finding is owned by {owner}",
                        {"owner": [f"only the {owner} department or an admin may change it"]})
    return plan_change(current, asked, today, policy, principal.name)


def controls(principal: Principal, owner: str, status: FindingStatus) -> list[str]:
    """The status controls this caller may use on a finding in `status`."""
    return [name for name, target in CONTROLS.items()
            if target in TRANSITIONS[status] and target is not _BACKWARD.get(status)
            and may_move(principal, owner, status, target)]


# Moves the lifecycle allows but a page does not offer as a control: giving up work in
# progress, or closing a waived finding without fixing it, are done through the API.
_BACKWARD = {FindingStatus.IN_PROGRESS: FindingStatus.OPEN,
             FindingStatus.WAIVED: FindingStatus.RESOLVED}
