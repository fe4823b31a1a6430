"""Submit a checklist: the one use case every entry point calls (the API's JSON and Excel
routes, the web form and upload, the CLI) and the scheduled audits judge through.

raw checklist (JSON, or workbook/form rows read into one) → validated once → assessed → a
delivery checklist also judged by the promise ledger against the project's sales promises →
matched to the project's tracked findings (their statuses applied) → gate decided → stored.
The store receives the finished result and writes it; it decides nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from riskengine import notices
from riskengine.assessment.assessor import Assessment, Assessor
from riskengine.assessment.findings import sort_findings
from riskengine.assessment.gate import Gate, decide_gate, gate_changes_on
from riskengine.assessment.ledger import Ledger, load_ledger, promise_lines
from riskengine.assessment.mentions import Mention
from riskengine.attachments.references import check_references
from riskengine.checklist.tables import Reading, validated
from riskengine.errors import DatabaseUnavailable, Invalid, RulesetInvalid
from riskengine.output.workbook import read_workbook
from riskengine.refusals import refusal
from riskengine.releases import snapshots, unforced
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.sla import sla_due
from riskengine.store import Actor, utcnow
from riskengine.store import submissions as stored
from riskengine.store.database import Database
from riskengine.store.findings import by_fingerprints
from riskengine.store.promises import mentions, sales_mentions
from riskengine.store.releases import all_releases, keep
from riskengine.vocabulary import Stage

__all__ = ["Received", "Submissions", "Submitted", "load_ledger"]


@dataclass(frozen=True)
class Received:
    """A checklist as it arrived: the text to store (exactly as sent; an uploaded workbook or
    a form: the JSON it held) and the checklist validated once."""

    text: str
    checklist: Mapping[str, Any]
    reading: Reading | None = None  # read from tables: where each path was (cells, inputs)

    @property
    def project_code(self) -> str:
        return str(self.checklist["project"]["code"])


@dataclass(frozen=True)
class Submitted:
    """A stored submission: the rows written, and the assessment as judged today."""

    row: stored.Submitted
    assessment: Assessment
    gate: Gate


class Submissions:
    """Receives, judges and stores checklists with one loaded catalogue and promise ledger."""

    def __init__(self, assessor: Assessor, ledger: Ledger) -> None:
        self.assessor, self.ledger = assessor, ledger
        self.policy = assessor.catalog.policy
        self.snapshots = snapshots(assessor.catalog, ledger)
        self.releases_kept = False  # once a transaction storing them committed, per process

    def keep_releases(self, session: Session) -> None:
        """Keep the snapshot of every ruleset version judged with (once per process: from the
        first commit that stored them on)."""
        if self.releases_kept:
            return
        # Rules are released here: a date may announce a new rule, never suspend one in force.
        suspended = unforced(self.assessor.catalog, all_releases(session))
        if suspended:
            raise RulesetInvalid(refusal("rules_date_in_force"), suspended)
        keep(session, self.snapshots)
        event.listen(session, "after_commit", self._releases_committed, once=True)

    def _releases_committed(self, session: Session) -> None:
        self.releases_kept = True

    def keep_releases_now(self, database: Database) -> bool:
        """At start: keep today's ruleset versions, so no submission pays for it; a database
        not reachable or not migrated yet is no reason not to start (the first submission
        keeps them then). Return whether they were kept."""
        try:
            with database.write() as session:
                self.keep_releases(session)
        except (SQLAlchemyError, DatabaseUnavailable):
            return False
        return self.releases_kept

    @classmethod
    def of(cls, assessor: Assessor, root: Path = DEFAULT_ROOT) -> Submissions:
        """Submissions with the promise ledger beside the rulesets at `root`."""
        return cls(assessor, load_ledger(assessor.catalog, root))

    def receive(self, raw: Any, text: str | None = None) -> Received:
        """Validate a checklist sent as JSON (`text`: as sent; None: serialise `raw`)."""
        valid = self.assessor.validate(raw)
        return Received(text if text is not None else json.dumps(raw, ensure_ascii=False), valid)

    def receive_workbook(self, content: bytes) -> Received:
        """Read a filled Excel template; raise WorkbookInvalid with every problem at its cell."""
        return self.receive_reading(read_workbook(content, self.assessor.catalog))

    def receive_reading(self, reading: Reading) -> Received:
        """Take a checklist read from tables (a workbook, a form), validated once: its problems
        are located at their cells or inputs (WorkbookInvalid)."""
        valid = validated(reading, self.assessor.validator)
        return Received(json.dumps(reading.checklist, ensure_ascii=False), valid, reading)

    def judge(self, received: Received, earlier: Sequence[Mention] = ()) -> Assessment:
        """Assess a received checklist; a delivery checklist is also judged by the promise
        ledger against `earlier` (the project's sales promises). Statuses are all open."""
        assessment = self.assessor.assess_valid(received.checklist)
        if assessment.stage is not Stage.DELIVERY:
            return assessment
        gaps = self.ledger.gaps(earlier, received.checklist)
        findings = sort_findings((*assessment.findings, *gaps), self.policy)
        return replace(assessment, findings=tuple(findings),
                       rulesets=assessment.rulesets + (self.ledger.ref,),
                       gate=decide_gate(findings, assessment.as_of, self.policy.gate))

    def submit(self, session: Session, received: Received, actor: Actor, today: dt.date,
               project_code: str | None = None) -> Submitted:
        """Judge and store a checklist in the caller's transaction; `project_code`, when given,
        is the project the caller addressed, which the checklist must name."""
        if project_code is not None and received.project_code != project_code:
            raise Invalid(refusal("checklist_other_project"),
                          {"project.code": [refusal("must_be_project", code=project_code)]})
        earlier = (sales_mentions(session, received.project_code)
                   if received.checklist["stage"] == Stage.DELIVERY.value else ())
        # The evidence files items name are this project's live attachments (one query).
        check_references(session, received.checklist, self.assessor.validator.wording,
                         received.reading)
        assessment = self.judge(received, earlier)
        self.keep_releases(session)
        workflow = self.policy.workflow
        pending = stored.begin(session, assessment, received.text,
                               received.checklist["project"], actor,
                               lambda severity: sla_due(today, severity, workflow))
        gate = decide_gate(pending.judged, today, self.policy.gate)
        row = pending.write(gate.decision.value, gate_changes_on(pending.judged, today))
        # New blocking findings are told where the teams work, committed with the submission.
        notices.blocking_findings(session, received.project_code, row.assessment.id,
                                  row.assessment.findings, utcnow())
        judged = replace(assessment, findings=tuple(pending.judged), gate=gate,
                         id=row.assessment.id, decided_on=today)
        return Submitted(row, judged, gate)

    def promises(self, session: Session, project_id: int) -> list[dict[str, Any]]:
        """The project's promise ledger: each promise from first mention to latest status, with
        the gap finding raised for it, if any."""
        said = mentions(session, project_id)
        gaps = by_fingerprints(session, project_id, Stage.DELIVERY.value,
                               {self.ledger.fingerprint(str(m.promise["id"])) for m in said})
        return promise_lines(self.ledger, said, gaps)

