"""The rule releases table: a ruleset version's snapshot, stored once by content hash."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.releases import Snapshot
from riskengine.store import models as m
from riskengine.store import utcnow

RELEASES = sa.Table(
    "rule_releases", m.Base.metadata,
    sa.Column("ruleset_id", sa.String(64), primary_key=True),
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("content", sa.JSON(), nullable=False),
    sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_rule_releases_first_used", "ruleset_id", "first_used_at"))


def keep(session: Session, snapshots: Iterable[Snapshot]) -> None:
    """Store the snapshots not stored yet (a concurrent worker storing one too is fine)."""
    wanted = list(snapshots)
    known = set(session.execute(sa.select(RELEASES.c.ruleset_id, RELEASES.c.hash).where(
        sa.tuple_(RELEASES.c.ruleset_id, RELEASES.c.hash).in_(
            [(s.ruleset_id, s.hash) for s in wanted]))).all())
    now = utcnow()
    for item in wanted:
        if (item.ruleset_id, item.hash) in known:
            continue
        try:
            with session.begin_nested():
                session.execute(sa.insert(RELEASES).values(
                    ruleset_id=item.ruleset_id, hash=item.hash, version=item.version,
                    stage=item.stage, content=dict(item.content), first_used_at=now))
        except IntegrityError:  # stored meanwhile by another worker: the same content
            pass


def releases(session: Session, ruleset_id: str) -> list[tuple[Snapshot, datetime]]:
    """A ruleset's stored versions, oldest first."""
    rows = session.execute(sa.select(RELEASES).where(RELEASES.c.ruleset_id == ruleset_id)
                           .order_by(RELEASES.c.first_used_at, RELEASES.c.version))
    return [(Snapshot(r.ruleset_id, r.hash, r.version, r.stage, r.content), r.first_used_at)
            for r in rows]


def release(session: Session, ruleset_id: str, hash_: str) -> Snapshot | None:
    row = session.execute(sa.select(RELEASES).where(
        RELEASES.c.ruleset_id == ruleset_id, RELEASES.c.hash == hash_)).first()
    return Snapshot(row.ruleset_id, row.hash, row.version, row.stage, row.content) \
        if row else None


def all_releases(session: Session) -> list[Snapshot]:
    """Every stored version of every ruleset."""
    rows = session.execute(sa.select(RELEASES).order_by(RELEASES.c.first_used_at))
    return [Snapshot(r.ruleset_id, r.hash, r.version, r.stage, r.content) for r in rows]
