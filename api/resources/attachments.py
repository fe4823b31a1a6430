"""Evidence attachments: photos and PDFs on findings and on checklist items, uploaded as
`multipart/form-data` (field `file`), downloaded with their thumbnails, removed as an event."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from api.answers import answer
from api.auth import Principal, current
from api.errors import Forbidden, NotFound
from api.lookups import project_or_404
from api.openapi import errors
from api.permissions import may_attach, may_remove_attachment
from api.render import stamp
from api.schemas import (
    AttachmentListOut,
    AttachmentOut,
    AttachmentQuery,
    ItemAttachmentQuery,
    RemovalQuery,
)
from api.state import service
from api.uploads import read_upload
from riskengine.attachments import evidence
from riskengine.attachments.content import ACCEPTED
from riskengine.attachments.references import item_files
from riskengine.errors import Invalid
from riskengine.refusals import refusal, refused
from riskengine.store import attachments as stored
from riskengine.store import models as m
from riskengine.store.findings import get_finding
from riskengine.vocabulary import Stage

blp = Blueprint("attachments", __name__, url_prefix="/api/v1",
                description="Evidence files (photos, PDFs) on findings and checklist items")

_FORM: dict[str, Any] = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": (
        "a photo (JPEG, PNG, WebP, HEIC) or a PDF; its type is read from its bytes")}}}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": _FORM}}}
ITEM_UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    **_FORM, "required": ["file", "stage", "item"], "properties": {
        **_FORM["properties"],
        "stage": {"type": "string", "enum": [s.value for s in Stage]},
        "item": {"type": "string", "maxLength": 400, "description": (
            "the list and the item's contract identity, as fingerprints name it: "
            "promises/P-2, permits/presale, inspections/mock_1")}}}}}}
UPLOAD_NOTE = (
    "Images are re-encoded with their EXIF orientation applied and every metadata block "
    "dropped (EXIF with GPS and camera serial, XMP, ICC, text); the photo's capture time is "
    "kept as `captured_at`. PDFs are kept byte for byte. The same bytes sent again to the same "
    "place answer the first attachment (`Idempotent-Replayed: true`).")
DOWNLOAD = {200: {"description": "the stored bytes", "content": {
    t: {"schema": {"type": "string", "format": "binary"}}
    for t in {*ACCEPTED, "image/jpeg"} - {"image/heic"}}}}


def attachment_body(held: stored.Held) -> dict[str, Any]:
    row, removal = held.row, held.removal
    return {
        "id": row.id, "project_code": held.code, "finding_id": row.finding_id,
        "stage": row.stage, "item": row.item, "media_type": row.media_type,
        "file_name": row.file_name, "size": row.size, "sha256": row.blob_id,
        "width": row.width, "height": row.height, "pages": row.pages,
        "captured_at": row.captured_at, "uploaded_at": stamp(row.uploaded_at),
        "uploaded_by": row.uploaded_by,
        "download": url_for("attachments.AttachmentView", attachment_id=row.id),
        "thumbnail": url_for("attachments.ThumbnailView", attachment_id=row.id)
        if row.thumbnail_id else None,
        "removed": {"removed_by": removal.removed_by, "removed_at": stamp(removal.removed_at),
                    "reason": removal.reason} if removal is not None else None}


def _created(held: stored.Held, new: bool) -> Response:
    headers = None if new else {"Idempotent-Replayed": "true"}
    return answer(AttachmentOut, attachment_body(held), 201, headers)


def _refuse_auditors(principal: Principal, owner: str | None) -> None:
    if not may_attach(principal, owner, service().assessor.catalog.policy.workflow):
        raise Forbidden(refusal("may_not_attach"), {"role": [refusal(
            "may_not_attach_finding_hint" if owner else "may_not_attach_item_hint")]})


@blp.route("/findings/<finding_id>/attachments")
class FindingAttachments(MethodView):
    @blp.arguments(AttachmentQuery, location="query")
    @blp.response(200, AttachmentListOut)
    @errors(blp, 404, 422)
    def get(self, query: dict[str, Any], finding_id: str) -> Response:
        """A finding's evidence files, oldest first (`removed=true`: removed ones too)."""
        principal = current()
        with service().database.read() as session:
            if get_finding(session, finding_id, principal.projects) is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            items = [attachment_body(h)
                     for h in stored.of_finding(session, finding_id, query["removed"])]
        return answer(AttachmentListOut, {"items": items}, 200)

    @blp.doc(requestBody=UPLOAD_BODY, description=UPLOAD_NOTE)
    @blp.response(201, AttachmentOut)
    @errors(blp, 400, 403, 404, 413, 422)
    def post(self, finding_id: str) -> Response:
        """Attach a photo or a PDF to a finding (recorded in its history)."""
        principal, state = current(), service()
        with state.database.write() as session:
            found = get_finding(session, finding_id, principal.projects, lock=True)
            if found is None:  # scope first: another project's finding is simply not found
                raise NotFound(refusal("finding_not_found", id=finding_id))
            row, code = found
            _refuse_auditors(principal, row.owner)
            attachment, new = evidence.attach_to_finding(session, row, read_upload(),
                                                         state.storage, principal.actor)
            answer = _created(stored.Held(attachment, code, None), new)
        return answer


