"""Scheduled pre-delivery audits: slots before the delivery date, runs, diffs, notifications.

A schedule's slots are stored rows; `run-due` claims each due slot exactly once, evaluates the
project's latest delivery checklist, stores the run with its notifications (the outbox) in one
transaction, and delivers the outbox with retries.

The audits' errors are riskengine's (`riskengine.errors.RiskEngineError`, with a `code` and
structured `details`); the API's one table (`api.errors.STATUSES`) gives their statuses.
"""

from __future__ import annotations

from riskengine.errors import NotFound, RiskEngineError

__all__ = ["AuditPolicyInvalid", "DeliveryDateUnknown", "NotFound", "ScheduleInvalid"]


class AuditPolicyInvalid(RiskEngineError):
    """rulesets/audit.yaml failed to load; details map each path to its problems."""

    code = "invalid_audit_policy"


class ScheduleInvalid(RiskEngineError):
    """A schedule cannot be built from what was asked; details say which field and why."""

    code = "invalid_schedule"


class DeliveryDateUnknown(RiskEngineError):
    """Slots count back from a delivery date, and the project has none yet."""

    code = "delivery_date_unknown"

