"""API tokens: only a hash is stored; the token itself is shown once, when it is created."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from riskengine.store import models as m
from riskengine.store import utcnow

PREFIX = "rk_"


def hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 cannot be reversed or guessed, and needs no
    # key that every host (and the CLI) would have to share.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str, department: str | None,
                 projects: Sequence[str] | None) -> tuple[m.ApiToken, str]:
    """Store a new token; return its row and the secret, which is never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    row = m.ApiToken(name=name, role=role, department=department,
                     projects=sorted(set(projects)) if projects else None,
                     token_hash=hash_token(secret), prefix=secret[:10], created_at=utcnow())
    session.add(row)
    session.flush()
    return row, secret


@dataclass(frozen=True)
class LiveToken:
    """What a live token grants: who holds it, the role and the projects (None: all)."""

    id: int
    name: str
    role: str
    department: str | None
    projects: list[Any] | None
    token_hash: str


_TOKENS = m.ApiToken.__table__
# Every API request runs this, so it is one prebuilt Core statement (no ORM session or
# objects: a third of the cost), and it is not cached, so a revoked token fails at once.
_LIVE_BY_HASH = select(*(_TOKENS.c[name] for name in LiveToken.__dataclass_fields__)).where(
    _TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None))


def find_token(connection: Connection, secret: str) -> LiveToken | None:
    """Return the live token a secret proves, or None."""
    found = connection.execute(_LIVE_BY_HASH, {"token_hash": hash_token(secret)}).first()
    return LiveToken(**found._asdict()) if found is not None else None


def live_token(session: Session, token_id: int, token_hash: str) -> m.ApiToken | None:
    """Return the live token a session was opened with (None once revoked)."""
    row = session.get(m.ApiToken, token_id)
    if row is None or row.revoked_at is not None or row.token_hash != token_hash:
        return None
    return row


def revoke_token(session: Session, token_id: int | None = None, prefix: str | None = None
                 ) -> list[m.ApiToken]:
    """Revoke tokens by id or by the prefix shown when they were created; return them."""
    query = select(m.ApiToken).where(m.ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(m.ApiToken.id == token_id)
    if prefix is not None:
        query = query.where(m.ApiToken.prefix == prefix[:10])
    rows = list(session.scalars(query))
    for row in rows:
        row.revoked_at = utcnow()
    return rows


def list_tokens(session: Session) -> list[m.ApiToken]:
    return list(session.scalars(select(m.ApiToken).order_by(m.ApiToken.id)))
