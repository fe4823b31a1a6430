"""Persistence: the tables, their migrations, and every query the service runs."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who does something: the name recorded in history, and the token that proved it."""

    name: str
    token_id: int | None = None


class StoreError(Exception):
    """A write the data refuses; `code` says which refusal, `details` what is allowed."""

    code = "conflict"

    def __init__(self, message: str, details: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class StaleVersion(StoreError):
    code = "version_mismatch"


class KeyReused(StoreError):
    code = "idempotency_key_reused"


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
