"""Request and response schemas: they validate what clients send, and document and serialise
every answer (`api.schemas.dumping`). The audits' endpoints have theirs in `api.schemas.audits`."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate

from api.schemas.dumping import schema_dumper
from riskengine.checklist.contract import PROJECT_CODE, PROJECT_CODE_PATTERN
from riskengine.refusals import refusal
from riskengine.vocabulary import FindingStatus, GateDecision, Lang, Owner, Severity, Stage

# Set by the service from the caller, the clock or the data: a client sending one gets 422.
SERVER_OWNED = frozenset({
    "id", "created_at", "created_by", "updated_at", "submitted_at", "reviewer", "computed_gate",
    "content_hash", "gate", "stage_gate", "events", "waivers", "granted_by", "project_code",
    "assessment", "latest_assessment_id", "status_changed_at", "token_id", "fingerprint",
    "rule_id", "owner", "severity", "audit_run",
})
MAX_TEXT = 10_000


def _values(enum: Any) -> list[str]:
    return [v.value for v in enum]


def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=MAX_TEXT), **kwargs)


class RequestSchema(Schema):
    """Unknown fields are refused; server-owned ones are named as such."""

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_server_owned(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            owned = {k: [refusal("server_owned")] for k in data
                     if k in SERVER_OWNED and k not in self.fields}
            if owned:
                raise ValidationError(owned)
        return data


class ResponseSchema(Schema):
    """An answer's schema: it documents the answer and serialises it (compiled into plain code,
    `api.schemas.dumping`): a field it does not declare is not in the answer."""

    class Meta:
        unknown = EXCLUDE

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if self.only or self.exclude:  # a narrowed instance: marshmallow's own walk
            return super().dump(obj, many=many)
        return schema_dumper(type(self), self.many if many is None else many)(obj)


class Page(RequestSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def project_code(**options: Any) -> fields.String:
    """A project code: checked up to the end of the text (Python's `$` lets a final newline
    through), documented with the contract's pattern (`\\Z` is not JSON Schema)."""
    return fields.String(validate=validate.Regexp(PROJECT_CODE), **options,
                         metadata={"pattern": PROJECT_CODE_PATTERN})


class LangQuery(RequestSchema):
    lang = fields.String(validate=validate.OneOf(_values(Lang)),
                         metadata={"description": "zh (default) or en; Accept-Language also works"})


class ProjectIn(RequestSchema):
    code = project_code(required=True)
    name = fields.String(allow_none=True, validate=validate.Length(max=4000))
    city = fields.String(allow_none=True, validate=validate.Length(max=4000))


class ProjectQuery(Page):
    city = _text()
    stage = fields.String(validate=validate.OneOf(_values(Stage)))
    gate = fields.String(validate=validate.OneOf(_values(GateDecision)))


class FindingQuery(Page, LangQuery):
    project = project_code()
    owner = fields.String(validate=validate.Length(max=16))
    severity = fields.List(fields.String(validate=validate.OneOf(_values(Severity))))
    status = fields.List(fields.String(validate=validate.OneOf(_values(FindingStatus))))
    stage = fields.String(validate=validate.OneOf(_values(Stage)))
    rule_id = fields.String(validate=validate.Length(max=64))
    overdue = fields.Boolean()


class WaiverIn(RequestSchema):
    justification = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    approver = fields.String(validate=validate.Length(min=1, max=200),
                             metadata={"description": "defaults to the authenticated reviewer"})
    expires = fields.Date(required=True)


class EvidenceIn(RequestSchema):
    """What shows a finding is fixed, given when resolving it (required when its rule says
    `closure: {evidence: required}`): a note, references, and (once stored files exist)
    attachment ids."""

    note = _text(load_default="")
    references = fields.List(fields.String(validate=validate.Length(min=1, max=2000)),
                             load_default=list, validate=validate.Length(max=50))
    attachments = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                              load_default=list, validate=validate.Length(max=50),
                              metadata={"description": "ids of stored evidence files"})


class FindingPatch(RequestSchema):
    status = fields.String(validate=validate.OneOf(_values(FindingStatus)), metadata={
        "description": "verified (or in_progress with a reason: rejected) from resolved is a "
                       "verifier's act"})
    notes = _text()
    reason = _text()
    version = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": "the version you read; If-Match with the ETag works too"})
    waiver = fields.Nested(WaiverIn)
    evidence = fields.Nested(EvidenceIn)
    due_date = fields.Date(metadata={"description": "a due date set by hand (reviewers); a "
                                                    "re-submission never overwrites it"})
    assign_to = fields.String(validate=validate.OneOf(_values(Owner)), metadata={
        "description": "reassign to a department (reviewers); kept across re-submissions"})


class WaiverRequestIn(RequestSchema):
    justification = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    expires = fields.Date(required=True)


