"""Evidence files, the use cases: attach a photo or a PDF to a finding or to an item of a
project's checklist, read it back, remove it (an event: its row and bytes stay), and check the
attachment ids a resolution names. The API and the pages call these."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from riskengine.assessment.facts import identity
from riskengine.attachments.content import prepare
from riskengine.attachments.objects import IN_DATABASE, IN_S3, ObjectStore, unavailable
from riskengine.attachments.references import files_on_items, item_in
from riskengine.checklist.contract import LISTS
from riskengine.errors import Invalid, Refused
from riskengine.output.evidence import EvidenceFile
from riskengine.refusals import refusal, refused
from riskengine.store import Actor, new_id, utcnow
from riskengine.store import attachments as stored
from riskengine.store import models as m
from riskengine.store.findings import Change, record_event
from riskengine.vocabulary import Stage

DEFAULT_LIMIT = 20 * 1024 * 1024
MAX_NAME = 255


@dataclass(frozen=True)
class Storage:
    """Where bytes go (None: the database) and how large an upload may be."""

    objects: ObjectStore | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Upload:
    data: bytes
    file_name: str = ""


def _name(given: str) -> str:
    """The client's file name, shown as a label only: its last path part, printable."""
    last = given.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in last if c.isprintable())[:MAX_NAME]


def _keep(session: Session, storage: Storage, data: bytes, media_type: str) -> m.Blob:
    sha = hashlib.sha256(data).hexdigest()
    found = stored.blob(session, sha)
    if found is not None:
        return found
    if storage.objects is not None:
        storage.objects.put(sha, data, media_type)
    return stored.keep_blob(session, sha, data, media_type,
                            IN_DATABASE if storage.objects is None else IN_S3)


def _attach(session: Session, project_id: int, upload: Upload, storage: Storage, actor: Actor,
            finding_id: str | None = None, stage: str | None = None, item: str | None = None
            ) -> tuple[m.Attachment, bool]:
    """Keep an upload; an identical one already attached here (a retry from a phone on a bad
    line) is answered with the first, and nothing is stored twice."""
    kept = prepare(upload.data, storage.limit)
    blob = _keep(session, storage, kept.data, kept.media_type)
    same = stored.live_duplicate(session, project_id, blob.id, finding_id, stage, item)
    if same is not None:
        return same, False
    thumbnail = _keep(session, storage, kept.thumbnail, "image/jpeg") if kept.thumbnail \
        else None
    row = m.Attachment(
        id=new_id(), project_id=project_id, finding_id=finding_id, stage=stage, item=item,
        blob_id=blob.id, thumbnail_id=thumbnail.id if thumbnail else None,
        media_type=kept.media_type, file_name=_name(upload.file_name), size=len(kept.data),
        width=kept.width, height=kept.height, pages=kept.pages, captured_at=kept.captured_at,
        uploaded_by=actor.name, token_id=actor.token_id, uploaded_at=utcnow())
    return stored.add_attachment(session, row), True


def attach_to_finding(session: Session, row: m.Finding, upload: Upload, storage: Storage,
                      actor: Actor) -> tuple[m.Attachment, bool]:
    """Attach evidence to a locked finding (an event in its history); return it and whether it
    is new."""
    attachment, created = _attach(session, row.project_id, upload, storage, actor,
                                  finding_id=row.id)
    if created:
        record_event(session, row, "attachment_added", actor, "",
                     {"attachment_id": attachment.id, "file_name": attachment.file_name,
                      "media_type": attachment.media_type})
    return attachment, created


def checklist_items(session: Session, project: m.Project, stage: Stage) -> list[str]:
    """The items of the project's latest checklist of `stage`, as fingerprints name them."""
    latest = stored.latest_checklist(session, project.id, stage.value)
    if latest is None:
        return []
    data = json.loads(latest.raw_text)
    return [identity(name, item, index) for name in LISTS
            for index, item in enumerate(data.get(name) or []) if isinstance(item, dict)]


def item_of(session: Session, row: m.Finding) -> str | None:
    """The checklist item a finding is raised on, as item attachments name it (None: the
    finding is about the checklist as a whole, a `checks` key or a milestone)."""
    subject = str((row.record or {}).get("subject", ""))
    if "/" in subject:
        return item_in(subject, {})
    latest = stored.latest_checklist(session, row.project_id, row.stage)
    return item_in(subject, json.loads(latest.raw_text) if latest else {})


