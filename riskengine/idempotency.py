"""Do a write at most once per key: a retry gets the first answer, and nothing is stored twice.

The one implementation for every entry point that may be retried: the API's Idempotency-Key
header and the web form's per-form key both come here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from riskengine.store.idempotency import claim, complete


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    replayed: bool = False


def run_once(session: Session, token_id: int, key: str, request_hash: str,
             work: Callable[[], tuple[int, str]]) -> Answer:
    """Run `work` (status, body) in the caller's transaction unless the key was already used
    for this request, whose first answer is returned; the same key for another request, or one
    still in progress, is refused (KeyReused)."""
    replay = claim(session, token_id, key, request_hash)
    if replay is not None:
        return Answer(replay.status, replay.body, True)
    status, body = work()
    complete(session, token_id, key, status, body)
    return Answer(status, body)
