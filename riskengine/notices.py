"""Notices about findings, queued in the outbox (riskengine.audits.outbox) in the caller's
transaction: what happened commits with its notices, or neither does.

Each function below is one event. Call it inside the write transaction that makes the event
happen, with the same `session`; it adds one outbox entry per subscription whose filters
(events, projects, departments = the finding's owner, recipients) match, and nothing when the
same event was queued before (its key is the event's identity), so a retried request or a
second pass never sends twice. Delivery (with retries) is `riskengine audits run-due`'s, and
each entry's status shows in the subscription and audit-run APIs.

Audit-run digests are queued by the runner (`outbox.enqueue`); a submission's new blocking
findings by `Submissions.submit` (`blocking_findings`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from riskengine.audits.outbox import (
    BLOCKING_FINDING,
    MENTION,
    SLA_BREACHED,
    VERIFICATION_REQUESTED,
    WAIVER_EXPIRED,
    WAIVER_EXPIRING,
    WAIVER_REQUESTED,
    Notice,
    enqueue_notices,
)

__all__ = ["FindingRef", "blocking_findings", "mentioned", "sla_breached",
           "verification_requested", "waiver_expired", "waiver_expiring", "waiver_requested"]


class TrackedRow(Protocol):
    """A tracked finding as the store keeps it (riskengine.store.models.Finding)."""

    id: str
    record: dict[str, Any]
    status: str


@dataclass(frozen=True)
class FindingRef:
    """The finding a notice is about: its project's code, its id, its stored record."""

    project: str
    finding_id: str
    record: Mapping[str, Any]  # riskengine.store.records.finding_record(...)
    status: str = "open"

    @classmethod
    def of(cls, project_code: str, row: TrackedRow) -> FindingRef:
        return cls(project_code, row.id, row.record, row.status)

    @property
    def owner(self) -> str:
        return str(self.record["owner"])

    def body(self) -> dict[str, Any]:
        record = self.record
        return {"id": self.finding_id, "rule_id": record["rule_id"],
                "fingerprint": record["fingerprint"], "severity": record["severity"],
                "blocking": bool(record["blocking"]), "owner": record["owner"],
                "title": {lang: text["title"] for lang, text in record["texts"].items()},
                "due_date": record["due_date"], "status": self.status}


def _notice(event: str, key: str, finding: FindingRef, details: Mapping[str, Any],
            recipient: str | None = None) -> Notice:
    body = {"event": event, "project": finding.project,
            "recipient": recipient or finding.owner, "finding": finding.body(),
            "details": {k: (v.isoformat() if isinstance(v, dt.date) else v)
                        for k, v in details.items()},
            "link": f"/api/v1/findings/{finding.finding_id}"}
    return Notice(event, f"{event}:{key}", finding.project, recipient or finding.owner,
                  frozenset({finding.owner}), body)


def blocking_findings(session: Session, project_code: str, assessment_id: str,
                      entries: Iterable[Mapping[str, Any]], now: dt.datetime) -> int:
    """A submission raised blocking findings that are new (first seen, or back after they
    had gone): one notice each. `entries` are the stored assessment's findings (each a
    finding record with `finding_id` and `change`). Called by `Submissions.submit`."""
    notices = [_notice(BLOCKING_FINDING, f"{e['finding_id']}:{assessment_id}",
                       FindingRef(project_code, e["finding_id"], e), {"due_date": e["due_date"]})
               for e in entries if e.get("blocking") and e.get("change") == "new"]
    return enqueue_notices(session, notices, now)


def sla_breached(session: Session, finding: FindingRef, due_date: dt.date, today: dt.date,
                 now: dt.datetime) -> int:
    """An open finding passed its due date (its SLA). Call when the breach is found (a daily
    pass, or the request that reads it); once per finding and deadline: a new deadline that is
    breached again notifies again."""
    return enqueue_notices(session, [_notice(
        SLA_BREACHED, f"{finding.finding_id}:{due_date.isoformat()}", finding,
        {"due_date": due_date, "days_overdue": (today - due_date).days})], now)


def verification_requested(session: Session, finding: FindingRef, request_id: str, actor: str,
                           now: dt.datetime) -> int:
    """Someone asked for a finding's fix to be verified (before it may be resolved). Call in
    the transaction that stores the request; `request_id` identifies that request."""
    return enqueue_notices(session, [_notice(
        VERIFICATION_REQUESTED, f"{finding.finding_id}:{request_id}", finding,
        {"actor": actor})], now)


def waiver_requested(session: Session, finding: FindingRef, waiver_id: str, actor: str,
                     expires_on: dt.date | None, reason: str, now: dt.datetime) -> int:
    """A waiver of a finding awaits approval. Call in the transaction that stores it."""
    return enqueue_notices(session, [_notice(
        WAIVER_REQUESTED, f"{finding.finding_id}:{waiver_id}", finding,
        {"actor": actor, "expires_on": expires_on, "reason": reason})], now)


def waiver_expiring(session: Session, finding: FindingRef, waiver_id: str, expires_on: dt.date,
                    today: dt.date, now: dt.datetime, reminder: int | None = None) -> int:
    """A waiver ends soon (the caller decides how soon: its reminder pass). Once per waiver,
    end date and `reminder` (the policy's days-before it reached, e.g. 14 then 3): calling
    again every day sends nothing more; an extended waiver reminds again."""
    step = f":{reminder}" if reminder is not None else ""
    return enqueue_notices(session, [_notice(
        WAIVER_EXPIRING, f"{waiver_id}:{expires_on.isoformat()}{step}", finding,
        {"expires_on": expires_on, "days_left": (expires_on - today).days})], now)


def waiver_expired(session: Session, finding: FindingRef, waiver_id: str, expires_on: dt.date,
                   now: dt.datetime) -> int:
    """A waiver has ended: the finding counts for the gate again. Once per waiver and end
    date."""
    return enqueue_notices(session, [_notice(
        WAIVER_EXPIRED, f"{waiver_id}:{expires_on.isoformat()}", finding,
        {"expires_on": expires_on})], now)


def mentioned(session: Session, finding: FindingRef, comment_id: str, author: str,
              people: Iterable[str], excerpt: str, now: dt.datetime) -> int:
    """A comment on a finding mentions people: one notice per person (its `recipient`, so a
    subscription with `recipients: [name]` is that person's channel). Call in the transaction
    that stores the comment; `excerpt` is shown as is (keep it short: the caller's text)."""
    return enqueue_notices(session, [
        _notice(MENTION, f"{comment_id}:{person}", finding,
                {"author": author, "excerpt": excerpt[:200]}, recipient=person)
        for person in sorted(set(people)) if person != author], now)
