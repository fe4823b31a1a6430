"""Scheduled pre-delivery audits over HTTP: schedules, the project's delivery date, runs with
their diffs and delivery status, and the subscriptions digests are sent to.

`init_app` registers the blueprint and starts the in-process scheduler when
RISKENGINE_SCHEDULER=1 (or config AUDIT_SCHEDULER) asks for it; the audits' errors are
riskengine's, answered through the one table in `api.errors`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from sqlalchemy.orm import Session

from api.answers import answer, page_answer
from api.auth import Principal, Role, current, require, require_project, scope
from api.idempotency import run_write
from api.lookups import (
    project_or_404,
    read_project,
    run_or_404,
    schedule_or_404,
    subscribable,
    subscription_or_404,
    subscriptions_seen,
)
from api.openapi import IDEMPOTENCY_KEY, errors
from api.render import requested_lang, stamp
from api.schemas import LangQuery
from api.schemas.audits import (
    DeliveryDateIn,
    DeliveryDateOut,
    DeliveryListOut,
    RunOut,
    RunPageOut,
    RunQuery,
    ScheduleIn,
    ScheduleListOut,
    ScheduleOut,
    SubscriptionIn,
    SubscriptionListOut,
    SubscriptionOut,
)
from api.state import service
from riskengine.audits import outbox, store
from riskengine.audits.clock import Clock, SystemClock
from riskengine.audits.evaluation import AuditEvaluator
from riskengine.audits.models import AuditOutbox, AuditRun, AuditSchedule, AuditSlot
from riskengine.audits.policy import AuditPolicy, load_audit_policy
from riskengine.audits.robots import shown_target
from riskengine.audits.runner import Auditor
from riskengine.audits.schedule import make_rule
from riskengine.audits.scheduler import Scheduler
from riskengine.store import models as m
from riskengine.store.records import finding_from_record
from riskengine.vocabulary import FindingStatus, Lang

blp = Blueprint("audits", __name__, url_prefix="/api/v1",
                description="Scheduled pre-delivery audits, their runs and notifications")
WRITERS = (Role.SUBMITTER, Role.REVIEWER)


@dataclass
class AuditService:
    policy: AuditPolicy
    clock: Clock
    scheduler: Scheduler


def audits() -> AuditService:
    state: AuditService = current_app.extensions["riskengine.audits"]
    return state


# --- bodies --------------------------------------------------------------------------------

def _slot_body(slot: AuditSlot) -> dict[str, Any]:
    return {"slot_date": slot.slot_date.isoformat(), "due_at": stamp(slot.due_at),
            "status": slot.status, "attempts": slot.attempts, "last_error": slot.last_error,
            "run_id": slot.run_id}


def schedule_body(schedule: AuditSchedule, code: str, slots: list[AuditSlot]
                  ) -> dict[str, Any]:
    return {
        "id": schedule.id, "project_code": code, "kind": schedule.kind,
        "offsets_days": schedule.offsets,
        "start": schedule.starts_on.isoformat() if schedule.starts_on else None,
        "end": schedule.ends_on.isoformat() if schedule.ends_on else None,
        "interval": schedule.interval,
        "delivery_date": schedule.delivery_date.isoformat() if schedule.delivery_date else None,
        "delivery_source": schedule.delivery_source, "created_at": stamp(schedule.created_at),
        "created_by": schedule.created_by,
        "slots": [_slot_body(s) for s in slots if s.schedule_id == schedule.id],
    }


def _delivery_body(entry: AuditOutbox) -> dict[str, Any]:
    return {"id": entry.id, "channel": entry.channel, "target": entry.target,
            "recipient": entry.recipient, "event": entry.event, "status": entry.status,
            "attempts": entry.attempts,
            "next_attempt_at": stamp(entry.next_attempt_at), "last_status": entry.last_status,
            "last_error": entry.last_error, "delivered_at": stamp(entry.delivered_at)}


def run_summary(run: AuditRun, code: str, entries: list[AuditOutbox]) -> dict[str, Any]:
    counts = {"pending": 0, "delivered": 0, "failed": 0}
    for entry in entries:
        counts[entry.status] += 1
    body = run.body
    return {"id": run.id, "project_code": code, "schedule_id": run.schedule_id,
            "number": run.number, "slot_date": run.slot_date.isoformat(),
            "ran_at": stamp(run.ran_at), "delivery_date": body["delivery_date"],
            "days_to_delivery": body["days_to_delivery"], "gate": body["gate"],
            "diff": body["diff"], "deliveries": counts}


def _finding(record: dict[str, Any], lang: Lang) -> dict[str, Any]:
    finding = finding_from_record(record).with_status(FindingStatus(record["status"]))
    return {**finding.to_dict(lang), "change": record["change"]}


def run_body(run: AuditRun, code: str, entries: list[AuditOutbox], lang: Lang
             ) -> dict[str, Any]:
    body = run.body
    return {**run_summary(run, code, entries), "previous_run_id": run.previous_run_id,
            "checklist": body["checklist"], "rulesets": body["rulesets"],
            "summary": body["summary"],
            "findings": [_finding(f, lang) for f in body["findings"]],
            "escalations": body["escalations"], "digests": body["digests"],
            "delivery_status": [_delivery_body(e) for e in entries]}


def subscription_body(row: Any, secret: str | None = None) -> dict[str, Any]:
    body = {"id": row.id, "channel": row.channel,
            "target": shown_target(row.channel, row.target), "recipients": row.recipients,
            "projects": row.projects, "departments": row.departments, "events": row.events,
            "lang": row.lang,
            "created_at": stamp(row.created_at), "created_by": row.created_by}
    return {**body, "secret": secret} if secret else body


# --- views ---------------------------------------------------------------------------------

def _schedules_body(session: Session, project_id: int, code: str) -> dict[str, Any]:
    rows = store.schedules(session, project_id)
    slots = store.slots_of(session, [r.id for r in rows])
    return {"items": [schedule_body(r, code, slots) for r in rows]}


def _locked(session: Session, code: str, principal: Principal) -> m.Project:
    """The project the caller may see (else 404), locked: its slots change one writer at a time."""
    return store.lock_project(session, project_or_404(session, code, principal).id)


@blp.route("/projects/<code>/audit-schedules")
class Schedules(MethodView):
    @blp.response(200, ScheduleListOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """The project's audit schedules with every slot: due, run, or still to come."""
        return read_project(code, lambda session, project: _schedules_body(
            session, project.id, code), ScheduleListOut)

    @blp.arguments(ScheduleIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, ScheduleOut)
    @errors(blp, 400, 403, 404, 413, 422)
    def post(self, data: dict[str, Any], code: str) -> Response:
        """Schedule audits: `{}` is T-90, -60, -30, -14 and -7 days before delivery."""
        principal = require_project(code, *WRITERS)
        state = audits()
        rule = make_rule(data, state.policy)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            project = _locked(session, code, principal)
            row = store.create_schedule(session, project, rule, state.policy,
                                        principal.name, state.clock.now())
            session.flush()
            return 201, schedule_body(row, code, store.slots_of(session, [row.id]))
        return run_write(work, ScheduleOut)

    @blp.response(204)
    @errors(blp, 403, 404)
    def delete(self, code: str) -> Response:
        """Stop every audit schedule of the project; runs already made stay."""
        principal = require_project(code, *WRITERS)
        with service().database.write() as session:
            project = project_or_404(session, code, principal)
            for row in store.schedules(session, project.id):
                store.delete_schedule(session, row, principal.name, audits().clock.now())
        return Response(status=204)


