"""`riskengine audits …`: run due audits (cron, Kubernetes CronJob), schedules, subscriptions."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import sys
from pathlib import Path

import click

from riskengine.assessment.assessor import Assessor
from riskengine.audits import AuditPolicyInvalid, outbox, store
from riskengine.audits.clock import Clock, ManualClock, SystemClock, aware
from riskengine.audits.evaluation import AuditEvaluator
from riskengine.audits.policy import AuditPolicy, load_audit_policy
from riskengine.audits.runner import Auditor, run_due
from riskengine.audits.schedule import make_rule
from riskengine.audits.scheduler import Scheduler
from riskengine.cli import main
from riskengine.cli.assess import load_assessor
from riskengine.cli.errors import echo_error, echo_refusal, refused
from riskengine.errors import RiskEngineError
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.store.database import Database, default_url, pending
from riskengine.store.projects import get_project
from riskengine.submission import Submissions

EXIT_FAILED, EXIT_ERROR = 1, 3
_RULESETS = click.option("--rulesets", type=click.Path(exists=True, file_okay=False,
                                                       path_type=Path),
                         help="Ruleset folder (default: the bundled rulesets).")


def _instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return aware(dt.datetime.fromisoformat(value))
    except ValueError as error:
        raise click.BadParameter(f"not an ISO date-time: {value}", param_hint="--now") from error


def _database() -> Database:
    database = Database(default_url())
    if pending(database.engine):
        echo_refusal("schema_not_current")
        sys.exit(EXIT_ERROR)
    return database


@functools.cache
def _assessor(root: Path) -> Assessor:
    # One per process: compiling the rulesets again leaks memory inside durable_rules.
    return load_assessor(root)


def _policy(root: Path) -> AuditPolicy:
    try:
        return load_audit_policy(root)
    except AuditPolicyInvalid as error:
        echo_error(error)
        sys.exit(EXIT_ERROR)


def _submissions(assessor: Assessor, root: Path) -> Submissions:
    try:
        return Submissions.of(assessor, root)
    except RiskEngineError as error:
        echo_error(error)
        sys.exit(EXIT_ERROR)


def _auditor(rulesets: Path | None, clock: Clock) -> Auditor:
    root = rulesets or DEFAULT_ROOT
    policy = _policy(root)
    assessor = _assessor(root)
    evaluator = AuditEvaluator(_submissions(assessor, root), policy)
    return Auditor(_database(), evaluator, clock, outbox.Sender(policy))


@main.group()
def audits() -> None:
    """Scheduled pre-delivery audits (DATABASE_URL, default the embedded SQLite file)."""


@audits.command("run-due")
@click.option("--now", "now_text", metavar="ISO-DATETIME",
              help="Run what is due at this instant (default: now; naive means UTC).")
@click.option("--no-deliver", is_flag=True, help="Leave notifications in the outbox.")
@_RULESETS
def run_due_command(now_text: str | None, no_deliver: bool, rulesets: Path | None) -> None:
    """Run every audit slot due now, each exactly once, then deliver notifications."""
    now = _instant(now_text)
    clock: Clock = ManualClock(now) if now else SystemClock()
    report = run_due(_auditor(rulesets, clock), deliver=not no_deliver)
    sent = report.deliveries
    click.echo(f"ran {len(report.runs)} audit(s), {len(report.failed)} failed, "
               f"{report.replanned} schedule(s) replanned; notifications: "
               f"{sent.get('delivered', 0)} delivered, {sent.get('pending', 0)} to retry, "
               f"{sent.get('failed', 0)} given up")
    if report.failed:
        sys.exit(EXIT_FAILED)


@audits.command("loop")
@_RULESETS
def loop_command(rulesets: Path | None) -> None:
    """Run the scheduler in the foreground (a separate process or container)."""
    auditor = _auditor(rulesets, SystemClock())
    scheduler = Scheduler(auditor, auditor.policy.scheduler_interval)
    click.echo(f"audit scheduler: a pass every {scheduler.interval}s; Ctrl-C stops it")
    try:
        scheduler.run_forever()
    except KeyboardInterrupt:
        scheduler.stop()


@audits.group()
def schedule() -> None:
    """A project's audit schedules."""


