"""Subscriptions, and the outbox: notifications written with their run, delivered afterwards.

A run and its notifications commit together, so a receiver that is down loses nothing: the
entry waits in the outbox and is retried with backoff. Delivery is at least once (a crash
between sending and recording sends again); receivers drop repeats by the delivery id header.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskengine.audits import NotFound
from riskengine.audits.clock import Clock
from riskengine.audits.delivery import (
    Attempt,
    SmtpSettings,
    next_attempt,
    post_webhook,
    send_email,
)
from riskengine.audits.models import AuditOutbox, AuditRun, AuditSubscription
from riskengine.audits.policy import AuditPolicy
from riskengine.store.database import Database

WEBHOOK, EMAIL = "webhook", "email"
CHANNELS = (WEBHOOK, EMAIL)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def create_subscription(session: Session, channel: str, target: str, secret: str | None,
                        recipients: Iterable[str] | None, projects: Iterable[str] | None,
                        actor: str, now: dt.datetime) -> AuditSubscription:
    row = AuditSubscription(
        channel=channel, target=target, secret=secret,
        recipients=sorted(set(recipients)) if recipients else None,
        projects=sorted(set(projects)) if projects else None, created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    return row


def subscriptions(session: Session, include_revoked: bool = False) -> list[AuditSubscription]:
    query = select(AuditSubscription).order_by(AuditSubscription.id)
    if not include_revoked:
        query = query.where(AuditSubscription.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_subscription(session: Session, subscription_id: int, now: dt.datetime
                        ) -> AuditSubscription:
    row = session.get(AuditSubscription, subscription_id)
    if row is None or row.revoked_at is not None:
        raise NotFound(f"subscription {subscription_id} not found")
    row.revoked_at = now
    return row


def _wants(subscription: AuditSubscription, recipient: str, project: str) -> bool:
    return ((subscription.recipients is None or recipient in subscription.recipients)
            and (subscription.projects is None or project in subscription.projects))


def enqueue(session: Session, run: AuditRun, project: str, digests: Iterable[Mapping[str, Any]],
            now: dt.datetime) -> list[AuditOutbox]:
    """Queue each digest for each subscription that wants it, in the run's transaction."""
    active = subscriptions(session)
    rows = []
    for digest in digests:
        body = json.dumps(payload(run, project, digest), ensure_ascii=False, sort_keys=True)
        for subscription in active:
            if _wants(subscription, digest["recipient"], project):
                rows.append(AuditOutbox(
                    run_id=run.id, subscription_id=subscription.id, channel=subscription.channel,
                    target=subscription.target, recipient=digest["recipient"], payload=body,
                    status=PENDING, attempts=0, next_attempt_at=now, created_at=now))
    session.add_all(rows)
    return rows


def payload(run: AuditRun, project: str, digest: Mapping[str, Any]) -> dict[str, Any]:
    """What a receiver gets: the run, its gate and change, and one recipient's digest."""
    body = run.body
    return {
        "event": "audit.digest", "run_id": run.id, "project": project,
        "slot_date": run.slot_date.isoformat(), "delivery_date": body["delivery_date"],
        "days_to_delivery": body["days_to_delivery"], "gate": body["gate"],
        "gate_change": body["diff"]["gate"], **digest,
        "link": f"/api/v1/audit-runs/{run.id}",
    }


def deliveries(session: Session, run_ids: Iterable[str]) -> dict[str, list[AuditOutbox]]:
    ids = list(run_ids)
    out: dict[str, list[AuditOutbox]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(select(AuditOutbox).where(AuditOutbox.run_id.in_(ids))
                                   .order_by(AuditOutbox.id)):
            out[row.run_id or ""].append(row)  # never "": the query names its runs
    return out


def claim_delivery(session: Session, now: dt.datetime, lease: dt.timedelta) -> AuditOutbox | None:
    """Take the next due entry for one attempt: its next try moves past the lease, so a
    sender that dies mid-send leaves it to be retried, never lost."""
    row = session.scalars(
        select(AuditOutbox).where(AuditOutbox.status == PENDING,
                                  AuditOutbox.next_attempt_at <= now)
        .order_by(AuditOutbox.next_attempt_at, AuditOutbox.id).limit(1)
        .with_for_update(skip_locked=True)).first()
    if row is not None:
        row.attempts += 1
        row.next_attempt_at = now + lease
    return row


def record_attempt(session: Session, outbox_id: int, attempt: Attempt, policy: AuditPolicy,
                   now: dt.datetime) -> AuditOutbox:
    row = session.get(AuditOutbox, outbox_id, with_for_update=True)
    assert row is not None  # entries are never deleted
    row.last_status, row.last_error = attempt.status, attempt.error or None
    if attempt.ok:
        row.status, row.delivered_at, row.next_attempt_at = DELIVERED, now, None
        return row
    retry = next_attempt(policy.retry, row.attempts, now)
    row.status = PENDING if retry else FAILED
    row.next_attempt_at = retry
    return row


def render_email(body: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """Return the subject and plain text of a digest e-mail."""
    subject = (f"[riskengine] {body['project']} {body['slot_date']}: "
               f"{body['gate']['decision']} — {body['recipient']}")
    lines = [f"{body['project']} · {body['slot_date']} · delivery {body['delivery_date']}",
             f"gate: {body['gate']['decision']}", ""]
    for section in ("escalated", "overdue", "due_soon", "new"):
        items = body.get(section) or []
        if items:
            lines.append(f"{section} ({len(items)}):")
            lines.extend(f"  - [{i['severity']}] {i['title'].get(lang) or i['rule_id']} "
                         f"(due {i['due_date']})" for i in items)
            lines.append("")
    lines.append(f"details: {body['link']}")
    return subject, "\n".join(lines)


@dataclass
class Sender:
    """Sends one outbox entry by its channel."""

    policy: AuditPolicy
    smtp: SmtpSettings | None = field(default_factory=SmtpSettings.from_env)
    lang: str = field(default_factory=lambda: os.environ.get("RISKENGINE_MAIL_LANG", "zh"))

    def send(self, entry: AuditOutbox, secret: str | None) -> Attempt:
        data = entry.payload.encode()
        if entry.channel == WEBHOOK:
            # The signature carries the real time: receivers judge replays by their own clock.
            return post_webhook(entry.target, secret or "", data, str(entry.id),
                                int(time.time()), self.policy.timeout_seconds)
        subject, text = render_email(json.loads(entry.payload), self.lang)
        return send_email(self.smtp, entry.target, subject, text, self.policy.timeout_seconds)


def deliver_due(database: Database, sender: Sender, clock: Clock, limit: int = 1000
                ) -> dict[str, int]:
    """Attempt every due entry once (at most `limit`); return counts by outcome."""
    counts = {DELIVERED: 0, PENDING: 0, FAILED: 0}
    lease = dt.timedelta(seconds=2 * sender.policy.timeout_seconds + 5)
    for _ in range(limit):
        now = clock.now()
        with database.write() as session:
            entry = claim_delivery(session, now, lease)
            if entry is None:
                break
            subscription = session.get(AuditSubscription, entry.subscription_id)
            if subscription is None or subscription.revoked_at is not None:
                entry.status, entry.next_attempt_at = FAILED, None
                entry.last_error = "the subscription was revoked"
                counts[FAILED] += 1
                continue
            secret = subscription.secret
        attempt = sender.send(entry, secret)  # outside any transaction: no lock held meanwhile
        with database.write() as session:
            row = record_attempt(session, entry.id, attempt, sender.policy, clock.now())
            counts[row.status] += 1
    return counts
