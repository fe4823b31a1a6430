"""Failed authentications, counted per client address and per token prefix in the database, so
every worker and host shares the counts (table `auth_failures`, migration 0103).

Counts are kept in fixed windows: a row per (kind, key, window start), the start a multiple of
the window length in epoch seconds. Once a key has `limit` failures in the current window, every
attempt with it is refused until the window ends; rows of ended windows are deleted whenever a
failure is recorded. A fixed window lets a patient client make at most `limit` failures per
window (2 × `limit` across a window boundary), never more.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Connection,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from riskengine.store.models import Base

ADDRESS = "address"  # the client's address, as the server sees it
PREFIX = "prefix"    # the first characters of the token tried (what `tokens list` shows)
PREFIX_LENGTH = 10   # as stored in api_tokens.prefix
KEY_LENGTH = 64


class AuthFailure(Base):
    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_window_start", "window_start"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[dt.datetime]


@dataclass(frozen=True)
class Policy:
    """How many failures a window allows, per address and per token prefix."""

    window_seconds: int = 60
    address_failures: int = 10
    prefix_failures: int = 5

    def limit(self, kind: str) -> int:
        return self.address_failures if kind == ADDRESS else self.prefix_failures

    def window(self, now: float) -> int:
        """The start of the window `now` (epoch seconds) falls in."""
        return int(now // self.window_seconds) * self.window_seconds


@dataclass(frozen=True)
class Lock:
    """A key out of attempts: which, how many failures, and the seconds until it may retry."""

    kind: str
    key: str
    failures: int
    retry_after: int


def keys(address: str | None, secret: str | None) -> dict[str, str]:
    """The keys an attempt counts against: its address, and its token's prefix if it sent one."""
    found = {ADDRESS: _printable((address or "unknown")[:KEY_LENGTH])}
    if secret:
        found[PREFIX] = _printable(secret[:PREFIX_LENGTH])
    return found


def _printable(key: str) -> str:
    # A header may carry control characters; PostgreSQL's text refuses NUL.
    return "".join(c if c.isprintable() else "?" for c in key)


_FAILURES = Base.metadata.tables[AuthFailure.__tablename__]
_COUNTS = select(_FAILURES.c.kind, _FAILURES.c.key, _FAILURES.c.count.label("failures")).where(
    _FAILURES.c.window_start == bindparam("window_start"),
    or_(and_(_FAILURES.c.kind == ADDRESS, _FAILURES.c.key == bindparam("address")),
        and_(_FAILURES.c.kind == PREFIX, _FAILURES.c.key == bindparam("prefix"))))
_KEY = (_FAILURES.c.kind, _FAILURES.c.key, _FAILURES.c.window_start)
# Rows another transaction is pruning (or counting) are skipped, not waited for: two workers
# pruning at once never deadlock over the same rows (PostgreSQL; SQLite has one writer).
_PRUNE = delete(_FAILURES).where(tuple_(*_KEY).in_(
    select(*_KEY).where(_FAILURES.c.window_start < bindparam("window_start"))
    .with_for_update(skip_locked=True)))


def locked(connection: Connection, policy: Policy, attempt: dict[str, str], now: float
           ) -> Lock | None:
    """Return the lock on one of the attempt's keys (the longer-counted first), or None."""
    start = policy.window(now)
    found = connection.execute(_COUNTS, {
        "window_start": start, "address": attempt[ADDRESS],
        # A prefix is never empty: no row matches when the attempt sent no token.
        "prefix": attempt.get(PREFIX, "")}).all()
    retry_after = max(1, math.ceil(start + policy.window_seconds - now))
    for kind in (ADDRESS, PREFIX):
        for row in found:
            if row.kind == kind and row.failures >= policy.limit(kind):
                return Lock(kind, row.key, row.failures, retry_after)
    return None


def record_failure(connection: Connection, policy: Policy, attempt: dict[str, str], now: float
                   ) -> dict[str, int]:
    """Count a failed attempt against each of its keys; return the counts of the window.
    Run it in a write transaction: the increments are atomic (one upsert per key), so
    concurrent workers never lose a count."""
    start = policy.window(now)
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    connection.execute(_PRUNE, {"window_start": start})
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    counts: dict[str, int] = {}
    for kind, key in attempt.items():
        insert = dialect.insert(_FAILURES).values(
            kind=kind, key=key, window_start=start, count=1, last_at=at)
        upsert = insert.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={"count": _FAILURES.c.count + 1, "last_at": at},
        ).returning(_FAILURES.c.count)
        counts[kind] = int(connection.execute(upsert).scalar_one())
    return counts
