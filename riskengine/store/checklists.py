"""Store a checklist the way every entry point does (API JSON, API Excel upload, web form):
a delivery checklist is judged with the promise ledger first, then submitted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment import Assessment
from riskengine.ledger import Ledger, add_gaps
from riskengine.store import Actor
from riskengine.store.promises import sales_mentions
from riskengine.store.submissions import Submitted, submit
from riskengine.vocabulary import Stage


def store_checklist(session: Session, ledger: Ledger, assessment: Assessment,
                    valid: Mapping[str, Any], text: str, actor: Actor, today: dt.date
                    ) -> Submitted:
    """Store a validated checklist (`text` exactly as stored) and its assessment; a delivery
    assessment also carries the ledger's gaps: sales promises the checklist leaves out."""
    if assessment.stage is Stage.DELIVERY:
        earlier = sales_mentions(session, assessment.project_code)
        assessment = add_gaps(assessment, ledger, ledger.gaps(earlier, valid))
    return submit(session, assessment, text, dict(valid["project"]), actor, today)
