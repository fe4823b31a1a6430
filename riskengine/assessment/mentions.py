"""A promise as one stored checklist states it: what the store reads and the ledger judges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mention:
    """A promise as one checklist states it."""

    checklist_id: str
    stage: str
    number: int
    as_of: str
    promise: Mapping[str, Any]


def mentions_in(checklist_id: str, stage: str, number: int, as_of: str,
                checklist: Mapping[str, Any]) -> list[Mention]:
    """Return the promises one checklist states, as mentions."""
    return [Mention(checklist_id, stage, number, as_of, promise)
            for promise in checklist.get("promises") or []]
