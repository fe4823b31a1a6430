"""Benchmark `run-due`: 1,000 projects each with a due audit slot, processed by run-due.

    python bench/audits.py [--projects 1000] [--workers 1 4] [--backend sqlite postgres]

For each backend (a scratch SQLite file; a scratch PostgreSQL database on RISKENGINE_BENCH_PG,
default the local server as user postgres) it stores the projects — half with a delivery
checklist (one in four of them risky), half with only a delivery date, so the run raises the
"no checklist" finding — schedules the default T-90…T-7 audits, and times `run_due` at an
instant where exactly one slot per project is due, with 1 worker and with several concurrent
workers (threads, each with its own connections). Prints runs/second for each.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskengine.assessment.assessor import Assessor  # noqa: E402
from riskengine.audits import store  # noqa: E402
from riskengine.audits.clock import ManualClock  # noqa: E402
from riskengine.audits.evaluation import AuditEvaluator  # noqa: E402
from riskengine.audits.outbox import Sender  # noqa: E402
from riskengine.audits.policy import AuditPolicy, load_audit_policy  # noqa: E402
from riskengine.audits.runner import Auditor, run_due  # noqa: E402
from riskengine.audits.schedule import make_rule  # noqa: E402
from riskengine.rules.cases import base_checklist  # noqa: E402
from riskengine.rules.catalog import DEFAULT_ROOT  # noqa: E402
from riskengine.store import Actor  # noqa: E402
from riskengine.store import models as m  # noqa: E402
from riskengine.store.database import Database, upgrade  # noqa: E402
from riskengine.store.projects import create_project  # noqa: E402
from riskengine.submission import Submissions  # noqa: E402
from riskengine.vocabulary import Stage  # noqa: E402

PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DELIVERY = dt.date(2027, 6, 30)
CREATED = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
DUE = dt.datetime(2027, 4, 1, 1, tzinfo=dt.UTC)  # T-90 is due, T-60 is not


@contextmanager
def scratch(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    import psycopg
    name = f"rk_bench_audits_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(database: Database, assessor: Assessor, policy: AuditPolicy, projects: int,
             offset: int) -> None:
    base: dict[str, Any] = json.loads(json.dumps(base_checklist(DEFAULT_ROOT, Stage.DELIVERY),
                                                 default=str))
    submissions = Submissions.of(assessor)
    for number in range(projects):
        code = f"BENCH-{offset + number:05d}"
        with database.write() as session:
            if number % 2:
                raw = copy.deepcopy(base)
                raw["project"]["code"], raw["as_of"] = code, "2027-03-25"
                raw["milestones"]["contract_delivery_date"] = DELIVERY.isoformat()
                if number % 4 == 1:
                    raw["checks"]["major_quality_hazards_open"] = 1
                done = submissions.submit(session, submissions.receive(raw), Actor("bench"),
                                          DELIVERY)
                project = session.get(m.Project, done.row.assessment.project_id)
            else:
                project = create_project(session, code, code, None, Actor("bench"))
                session.flush()
                store.set_project_delivery(session, project, DELIVERY, policy, CREATED)
            store.create_schedule(session, project, make_rule({}, policy), policy, "bench",
                                  CREATED)


def timed_pass(url: str, evaluator: AuditEvaluator, workers: int) -> tuple[int, float]:
    databases = [Database(url) for _ in range(workers)]
    start, runs = threading.Barrier(workers + 1), []

    def work(database: Database) -> None:
        auditor = Auditor(database, evaluator, ManualClock(DUE), Sender(evaluator.policy, None))
        start.wait()
        runs.extend(run_due(auditor, deliver=False).runs)

    threads = [threading.Thread(target=work, args=(d,)) for d in databases]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for database in databases:
        database.engine.dispose()
    return len(runs), elapsed


def bench(backend: str, projects: int, workers: list[int], assessor: Assessor,
          policy: AuditPolicy) -> None:
    evaluator = AuditEvaluator(Submissions.of(assessor), policy)
    for count in workers:
        with scratch(backend) as url:
            database = Database(url)
            upgrade(database.engine)
            began = time.perf_counter()
            populate(database, assessor, policy, projects, 0)
            with database.engine.begin() as connection:  # as autovacuum would have by now
                connection.exec_driver_sql("ANALYZE")
            setup = time.perf_counter() - began
            database.engine.dispose()
            runs, elapsed = timed_pass(url, evaluator, count)
            print(f"{backend:<9} {count} worker(s): {runs} runs in {elapsed:6.2f} s = "
                  f"{runs / elapsed:7.1f} runs/s   (setup {setup:.1f} s)", flush=True)
            if runs != projects:
                raise SystemExit(f"expected {projects} runs, got {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgres"],
                        choices=["sqlite", "postgres"])
    options = parser.parse_args()
    assessor, policy = Assessor.from_path(), load_audit_policy()
    print(f"run-due over {options.projects} projects, one due slot each", flush=True)
    for backend in options.backend:
        bench(backend, options.projects, options.workers, assessor, policy)


if __name__ == "__main__":
    main()
