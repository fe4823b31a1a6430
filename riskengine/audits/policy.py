"""Load rulesets/audit.yaml: slot timing, the audit's own findings, escalation, delivery retries."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, fields, validate

from riskengine.audits import AuditPolicyInvalid
from riskengine.refusals import refusal
from riskengine.rules.catalog import DEFAULT_ROOT, load_policy
from riskengine.rules.files import StrictSchema, problem_lines, read_rule_file, texts
from riskengine.vocabulary import Category, Lang, Owner, Severity

FILE_NAME = "audit.yaml"
FINDING_KINDS = ("stale", "missing", "invalid")


@dataclass(frozen=True)
class FindingSpec:
    """An audit's own finding, described like a rule: texts, severity, owner."""

    id: str
    title: Mapping[Lang, str]
    category: Category
    severity: Severity
    blocking: bool
    owner: Owner
    support: tuple[Owner, ...]
    source: Mapping[Lang, str]
    message: Mapping[Lang, str]
    action: Mapping[Lang, str]


@dataclass(frozen=True)
class EscalationStep:
    within_days: int
    to: str


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    first_seconds: float
    factor: float
    max_seconds: float


@dataclass(frozen=True)
class AuditPolicy:
    ruleset: str
    version: str
    content_hash: str
    default_offsets: tuple[int, ...]
    run_at: dt.time
    timezone: dt.tzinfo
    max_offset_days: int
    max_slots: int
    scheduler_interval: float
    max_age_days: int
    due_within_days: int
    escalation: Mapping[Severity, EscalationStep]
    timeout_seconds: float
    retry: RetryPolicy
    signature_tolerance: int
    findings: Mapping[str, FindingSpec]

    def due_at(self, slot: dt.date) -> dt.datetime:
        """Return the UTC instant a slot on this date falls due."""
        local = dt.datetime.combine(slot, self.run_at, tzinfo=self.timezone)
        return local.astimezone(dt.UTC)


_Strict = StrictSchema
_text = texts


def _positive(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kwargs)


class _ScheduleSchema(_Strict):
    default_offsets_days = fields.List(fields.Integer(strict=True), required=True,
                                       validate=validate.Length(min=1))
    run_at = fields.Time(required=True)
    timezone = fields.String(required=True)
    max_offset_days = _positive(required=True)
    max_slots = _positive(required=True)
    scheduler_interval_seconds = fields.Float(required=True, validate=validate.Range(min=0.01))


class _FindingSchema(_Strict):
    id = fields.String(required=True, validate=validate.Regexp(r"^DELIVERY-AUDIT-\d{3}$"))
    title = _text()
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    severity = fields.String(required=True, validate=validate.OneOf([s.value for s in Severity]))
    blocking = fields.Boolean(required=True)
    owner = fields.String(required=True, validate=validate.OneOf([o.value for o in Owner]))
    support = fields.List(fields.String(validate=validate.OneOf([o.value for o in Owner])),
                          load_default=list)
    source = _text()
    message = _text()
    action = _text()


class _EscalationSchema(_Strict):
    within_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    to = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class _DeliverySchema(_Strict):
    timeout_seconds = fields.Float(required=True, validate=validate.Range(min=0.1))
    max_attempts = _positive(required=True)
    backoff_first_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    backoff_factor = fields.Float(required=True, validate=validate.Range(min=1))
    backoff_max_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    signature_tolerance_seconds = _positive(required=True)


_SEVERITIES = [s.value for s in Severity]


