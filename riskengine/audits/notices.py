"""Notices about one finding (a waiver about to lapse, a lapsed one, a department mentioned),
recorded on the finding and queued through `riskengine.notices` in the caller's transaction,
so they leave with the change that caused them or not at all; the outbox's sender delivers
them on every channel (riskengine/audits/outbox.py).

Each notice has a key naming what it is about; the notices table holds each key once, so a
sweep run twice, or two sweeps at once, queue it once (the second one's insert is refused and
its transaction rolls back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine import notices
from riskengine.store import findings as stored
from riskengine.store import models as m

REMINDER, LAPSED, MENTION = "waiver_reminder", "waiver_lapsed", "mention"


def notify(session: Session, key: str, row: m.Finding, project: str, gate: str | None,
           kind: str, recipient: str, today: dt.date, now: dt.datetime,
           facts: Mapping[str, Any]) -> bool:
    """Queue one notice to `recipient` (a department code) unless its key was queued before;
    return whether it was queued now."""
    if stored.notice_taken(session, key):
        return False
    body: dict[str, Any] = {"event": kind, "project": project, "recipient": recipient,
                            "gate": gate, **facts}
    stored.add_notice(session, key, row.id, kind, recipient, body)
    ref = notices.FindingRef.of(project, row)
    if kind == REMINDER:
        notices.waiver_expiring(session, ref, str(facts["waiver_id"]),
                                dt.date.fromisoformat(str(facts["expires"])), today, now,
                                int(facts["reminder"]))
    elif kind == LAPSED:
        notices.waiver_expired(session, ref, str(facts["waiver_id"]),
                               dt.date.fromisoformat(str(facts["expired_on"])), now)
    else:
        notices.mentioned(session, ref, str(facts["comment_id"]),
                          str(facts.get("author", "")), [recipient],
                          str(facts.get("comment", ""))[:200], now)
    return True
