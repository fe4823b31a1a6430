"""Request and response schemas of the audits' endpoints (documented in the OpenAPI file)."""

from __future__ import annotations

import urllib.parse
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
from riskengine.audits.robots import DINGTALK, FEISHU, SIGNED, WECOM, webhook_token
from riskengine.audits.schedule import ScheduleKind
from riskengine.refusals import Refusal, refusal
from riskengine.vocabulary import Owner


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
    event = fields.String(metadata={"description": "audit.digest, finding.blocking, …"})
    status = fields.String(required=True,
                           validate=validate.OneOf(["pending", "delivered", "failed"]))
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class DeliveryListOut(ResponseSchema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)


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
    channel = fields.String(required=True, validate=validate.OneOf(outbox.CHANNELS), metadata={
        "description": "webhook (signed JSON), email, wecom (企业微信群机器人), dingtalk "
                       "(钉钉自定义机器人, 加签), feishu (飞书/Lark 自定义机器人, 签名校验)"})
    target = fields.String(required=True, validate=validate.Length(min=3, max=2000), metadata={
        "description": "webhook: an http(s) URL; email: an address; wecom: the robot's webhook "
                       "URL with `key`; dingtalk: its webhook URL with `access_token`; feishu: "
                       "its webhook URL ending in /bot/v2/hook/<id> (any host: Feishu, Lark, a "
                       "private deployment)"})
    secret = fields.String(validate=validate.Length(min=16, max=128), metadata={
        "description": "webhook: signing secret (default: generated, shown once); dingtalk, "
                       "feishu: the secret the robot's security settings show (required); "
                       "not for email or wecom"})
    recipients = fields.List(fields.String(validate=validate.Length(min=1, max=40)),
                             validate=validate.Length(max=50), metadata={
        "description": "whom notices address: owner departments, escalation contacts, people "
                       "mentioned (default: all)"})
    projects = fields.List(project_code(), validate=validate.Length(min=1, max=1000), metadata={
        "description": "the projects whose notices it receives; absent: every project (only "
                       "a token not scoped to projects may ask that); never empty"})
    departments = fields.List(fields.String(validate=validate.OneOf([o.value for o in Owner])),
                              validate=validate.Length(min=1, max=len(Owner)), metadata={
        "description": "owner departments whose findings the notices concern (default: all)"})
    events = fields.List(fields.String(validate=validate.OneOf(outbox.EVENTS)),
                         validate=validate.Length(min=1, max=len(outbox.EVENTS)), metadata={
        "description": "which notices (default: all): " + ", ".join(outbox.EVENTS)})
    lang = fields.String(validate=validate.OneOf(outbox.LANGS), metadata={
        "description": "zh (default) or zh-en: Chinese, then English"})

    @validates_schema
    def check_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        channel, target = data.get("channel"), data.get("target", "")
        if channel == outbox.EMAIL:
            if "@" not in target or " " in target:
                raise ValidationError({"target": [refusal("email_target")]})
        elif channel is not None and not _http_url(target):
            raise ValidationError({"target": [refusal("http_target", channel=_named(channel))]})
        elif channel in ROBOT_SHAPES and webhook_token(channel, target) is None:
            raise ValidationError({"target": [refusal(f"{channel}_target")]})
        elif channel == DINGTALK and {"timestamp", "sign"} & set(
                urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)):
            raise ValidationError({"target": [refusal("leave_out_signature")]})
        if channel in SIGNED and not data.get("secret"):
            raise ValidationError({"secret": [refusal("needs_secret", channel=_named(channel))]})
        if channel in (outbox.EMAIL, WECOM) and data.get("secret"):
            raise ValidationError({"secret": [refusal("no_secret", channel=_named(channel))]})


ROBOT_SHAPES = (WECOM, DINGTALK, FEISHU)  # each target's shape: refusals' `<channel>_target`


def _named(channel: str) -> Refusal:
    return refusal(f"channel_{channel}")


def _http_url(text: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in text


class SubscriptionOut(ResponseSchema):
    id = fields.Integer(required=True)
    channel = fields.String(required=True)
    target = fields.String(required=True, metadata={
        "description": "a robot's key or token is shown cut to its first 4 characters"})
    recipients = fields.List(fields.String(), allow_none=True)
    projects = fields.List(fields.String(), allow_none=True)
    departments = fields.List(fields.String(), allow_none=True)
    events = fields.List(fields.String(), allow_none=True)
    lang = fields.String()
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    secret = fields.String(metadata={"description": "only in the answer that created it"})


class SubscriptionListOut(ResponseSchema):
    items = fields.List(fields.Nested(SubscriptionOut), required=True)
