"""Subscriptions, and the outbox: notices written with what raised them, delivered afterwards.

A run and its notifications commit together (a submission and its blocking-finding notices,
a finding's change and its notice likewise), so a receiver that is down loses nothing: the
entry waits in the outbox and is retried with backoff. Each event reaches each subscription
once: an entry is keyed by (event key, subscription), and enqueuing the same event again adds
nothing. Delivery is at least once (a crash between sending and recording sends again);
webhook receivers drop repeats by the delivery id header.
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
from sqlalchemy.dialects import postgresql, sqlite
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
from riskengine.audits.notice_text import Labels, render_email_notice, render_robot
from riskengine.audits.policy import AuditPolicy
from riskengine.audits.robots import DINGTALK, FEISHU, ROBOTS, WECOM, post_robot, shown_target
from riskengine.audits.store import creator_may_receive
from riskengine.refusals import refusal
from riskengine.store.database import Database

WEBHOOK, EMAIL = "webhook", "email"
CHANNELS = (WEBHOOK, EMAIL, WECOM, DINGTALK, FEISHU)
SECRET_CHANNELS = (WEBHOOK, DINGTALK, FEISHU)  # the ones whose requests are signed
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
LANGS = ("zh", "zh-en")  # Chinese; or Chinese first, then English

DIGEST = "audit.digest"
BLOCKING_FINDING = "finding.blocking"
SLA_BREACHED = "finding.sla_breached"
VERIFICATION_REQUESTED = "finding.verification_requested"
WAIVER_REQUESTED = "waiver.requested"
WAIVER_EXPIRING = "waiver.expiring"
WAIVER_EXPIRED = "waiver.expired"
MENTION = "comment.mention"
EVENTS = (DIGEST, BLOCKING_FINDING, SLA_BREACHED, VERIFICATION_REQUESTED, WAIVER_REQUESTED,
          WAIVER_EXPIRING, WAIVER_EXPIRED, MENTION)


@dataclass(frozen=True)
class Notice:
    """One event to tell subscribers about.

    `key` names the event itself (the same event enqueued twice has the same key); `recipient`
    is whom it addresses (an owner department, an escalation contact, a person mentioned);
    `departments` the owner departments it concerns; `body` what a webhook receives.
    """

    event: str
    key: str
    project: str
    recipient: str
    departments: frozenset[str]
    body: Mapping[str, Any]
    run_id: str | None = None


def create_subscription(session: Session, channel: str, target: str, secret: str | None,
                        recipients: Iterable[str] | None, projects: Iterable[str] | None,
                        actor: str, now: dt.datetime, *,
                        departments: Iterable[str] | None = None,
                        events: Iterable[str] | None = None,
                        lang: str = "zh", token_id: int | None = None) -> AuditSubscription:
    row = AuditSubscription(
        channel=channel, target=target, secret=secret,
        recipients=sorted(set(recipients)) if recipients else None,
        projects=sorted(set(projects)) if projects else None,
        departments=sorted(set(departments)) if departments else None,
        events=sorted(set(events)) if events else None, lang=lang,
        created_at=now, created_by=actor, created_by_token_id=token_id)
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
        raise NotFound(refusal("subscription_not_found", id=subscription_id))
    row.revoked_at = now
    return row


def wants(subscription: AuditSubscription, notice: Notice) -> bool:
    """Whether a subscription's filters (each None: any) all let the notice through."""
    return ((subscription.events is None or notice.event in subscription.events)
            and (subscription.recipients is None or notice.recipient in subscription.recipients)
            and (subscription.projects is None or notice.project in subscription.projects)
            and (subscription.departments is None
                 or bool(notice.departments & set(subscription.departments))))


