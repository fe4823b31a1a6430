"""Request and response schemas of the audits' endpoints (documented in the OpenAPI file)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from api.schemas import (
    GateOut,
    Page,
    PageOut,
    RequestSchema,
    ResponseSchema,
    RulesetRefOut,
    SummaryOut,
    project_code,
)
from riskengine.audits import outbox
from riskengine.audits.schedule import ScheduleKind


class ScheduleIn(RequestSchema):
    kind = fields.String(validate=validate.OneOf([k.value for k in ScheduleKind]), metadata={
        "description": "default (T-90/-60/-30/-14/-7; `{}` means this), offsets, weekly, "
                       "monthly"})
    offsets_days = fields.List(fields.Integer(strict=True), validate=validate.Length(max=50),
                               metadata={"description": "days before delivery (negative: after)"})
    start = fields.Date(metadata={"description": "weekly/monthly: first slot"})
    end = fields.Date(metadata={"description": "weekly/monthly: no slot after this date"})
    interval = fields.Integer(strict=True, validate=validate.Range(min=1, max=52))


class SlotOut(ResponseSchema):
    slot_date = fields.Date(required=True)
    due_at = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["pending", "done", "failed"]))
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    run_id = fields.String(allow_none=True)


class ScheduleOut(ResponseSchema):
    id = fields.Integer(required=True)
    project_code = fields.String(required=True)
    kind = fields.String(required=True)
    offsets_days = fields.List(fields.Integer(), allow_none=True)
    start = fields.Date(allow_none=True)
    end = fields.Date(allow_none=True)
    interval = fields.Integer(required=True)
    delivery_date = fields.Date(allow_none=True)
    delivery_source = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    slots = fields.List(fields.Nested(SlotOut), required=True)


class ScheduleListOut(ResponseSchema):
    items = fields.List(fields.Nested(ScheduleOut), required=True)


class DeliveryDateIn(RequestSchema):
    contract_delivery_date = fields.Date(required=True, allow_none=True)


class DeliveryDateOut(ResponseSchema):
    project_code = fields.String(required=True)
    contract_delivery_date = fields.Date(allow_none=True, required=True)
    effective_delivery_date = fields.Date(allow_none=True, required=True)
    source = fields.String(allow_none=True, required=True)


class RunQuery(Page):
    project = project_code()


class DeliveryOut(ResponseSchema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    target = fields.String(required=True)
    recipient = fields.String(required=True)
    status = fields.String(required=True,
                           validate=validate.OneOf(["pending", "delivered", "failed"]))
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class GateChangeOut(ResponseSchema):
    before = fields.String(allow_none=True, required=True)
    after = fields.String(required=True)
    changed = fields.Boolean(required=True)


class DiffOut(ResponseSchema):
    new = fields.List(fields.String(), required=True)
    resolved = fields.List(fields.String(), required=True)
    persisting = fields.List(fields.String(), required=True)
    gate = fields.Nested(GateChangeOut, required=True)
    resolved_findings = fields.List(fields.Dict())


class RunSummaryOut(ResponseSchema):
    id = fields.String(required=True)
    project_code = fields.String(required=True)
    schedule_id = fields.Integer(required=True)
    number = fields.Integer(required=True)
    slot_date = fields.Date(required=True)
    ran_at = fields.DateTime(required=True)
    delivery_date = fields.Date(allow_none=True)
    days_to_delivery = fields.Integer(allow_none=True)
    gate = fields.Nested(GateOut, required=True)
    diff = fields.Nested(DiffOut, required=True)
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                             metadata={"description": "outbox entries by status"})


class RunPageOut(PageOut):
    items = fields.List(fields.Nested(RunSummaryOut), required=True)


class RunOut(RunSummaryOut):
    previous_run_id = fields.String(allow_none=True)
    checklist = fields.Dict(allow_none=True)
    rulesets = fields.List(fields.Nested(RulesetRefOut), required=True)
    summary = fields.Nested(SummaryOut, required=True)
    findings = fields.List(fields.Dict(), required=True)
    escalations = fields.List(fields.Dict(), required=True)
    digests = fields.List(fields.Dict(), required=True)
    delivery_status = fields.List(fields.Nested(DeliveryOut), required=True)


class SubscriptionIn(RequestSchema):
    channel = fields.String(required=True, validate=validate.OneOf(outbox.CHANNELS))
    target = fields.String(required=True, validate=validate.Length(min=3, max=2000), metadata={
        "description": "webhook: an http(s) URL; email: an address"})
    secret = fields.String(validate=validate.Length(min=16, max=128), metadata={
        "description": "webhook signing secret (default: generated, shown once)"})
    recipients = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                             validate=validate.Length(max=50))
    projects = fields.List(project_code(), validate=validate.Length(min=1, max=1000), metadata={
        "description": "the projects whose digests it receives; absent: every project (only "
                       "a token not scoped to projects may ask that); never empty"})

    @validates_schema
    def check_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        target = data.get("target", "")
        if data.get("channel") == outbox.WEBHOOK and not target.startswith(("http://",
                                                                            "https://")):
            raise ValidationError({"target": ["a webhook target is an http:// or https:// URL"]})
        if data.get("channel") == outbox.EMAIL and ("@" not in target or " " in target):
            raise ValidationError({"target": ["an email target is an e-mail address"]})


class SubscriptionOut(ResponseSchema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    target = fields.String(required=True)
    recipients = fields.List(fields.String(), allow_none=True)
    projects = fields.List(fields.String(), allow_none=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    secret = fields.String(metadata={"description": "only in the answer that created it"})


class SubscriptionListOut(ResponseSchema):
    items = fields.List(fields.Nested(SubscriptionOut), required=True)