class WaiverDecisionIn(RequestSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "deny"]))
    reason = _text(load_default="")


class WaiverRequestQuery(LangQuery):
    pass


class CommentIn(RequestSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


BULK_ACTIONS = ("assign", "set_due_date", "start", "request_verification")


class BulkFilterIn(RequestSchema):
    project = project_code()
    owner = fields.String(validate=validate.Length(max=16))
    severity = fields.List(fields.String(validate=validate.OneOf(_values(Severity))))
    status = fields.List(fields.String(validate=validate.OneOf(_values(FindingStatus))))
    stage = fields.String(validate=validate.OneOf(_values(Stage)))
    rule_id = fields.String(validate=validate.Length(max=64))
    overdue = fields.Boolean()


class BulkIn(RequestSchema):
    action = fields.String(required=True, validate=validate.OneOf(BULK_ACTIONS))
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=32)),
                      validate=validate.Length(min=1, max=200),
                      metadata={"description": "the findings; or give `filter`"})
    filter = fields.Nested(BulkFilterIn, metadata={"description": "the findings the listing "
                                                                  "would return (at most 200)"})
    assign_to = fields.String(validate=validate.OneOf(_values(Owner)))
    due_date = fields.Date()
    reason = _text(load_default="")
    evidence = fields.Nested(EvidenceIn)


class ReviewIn(RequestSchema):
    stage = fields.String(required=True, validate=validate.OneOf(_values(Stage)))
    decision = fields.String(required=True, validate=validate.OneOf(_values(GateDecision)))
    comments = _text(load_default="")
    assessment_id = fields.String(validate=validate.Length(max=32), metadata={
        "description": "the assessment judged; defaults to the stage's latest"})
    override_justification = fields.String(validate=validate.Length(min=1, max=MAX_TEXT), metadata={
        "description": "admin only: record pass although the computed gate is fail"})


class ReviewQuery(RequestSchema):
    stage = fields.String(validate=validate.OneOf(_values(Stage)))


class ErrorBody(ResponseSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    request_id = fields.String()


class ErrorSchema(ResponseSchema):
    error = fields.Nested(ErrorBody, required=True)


class RulesetRefOut(ResponseSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String()


class GateOut(ResponseSchema):
    decision = fields.String(required=True, validate=validate.OneOf(_values(GateDecision)))
    blocking = fields.List(fields.String(), required=True,
                           metadata={"description": "fingerprints of the blocking findings"})
    blocking_ids = fields.List(fields.String(), metadata={
        "description": "the same findings' tracked ids, in the same order (stored assessments)"})


class WaiverOut(ResponseSchema):
    id = fields.String(required=True)
    justification = fields.String(required=True)
    approver = fields.String(required=True)
    expires = fields.Date(required=True)
    granted_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    holds = fields.Boolean(metadata={"description": "false once expired: the finding is open"})


class FindingOut(ResponseSchema):
    rule_id = fields.String(required=True)
    ruleset = fields.String(required=True)
    category = fields.String(required=True)
    severity = fields.String(required=True)
    blocking = fields.Boolean(required=True)
    title = fields.String(required=True)
    message = fields.String(required=True)
    subject = fields.String(required=True)
    evidence = fields.Dict(required=True)
    owner = fields.String(required=True)
    support = fields.List(fields.String(), required=True)
    action = fields.String(required=True)
    due_date = fields.Date(required=True)
    escalation = fields.String(required=True)
    source = fields.String(required=True)
    fingerprint = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(_values(FindingStatus)))
    id = fields.String(metadata={"description": "stored findings: the id to PATCH"})
    change = fields.String(validate=validate.OneOf(["new", "persisting"]))
    version = fields.Integer()
    notes = fields.String()
    waiver = fields.Nested(WaiverOut, allow_none=True)
    project_code = fields.String()
    stage = fields.String()
    overdue = fields.Boolean()
    milestone_due_date = fields.Date(metadata={"description": "the milestone-based due date"})
    sla_due_date = fields.Date(allow_none=True, metadata={
        "description": "first seen (or a waiver's lapse) plus the severity's SLA days"})
    due_set_by_hand = fields.Boolean(metadata={"description": "due_date was set by a reviewer"})
    days_left = fields.Integer(allow_none=True, metadata={
        "description": "days to due_date while worked (negative: overdue); null once closed"})
    sla_breached = fields.Boolean()
    effective_on = fields.Date(metadata={"description": "the rule's effective date, when it has "
                                                        "one"})
    in_force = fields.Boolean(metadata={"description": "false: reported, not counted toward the "
                                                       "gate until effective_on"})


class WaiverRequestOut(ResponseSchema):
    id = fields.String(required=True)
    finding_id = fields.String(required=True)
    project_code = fields.String()
    justification = fields.String(required=True)
    expires = fields.Date(required=True)
    requested_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["pending", "approved", "denied"]))
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    waiver_id = fields.String(allow_none=True)


