"""Where audits get the time: the system clock, or one a test (or `--now`) sets and moves."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Return the current instant, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until it is set or advanced; safe to share between threads."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = aware(start)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = aware(instant)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now += delta
            return self._now


def aware(instant: dt.datetime) -> dt.datetime:
    """Read a naive datetime as UTC; keep an aware one as it is."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)
