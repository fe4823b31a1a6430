"""Idempotency keys: the first response to a key is kept and replayed to every retry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskengine.refusals import refusal
from riskengine.store import KeyReused, utcnow
from riskengine.store import models as m


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def claim(session: Session, token_id: int, key: str, request_hash: str) -> Replay | None:
    """Claim a key for this request, or return the response already given to it.

    The unique constraint decides between concurrent retries: on PostgreSQL the second insert
    waits for the first transaction and then fails, so it reads the committed response.
    """
    try:
        with session.begin_nested():
            session.add(m.IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash,
                                         created_at=utcnow()))
        return None
    except IntegrityError:
        pass
    row = session.scalars(select(m.IdempotencyKey).where(
        m.IdempotencyKey.token_id == token_id, m.IdempotencyKey.key == key)).one()
    if row.request_hash != request_hash:
        raise KeyReused(refusal("key_reused"), {"Idempotency-Key": [refusal("key_used_for_other")]})
    if row.status is None or row.body is None:
        raise KeyReused(refusal("key_in_progress"), {"Idempotency-Key": [refusal("retry_later")]})
    return Replay(row.status, row.body)


def complete(session: Session, token_id: int, key: str, status: int, body: str) -> None:
    row = session.scalars(select(m.IdempotencyKey).where(
        m.IdempotencyKey.token_id == token_id, m.IdempotencyKey.key == key)).one()
    row.status, row.body = status, body
