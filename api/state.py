"""The per-app state every view reaches: `app.extensions["riskengine"]`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app

from riskengine.assessment import Assessor
from riskengine.ledger import Ledger
from riskengine.store.database import Database


@dataclass
class Service:
    assessor: Assessor
    database: Database
    ledger: Ledger
    pinned_today: dt.date | None = None

    def today(self) -> dt.date:
        """The date waivers and due dates are judged against (UTC, unless a test pins it)."""
        return self.pinned_today or dt.datetime.now(dt.UTC).date()


def service() -> Service:
    state: Service = current_app.extensions["riskengine"]
    return state