@blp.route("/projects/<code>/audit-schedules/<int(max=2147483647):schedule_id>")
class ScheduleView(MethodView):
    @blp.response(200, ScheduleOut)
    @errors(blp, 404)
    def get(self, code: str, schedule_id: int) -> Response:
        """One audit schedule with its slots."""
        def build(session: Session, project: m.Project) -> dict[str, Any]:
            row = schedule_or_404(session, project, schedule_id)
            return schedule_body(row, code, store.slots_of(session, [row.id]))
        return read_project(code, build, ScheduleOut)

    @blp.response(204)
    @errors(blp, 403, 404)
    def delete(self, code: str, schedule_id: int) -> Response:
        """Stop one audit schedule; its runs stay."""
        principal = require_project(code, *WRITERS)
        with service().database.write() as session:
            project = project_or_404(session, code, principal)
            row = schedule_or_404(session, project, schedule_id)
            store.delete_schedule(session, row, principal.name, audits().clock.now())
        return Response(status=204)


def _delivery_date_body(session: Session, project_id: int, code: str) -> dict[str, Any]:
    own = store.project_delivery(session, project_id)
    source = store.delivery_of(session, project_id)
    return {"project_code": code, "contract_delivery_date": own.isoformat() if own else None,
            "effective_delivery_date": source.date.isoformat() if source.date else None,
            "source": source.source}


@blp.route("/projects/<code>/delivery-date")
class DeliveryDate(MethodView):
    @blp.response(200, DeliveryDateOut)
    @errors(blp, 404)
    def get(self, code: str) -> Response:
        """The delivery date audits count from: the project's own, else its latest checklist's."""
        return read_project(code, lambda session, project: _delivery_date_body(
            session, project.id, code), DeliveryDateOut)

    @blp.arguments(DeliveryDateIn)
    @blp.response(200, DeliveryDateOut)
    @errors(blp, 400, 403, 404, 413, 422)
    def put(self, data: dict[str, Any], code: str) -> Response:
        """Set (or, with null, clear) the project's contract delivery date; future slots move."""
        principal = require_project(code, *WRITERS)
        state = audits()
        with service().database.write() as session:
            project = _locked(session, code, principal)
            store.set_project_delivery(session, project, data["contract_delivery_date"],
                                       state.policy, state.clock.now())
            body = _delivery_date_body(session, project.id, code)
        return answer(DeliveryDateOut, body, 200)


