"""Slots of a schedule, and how they move with the delivery date (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from riskengine.audits import DeliveryDateUnknown, ScheduleInvalid
from riskengine.audits.policy import AuditPolicy
from riskengine.audits.schedule import (
    ScheduleKind,
    Slot,
    compute_slots,
    effective_delivery,
    make_rule,
    replan,
    slot_days,
)

D = dt.date


def test_empty_request_is_the_default_t90_to_t7(policy: AuditPolicy) -> None:
    rule = make_rule({}, policy)
    assert rule.kind is ScheduleKind.DEFAULT
    assert slot_days(rule, D(2027, 6, 30)) == [
        D(2027, 4, 1), D(2027, 5, 1), D(2027, 5, 31), D(2027, 6, 16), D(2027, 6, 23)]


def test_slots_fall_due_at_the_policy_time(policy: AuditPolicy) -> None:
    slots = compute_slots(make_rule({}, policy), D(2027, 6, 30), policy)
    assert slots[0] == Slot(dt.datetime(2027, 4, 1, tzinfo=dt.UTC), D(2027, 4, 1))
    assert all(s.due_at.tzinfo is not None for s in slots)


def test_custom_offsets_are_deduplicated_and_may_follow_delivery(policy: AuditPolicy) -> None:
    rule = make_rule({"offsets_days": [7, 30, 7, -90]}, policy)
    assert rule.kind is ScheduleKind.OFFSETS
    assert slot_days(rule, D(2027, 6, 30)) == [D(2027, 5, 31), D(2027, 6, 23), D(2027, 9, 28)]


@pytest.mark.parametrize(("spec", "field"), [
    pytest.param({"kind": "offsets", "offsets_days": []}, "offsets_days", id="no_offsets"),
    pytest.param({"offsets_days": [99999]}, "offsets_days", id="offset_too_far"),
    pytest.param({"kind": "weekly", "end": D(2027, 1, 1)}, "start", id="weekly_without_start"),
    pytest.param({"kind": "monthly", "start": D(2027, 2, 1), "end": D(2027, 1, 1)}, "end",
                 id="end_before_start"),
    pytest.param({"kind": "weekly", "start": D(2000, 1, 1), "end": D(2030, 1, 1)}, "end",
                 id="too_many_slots"),
    pytest.param({"kind": "weekly", "start": D(2027, 1, 1), "end": D(2027, 2, 1),
                  "interval": 0}, "interval", id="interval_zero"),
])
def test_invalid_rules_name_the_field(policy: AuditPolicy, spec: dict[str, object],
                                      field: str) -> None:
    with pytest.raises(ScheduleInvalid) as caught:
        make_rule(spec, policy)
    assert field in caught.value.details


def test_weekly_recurrence_includes_both_ends(policy: AuditPolicy) -> None:
    rule = make_rule({"kind": "weekly", "start": D(2027, 1, 4), "end": D(2027, 1, 25)}, policy)
    assert slot_days(rule, None) == [D(2027, 1, 4), D(2027, 1, 11), D(2027, 1, 18),
                                     D(2027, 1, 25)]


def test_monthly_recurrence_keeps_its_day_clamped_to_short_months(policy: AuditPolicy) -> None:
    rule = make_rule({"kind": "monthly", "start": D(2027, 1, 31), "end": D(2027, 5, 31)}, policy)
    assert slot_days(rule, D(2030, 1, 1)) == [D(2027, 1, 31), D(2027, 2, 28), D(2027, 3, 31),
                                              D(2027, 4, 30), D(2027, 5, 31)]


def test_every_second_month(policy: AuditPolicy) -> None:
    rule = make_rule({"kind": "monthly", "start": D(2027, 11, 15), "end": D(2028, 6, 1),
                      "interval": 2}, policy)
    assert slot_days(rule, None) == [D(2027, 11, 15), D(2028, 1, 15), D(2028, 3, 15),
                                     D(2028, 5, 15)]


def test_offsets_need_a_delivery_date(policy: AuditPolicy) -> None:
    with pytest.raises(DeliveryDateUnknown) as caught:
        slot_days(make_rule({}, policy), None)
    assert "contract_delivery_date" in caught.value.details


def test_project_date_wins_over_the_checklist() -> None:
    assert effective_delivery(D(2027, 7, 1), D(2027, 6, 30)) == D(2027, 7, 1)
    assert effective_delivery(None, D(2027, 6, 30)) == D(2027, 6, 30)
    assert effective_delivery(None, None) is None


def _slots(policy: AuditPolicy, delivery: dt.date) -> list[Slot]:
    return compute_slots(make_rule({}, policy), delivery, policy)


def test_moving_the_delivery_date_moves_future_slots_only(policy: AuditPolicy) -> None:
    old = _slots(policy, D(2027, 6, 30))
    ran = [s for s in old if s.day <= D(2027, 5, 1)]          # T-90 and T-60 ran
    pending = [s for s in old if s not in ran]
    changed_at = dt.datetime(2027, 5, 10, 9, tzinfo=dt.UTC)
    plan = replan(pending, [s.day for s in old], _slots(policy, D(2027, 9, 30)), changed_at)
    assert plan.remove == (D(2027, 5, 31), D(2027, 6, 16), D(2027, 6, 23))
    # T-90 of the new date (2027-07-02) and later; nothing before the change is planned again
    assert [s.day for s in plan.add] == [D(2027, 7, 2), D(2027, 8, 1), D(2027, 8, 31),
                                         D(2027, 9, 16), D(2027, 9, 23)]


def test_a_due_slot_not_yet_run_stays_when_the_date_moves(policy: AuditPolicy) -> None:
    old = _slots(policy, D(2027, 6, 30))
    changed_at = dt.datetime(2027, 5, 31, 12, tzinfo=dt.UTC)    # T-30 due, not run yet
    plan = replan(old, [s.day for s in old], _slots(policy, D(2027, 7, 30)), changed_at)
    assert D(2027, 5, 31) not in plan.remove
    assert [s.day for s in plan.add] == [D(2027, 6, 30), D(2027, 7, 16), D(2027, 7, 23)]
    assert plan.remove == (D(2027, 6, 16), D(2027, 6, 23))


def test_an_unchanged_date_changes_nothing(policy: AuditPolicy) -> None:
    old = _slots(policy, D(2027, 6, 30))
    plan = replan(old, [s.day for s in old], old, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert plan.remove == () and plan.add == ()
