"""Attachments and the bytes they refer to: rows only ever inserted (a removal is a row of its
own), bytes stored once per SHA-256."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.store import Actor, new_id, utcnow
from riskengine.store import models as m
from riskengine.store.projects import visible


@dataclass(frozen=True)
class Held:
    """An attachment as a caller sees it: its row, its project's code, its removal if any."""

    row: m.Attachment
    code: str
    removal: m.AttachmentRemoval | None


def blob(session: Session, sha256: str) -> m.Blob | None:
    return session.get(m.Blob, sha256)


def keep_blob(session: Session, sha256: str, data: bytes, media_type: str, location: str
              ) -> m.Blob:
    """The blob of these bytes: the one stored already, or a new one (`data` kept in the row
    only when `location` is the database). Two uploads of the same bytes at once make one."""
    found = session.get(m.Blob, sha256)
    if found is not None:
        return found
    row = m.Blob(id=sha256, size=len(data), media_type=media_type, location=location,
                 data=data if location == "db" else None, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another transaction stored the same bytes first
        found = session.get(m.Blob, sha256)
        assert found is not None
        return found
    return row


def add_attachment(session: Session, row: m.Attachment) -> m.Attachment:
    session.add(row)
    session.flush()
    return row


def live_duplicate(session: Session, project_id: int, blob_id: str, finding_id: str | None,
                   stage: str | None, item: str | None) -> m.Attachment | None:
    """An attachment of the same bytes to the same finding or item, not removed."""
    removed = select(m.AttachmentRemoval.attachment_id)
    query = select(m.Attachment).where(
        m.Attachment.project_id == project_id, m.Attachment.blob_id == blob_id,
        m.Attachment.id.not_in(removed))
    if finding_id is not None:
        query = query.where(m.Attachment.finding_id == finding_id)
    else:
        query = query.where(m.Attachment.finding_id.is_(None), m.Attachment.stage == stage,
                            m.Attachment.item == item)
    return session.scalars(query.order_by(m.Attachment.uploaded_at).limit(1)).first()


def _held(session: Session, rows: list[tuple[m.Attachment, str]], removed: bool) -> list[Held]:
    ids = [a.id for a, _ in rows]
    removals = {r.attachment_id: r for r in session.scalars(
        select(m.AttachmentRemoval).where(m.AttachmentRemoval.attachment_id.in_(ids)))} \
        if ids else {}
    return [Held(a, code, removals.get(a.id)) for a, code in rows
            if removed or a.id not in removals]


def _listed(session: Session, query: Select[m.Attachment, str], removed: bool) -> list[Held]:
    rows = session.execute(query.order_by(m.Attachment.uploaded_at, m.Attachment.id)).all()
    return _held(session, [(a, code) for a, code in rows], removed)


def of_finding(session: Session, finding_id: str, removed: bool = False) -> list[Held]:
    """A finding's attachments, oldest first (removed ones too when asked)."""
    query = select(m.Attachment, m.Project.code).join(m.Project).where(
        m.Attachment.finding_id == finding_id)
    return _listed(session, query, removed)


def of_findings(session: Session, finding_ids: set[str]) -> dict[str, list[Held]]:
    """The attachments (not removed) of several findings, by finding id."""
    if not finding_ids:
        return {}
    query = select(m.Attachment, m.Project.code).join(m.Project).where(
        m.Attachment.finding_id.in_(finding_ids))
    grouped: dict[str, list[Held]] = {}
    for held in _listed(session, query, False):
        grouped.setdefault(str(held.row.finding_id), []).append(held)
    return grouped


def of_items(session: Session, project_id: int, stage: str | None, item: str | None,
             removed: bool = False) -> list[Held]:
    """A project's checklist-item attachments, of one stage and item when given."""
    query = select(m.Attachment, m.Project.code).join(m.Project).where(
        m.Attachment.project_id == project_id, m.Attachment.finding_id.is_(None))
    if stage is not None:
        query = query.where(m.Attachment.stage == stage)
    if item is not None:
        query = query.where(m.Attachment.item == item)
    return _listed(session, query, removed)


def get_attachment(session: Session, attachment_id: str, projects: frozenset[str] | None,
                   lock: bool = False) -> Held | None:
    """A visible attachment; `lock` takes its project's row first, as every writer does."""
    query = visible(select(m.Attachment, m.Project.code).join(m.Project), projects).where(
        m.Attachment.id == attachment_id)
    if lock:
        query = query.with_for_update(of=m.Project)
    found = session.execute(query).first()
    if found is None:
        return None
    return _held(session, [(found[0], found[1])], True)[0]


def by_ids(session: Session, ids: list[str]) -> dict[str, Held]:
    """Attachments by id, whatever their project (the caller judges them)."""
    if not ids:
        return {}
    query = select(m.Attachment, m.Project.code).join(m.Project).where(
        m.Attachment.id.in_(ids))
    rows = session.execute(query).all()
    return {h.row.id: h for h in _held(session, [(a, c) for a, c in rows], True)}


@dataclass(frozen=True)
class Named:
    """What a checklist's reference to an attachment needs: its project, who removed it."""

    project_id: int
    code: str
    removed_by: str | None


def named(session: Session, ids: list[str]) -> dict[str, Named]:
    """Attachments by id, whatever their project, in one statement (the caller judges them)."""
    if not ids:
        return {}
    query = select(m.Attachment.id, m.Attachment.project_id, m.Project.code,
                   m.AttachmentRemoval.removed_by).join(
        m.Project, m.Project.id == m.Attachment.project_id).outerjoin(
        m.AttachmentRemoval, m.AttachmentRemoval.attachment_id == m.Attachment.id).where(
        m.Attachment.id.in_(ids))
    return {row[0]: Named(row[1], row[2], row[3]) for row in session.execute(query)}


def remove_attachment(session: Session, row: m.Attachment, reason: str, actor: Actor
                      ) -> m.AttachmentRemoval:
    removal = m.AttachmentRemoval(id=new_id(), attachment_id=row.id, removed_by=actor.name,
                                  token_id=actor.token_id, reason=reason, removed_at=utcnow())
    session.add(removal)
    session.flush()
    return removal


def latest_checklist(session: Session, project_id: int, stage: str) -> m.Checklist | None:
    """The project's latest checklist of a stage."""
    return session.scalars(select(m.Checklist).where(
        m.Checklist.project_id == project_id, m.Checklist.stage == stage)
        .order_by(m.Checklist.number.desc()).limit(1)).first()
