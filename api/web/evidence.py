"""Evidence files on the finding page: the list with thumbnails, an upload form a phone's camera
fills (`capture="environment"`), removal with a reason, and the bytes served to the logged-in
page. The same use cases as the API (riskengine.attachments.evidence), the same permissions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from api.auth import Principal, current
from api.errors import NotFound
from api.permissions import may_attach, may_remove_attachment
from api.state import service
from api.uploads import read_upload
from api.web.blueprint import lang, t
from riskengine.attachments import evidence
from riskengine.attachments.references import item_files
from riskengine.errors import RiskEngineError
from riskengine.refusals import refusal
from riskengine.store import attachments as stored
from riskengine.store import models as m
from riskengine.store.findings import get_finding


def attachment_views(db: Session, row: m.Finding) -> list[dict[str, Any]]:
    """A finding's attachments (not removed) as the page shows them, then those of the
    checklist item it is raised on (`on_item`)."""
    item = evidence.item_of(db, row)
    own = stored.of_finding(db, row.id)
    mine = {h.row.id for h in own}  # a finding's file its item names too is shown once
    on_item = [h for h in item_files(db, row.project_id, row.stage, item)
               if h.row.id not in mine] if item else []
    return [{"id": h.row.id, "file_name": h.row.file_name or h.row.id[:8],
             "image": h.row.thumbnail_id is not None, "pages": h.row.pages,
             "captured_at": h.row.captured_at, "uploaded_by": h.row.uploaded_by,
             "uploaded_at": h.row.uploaded_at, "size_kb": max(1, h.row.size // 1024),
             "width": h.row.width, "height": h.row.height, "on_item": shown_on}
            for h, shown_on in [*((h, None) for h in own),
                                *((h, item) for h in on_item)]]


def attachment_abilities(principal: Principal, row: m.Finding) -> dict[str, Any]:
    return {"attach": may_attach(principal, row.owner,
                                 service().assessor.catalog.policy.workflow),
            "limit_mb": service().storage.limit // (1024 * 1024)}


def attach(finding_id: str) -> Response:
    """Upload a photo or a PDF to a finding; back to its page."""
    principal, state = current(), service()
    try:
        with state.database.write() as db:
            found = get_finding(db, finding_id, principal.projects, lock=True)
            if found is None:
                raise NotFound(refusal("finding_not_found", id=finding_id))
            if not may_attach(principal, found[0].owner, state.assessor.catalog.policy.workflow):
                abort(403)
            _, created = evidence.attach_to_finding(db, found[0], read_upload(), state.storage,
                                                    principal.actor)
        flash(t("attached" if created else "attached_again"), "ok")
    except RiskEngineError as error:
        message, details = error.in_lang(lang().value)
        shown = "; ".join(str(v) for vs in details.values() for v in
                          (vs if isinstance(vs, list) else [vs]))
        flash(f"{message}（{shown}）" if shown else message, "error")
    return redirect(url_for("web.finding", finding_id=finding_id) + "#attachments-h")


def _held(db: Session, attachment_id: str, lock: bool = False) -> stored.Held:
    held = stored.get_attachment(db, attachment_id, current().projects, lock)
    if held is None:
        raise NotFound(refusal("attachment_not_found", id=attachment_id))
    return held


def _bytes(attachment_id: str, thumbnail: bool) -> Response:
    state = service()
    with state.database.read() as db:
        found = evidence.content(db, state.storage, _held(db, attachment_id).row, thumbnail)
    if found is None:
        abort(404)
    data, media_type = found
    return Response(data, mimetype=media_type,
                    headers={"Cache-Control": "private, max-age=31536000, immutable"})


def attachment_file(attachment_id: str) -> Response:
    return _bytes(attachment_id, thumbnail=False)


def attachment_thumbnail(attachment_id: str) -> Response:
    return _bytes(attachment_id, thumbnail=True)


def remove_attachment(attachment_id: str) -> Response:
    """Take a file off the finding (its record and bytes stay); back to the finding."""
    principal, state = current(), service()
    back = None
    try:
        with state.database.write() as db:
            held = _held(db, attachment_id, lock=True)
            back = held.row.finding_id
            if not may_remove_attachment(principal, held.row.uploaded_by):
                abort(403)
            finding = db.get(m.Finding, back) if back else None
            evidence.remove(db, held, request.form.get("reason", ""), principal.actor, finding)
        flash(t("removed_attachment"), "ok")
    except RiskEngineError as error:
        flash(error.in_lang(lang().value)[0], "error")
    if back is None:
        return redirect(url_for("web.work"))
    return redirect(url_for("web.finding", finding_id=back) + "#attachments-h")


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/work/findings/<finding_id>/attachments", view_func=attach, methods=["POST"])
    bp.add_url_rule("/work/attachments/<attachment_id>", view_func=attachment_file)
    bp.add_url_rule("/work/attachments/<attachment_id>/thumbnail", view_func=attachment_thumbnail)
    bp.add_url_rule("/work/attachments/<attachment_id>/remove", view_func=remove_attachment,
                    methods=["POST"])
