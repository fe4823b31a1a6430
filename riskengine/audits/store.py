"""The audits' queries: schedules and their slots, the delivery date, claiming due slots.

Locks, in the only order they are taken (so no two writers wait on each other in a cycle):
a worker holds the slot it claimed (`FOR UPDATE SKIP LOCKED`) and then waits for its project
row; whoever changes slots (a replan, a deleted schedule) skips slots a worker holds, and only
ever touches slots that were not yet due, which no worker claims.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from riskengine.audits import NotFound, ScheduleInvalid
from riskengine.audits.models import (
    AuditRun,
    AuditSchedule,
    AuditSlot,
    AuditSubscription,
    delivery_date_column,
)
from riskengine.audits.policy import AuditPolicy
from riskengine.audits.schedule import (
    RECURRING,
    ScheduleKind,
    ScheduleRule,
    Slot,
    compute_slots,
    replan,
)
from riskengine.refusals import refusal
from riskengine.store import models as m
from riskengine.store.projects import visible
from riskengine.vocabulary import Stage

PENDING, DONE, FAILED = "pending", "done", "failed"
FROM_PROJECT, FROM_CHECKLIST = "project", "checklist"
_DELIVERY = Stage.DELIVERY.value


@dataclass(frozen=True)
class DeliverySource:
    """The delivery date slots count back from: the project's own, else its latest checklist's."""

    date: dt.date | None
    source: str | None
    checklist_id: str | None
    changed_at: dt.datetime | None = None  # when the checklist that set it arrived


def rule_of(schedule: AuditSchedule) -> ScheduleRule:
    return ScheduleRule(ScheduleKind(schedule.kind), tuple(schedule.offsets or ()),
                        schedule.starts_on, schedule.ends_on, schedule.interval)


def project_delivery(session: Session, project_id: int) -> dt.date | None:
    value: dt.date | None = session.scalar(
        select(delivery_date_column()).where(m.Project.id == project_id))
    return value


def latest_delivery_checklist(session: Session, project_id: int) -> m.Checklist | None:
    return session.scalars(select(m.Checklist).where(
        m.Checklist.project_id == project_id, m.Checklist.stage == _DELIVERY)
        .order_by(m.Checklist.number.desc()).limit(1)).first()


def milestone(checklist: m.Checklist) -> dt.date | None:
    """Return a stored checklist's contract delivery date, if it states a valid one."""
    try:
        value = json.loads(checklist.raw_text).get("milestones", {}).get("contract_delivery_date")
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except (ValueError, AttributeError):
        return None


def delivery_of(session: Session, project_id: int) -> DeliverySource:
    own = project_delivery(session, project_id)
    if own is not None:
        return DeliverySource(own, FROM_PROJECT, None)
    latest = latest_delivery_checklist(session, project_id)
    if latest is None:
        return DeliverySource(None, None, None)
    return DeliverySource(milestone(latest), FROM_CHECKLIST, latest.id, latest.created_at)


def _add_slots(session: Session, schedule_id: int, slots: Iterable[Slot]) -> None:
    session.add_all(AuditSlot(schedule_id=schedule_id, slot_date=s.day, due_at=s.due_at,
                              status=PENDING, attempts=0) for s in slots)


def create_schedule(session: Session, project: m.Project, rule: ScheduleRule,
                    policy: AuditPolicy, actor: str, now: dt.datetime) -> AuditSchedule:
    """Store a schedule with its slots still to come; raise when none is left to run."""
    source = delivery_of(session, project.id)
    slots = [s for s in compute_slots(rule, source.date, policy) if s.due_at > now]
    if not slots:
        raise ScheduleInvalid(refusal("slots_all_past"),
                              {"schedule": [refusal("no_slot_after", time=now.isoformat())]})
    follows = rule.kind not in RECURRING
    schedule = AuditSchedule(
        project_id=project.id, kind=rule.kind.value, offsets=list(rule.offsets) or None,
        starts_on=rule.start, ends_on=rule.end, interval=rule.interval,
        delivery_date=source.date if follows else None,
        delivery_source=source.source if follows else None,
        source_checklist_id=source.checklist_id if follows else None,
        created_at=now, created_by=actor)
    session.add(schedule)
    session.flush()
    _add_slots(session, schedule.id, slots)
    return schedule


def schedules(session: Session, project_id: int) -> list[AuditSchedule]:
    return list(session.scalars(select(AuditSchedule).where(
        AuditSchedule.project_id == project_id, AuditSchedule.deleted_at.is_(None))
        .order_by(AuditSchedule.id)))


def get_schedule(session: Session, project_id: int, schedule_id: int) -> AuditSchedule:
    schedule = session.get(AuditSchedule, schedule_id)
    if schedule is None or schedule.project_id != project_id or schedule.deleted_at:
        raise NotFound(refusal("schedule_not_found", id=schedule_id))
    return schedule