class _PolicySchema(_Strict):
    ruleset = fields.String(required=True)
    version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+\.\d+$"))
    title = _text()
    schedule = fields.Nested(_ScheduleSchema, required=True)
    checklist = fields.Dict(keys=fields.String(validate=validate.OneOf(["max_age_days"])),
                            values=fields.Integer(strict=True, validate=validate.Range(min=0)),
                            required=True, validate=validate.Length(equal=1))
    digest = fields.Dict(keys=fields.String(validate=validate.OneOf(["due_within_days"])),
                         values=fields.Integer(strict=True, validate=validate.Range(min=0)),
                         required=True, validate=validate.Length(equal=1))
    escalation = fields.Dict(keys=fields.String(validate=validate.OneOf(_SEVERITIES)),
                             values=fields.Nested(_EscalationSchema), required=True)
    delivery = fields.Nested(_DeliverySchema, required=True)
    findings = fields.Dict(keys=fields.String(validate=validate.OneOf(FINDING_KINDS)),
                           values=fields.Nested(_FindingSchema), required=True,
                           validate=validate.Length(equal=len(FINDING_KINDS)))


def _spec(data: Mapping[str, Any]) -> FindingSpec:
    def text(key: str) -> dict[Lang, str]:
        return {Lang(k): v for k, v in data[key].items()}

    return FindingSpec(
        id=data["id"], title=text("title"), category=Category(data["category"]),
        severity=Severity(data["severity"]), blocking=data["blocking"], owner=Owner(data["owner"]),
        support=tuple(Owner(s) for s in data["support"]), source=text("source"),
        message=text("message"), action=text("action"))


def _zone(name: str) -> dt.tzinfo:
    if name == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError({"schedule": {"timezone": [
            refusal("unknown_time_zone", name=repr(name))]}}) from error


def _build(data: Mapping[str, Any], content: bytes, contacts: Mapping[Severity, str]
           ) -> AuditPolicy:
    schedule, delivery = data["schedule"], data["delivery"]
    offsets = tuple(schedule["default_offsets_days"])
    if any(abs(o) > schedule["max_offset_days"] for o in offsets):
        raise ValidationError({"schedule": {"default_offsets_days": [
            refusal("beyond_max_offset")]}})
    specs = {kind: _spec(spec) for kind, spec in data["findings"].items()}
    if any(s.severity is Severity.CRITICAL and not s.blocking for s in specs.values()):
        raise ValidationError({"findings": [refusal("critical_finding_blocking")]})
    return AuditPolicy(
        ruleset=data["ruleset"], version=data["version"],
        content_hash=hashlib.sha256(content).hexdigest()[:16],
        default_offsets=offsets, run_at=schedule["run_at"], timezone=_zone(schedule["timezone"]),
        max_offset_days=schedule["max_offset_days"], max_slots=schedule["max_slots"],
        scheduler_interval=schedule["scheduler_interval_seconds"],
        max_age_days=data["checklist"]["max_age_days"],
        due_within_days=data["digest"]["due_within_days"],
        escalation={Severity(k): EscalationStep(v["within_days"], v["to"] or contacts[Severity(k)])
                    for k, v in data["escalation"].items()},
        timeout_seconds=delivery["timeout_seconds"],
        retry=RetryPolicy(delivery["max_attempts"], delivery["backoff_first_seconds"],
                          delivery["backoff_factor"], delivery["backoff_max_seconds"]),
        signature_tolerance=delivery["signature_tolerance_seconds"], findings=specs)


def load_audit_policy(root: Path = DEFAULT_ROOT) -> AuditPolicy:
    """Load `<root>/audit.yaml` (the rule files' one schema family); raise AuditPolicyInvalid
    listing every problem."""
    path = root / FILE_NAME
    data, content = read_rule_file(path, _PolicySchema(), AuditPolicyInvalid)
    # Escalation contacts are policy.yaml's, so they take part in the audit policy's version.
    contacts = load_policy(root / "policy.yaml").escalation
    content += "".join(f"\n{s.value}={c}" for s, c in sorted(contacts.items())).encode()
    try:
        return _build(data, content, contacts)
    except ValidationError as error:
        raise AuditPolicyInvalid(refusal("rule_file_invalid", name=FILE_NAME),
                                 {str(path): list(problem_lines(error.messages))}) from error
