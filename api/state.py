"""The per-app state every view reaches: `app.extensions["riskengine"]`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app

from riskengine.assessment.assessor import Assessor
from riskengine.attachments.evidence import Storage
from riskengine.output.workbook import write_template
from riskengine.store.database import Database
from riskengine.submission import Submissions
from riskengine.vocabulary import Lang, Stage


@dataclass
class Service:
    assessor: Assessor
    database: Database
    submissions: Submissions
    pinned_today: dt.date | None = None
    storage: Storage = field(default_factory=Storage)  # where attachments' bytes go

    templates: dict[tuple[Stage, Lang], bytes] = field(default_factory=dict)

    def template(self, stage: Stage, lang: Lang = Lang.ZH) -> bytes:
        """Return a stage's empty Excel template in a language (its dropdowns' labels), built
        once (the catalogue does not change)."""
        if (stage, lang) not in self.templates:
            self.templates[stage, lang] = write_template(self.assessor.catalog, stage, lang=lang)
        return self.templates[stage, lang]

    def today(self) -> dt.date:
        """The date waivers and due dates are judged against (UTC, unless a test pins it)."""
        return self.pinned_today or dt.datetime.now(dt.UTC).date()


def service() -> Service:
    state: Service = current_app.extensions["riskengine"]
    return state
