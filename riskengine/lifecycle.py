"""The finding lifecycle: which status may follow which, what a waiver must hold, what closing a
finding takes (evidence when its rule asks, a verifier other than the resolver), and moving a
finding (its event, its version, its project's gate decided anew). The API and the pages call
`plan_change` and `change_finding`; only "may this role do it" stays with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from riskengine.attachments.evidence import check_evidence
from riskengine.errors import Invalid, NotPermitted, Refused
from riskengine.refusals import refusal
from riskengine.rules.model import FindingPolicy, GatePolicy
from riskengine.standing import refresh_gate
from riskengine.store import Actor
from riskengine.store import models as m
from riskengine.store.findings import Change, WaiverGrant, apply, last_resolver
from riskengine.vocabulary import FindingStatus

OPEN, IN_PROGRESS = FindingStatus.OPEN, FindingStatus.IN_PROGRESS
RESOLVED, WAIVED, VERIFIED = FindingStatus.RESOLVED, FindingStatus.WAIVED, FindingStatus.VERIFIED

TRANSITIONS: dict[FindingStatus, tuple[FindingStatus, ...]] = {
    OPEN: (IN_PROGRESS, WAIVED),
    IN_PROGRESS: (OPEN, RESOLVED, WAIVED),
    # resolved → in_progress is a verifier's rejection; resolved → verified closes it.
    RESOLVED: (OPEN, IN_PROGRESS, VERIFIED),
    VERIFIED: (OPEN,),
    WAIVED: (OPEN, RESOLVED, WAIVED),  # waived → waived renews the waiver
}


@dataclass(frozen=True)
class Closure:
    """What closing this finding takes, read by the caller from the catalog and the history:
    whether its rule asks for evidence, and who resolved it (who may not verify it)."""

    evidence_required: bool = False
    resolver: str | None = None


ANYONE_CLOSES = Closure()  # no evidence asked, nobody resolved it yet


def allowed(status: FindingStatus) -> list[str]:
    """The statuses a finding in `status` may move to."""
    return [s.value for s in TRANSITIONS[status]]


def touches_waiver(current: FindingStatus, target: FindingStatus | None) -> bool:
    """Whether a move grants, renews or revokes a waiver (a reviewer's act, not an owner's)."""
    return target is WAIVED or (current is WAIVED and target is OPEN)


def verifies(current: FindingStatus, target: FindingStatus | None) -> bool:
    """Whether a move verifies a resolution or rejects it (a verifier's act)."""
    return current is RESOLVED and target in (VERIFIED, IN_PROGRESS)


def target_of(asked: Mapping[str, Any]) -> FindingStatus | None:
    """Return the status asked for (None: the status stays), refusing a request that asks
    nothing or a waiver without status waived."""
    target = FindingStatus(asked["status"]) if "status" in asked else None
    if target is None and not {"notes", "waiver", "due_date", "assign_to"} & set(asked):
        raise Invalid(refusal("nothing_to_change"), {"body": [refusal("give_a_change")]})
    if "waiver" in asked and target is not WAIVED:
        raise Invalid(refusal("waiver_goes_with", status=WAIVED),
                      {"status": [refusal("must_be_status", status=WAIVED)]})
    if "evidence" in asked and target is not RESOLVED:
        raise Invalid(refusal("evidence_goes_with", status=RESOLVED),
                      {"status": [refusal("must_be_status", status=RESOLVED)]})
    return target


def plan_change(current: FindingStatus, asked: Mapping[str, Any], today: dt.date,
                policy: FindingPolicy, approver: str, closure: Closure = ANYONE_CLOSES) -> Change:
    """Turn what was asked (status, notes, waiver, reason, evidence, due date) into a Change,
    or refuse it: Invalid for the data, Refused (`invalid_transition`) for a move the lifecycle
    forbids, NotPermitted for a verifier verifying their own resolution."""
    target = target_of(asked)
    if target is not None and target != current and target not in TRANSITIONS[current]:
        raise Refused(refusal("transition_refused", current=current, target=target),
                      {"status": [refusal("allowed_from", current=current,
                                          statuses=allowed(current))],
                       "allowed": allowed(current)}, code="invalid_transition")
    if target is WAIVED and target == current and "waiver" not in asked:
        raise Invalid(refusal("already_waived"), {"waiver": [refusal("give_new_waiver")]})
    change = Change(status=target, notes=asked.get("notes"), reason=asked.get("reason", ""),
                    due_by_hand=asked.get("due_date"), owner=asked.get("assign_to"))
    if target is WAIVED:
        change.waiver = _waiver(asked.get("waiver"), today, policy, approver)
    if target is RESOLVED and current is not RESOLVED:
        evidence = _evidence(asked.get("evidence"), closure)
        if evidence is not None:
            change.details["evidence"] = evidence
    if target is not None and verifies(current, target):
        _check_verifier(approver, closure, change, target)
    return change


def _evidence(given: Mapping[str, Any] | None, closure: Closure) -> dict[str, Any] | None:
    """Evidence of the fix, kept on the event. Today a note and references; attachments (ids
    of stored files) plug in as `attachments` beside them."""
    note = (given or {}).get("note", "").strip()
    references = [r.strip() for r in (given or {}).get("references", []) if r.strip()]
    attachments = list((given or {}).get("attachments", []))
    if closure.evidence_required and not (note or references or attachments):
        raise Invalid(refusal("evidence_required"), {"evidence": [refusal("give_evidence")]})
    if not (note or references or attachments):
        return None
    return {"note": note, "references": references, "attachments": attachments}


def _check_verifier(verifier: str, closure: Closure, change: Change,
                    target: FindingStatus) -> None:
    if closure.resolver is not None and closure.resolver == verifier:
        raise NotPermitted(refusal("self_verification"),
                           {"status": [refusal("resolved_by", name=verifier)]},
                           code="self_verification")
    if target is VERIFIED:
        change.action = "verified"
        return
    if not change.reason.strip():
        raise Invalid(refusal("rejection_needs_reason"),
                      {"reason": [refusal("say_what_is_missing")]})
    change.action = "rejected"


def _waiver(given: Mapping[str, Any] | None, today: dt.date, policy: FindingPolicy,
            approver: str) -> WaiverGrant:
    if not given:
        raise Invalid(refusal("waiver_incomplete"),
                      {"waiver": [refusal("required_with_status", status=WAIVED)]})
    justification = waiver_terms(given["justification"], given["expires"], today, policy)
    return WaiverGrant(justification, given.get("approver") or approver, given["expires"])


def waiver_terms(justification: str, expires: dt.date, today: dt.date,
                 policy: FindingPolicy) -> str:
    """Check what a waiver (or a request for one) holds; return the justification trimmed."""
    problems = {}
    if not justification.strip():
        problems["waiver.justification"] = [refusal("must_be_written")]
    longest = policy.max_waiver_days
    if expires <= today:
        problems["waiver.expires"] = [refusal("must_be_after_today", today=today.isoformat())]
    elif expires > today + dt.timedelta(days=longest):
        problems["waiver.expires"] = [refusal("must_be_within_days", days=longest)]
    if problems:
        raise Invalid(refusal("waiver_invalid"), problems)
    return justification.strip()


def closure_of(session: Session, row: m.Finding, evidence_required: bool) -> Closure:
    return Closure(evidence_required, last_resolver(session, row.id))


def change_finding(session: Session, row: m.Finding, change: Change,
                   expected_version: int | None, actor: Actor, today: dt.date,
                   policy: GatePolicy) -> bool:
    """Apply a change to a locked finding; when anything changed, its project's gate is
    decided anew. Return whether anything changed."""
    check_evidence(session, row, change)
    changed = apply(session, row, change, expected_version, actor)
    if changed:
        refresh_gate(session, row.project_id, today, policy)
    return changed