@blp.route("/audit-runs")
class Runs(MethodView):
    @blp.arguments(RunQuery, location="query")
    @blp.response(200, RunPageOut)
    @errors(blp, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """Audit runs you may see, newest first; `?project=CODE` for one project's."""
        principal = current()
        with service().database.read() as session:
            rows, total = store.list_runs(session, scope(principal), query.get("project"),
                                          query["page"], query["per_page"])
            sent = outbox.deliveries(session, [r.id for r, _ in rows])
            items = [run_summary(r, code, sent[r.id]) for r, code in rows]
        return page_answer(RunPageOut, items, query, total)


@blp.route("/audit-runs/<run_id>")
class RunView(MethodView):
    @blp.arguments(LangQuery, location="query")
    @blp.response(200, RunOut)
    @errors(blp, 404, 422)
    def get(self, query: dict[str, Any], run_id: str) -> Response:
        """One run: its findings, diff with the previous run, escalations, digests, deliveries."""
        principal = current()
        with service().database.read() as session:
            run, code = run_or_404(session, run_id, principal)
            body = run_body(run, code, outbox.deliveries(session, [run.id])[run.id],
                            requested_lang())
        return answer(RunOut, body, 200)


@blp.route("/audit-subscriptions")
class Subscriptions(MethodView):
    @blp.response(200, SubscriptionListOut)
    @errors(blp, 403)
    def get(self) -> Response:
        """Where digests go (secrets are never shown again)."""
        principal = require(Role.AUDITOR)
        with service().database.read() as session:
            items = [subscription_body(r) for r in subscriptions_seen(session, principal)]
        return answer(SubscriptionListOut, {"items": items}, 200)

    @blp.arguments(SubscriptionIn)
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @blp.response(201, SubscriptionOut)
    @errors(blp, 400, 403, 413, 422)
    def post(self, data: dict[str, Any]) -> Response:
        """Subscribe a webhook (signed with its secret), an e-mail address, or a WeCom,
        DingTalk or Feishu robot to notices (digests, blocking findings, deadlines, waivers,
        verification, mentions), filtered by project, owner department, event, recipient."""
        principal = require()
        projects = subscribable(principal, data.get("projects"))
        secret = data.get("secret") or (
            secrets.token_urlsafe(32) if data["channel"] == outbox.WEBHOOK else None)

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            row = outbox.create_subscription(
                session, data["channel"], data["target"], secret, data.get("recipients"),
                projects, principal.name, audits().clock.now(),
                departments=data.get("departments"), events=data.get("events"),
                lang=data.get("lang", "zh"), token_id=principal.token_id)
            return 201, subscription_body(row, secret)
        return run_write(work, SubscriptionOut)


@blp.route("/audit-subscriptions/<int(max=2147483647):subscription_id>")
class SubscriptionView(MethodView):
    @blp.response(204)
    @errors(blp, 403, 404)
    def delete(self, subscription_id: int) -> Response:
        """Stop a subscription; entries not yet delivered to it are dropped."""
        principal = require()
        with service().database.write() as session:
            subscription_or_404(session, subscription_id, principal, lock=True)
            outbox.revoke_subscription(session, subscription_id, audits().clock.now())
        return Response(status=204)


@blp.route("/audit-subscriptions/<int(max=2147483647):subscription_id>/deliveries")
class SubscriptionDeliveries(MethodView):
    @blp.response(200, DeliveryListOut)
    @errors(blp, 403, 404)
    def get(self, subscription_id: int) -> Response:
        """The latest notices queued for a subscription (any event) about the projects you may
        see, with delivery status."""
        principal = require(Role.AUDITOR)
        with service().database.read() as session:
            subscription_or_404(session, subscription_id, principal)  # 404 outside the scope
            entries = outbox.subscription_deliveries(session, subscription_id, scope(principal))
            items = [_delivery_body(e) for e in entries]
        return answer(DeliveryListOut, {"items": items}, 200)


# --- wiring --------------------------------------------------------------------------------

def init_app(app: Flask, api: Api) -> None:
    """Register the audits' routes; start the scheduler if configured."""
    policy = load_audit_policy(Path(app.config["RULESETS_DIR"]))
    clock: Clock = app.config.get("AUDIT_CLOCK") or SystemClock()
    state = app.extensions["riskengine"]
    evaluator = AuditEvaluator(state.submissions, policy)
    auditor = Auditor(state.database, evaluator, clock, outbox.Sender(policy))
    scheduler = Scheduler(auditor, app.config.get("AUDIT_SCHEDULER_INTERVAL")
                          or policy.scheduler_interval)
    app.extensions["riskengine.audits"] = AuditService(policy, clock, scheduler)
    api.register_blueprint(blp)
    enabled = app.config.get("AUDIT_SCHEDULER")
    if enabled if enabled is not None else os.environ.get("RISKENGINE_SCHEDULER") == "1":
        scheduler.start()