class WaiverRequestListOut(ResponseSchema):
    items = fields.List(fields.Nested(WaiverRequestOut), required=True)


class CommentOut(ResponseSchema):
    id = fields.String(required=True)
    finding_id = fields.String(required=True)
    author = fields.String(required=True)
    body = fields.String(required=True)
    mentions = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)


class NoticeOut(ResponseSchema):
    kind = fields.String(required=True, validate=validate.OneOf(
        ["waiver_reminder", "waiver_lapsed", "mention"]))
    recipient = fields.String(required=True, metadata={"description": "a department code"})
    created_at = fields.DateTime(required=True)


class CommentListOut(ResponseSchema):
    items = fields.List(fields.Nested(CommentOut), required=True)


class BulkItemOut(ResponseSchema):
    id = fields.String(required=True)
    ok = fields.Boolean(required=True)
    changed = fields.Boolean()
    status = fields.String()
    version = fields.Integer()
    error = fields.Nested(ErrorBody, allow_none=True)


class BulkOut(ResponseSchema):
    action = fields.String(required=True)
    total = fields.Integer(required=True)
    succeeded = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    items = fields.List(fields.Nested(BulkItemOut), required=True)


class ResolvedOut(ResponseSchema):
    id = fields.String(required=True)
    rule_id = fields.String(required=True)
    fingerprint = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)


class SummaryOut(ResponseSchema):
    by_severity = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_owner = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())


class ChangesOut(ResponseSchema):
    new = fields.List(fields.String(), required=True)
    persisting = fields.List(fields.String(), required=True)
    resolved = fields.List(fields.String(), required=True)


class AssessmentOut(ResponseSchema):
    id = fields.String(metadata={"description": "absent for a stateless evaluation"})
    project_code = fields.String(required=True)
    stage = fields.String(required=True)
    as_of = fields.Date(required=True)
    rulesets = fields.List(fields.Nested(RulesetRefOut), required=True)
    gate = fields.Nested(GateOut, required=True)
    summary = fields.Nested(SummaryOut, required=True)
    findings = fields.List(fields.Nested(FindingOut), required=True)
    checklist_id = fields.String()
    number = fields.Integer()
    content_hash = fields.String()
    gate_at_submission = fields.String()
    created_at = fields.DateTime()
    superseded = fields.Boolean()
    changes = fields.Nested(ChangesOut)
    resolved = fields.List(fields.Nested(ResolvedOut))


class EventOut(ResponseSchema):
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    reason = fields.String(required=True)
    details = fields.Dict(required=True)


class FindingDetailOut(FindingOut):
    events = fields.List(fields.Nested(EventOut), required=True)
    first_assessment_id = fields.String()
    last_assessment_id = fields.String()
    allowed_transitions = fields.List(fields.String())
    waiver_requests = fields.List(fields.Nested(WaiverRequestOut))
    comments = fields.List(fields.Nested(CommentOut))
    notices = fields.List(fields.Nested(NoticeOut), metadata={
        "description": "notices queued about it (delivered through the audits' outbox)"})


