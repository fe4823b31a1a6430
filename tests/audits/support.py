"""What the audit tests share: fresh databases per test on both backends, and a small world of
projects, checklists and schedules written through the same functions the service uses."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from riskengine.assessment.assessor import Assessor
from riskengine.audits import store
from riskengine.audits.clock import Clock, ManualClock
from riskengine.audits.evaluation import AuditEvaluator
from riskengine.audits.models import AuditRun, AuditSchedule, AuditSlot
from riskengine.audits.outbox import Sender
from riskengine.audits.policy import AuditPolicy
from riskengine.audits.runner import Auditor
from riskengine.audits.schedule import make_rule
from riskengine.store import Actor
from riskengine.store.database import Database
from riskengine.store.projects import create_project
from riskengine.submission import Submissions
from tests.api.support import scratch_pg_database

UTC = dt.UTC


def at(day: dt.date | str, hour: int = 0) -> dt.datetime:
    """The UTC instant `hour`:00 on a day."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@contextmanager
def copied_database(template: str, tmp: Path) -> Iterator[str]:
    if template.startswith("sqlite"):
        target = tmp / f"audits-{uuid.uuid4().hex[:6]}.sqlite3"
        shutil.copyfile(template.removeprefix("sqlite:///"), target)
        yield f"sqlite:///{target}"
        return
    with scratch_pg_database("rk_audits", template.rsplit("/", 1)[1]) as url:
        yield url


class World:
    """Projects, checklists and schedules for one test, on one database, at a moved clock."""

    def __init__(self, database: Database, assessor: Assessor, policy: AuditPolicy,
                 clock: ManualClock) -> None:
        self.database, self.assessor, self.policy, self.clock = database, assessor, policy, clock
        self.evaluator = AuditEvaluator(Submissions.of(assessor), policy)

    def auditor(self, clock: Clock | None = None, database: Database | None = None
                ) -> Auditor:
        return Auditor(database or self.database, self.evaluator, clock or self.clock,
                       Sender(self.policy, smtp=None))

    def project(self, code: str) -> None:
        with self.database.write() as session:
            create_project(session, code, code, "南京", Actor("pm.test"))

    def submit(self, raw: dict[str, Any]) -> None:
        """Store a checklist as the API does (a delivery one judged with the promise ledger)."""
        submissions = self.evaluator.submissions
        with self.database.write() as session:
            submissions.submit(session, submissions.receive(raw), Actor("pm.test"),
                               dt.date.fromisoformat(raw["as_of"]))

    def schedule(self, code: str, spec: dict[str, Any] | None = None) -> int:
        with self.database.write() as session:
            project = store.lock_project(session, self._project_id(session, code))
            row = store.create_schedule(session, project, make_rule(spec or {}, self.policy),
                                        self.policy, "pm.test", self.clock.now())
            return row.id

    def set_delivery(self, code: str, day: dt.date | None) -> None:
        with self.database.write() as session:
            project = store.lock_project(session, self._project_id(session, code))
            store.set_project_delivery(session, project, day, self.policy, self.clock.now())

    def _project_id(self, session: Any, code: str) -> int:
        from riskengine.store.projects import get_project
        project = get_project(session, code, None)
        assert project is not None
        return project.id

    def runs(self, code: str | None = None) -> list[AuditRun]:
        from sqlalchemy import select

        from riskengine.store import models as m
        with self.database.read() as session:
            query = select(AuditRun).order_by(AuditRun.project_id, AuditRun.number)
            if code:
                query = query.join(m.Project, m.Project.id == AuditRun.project_id).where(
                    m.Project.code == code)
            return list(session.scalars(query))

    def slots(self, schedule_id: int) -> list[AuditSlot]:
        with self.database.read() as session:
            return store.slots_of(session, [schedule_id])

    def schedule_row(self, schedule_id: int) -> AuditSchedule:
        with self.database.read() as session:
            row = session.get(AuditSchedule, schedule_id)
            assert row is not None
            return row
