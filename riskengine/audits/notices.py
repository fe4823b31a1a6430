"""Notices about one finding (a waiver about to lapse, a lapsed one, a department mentioned),
queued in the audits' outbox in the caller's transaction, so they leave with the change that
caused them or not at all; the outbox's own sender delivers them (riskengine/audits/outbox.py).

Each notice has a key naming what it is about; the notices table holds each key once, so a
sweep run twice, or two sweeps at once, queue it once (the second one's insert is refused and
its transaction rolls back).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine.audits.models import AuditOutbox
from riskengine.audits.outbox import PENDING, _wants, subscriptions
from riskengine.store import findings as stored
from riskengine.store import models as m

REMINDER, LAPSED, MENTION = "waiver_reminder", "waiver_lapsed", "mention"
# Which digest section an e-mail shows the finding in (outbox.render_email reads these).
_SECTION = {REMINDER: "due_soon", LAPSED: "overdue", MENTION: "new"}


def notify(session: Session, key: str, row: m.Finding, project: str, gate: str | None,
           kind: str, recipient: str, today: dt.date, now: dt.datetime,
           facts: Mapping[str, Any]) -> bool:
    """Queue one notice to `recipient` (a department code) unless its key was queued before;
    return whether it was queued now."""
    if stored.notice_taken(session, key):
        return False
    titles = {lang: text["title"] for lang, text in row.record["texts"].items()}
    if kind == MENTION:  # an e-mail shows the items' titles: let it carry the comment too
        said = f"{facts.get('author', '')}: {str(facts.get('comment', ''))[:300]}"
        titles = {lang: f"{title} — {said}" for lang, title in titles.items()}
    item = {"finding_id": row.id, "rule_id": row.rule_id, "severity": row.severity,
            "title": titles, "due_date": str(facts.get("due_date") or row.due_date.isoformat())}
    body: dict[str, Any] = {
        "event": f"finding.{kind}", "kind": kind, "project": project, "recipient": recipient,
        "finding_id": row.id, "slot_date": today.isoformat(), "delivery_date": "",
        "gate": {"decision": gate or ""}, _SECTION[kind]: [item], **facts,
        "link": f"/api/v1/findings/{row.id}",
    }
    notice = stored.add_notice(session, key, row.id, kind, recipient, body)
    body["notice_id"] = notice.id
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    session.add_all(
        AuditOutbox(run_id=None, subscription_id=s.id, channel=s.channel, target=s.target,
                    recipient=recipient, payload=text, status=PENDING, attempts=0,
                    next_attempt_at=now, created_at=now)
        for s in subscriptions(session) if _wants(s, recipient, project))
    return True