def _insert_ignoring_repeats(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; one whose (event key, subscription) is already there is skipped,
    also when a concurrent transaction inserted it first (the unique key decides)."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    table = AuditOutbox.__table__
    statement = module.insert(table).on_conflict_do_nothing(
        index_elements=["event_key", "subscription_id"]).returning(table.c.id)
    connection = session.connection()
    inserted = 0
    for row in rows:  # one by one: what comes back is exactly what was inserted
        inserted += len(connection.execute(statement, row).all())
    return inserted


def enqueue_notices(session: Session, notices: Iterable[Notice], now: dt.datetime) -> int:
    """Queue each notice for each active subscription that wants it, in the caller's
    transaction; return how many entries were added (repeats of an event add none)."""
    pending = list(notices)
    if not pending:
        return 0
    active = subscriptions(session)
    rows = [{"run_id": n.run_id, "event": n.event, "event_key": n.key,
             "project_code": n.project, "subscription_id": s.id, "channel": s.channel,
             "target": shown_target(s.channel, s.target), "recipient": n.recipient[:40],
             "payload": json.dumps(n.body, ensure_ascii=False, sort_keys=True),
             "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for n in pending for s in active if wants(s, n)]
    return _insert_ignoring_repeats(session, rows)


def digest_departments(digest: Mapping[str, Any]) -> frozenset[str]:
    """The owner departments a digest's findings belong to."""
    return frozenset(item["owner"] for section in ("new", "due_soon", "overdue", "escalated")
                     for item in digest.get(section) or ())


def enqueue(session: Session, run: AuditRun, project: str, digests: Iterable[Mapping[str, Any]],
            now: dt.datetime) -> int:
    """Queue each digest of a run for each subscription that wants it, in the run's
    transaction. Keyed by the run's slot and the recipient: a pass that runs again adds none."""
    return enqueue_notices(session, (Notice(
        DIGEST, f"{DIGEST}:{run.schedule_id}:{run.slot_date.isoformat()}:{d['recipient']}",
        project, d["recipient"], digest_departments(d), payload(run, project, d), run.id)
        for d in digests), now)


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


def subscription_deliveries(session: Session, subscription_id: int,
                            projects: frozenset[str] | None, limit: int = 200
                            ) -> list[AuditOutbox]:
    """A subscription's latest outbox entries about the projects a caller may see (None:
    all), newest first; NotFound for an unknown subscription."""
    if session.get(AuditSubscription, subscription_id) is None:
        raise NotFound(refusal("subscription_not_found", id=subscription_id))
    query = select(AuditOutbox).where(AuditOutbox.subscription_id == subscription_id)
    if projects is not None:
        query = query.where(AuditOutbox.project_code.in_(sorted(projects)))
    return list(session.scalars(query.order_by(AuditOutbox.id.desc()).limit(limit)))


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
    retry = next_attempt(policy.retry, row.attempts, now) if attempt.retry else None
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


@dataclass(frozen=True)
class Route:
    """Where and how an entry goes, read from its subscription when it is sent (the outbox
    keeps the target with its credential cut, so listing deliveries shows no robot key)."""

    target: str
    secret: str | None
    lang: str

    @classmethod
    def of(cls, subscription: AuditSubscription) -> Route:
        return cls(subscription.target, subscription.secret, subscription.lang or "zh")


@dataclass
class Sender:
    """Sends one outbox entry by its channel."""

    policy: AuditPolicy
    smtp: SmtpSettings | None = field(default_factory=SmtpSettings.from_env)
    lang: str = field(default_factory=lambda: os.environ.get("RISKENGINE_MAIL_LANG", "zh"))
    labels: Labels = field(default_factory=Labels.default)
    # Where people open the service: links in chat messages are absolute only with it.
    base_url: str = field(default_factory=lambda: os.environ.get("RISKENGINE_PUBLIC_URL", ""))

    def send(self, entry: AuditOutbox, route: Route) -> Attempt:
        data = entry.payload.encode()
        # Signatures carry the real time: receivers judge replays by their own clock.
        now_s = int(time.time())
        if entry.channel == WEBHOOK:
            return post_webhook(route.target, route.secret or "", data, str(entry.id),
                                now_s, self.policy.timeout_seconds, entry.event)
        body = json.loads(entry.payload)
        if entry.channel in ROBOTS:
            message = render_robot(entry.channel, body, route.lang, self.labels, self.base_url)
            return post_robot(entry.channel, route.target, route.secret, message, now_s,
                              self.policy.timeout_seconds)
        if entry.event == DIGEST:
            subject, text = render_email(body, self.lang)
        else:
            subject, text = render_email_notice(body, route.lang, self.labels, self.base_url)
        return send_email(self.smtp, route.target, subject, text, self.policy.timeout_seconds)


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
            # Scope is re-checked at send time: a creator revoked or narrowed since receives
            # nothing more of a project it can no longer see.
            if entry.project_code and not creator_may_receive(session, subscription,
                                                              entry.project_code):
                entry.status, entry.next_attempt_at = FAILED, None
                entry.last_error = "the subscription's creator no longer sees this project"
                counts[FAILED] += 1
                continue
            route = Route.of(subscription)
        attempt = sender.send(entry, route)  # outside any transaction: no lock held meanwhile
        with database.write() as session:
            row = record_attempt(session, entry.id, attempt, sender.policy, clock.now())
            counts[row.status] += 1
    return counts
