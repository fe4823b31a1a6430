"""Notices routed by project, owner department, event and recipient; each event once per
subscription, however often it is enqueued; the findings' events (riskengine.notices)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from riskengine import notices
from riskengine.audits import outbox, runner
from riskengine.audits.models import AuditOutbox
from riskengine.audits.runner import run_due
from riskengine.store import models as m
from tests.audits.support import World, at

D = dt.date
Make = Callable[..., dict[str, Any]]
NOW = at("2027-04-02", 9)
URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-0123456789"


def _subscribe(world: World, **filters: Any) -> int:
    projects = filters.pop("projects", None)
    recipients = filters.pop("recipients", None)
    with world.database.write() as session:
        return outbox.create_subscription(session, "wecom", URL, None, recipients, projects,
                                          "admin", world.clock.now(), **filters).id


def _routed(world: World) -> dict[int, list[tuple[str, str | None, str]]]:
    """Each subscription's entries: (event, project, recipient)."""
    out: dict[int, list[tuple[str, str | None, str]]] = defaultdict(list)
    with world.database.read() as session:
        for row in session.scalars(select(AuditOutbox).order_by(AuditOutbox.id)):
            out[row.subscription_id].append((row.event, row.project_code, row.recipient))
    return dict(out)


def _finding(world: World, code: str, owner: str = "engineering") -> notices.FindingRef:
    with world.database.read() as session:
        row = session.scalars(select(m.Finding).join(m.Project).where(
            m.Project.code == code, m.Finding.owner == owner, m.Finding.blocking.is_(True))
        ).one()
        return notices.FindingRef.of(code, row)


def test_blocking_findings_are_routed_by_department_and_project(
        world: World, delivery_checklist: Make) -> None:
    engineering = _subscribe(world, departments=["engineering"])
    crm = _subscribe(world, departments=["crm"])
    other = _subscribe(world, projects=["SZ-NS-02"])
    exact = _subscribe(world, projects=["NJ-JY-01"], departments=["engineering"],
                       events=[outbox.BLOCKING_FINDING])
    waivers = _subscribe(world, events=[outbox.WAIVER_EXPIRED])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.submit(delivery_checklist("SZ-NS-02", as_of=D(2027, 3, 30), risky=True))
    blocking = ("finding.blocking", "NJ-JY-01", "engineering")
    elsewhere = ("finding.blocking", "SZ-NS-02", "engineering")
    routed = _routed(world)
    assert routed == {engineering: [blocking, elsewhere], other: [elsewhere], exact: [blocking]}
    assert crm not in routed and waivers not in routed


def test_a_resubmission_does_not_announce_the_same_finding_again(
        world: World, delivery_checklist: Make) -> None:
    subscription = _subscribe(world)
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.submit(delivery_checklist(as_of=D(2027, 3, 31), risky=True))   # persisting
    assert len(_routed(world)[subscription]) == 1
    world.submit(delivery_checklist(as_of=D(2027, 4, 1)))                # resolved
    world.submit(delivery_checklist(as_of=D(2027, 4, 2), risky=True))    # back again: new
    assert [e for e, _, _ in _routed(world)[subscription]] == ["finding.blocking"] * 2


def test_a_retried_run_or_event_is_queued_once(world: World, delivery_checklist: Make) -> None:
    subscription = _subscribe(world, events=[outbox.DIGEST, outbox.WAIVER_EXPIRING])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    run_due(world.auditor(), now=at("2027-04-01"), deliver=False)
    (run,) = world.runs()
    finding = _finding(world, "NJ-JY-01")
    with world.database.write() as session:
        # What a pass that ran the run again, or a reminder job run twice, would enqueue.
        assert outbox.enqueue(session, run, "NJ-JY-01", run.body["digests"], NOW) == 0
        assert notices.waiver_expiring(session, finding, "w1", D(2027, 4, 5), D(2027, 4, 2),
                                       NOW) == 1
        assert notices.waiver_expiring(session, finding, "w1", D(2027, 4, 5), D(2027, 4, 3),
                                       NOW) == 0
    # An extended waiver is a new end date: it reminds again.
    with world.database.write() as session:
        assert notices.waiver_expiring(session, finding, "w1", D(2027, 5, 5), D(2027, 5, 2),
                                       NOW) == 1
    events = [e for e, _, _ in _routed(world)[subscription]]
    assert events == [outbox.DIGEST, outbox.WAIVER_EXPIRING, outbox.WAIVER_EXPIRING]


def test_every_finding_event_is_queued_with_its_details(world: World,
                                                        delivery_checklist: Make) -> None:
    everything = _subscribe(world)
    zhang = _subscribe(world, recipients=["zhang.san"], events=[outbox.MENTION])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    finding = _finding(world, "NJ-JY-01")
    with world.database.write() as session:
        assert notices.sla_breached(session, finding, D(2027, 3, 20), D(2027, 4, 2), NOW) == 1
        assert notices.verification_requested(session, finding, "v1", "pm.wang", NOW) == 1
        assert notices.waiver_requested(session, finding, "w1", "pm.wang", D(2027, 6, 1),
                                        "业主已书面确认", NOW) == 1
        assert notices.waiver_expired(session, finding, "w1", D(2027, 6, 1), NOW) == 1
        assert notices.mentioned(session, finding, "c1", "pm.wang",
                                 ["zhang.san", "li.si", "pm.wang"], "请确认整改方案", NOW) == 3
    with world.database.read() as session:
        rows = list(session.scalars(select(AuditOutbox).where(
            AuditOutbox.subscription_id == everything).order_by(AuditOutbox.id)))
    assert [(r.event, r.recipient) for r in rows] == [
        ("finding.blocking", "engineering"), ("finding.sla_breached", "engineering"),
        ("finding.verification_requested", "engineering"), ("waiver.requested", "engineering"),
        ("waiver.expired", "engineering"), ("comment.mention", "li.si"),
        ("comment.mention", "zhang.san")]
    breached = json.loads(rows[1].payload)
    assert breached["details"] == {"due_date": "2027-03-20", "days_overdue": 13}
    assert breached["finding"]["id"] == finding.finding_id and breached["project"] == "NJ-JY-01"
    assert breached["link"] == f"/api/v1/findings/{finding.finding_id}"
    assert all(r.run_id is None for r in rows)
    assert _routed(world)[zhang] == [("comment.mention", "NJ-JY-01", "zhang.san")]


def test_a_run_that_failed_after_queueing_is_retried_and_notifies_once(
        world: World, delivery_checklist: Make, policy: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    subscription = _subscribe(world, events=[outbox.DIGEST])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    calls: list[int] = []

    def queue_then_fail_once(*args: Any) -> int:
        added = outbox.enqueue(*args)
        calls.append(added)
        if len(calls) == 1:
            raise RuntimeError("the worker died after queueing")
        return added

    monkeypatch.setattr(runner, "enqueue", queue_then_fail_once)
    world.clock.set(at("2027-04-01"))
    first = run_due(world.auditor(), deliver=False)
    assert first.failed and first.runs == [] and _routed(world) == {}   # rolled back together
    world.clock.advance(dt.timedelta(seconds=policy.retry.max_seconds))
    second = run_due(world.auditor(), deliver=False)
    assert len(second.runs) == 1 and calls == [1, 1]
    assert _routed(world) == {subscription: [(outbox.DIGEST, "NJ-JY-01", "engineering")]}
