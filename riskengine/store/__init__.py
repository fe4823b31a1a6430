"""Persistence: the tables, their migrations, and every query the service runs."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from riskengine.errors import KeyReused, StaleVersion, StoreError

__all__ = ["Actor", "KeyReused", "StaleVersion", "StoreError", "new_id", "utcnow"]


@dataclass(frozen=True)
class Actor:
    """Who does something: the name recorded in history, and the token that proved it."""

    name: str
    token_id: int | None = None


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
