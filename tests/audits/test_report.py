"""Comparison with the previous run, escalation as the milestone nears, per-owner digests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from riskengine.assessment.findings import Finding
from riskengine.audits.comparison import compare
from riskengine.audits.digest import build_digests
from riskengine.audits.escalation import escalate
from riskengine.audits.evaluation import AuditEvaluator, ChecklistSnapshot
from riskengine.audits.policy import AuditPolicy
from riskengine.vocabulary import FindingStatus, Severity

D = dt.date
DELIVERY = D(2027, 6, 30)


def test_first_run_everything_is_new_and_no_gate_change() -> None:
    result = compare(None, ["a", "b"], None, "fail")
    assert (result.new, result.resolved, result.persisting) == (("a", "b"), (), ())
    assert not result.gate_changed


def test_new_resolved_persisting_and_gate_change() -> None:
    result = compare(["a", "b", "c"], ["c", "d", "a"], "fail", "conditional")
    assert result.new == ("d",)
    assert result.resolved == ("b",)
    assert result.persisting == ("c", "a")
    assert result.gate_changed and result.change_of("d") == "new"
    assert result.to_dict()["gate"] == {"before": "fail", "after": "conditional",
                                        "changed": True}


@pytest.fixture
def risky(evaluator: AuditEvaluator, delivery_checklist: Callable[..., dict[str, Any]]
          ) -> tuple[Finding, ...]:
    raw = delivery_checklist(risky=True)
    return evaluator.evaluate(ChecklistSnapshot("c", 1, D(2027, 5, 1), raw), {}, D(2027, 5, 1),
                              DELIVERY).findings


@pytest.mark.parametrize(("days_before", "escalated"), [
    pytest.param(31, [], id="T-31_nothing"),
    pytest.param(30, ["critical"], id="T-30_critical"),
    pytest.param(14, ["critical"], id="T-14_critical_only_no_high_open"),
    pytest.param(7, ["critical", "medium"], id="T-7_critical_and_medium"),
])
def test_escalation_thresholds_come_from_the_policy(
        policy: AuditPolicy, risky: tuple[Finding, ...], days_before: int,
        escalated: list[str]) -> None:
    slot = DELIVERY - dt.timedelta(days=days_before)
    found = escalate(risky, slot, DELIVERY, policy.escalation)
    assert sorted(e.severity.value for e in found) == escalated
    for each in found:
        assert each.to == policy.escalation[each.severity].to


def test_resolved_or_waived_findings_do_not_escalate(policy: AuditPolicy,
                                                     risky: tuple[Finding, ...]) -> None:
    slot = DELIVERY - dt.timedelta(days=7)
    closed = [f.with_status(FindingStatus.RESOLVED) for f in risky]
    assert escalate(closed, slot, DELIVERY, policy.escalation) == []
    waived = [f.with_status(FindingStatus.WAIVED, DELIVERY) for f in risky]
    assert escalate(waived, slot, DELIVERY, policy.escalation) == []


def test_high_escalates_to_project_gm_at_t14(policy: AuditPolicy, risky: tuple[Finding, ...]
                                             ) -> None:
    high = risky[0].__class__(**{**risky[0].__dict__, "severity": Severity.HIGH,
                                 "blocking": False})
    assert escalate([high], DELIVERY - dt.timedelta(days=15), DELIVERY, policy.escalation) == []
    (step,) = escalate([high], DELIVERY - dt.timedelta(days=14), DELIVERY, policy.escalation)
    assert (step.to, step.days_to_delivery) == ("project_gm", 14)


def test_digests_per_owner_new_due_soon_overdue_escalated(
        policy: AuditPolicy, risky: tuple[Finding, ...]) -> None:
    slot = DELIVERY - dt.timedelta(days=7)     # every due date (T-7) is today: due soon
    comparison = compare([risky[1].fingerprint], [f.fingerprint for f in risky], "fail", "fail")
    escalations = escalate(risky, slot, DELIVERY, policy.escalation)
    digests = {d.recipient: d for d in build_digests(
        risky, comparison, escalations, slot, policy.due_within_days)}
    assert set(digests) == {"engineering", "regional_gm", "department_head"}
    engineering = digests["engineering"].to_dict()
    assert [i["fingerprint"] for i in engineering["new"]] == [risky[0].fingerprint]
    assert engineering["counts"] == {"new": 1, "due_soon": 2, "overdue": 0, "escalated": 0}
    assert digests["regional_gm"].to_dict()["escalated"][0]["from"] == "engineering"


def test_overdue_and_nothing_for_closed_findings(policy: AuditPolicy,
                                                 risky: tuple[Finding, ...]) -> None:
    slot = DELIVERY                               # due dates (T-7) have passed
    comparison = compare([f.fingerprint for f in risky], [f.fingerprint for f in risky],
                         "fail", "fail")
    (digest,) = build_digests(risky, comparison, [], slot, policy.due_within_days)
    assert digest.to_dict()["counts"] == {"new": 0, "due_soon": 0, "overdue": 2,
                                          "escalated": 0}
    closed = [f.with_status(FindingStatus.RESOLVED) for f in risky]
    assert build_digests(closed, comparison, [], slot, policy.due_within_days) == []
