"""An audit's evaluation: the checklist under the current rulesets, plus its own findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from riskengine.audits.evaluation import AuditEvaluator, ChecklistSnapshot, Tracked
from riskengine.audits.policy import AuditPolicy
from riskengine.vocabulary import FindingStatus, GateDecision, Lang, Owner, Severity

D = dt.date
Make = Callable[..., dict[str, Any]]


def _snapshot(raw: dict[str, Any]) -> ChecklistSnapshot:
    return ChecklistSnapshot("c1", 1, D.fromisoformat(raw["as_of"]), raw)


def test_clean_fresh_checklist_passes(evaluator: AuditEvaluator, delivery_checklist: Make
                                      ) -> None:
    result = evaluator.evaluate(_snapshot(delivery_checklist()), {}, D(2027, 5, 10),
                                D(2027, 6, 30))
    assert result.gate.decision is GateDecision.PASS
    assert result.findings == () and result.checklist_age_days == 9
    assert result.rulesets[-1].id == "delivery.audit"


def test_stale_checklist_raises_its_own_finding_owned_by_crm(
        evaluator: AuditEvaluator, policy: AuditPolicy, delivery_checklist: Make) -> None:
    slot = D(2027, 5, 1) + dt.timedelta(days=policy.max_age_days + 1)
    result = evaluator.evaluate(_snapshot(delivery_checklist()), {}, slot, D(2027, 6, 30))
    (stale,) = result.findings
    spec = policy.findings["stale"]
    assert (stale.rule_id, stale.owner, stale.severity) == (spec.id, Owner.CRM, spec.severity)
    assert stale.evidence["age_days"] == policy.max_age_days + 1
    assert str(policy.max_age_days) in stale.texts[Lang.EN].message
    assert stale.due_date == slot


def test_checklist_exactly_at_the_age_limit_is_not_stale(
        evaluator: AuditEvaluator, policy: AuditPolicy, delivery_checklist: Make) -> None:
    slot = D(2027, 5, 1) + dt.timedelta(days=policy.max_age_days)
    assert evaluator.evaluate(_snapshot(delivery_checklist()), {}, slot, None).findings == ()


def test_no_checklist_is_blocking(evaluator: AuditEvaluator, policy: AuditPolicy) -> None:
    result = evaluator.evaluate(None, {}, D(2027, 5, 1), D(2027, 6, 30))
    (missing,) = result.findings
    assert missing.rule_id == policy.findings["missing"].id and missing.blocking
    assert result.gate.decision is GateDecision.FAIL
    assert "2027-06-30" in missing.texts[Lang.ZH].message


def test_checklist_invalid_under_current_rulesets_is_blocking(
        evaluator: AuditEvaluator, policy: AuditPolicy, delivery_checklist: Make) -> None:
    raw = delivery_checklist()
    raw["checks"]["no_such_check"] = True
    result = evaluator.evaluate(_snapshot(raw), {}, D(2027, 5, 2), D(2027, 6, 30))
    (invalid,) = result.findings
    assert invalid.rule_id == policy.findings["invalid"].id
    assert "no_such_check" in invalid.evidence["problems"]
    assert result.gate.decision is GateDecision.FAIL


def test_tracked_statuses_count_for_the_gate(evaluator: AuditEvaluator,
                                             delivery_checklist: Make) -> None:
    snapshot = _snapshot(delivery_checklist(risky=True))
    slot = D(2027, 5, 2)
    failing = evaluator.evaluate(snapshot, {}, slot, D(2027, 6, 30))
    assert failing.gate.decision is GateDecision.FAIL
    critical = next(f for f in failing.findings if f.severity is Severity.CRITICAL)
    waived = {critical.fingerprint: Tracked(FindingStatus.WAIVED, D(2027, 6, 1))}
    assert evaluator.evaluate(snapshot, waived, slot, None).gate.decision is \
        GateDecision.CONDITIONAL
    lapsed = {critical.fingerprint: Tracked(FindingStatus.WAIVED, D(2027, 5, 1))}
    assert evaluator.evaluate(snapshot, lapsed, slot, None).gate.decision is GateDecision.FAIL