@schedule.command("create")
@click.argument("project")
@click.option("--offsets", help="Days before delivery, e.g. 90,60,30 (default T-90…T-7).")
@click.option("--every", type=click.Choice(["weekly", "monthly"]), help="A recurrence …")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="… from this date …")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="… to this date.")
@click.option("--interval", type=int, default=1, show_default=True)
@_RULESETS
def schedule_create(project: str, offsets: str | None, every: str | None,
                    start: dt.datetime | None, end: dt.datetime | None, interval: int,
                    rulesets: Path | None) -> None:
    """Schedule PROJECT's audits; print its slots."""
    policy = _policy(rulesets or DEFAULT_ROOT)
    spec: dict[str, object] = {"kind": every, "start": start.date() if start else None,
                               "end": end.date() if end else None, "interval": interval}
    if offsets:
        spec.update(kind="offsets", offsets_days=[int(o) for o in offsets.split(",") if o])
    database = _database()
    try:
        rule = make_rule(spec, policy)
        with database.write() as session:
            row = get_project(session, project, None)
            if row is None:
                raise refused("project_not_found", code=project)
            created = store.create_schedule(session, store.lock_project(session, row.id), rule,
                                            policy, "cli", SystemClock().now())
            session.flush()
            slots = store.slots_of(session, [created.id])
    except RiskEngineError as error:
        raise refused(error) from error
    click.echo(f"schedule {created.id} for {project} ({created.kind}):")
    for slot in slots:
        click.echo(f"  {slot.slot_date}  due {slot.due_at.isoformat()}  {slot.status}")


@schedule.command("list")
@click.argument("project")
def schedule_list(project: str) -> None:
    """List PROJECT's schedules and slots."""
    with _database().read() as session:
        row = get_project(session, project, None)
        if row is None:
            raise refused("project_not_found", code=project)
        rows = store.schedules(session, row.id)
        slots = store.slots_of(session, [r.id for r in rows])
    for each in rows:
        click.echo(f"schedule {each.id} ({each.kind}) delivery {each.delivery_date or '-'} "
                   f"from {each.delivery_source or '-'}")
        for slot in (s for s in slots if s.schedule_id == each.id):
            click.echo(f"  {slot.slot_date}  {slot.status:<8} {slot.run_id or ''}")


@schedule.command("delete")
@click.argument("project")
@click.argument("schedule_id", type=int)
def schedule_delete(project: str, schedule_id: int) -> None:
    """Stop one of PROJECT's schedules (its runs stay)."""
    try:
        with _database().write() as session:
            row = get_project(session, project, None)
            if row is None:
                raise refused("project_not_found", code=project)
            found = store.get_schedule(session, row.id, schedule_id)
            store.delete_schedule(session, found, "cli", SystemClock().now())
    except RiskEngineError as error:
        raise refused(error) from error
    click.echo(f"schedule {schedule_id} stopped")


@audits.command("delivery-date")
@click.argument("project")
@click.argument("day", metavar="YYYY-MM-DD|none")
@_RULESETS
def delivery_date(project: str, day: str, rulesets: Path | None) -> None:
    """Set PROJECT's own contract delivery date (`none` clears it); future slots move."""
    try:
        value = None if day.lower() == "none" else dt.date.fromisoformat(day)
    except ValueError as error:
        raise click.BadParameter("YYYY-MM-DD or none", param_hint="DAY") from error
    policy = _policy(rulesets or DEFAULT_ROOT)
    with _database().write() as session:
        row = get_project(session, project, None)
        if row is None:
            raise refused("project_not_found", code=project)
        store.set_project_delivery(session, store.lock_project(session, row.id), value, policy,
                                   SystemClock().now())
    click.echo(f"{project}: contract delivery date {value or 'cleared'}")


@audits.command("subscribe")
@click.option("--webhook", "url", help="POST digests to this URL, signed.")
@click.option("--email", help="E-mail digests here (needs RISKENGINE_SMTP_HOST).")
@click.option("--recipient", "recipients", multiple=True,
              help="Only digests for this owner or escalation contact (repeatable).")
@click.option("--project", "projects", multiple=True, help="Only this project (repeatable).")
def subscribe(url: str | None, email: str | None, recipients: tuple[str, ...],
              projects: tuple[str, ...]) -> None:
    """Subscribe a webhook or an e-mail address to digests; a webhook's secret prints once."""
    if bool(url) == bool(email):
        raise click.UsageError("give exactly one of --webhook URL or --email ADDRESS")
    secret = secrets.token_urlsafe(32) if url else None
    with _database().write() as session:
        row = outbox.create_subscription(
            session, outbox.WEBHOOK if url else outbox.EMAIL, url or email or "", secret,
            recipients or None, projects or None, "cli", SystemClock().now())
        click.echo(f"subscription {row.id}: {row.channel} {row.target}")
    if secret:
        click.echo(f"signing secret (shown only now): {secret}")