def attach_to_item(session: Session, project: m.Project, stage: Stage, item: str,
                   upload: Upload, storage: Storage, actor: Actor) -> tuple[m.Attachment, bool]:
    """Attach evidence to an item of the project's latest checklist of a stage (a locked
    project); an item that checklist does not list is refused."""
    items = checklist_items(session, project, stage)
    if item not in items:
        raise refused(Invalid, "item", "unknown_item", code="unknown_item", item=item,
                      items=items[:20] or refusal("no_checklist_of_stage"))
    return _attach(session, project.id, upload, storage, actor, stage=stage.value, item=item)


def remove(session: Session, held: stored.Held, reason: str, actor: Actor,
           finding: m.Finding | None) -> m.AttachmentRemoval:
    """Take an attachment out of the listings (who, when, why); its bytes and row stay, and a
    finding's history records it."""
    if held.removal is not None:
        raise refused(Refused, "attachment", "already_removed", code="already_removed",
                      name=held.removal.removed_by,
                      when=f"{held.removal.removed_at:%Y-%m-%d %H:%M}")
    if not reason.strip():
        raise refused(Invalid, "reason", "removal_reason")
    removal = stored.remove_attachment(session, held.row, reason.strip(), actor)
    if finding is not None:
        record_event(session, finding, "attachment_removed", actor, reason.strip(),
                     {"attachment_id": held.row.id, "file_name": held.row.file_name})
    return removal


def content(session: Session, storage: Storage, row: m.Attachment, thumbnail: bool = False
            ) -> tuple[bytes, str] | None:
    """The bytes of an attachment (or its thumbnail; None: it has none) and their media type."""
    blob_id = row.thumbnail_id if thumbnail else row.blob_id
    if blob_id is None:
        return None
    blob = stored.blob(session, blob_id)
    assert blob is not None  # a foreign key holds it
    if blob.location == IN_DATABASE:
        return bytes(blob.data or b""), blob.media_type
    if storage.objects is None:
        raise unavailable()
    return storage.objects.get(blob.id), blob.media_type


def check_evidence(session: Session, row: m.Finding, change: Change) -> None:
    """The attachments a resolution names as evidence exist, are this finding's (or an item
    attachment of its project) and are not removed; anything else is refused, by id."""
    evidence = change.details.get("evidence") or {}
    ids = list(dict.fromkeys(evidence.get("attachments") or []))
    if not ids:
        return
    found = stored.by_ids(session, ids)
    for attachment_id in ids:
        held = found.get(attachment_id)
        if held is None or held.row.project_id != row.project_id or (
                held.row.finding_id not in (None, row.id)):
            raise refused(Invalid, "evidence.attachments", "unknown_attachment",
                          code="unknown_attachment", id=attachment_id)
        if held.removal is not None:
            raise refused(Invalid, "evidence.attachments", "removed_attachment",
                          code="removed_attachment", id=attachment_id,
                          name=held.removal.removed_by)


def report_files(session: Session, storage: Storage, finding_ids: set[str], base_url: str
                 ) -> dict[str, list[EvidenceFile]]:
    """Each finding's evidence files as a report shows them (its own, then those of the
    checklist item it is raised on): photos with their thumbnails, every file with its
    download address under `base_url` (the service as users reach it)."""
    shown: dict[str, list[EvidenceFile]] = {}
    own = stored.of_findings(session, finding_ids)
    for finding_id, on_item in files_on_items(session, finding_ids).items():
        mine = {h.row.id for h in own.get(finding_id, [])}  # a file on both is shown once
        own.setdefault(finding_id, []).extend(h for h in on_item if h.row.id not in mine)
    for finding_id, held in own.items():
        files = shown.setdefault(finding_id, [])
        for item in held:
            found = content(session, storage, item.row, thumbnail=True)
            files.append(EvidenceFile(
                item.row.file_name or item.row.id, item.row.media_type,
                f"{base_url.rstrip('/')}/api/v1/attachments/{item.row.id}",
                found[0] if found else None, item.row.pages))
    return shown