class ChecklistOut(ResponseSchema):
    id = fields.String(required=True)
    stage = fields.String(required=True)
    number = fields.Integer(required=True, metadata={"description": "1 for the project's first"})
    as_of = fields.Date(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the body as submitted"})
    submitted_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ChecklistListOut(ResponseSchema):
    items = fields.List(fields.Nested(ChecklistOut), required=True)


class PageOut(ResponseSchema):
    """One page of a listing; subclasses say what its `items` are."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class FindingPageOut(PageOut):
    items = fields.List(fields.Nested(FindingOut), required=True)


class AssessmentRefOut(ResponseSchema):
    id = fields.String(required=True)
    number = fields.Integer(required=True)
    as_of = fields.Date(required=True)
    gate = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ProjectOut(ResponseSchema):
    code = fields.String(required=True)
    name = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    stage = fields.String(allow_none=True, metadata={"description": "of the latest checklist"})
    gate = fields.String(allow_none=True, metadata={"description": "of the latest assessment"})
    latest_assessment_id = fields.String(allow_none=True)
    assessments = fields.Dict(keys=fields.String(), values=fields.Nested(AssessmentRefOut))


class ProjectPageOut(PageOut):
    items = fields.List(fields.Nested(ProjectOut), required=True)


class AuditRunRefOut(ResponseSchema):
    id = fields.String(required=True)
    slot_date = fields.Date(required=True)
    gate = fields.String(required=True, validate=validate.OneOf(_values(GateDecision)))


class ReviewOut(ResponseSchema):
    id = fields.String(required=True)
    project_code = fields.String(required=True)
    stage = fields.String(required=True)
    decision = fields.String(required=True)
    computed_gate = fields.String(required=True)
    reviewer = fields.String(required=True)
    comments = fields.String(required=True)
    override_justification = fields.String(allow_none=True)
    assessment = fields.Dict(required=True, metadata={
        "description": "the frozen reference: id, number and content hash of what was judged"})
    audit_run = fields.Nested(AuditRunRefOut, allow_none=True, metadata={
        "description": "delivery: the project's latest audit run when the review was recorded "
                       "(its gate is what the pre-delivery review reads); null otherwise"})
    status = fields.String(required=True, validate=validate.OneOf(["active", "superseded"]))
    created_at = fields.DateTime(required=True)


class ReviewListOut(ResponseSchema):
    items = fields.List(fields.Nested(ReviewOut), required=True)


class PromiseOut(ResponseSchema):
    id = fields.String(required=True)
    kind = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    evidence = fields.String(allow_none=True)
    description = fields.String(allow_none=True, metadata={"description": "what was promised, "
                                                                         "as last stated"})
    due_date = fields.String(allow_none=True)
    ended = fields.Boolean(required=True)
    in_delivery = fields.Boolean(required=True)
    first_mentioned = fields.Dict(required=True)
    latest = fields.Dict(required=True)
    history = fields.List(fields.Dict(), required=True)
    finding = fields.Dict(allow_none=True)


class PromisesOut(ResponseSchema):
    project_code = fields.String(required=True)
    promises = fields.List(fields.Nested(PromiseOut), required=True)


class RuleOut(ResponseSchema):
    id = fields.String(required=True)
    ruleset = fields.String(required=True)
    title = fields.String(required=True)
    category = fields.String(required=True)
    severity = fields.String(required=True)
    blocking = fields.Boolean(required=True)
    owner = fields.String(required=True)
    support = fields.List(fields.String(), required=True)
    message = fields.String(required=True)
    action = fields.String(required=True)
    source = fields.String(required=True)
    catalogue = fields.List(fields.String())
    due = fields.Dict()
    for_each = fields.String(allow_none=True)


class CheckOut(ResponseSchema):
    type = fields.String(required=True)
    description = fields.String(required=True)
    ruleset = fields.String()


class RulesetOut(ResponseSchema):
    id = fields.String(required=True)
    version = fields.String(required=True)
    hash = fields.String(required=True)
    stage = fields.String(required=True)
    title = fields.String(required=True)
    rules = fields.List(fields.Nested(RuleOut), required=True)


class RulesetsOut(ResponseSchema):
    rulesets = fields.List(fields.Nested(RulesetOut), required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True, metadata={
        "description": "per stage, every `checks` key a checklist may carry"})


class HealthOut(ResponseSchema):
    status = fields.String(required=True)
    checks = fields.Dict()


class AttachmentQuery(RequestSchema):
    removed = fields.Boolean(load_default=False, metadata={
        "description": "true: removed attachments too (each with its `removed` record)"})


class ItemAttachmentQuery(AttachmentQuery):
    stage = fields.String(validate=validate.OneOf(_values(Stage)))
    item = fields.String(validate=validate.Length(min=1, max=400), metadata={
        "description": "a checklist item as fingerprints name it: the list and the item's "
                       "contract identity, e.g. promises/P-2, permits/presale, "
                       "inspections/mock_1"})


class RemovalQuery(RequestSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "why it is removed (required; kept with who and when)"})


class RemovalOut(ResponseSchema):
    removed_by = fields.String(required=True)
    removed_at = fields.DateTime(required=True)
    reason = fields.String(required=True)


class AttachmentOut(ResponseSchema):
    id = fields.String(required=True)
    project_code = fields.String(required=True)
    finding_id = fields.String(allow_none=True)
    stage = fields.String(allow_none=True)
    item = fields.String(allow_none=True)
    media_type = fields.String(required=True, metadata={
        "description": "as sniffed from the bytes (HEIC is kept as JPEG)"})
    file_name = fields.String(required=True, metadata={"description": "as the client named it"})
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    pages = fields.Integer(allow_none=True)
    captured_at = fields.String(allow_none=True, metadata={
        "description": "when the photo was taken (EXIF, the camera's local time; with an "
                       "offset when the camera wrote one): the evidence date"})
    uploaded_at = fields.DateTime(required=True)
    uploaded_by = fields.String(required=True)
    download = fields.String(required=True)
    thumbnail = fields.String(allow_none=True)
    removed = fields.Nested(RemovalOut, allow_none=True)


class AttachmentListOut(ResponseSchema):
    items = fields.List(fields.Nested(AttachmentOut), required=True)
