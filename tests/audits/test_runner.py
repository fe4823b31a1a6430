"""run-due with a moved clock: due and not due, catch-up in order, a moved delivery date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from riskengine.audits.runner import run_due
from riskengine.audits.store import tracked_findings
from tests.audits.support import World, at

D = dt.date
Make = Callable[..., dict[str, Any]]
DELIVERY = D(2027, 6, 30)   # default slots: 04-01, 05-01, 05-31, 06-16, 06-23


def _setup(world: World, make: Make, code: str = "NJ-JY-01") -> int:
    world.submit(make(code=code, delivery=DELIVERY, as_of=D(2026, 12, 20)))
    return world.schedule(code)


def test_nothing_is_due_before_the_first_slot(world: World, delivery_checklist: Make) -> None:
    _setup(world, delivery_checklist)
    world.clock.set(at("2027-03-31", 23))
    assert run_due(world.auditor()).runs == []
    assert world.runs() == []


def test_a_due_slot_runs_once(world: World, delivery_checklist: Make) -> None:
    schedule = _setup(world, delivery_checklist)
    world.clock.set(at("2027-04-01", 0))
    first = run_due(world.auditor())
    again = run_due(world.auditor())
    assert len(first.runs) == 1 and again.runs == []
    (run,) = world.runs()
    assert (run.slot_date, run.number, run.schedule_id) == (D(2027, 4, 1), 1, schedule)
    # The checklist was 102 days old at the slot: the audit says so itself.
    assert run.body["checklist"]["stale"] and run.gate == "conditional"
    assert [s.status for s in world.slots(schedule)] == ["done"] + ["pending"] * 4


def test_catch_up_after_a_gap_runs_each_missed_slot_once_in_order(
        world: World, delivery_checklist: Make) -> None:
    schedule = _setup(world, delivery_checklist)
    world.clock.set(at("2027-06-17", 3))     # four slots passed while nothing ran
    report = run_due(world.auditor())
    runs = world.runs()
    assert len(report.runs) == 4 == len(runs)
    assert [r.slot_date for r in runs] == [D(2027, 4, 1), D(2027, 5, 1), D(2027, 5, 31),
                                           D(2027, 6, 16)]
    assert [r.number for r in runs] == [1, 2, 3, 4]
    assert [r.previous_run_id for r in runs[1:]] == [r.id for r in runs[:-1]]
    assert run_due(world.auditor()).runs == []
    assert [s.status for s in world.slots(schedule)][-1] == "pending"


def test_run_due_at_a_given_instant_runs_what_is_due_then(
        world: World, delivery_checklist: Make) -> None:
    _setup(world, delivery_checklist)
    report = run_due(world.auditor(), now=at("2027-05-01", 0))
    assert len(report.runs) == 2


def test_moving_the_project_delivery_date_moves_future_slots_only(
        world: World, delivery_checklist: Make) -> None:
    schedule = _setup(world, delivery_checklist)
    world.clock.set(at("2027-05-02"))
    run_due(world.auditor())                                    # T-90 and T-60 ran
    world.set_delivery("NJ-JY-01", D(2027, 9, 30))
    slots = world.slots(schedule)
    assert [(s.slot_date, s.status) for s in slots] == [
        (D(2027, 4, 1), "done"), (D(2027, 5, 1), "done"),
        (D(2027, 7, 2), "pending"), (D(2027, 8, 1), "pending"), (D(2027, 8, 31), "pending"),
        (D(2027, 9, 16), "pending"), (D(2027, 9, 23), "pending")]
    assert world.schedule_row(schedule).delivery_source == "project"
    world.clock.set(at("2027-07-02"))
    run_due(world.auditor())
    assert [r.slot_date for r in world.runs()][-1] == D(2027, 7, 2)
    assert world.runs()[-1].body["days_to_delivery"] == 90


def test_a_new_checklist_with_another_delivery_date_moves_the_slots(
        world: World, delivery_checklist: Make) -> None:
    schedule = _setup(world, delivery_checklist)
    world.clock.set(at("2027-04-02"))
    run_due(world.auditor())
    world.submit(delivery_checklist(delivery=D(2027, 7, 30), as_of=D(2027, 4, 2)))
    world.clock.set(at("2027-05-01"))
    report = run_due(world.auditor())
    assert report.replanned == 1
    # The old T-60 (05-01) moved to the new T-90 (05-01): same day, so it runs now, once.
    assert [s.slot_date for s in world.slots(schedule)] == [
        D(2027, 4, 1), D(2027, 5, 1), D(2027, 5, 31), D(2027, 6, 30), D(2027, 7, 16),
        D(2027, 7, 23)]
    assert [r.slot_date for r in world.runs()] == [D(2027, 4, 1), D(2027, 5, 1)]
    assert run_due(world.auditor()).replanned == 0


def test_a_project_without_any_checklist_fails_its_audit(
        world: World, policy: Any) -> None:
    world.project("WX-01")
    world.set_delivery("WX-01", DELIVERY)
    world.schedule("WX-01")
    run_due(world.auditor(), now=at("2027-04-01"))
    (run,) = world.runs()
    assert run.gate == "fail" and run.checklist_id is None
    assert [f["rule_id"] for f in run.body["findings"]] == [policy.findings["missing"].id]


def test_a_failing_run_is_retried_with_backoff_and_later_slots_wait(
        world: World, delivery_checklist: Make, policy: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = _setup(world, delivery_checklist)
    auditor = world.auditor()
    evaluate = auditor.evaluator.evaluate
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the rule engine hiccuped")
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(auditor.evaluator, "evaluate", flaky)
    world.clock.set(at("2027-05-01", 1))                      # T-90 and T-60 both due
    failed = run_due(auditor)
    assert failed.runs == [] and len(failed.failed) == 1      # T-60 waits behind T-90
    first = world.slots(schedule)[0]
    assert (first.status, first.attempts) == ("pending", 1)
    assert "hiccuped" in (first.last_error or "") and first.retry_at is not None
    assert run_due(auditor).runs == []                        # not before its retry time
    world.clock.advance(dt.timedelta(seconds=policy.retry.first_seconds))
    assert [r.slot_date for r in world.runs()] == []
    assert len(run_due(auditor).runs) == 2
    assert [r.slot_date for r in world.runs()] == [D(2027, 4, 1), D(2027, 5, 1)]


def test_a_slot_that_keeps_failing_is_given_up_and_the_next_one_runs(
        world: World, delivery_checklist: Make, policy: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = _setup(world, delivery_checklist)
    auditor = world.auditor()
    evaluate = auditor.evaluator.evaluate

    def broken_on_april_1(checklist: Any, tracked: Any, slot: D, delivery: Any) -> Any:
        if slot == D(2027, 4, 1):
            raise RuntimeError("always")
        return evaluate(checklist, tracked, slot, delivery)

    monkeypatch.setattr(auditor.evaluator, "evaluate", broken_on_april_1)
    world.clock.set(at("2027-05-01", 1))
    for _ in range(policy.retry.max_attempts):
        run_due(auditor)
        world.clock.advance(dt.timedelta(seconds=policy.retry.max_seconds))
    slots = world.slots(schedule)
    assert (slots[0].status, slots[0].attempts) == ("failed", policy.retry.max_attempts)
    assert slots[1].status == "done"
    assert [r.slot_date for r in world.runs()] == [D(2027, 5, 1)]


def test_a_run_raises_the_ledger_gap_for_a_sales_promise_left_out(
        world: World, sales_checklist: Make, delivery_checklist: Make) -> None:
    # P-1 of the sales checklist is carried into delivery (the delivery base lists a P-1);
    # P-9, still in progress, is not: the run says so, as the delivery submission did.
    shuttle = {"id": "P-9", "kind": "shuttle_bus", "channel": "brochure", "in_contract": False,
               "agreement_signed": True, "terms_disclosed": True, "funded": True,
               "status": "in_progress", "due_date": "2027-06-30", "evidence": "班车协议草案"}
    world.submit(sales_checklist("NJ-JY-01", shuttle))
    world.submit(delivery_checklist(as_of=D(2027, 3, 30)))
    world.schedule("NJ-JY-01")
    world.clock.set(at("2027-04-01", 1))
    assert len(run_due(world.auditor()).runs) == 1
    (run,) = world.runs()
    gaps = [f for f in run.body["findings"] if f["rule_id"] == "DELIVERY-LEDGER-001"]
    assert [f["evidence"]["id"] for f in gaps] == ["P-9"]
    assert (gaps[0]["owner"], gaps[0]["change"]) == ("marketing", "new")
    assert "delivery.ledger" in [r["id"] for r in run.body["rulesets"]]
    with world.database.read() as session:
        tracked = {f.fingerprint for f in tracked_findings(session, run.project_id)}
    assert gaps[0]["fingerprint"] in tracked  # the very finding the submission raised