def slots_of(session: Session, schedule_ids: Sequence[int]) -> list[AuditSlot]:
    if not schedule_ids:
        return []
    return list(session.scalars(select(AuditSlot).where(AuditSlot.schedule_id.in_(
        schedule_ids)).order_by(AuditSlot.schedule_id, AuditSlot.due_at)))


def _drop_pending(session: Session, schedule_id: int, days: Iterable[dt.date] | None) -> None:
    """Delete pending slots (all, or these days), skipping any a worker is running now."""
    query = select(AuditSlot.id).where(AuditSlot.schedule_id == schedule_id,
                                       AuditSlot.status == PENDING)
    if days is not None:
        query = query.where(AuditSlot.slot_date.in_(list(days)))
    ids = list(session.scalars(query.with_for_update(skip_locked=True)))
    if ids:
        session.execute(delete(AuditSlot).where(AuditSlot.id.in_(ids)))


def delete_schedule(session: Session, schedule: AuditSchedule, actor: str,
                    now: dt.datetime) -> None:
    """Stop a schedule: its slots still to run go; its runs stay, as history."""
    session.refresh(schedule, with_for_update=True)
    _drop_pending(session, schedule.id, None)
    schedule.deleted_at, schedule.deleted_by = now, actor


def replan_schedule(session: Session, schedule: AuditSchedule, source: DeliverySource,
                    policy: AuditPolicy, changed_at: dt.datetime) -> None:
    """Move a locked schedule's slots to a new delivery date; earlier slots stay as they ran."""
    rule = rule_of(schedule)
    if not rule.follows_delivery:
        return
    if source.date != schedule.delivery_date:
        rows = slots_of(session, [schedule.id])
        pending = [Slot(r.due_at, r.slot_date) for r in rows if r.status == PENDING]
        planned = compute_slots(rule, source.date, policy) if source.date else []
        plan = replan(pending, [r.slot_date for r in rows], planned, changed_at)
        if plan.remove:
            _drop_pending(session, schedule.id, plan.remove)
        _add_slots(session, schedule.id, plan.add)
    schedule.delivery_date, schedule.delivery_source = source.date, source.source
    schedule.source_checklist_id = source.checklist_id


def set_project_delivery(session: Session, project: m.Project, day: dt.date | None,
                         policy: AuditPolicy, now: dt.datetime) -> list[AuditSchedule]:
    """Set (or clear) the project's own delivery date and move its schedules' future slots."""
    session.execute(update(m.Project).where(m.Project.id == project.id)
                    .values({delivery_date_column(): day}))
    source = delivery_of(session, project.id)
    changed = []
    for schedule in schedules(session, project.id):
        session.refresh(schedule, with_for_update=True)
        replan_schedule(session, schedule, source, policy, now)
        changed.append(schedule)
    return changed


def _latest_checklists() -> Select[int, int]:
    return (select(m.Checklist.project_id, func.max(m.Checklist.number).label("number"))
            .where(m.Checklist.stage == _DELIVERY).group_by(m.Checklist.project_id))


def stale_schedules(session: Session) -> list[int]:
    """Return schedules whose delivery date may have moved since their slots were planned."""
    latest = _latest_checklists().subquery()
    own = delivery_date_column()
    query = (
        select(AuditSchedule.id)
        .join(m.Project, m.Project.id == AuditSchedule.project_id)
        .outerjoin(latest, latest.c.project_id == AuditSchedule.project_id)
        .outerjoin(m.Checklist, and_(m.Checklist.project_id == latest.c.project_id,
                                     m.Checklist.stage == _DELIVERY,
                                     m.Checklist.number == latest.c.number))
        .where(AuditSchedule.deleted_at.is_(None),
               AuditSchedule.kind.notin_([k.value for k in RECURRING]),
               or_(and_(own.is_not(None), or_(AuditSchedule.delivery_date.is_(None),
                                               own != AuditSchedule.delivery_date)),
                   and_(own.is_(None), or_(
                       AuditSchedule.delivery_source == FROM_PROJECT,
                       AuditSchedule.source_checklist_id.is_distinct_from(m.Checklist.id))))))
    return list(session.scalars(query))


def resync_schedule(session: Session, schedule_id: int, policy: AuditPolicy,
                    now: dt.datetime) -> None:
    """Replan one schedule from its project's current delivery date (locked, re-read)."""
    schedule = session.get(AuditSchedule, schedule_id, with_for_update=True)
    if schedule is None or schedule.deleted_at is not None:
        return
    source = delivery_of(session, schedule.project_id)
    changed_at = min(source.changed_at or now, now)
    replan_schedule(session, schedule, source, policy, changed_at)