@blp.route("/projects/<code>/items/attachments")
class ItemAttachments(MethodView):
    @blp.arguments(ItemAttachmentQuery, location="query")
    @blp.response(200, AttachmentListOut)
    @errors(blp, 404, 422)
    def get(self, query: dict[str, Any], code: str) -> Response:
        """Evidence files on a project's checklist items (of one stage and item if given; with
        both, the files the latest checklist names on that item too)."""
        principal = current()
        with service().database.read() as session:
            project = project_or_404(session, code, principal)
            stage, item = query.get("stage"), query.get("item")
            held = item_files(session, project.id, stage, item, query["removed"]) \
                if stage and item else stored.of_items(session, project.id, stage, item,
                                                       query["removed"])
            items = [attachment_body(h) for h in held]
        return answer(AttachmentListOut, {"items": items}, 200)

    @blp.doc(requestBody=ITEM_UPLOAD_BODY, description=UPLOAD_NOTE)
    @blp.response(201, AttachmentOut)
    @errors(blp, 400, 403, 404, 413, 422)
    def post(self, code: str) -> Response:
        """Attach a photo or a PDF to an item of the project's latest checklist of a stage."""
        principal, state = current(), service()
        with state.database.write() as session:
            project = project_or_404(session, code, principal, lock=True)
            _refuse_auditors(principal, None)
            upload = read_upload()
            stage, item = _item_form()
            attachment, new = evidence.attach_to_item(session, project, stage, item, upload,
                                                      state.storage, principal.actor)
            answer = _created(stored.Held(attachment, project.code, None), new)
        return answer


def _item_form() -> tuple[Stage, str]:
    stage, item = request.form.get("stage", ""), request.form.get("item", "").strip()
    if stage not in set(Stage):
        raise refused(Invalid, "stage", "attachment_stage")
    if not item or len(item) > 400:
        raise refused(Invalid, "item", "attachment_item")
    return Stage(stage), item


def _visible(session: Any, attachment_id: str, principal: Principal,
             lock: bool = False) -> stored.Held:
    held = stored.get_attachment(session, attachment_id, principal.projects, lock)
    if held is None:
        raise NotFound(refusal("attachment_not_found", id=attachment_id))
    return held


def _bytes(attachment_id: str, thumbnail: bool) -> Response:
    principal, state = current(), service()
    with state.database.read() as session:
        held = _visible(session, attachment_id, principal)
        found = evidence.content(session, state.storage, held.row, thumbnail)
        name = held.row.file_name
    if found is None:
        raise refused(NotFound, "thumbnail", "no_thumbnail", id=attachment_id)
    data, media_type = found
    quoted = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in name)
    return Response(data, mimetype=media_type, headers={
        "Content-Disposition": f'inline; filename="{quoted or attachment_id}"',
        "Cache-Control": "private, max-age=31536000, immutable"})


@blp.route("/attachments/<attachment_id>")
class AttachmentView(MethodView):
    @blp.doc(responses=DOWNLOAD)
    @errors(blp, 404)
    def get(self, attachment_id: str) -> Response:
        """An attachment's stored bytes (a removed one too: history is kept)."""
        return _bytes(attachment_id, thumbnail=False)

    @blp.arguments(RemovalQuery, location="query")
    @blp.response(200, AttachmentOut)
    @errors(blp, 403, 404, 409, 422)
    def delete(self, query: dict[str, Any], attachment_id: str) -> Response:
        """Remove an attachment from the listings (who, when, `reason`); its bytes stay."""
        principal = current()
        with service().database.write() as session:
            held = _visible(session, attachment_id, principal, lock=True)
            if not may_remove_attachment(principal, held.row.uploaded_by):
                raise refused(Forbidden, "role", "may_not_remove_attachment")
            finding = session.get(m.Finding, held.row.finding_id) if held.row.finding_id \
                else None
            removal = evidence.remove(session, held, query["reason"], principal.actor, finding)
            body = attachment_body(stored.Held(held.row, held.code, removal))
        return answer(AttachmentOut, body, 200)


@blp.route("/attachments/<attachment_id>/thumbnail")
class ThumbnailView(MethodView):
    @blp.doc(responses={200: {"description": "a JPEG at most 320 px on its longer side",
                              "content": {"image/jpeg": {"schema": {
                                  "type": "string", "format": "binary"}}}}})
    @errors(blp, 404)
    def get(self, attachment_id: str) -> Response:
        """An image attachment's thumbnail (a PDF has none: 404)."""
        return _bytes(attachment_id, thumbnail=True)