def claim_due_slot(session: Session, now: dt.datetime, skip: Sequence[int] = ()
                   ) -> AuditSlot | None:
    """Lock the earliest due slot no other worker holds; a schedule's slots run in order."""
    earlier = aliased(AuditSlot)
    blocked = exists().where(earlier.schedule_id == AuditSlot.schedule_id,
                             earlier.status == PENDING, earlier.due_at < AuditSlot.due_at)
    query = (select(AuditSlot)
             .join(AuditSchedule, AuditSchedule.id == AuditSlot.schedule_id)
             .where(AuditSchedule.deleted_at.is_(None))
             .where(AuditSlot.status == PENDING, AuditSlot.due_at <= now,
                    or_(AuditSlot.retry_at.is_(None), AuditSlot.retry_at <= now), ~blocked)
             .order_by(AuditSlot.due_at, AuditSlot.id).limit(1)
             .with_for_update(skip_locked=True, of=AuditSlot))
    if skip:
        query = query.where(AuditSlot.id.notin_(skip))
    return session.scalars(query).first()


def lock_project(session: Session, project_id: int) -> m.Project:
    """Lock the project: its runs are numbered one by one, and no checklist lands meanwhile."""
    return session.scalars(select(m.Project).where(m.Project.id == project_id)
                           .with_for_update()).one()


def previous_run(session: Session, project_id: int) -> AuditRun | None:
    return session.scalars(select(AuditRun).where(AuditRun.project_id == project_id)
                           .order_by(AuditRun.number.desc()).limit(1)).first()


def tracked_findings(session: Session, project_id: int) -> list[m.Finding]:
    return list(session.scalars(select(m.Finding).where(
        m.Finding.project_id == project_id, m.Finding.stage == _DELIVERY)))


def project_runs(session: Session, project_id: int, limit: int = 50) -> list[AuditRun]:
    """Return a project's latest audit runs, newest first."""
    return list(session.scalars(select(AuditRun).where(AuditRun.project_id == project_id)
                                .order_by(AuditRun.number.desc()).limit(limit)))


def next_slots(session: Session, project_ids: Iterable[int], today: dt.date
               ) -> dict[int, dt.date]:
    """Return each project's next pending audit slot on or after today."""
    ids = list(project_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(AuditSchedule.project_id, func.min(AuditSlot.slot_date))
        .join(AuditSchedule, AuditSlot.schedule_id == AuditSchedule.id)
        .where(AuditSchedule.project_id.in_(ids), AuditSchedule.deleted_at.is_(None),
               AuditSlot.status == PENDING, AuditSlot.slot_date >= today)
        .group_by(AuditSchedule.project_id))
    return {project_id: day for project_id, day in rows}


def list_runs(session: Session, projects: frozenset[str] | None, code: str | None,
              page: int, per_page: int) -> tuple[list[tuple[AuditRun, str]], int]:
    """Return one page of the runs a caller may see, newest first, with project codes."""
    query = visible(select(AuditRun, m.Project.code).join(
        m.Project, m.Project.id == AuditRun.project_id), projects)
    if code:
        query = query.where(m.Project.code == code)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(AuditRun.ran_at.desc(), AuditRun.number.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [(run, project) for run, project in rows], total


def get_run(session: Session, run_id: str, projects: frozenset[str] | None
            ) -> tuple[AuditRun, str] | None:
    row = session.execute(visible(select(AuditRun, m.Project.code).join(
        m.Project, m.Project.id == AuditRun.project_id), projects)
        .where(AuditRun.id == run_id)).first()
    return (row[0], row[1]) if row else None


def within(subscription: AuditSubscription, projects: frozenset[str] | None) -> bool:
    """Whether a caller scoped to `projects` (None: every project) may see the subscription:
    only when every project it sends is the caller's; one that sends every project (no filter)
    only to an unscoped caller."""
    if projects is None:
        return True
    return subscription.projects is not None and set(subscription.projects) <= projects


def subscriptions_within(session: Session, projects: frozenset[str] | None
                         ) -> list[AuditSubscription]:
    """The live subscriptions a caller scoped to `projects` may see, oldest first."""
    rows = session.scalars(select(AuditSubscription).where(
        AuditSubscription.revoked_at.is_(None)).order_by(AuditSubscription.id))
    # Few rows, and a JSON list each: filtered here, the same on SQLite and PostgreSQL.
    return [row for row in rows if within(row, projects)]


def subscription_within(session: Session, subscription_id: int,
                        projects: frozenset[str] | None, lock: bool = False
                        ) -> AuditSubscription:
    """A live subscription the caller may see; any other is not found (ids cannot be probed)."""
    row = session.get(AuditSubscription, subscription_id, with_for_update=lock or None)
    if row is None or row.revoked_at is not None or not within(row, projects):
        raise NotFound(refusal("subscription_not_found", id=subscription_id))
    return row


def creator_may_receive(session: Session, subscription: AuditSubscription, project: str
                        ) -> bool:
    """Re-check at send time that the token that created the subscription may still see
    `project`: it is live and its scope covers it. A revoked token, or one narrowed to other
    projects, receives nothing more (fail closed). A subscription an operator made on the
    command line (no token) is not scoped. The outbox calls this before each send."""
    if subscription.created_by_token_id is None:
        return True
    token = session.get(m.ApiToken, subscription.created_by_token_id)
    return token is not None and token.revoked_at is None and (
        token.projects is None or project in token.projects)
