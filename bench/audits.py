"""Benchmark `run-due` on PostgreSQL: N projects each with one due audit slot, notifications on.

    python bench/audits.py [--projects 1000] [--workers 1 4] [--json] [--smoke]

It stores the projects once in a scratch PostgreSQL database (RISKENGINE_BENCH_PG, default the
local server as user postgres) — half with a delivery checklist (one in four of them risky),
half with only a delivery date, so the run raises the "no checklist" finding — schedules the
default T-90…T-7 audits, and subscribes a webhook on a local receiver (127.0.0.1) to every
digest. Then, for each worker count, on a fresh copy of that database, it starts that many
worker processes (as `riskengine run-due` would be started on several hosts), lets them run
`run_due` at an instant where exactly one slot per project is due, each delivering what it
enqueued, and prints: the wall time, runs/s, the notifications delivered (and what the
receiver got: they must agree), and the CPU spent by the workers and by the PostgreSQL
backends serving them (from /proc, sampled every 0.1 s), per run.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskengine.assessment.assessor import Assessor  # noqa: E402
from riskengine.audits import store  # noqa: E402
from riskengine.audits.clock import ManualClock  # noqa: E402
from riskengine.audits.evaluation import AuditEvaluator  # noqa: E402
from riskengine.audits.outbox import Sender, create_subscription, deliver_due  # noqa: E402
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
from tests.shared import no_later_than  # noqa: E402

PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DELIVERY = dt.date(2027, 6, 30)
CREATED = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
DUE = dt.datetime(2027, 4, 1, 1, tzinfo=dt.UTC)  # T-90 is due, T-60 is not
ASSESSOR = Assessor.from_path()  # before the workers fork: compiled once, shared


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
                no_later_than(raw, raw["as_of"])  # the base records acceptances passed since
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


class Receiver:
    """A webhook endpoint on 127.0.0.1 that counts what it is sent."""

    def __init__(self) -> None:
        self.received = 0
        lock, bench = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    bench.received += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BackendCpu:
    """CPU of the PostgreSQL backends connected to one database, sampled while they live (a
    backend that exits between two samples loses at most 0.1 s of its account)."""

    def __init__(self, database: str) -> None:
        self.database, self.ticks, self.stop = database, {}, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        import psycopg
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            mine = admin.execute("SELECT pg_backend_pid()").fetchone()
            while not self.stop.wait(0.1):
                for (pid,) in admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                        (self.database, mine[0] if mine else 0)):
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                    except OSError:
                        continue
                    self.ticks[pid] = int(fields[11]) + int(fields[12])

    def seconds(self) -> float:
        self.stop.set()
        self.thread.join()
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def work(url: str, policy: AuditPolicy, go: Any, results: Any) -> None:
    """One worker process: run every due slot it can claim, then deliver the outbox."""
    evaluator = AuditEvaluator(Submissions.of(ASSESSOR), policy)
    database = Database(url)
    auditor = Auditor(database, evaluator, ManualClock(DUE), Sender(policy, None))
    go.wait()
    began = time.process_time()
    report = run_due(auditor, deliver=True)
    delivered = report.deliveries.get("delivered", 0)
    while sum((more := deliver_due(database, auditor.sender, auditor.clock)).values()):
        delivered += more.get("delivered", 0)
    results.put((len(report.runs), len(report.failed), delivered, time.process_time() - began))
    database.engine.dispose()


def timed_pass(url: str, database: str, policy: AuditPolicy, workers: int) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")  # the catalogue is loaded once, then shared
    go, results = context.Event(), context.Queue()
    processes = [context.Process(target=work, args=(url, policy, go, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    time.sleep(0.5)  # every worker is connected and waiting
    backends = BackendCpu(database)
    began = time.perf_counter()
    go.set()
    done = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    runs, failed, delivered, cpu = (sum(column) for column in zip(*done, strict=True))
    return {"workers": workers, "runs": runs, "failed": failed, "delivered": delivered,
            "seconds": elapsed, "runs_per_second": runs / elapsed, "worker_cpu_seconds": cpu,
            "postgres_cpu_seconds": backends.seconds()}


@contextmanager
def pg_database(template: str | None = None) -> Iterator[tuple[str, str]]:
    import psycopg
    name = f"rk_bench_audits_{uuid.uuid4().hex[:8]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench(projects: int, workers: list[int], policy: AuditPolicy) -> dict[str, Any]:
    receiver = Receiver()
    passes = []
    try:
        with pg_database() as (template_url, template):
            database = Database(template_url)
            upgrade(database.engine)
            began = time.perf_counter()
            populate(database, ASSESSOR, policy, projects, 0)
            with database.write() as session:
                create_subscription(session, "webhook", receiver.url, "whsec-bench-0123456789",
                                    None, None, "bench", CREATED)
            with database.engine.begin() as connection:  # as autovacuum would have by now
                connection.exec_driver_sql("ANALYZE")
            setup = time.perf_counter() - began
            database.engine.dispose()
            for count in workers:
                before = receiver.received
                with pg_database(template) as (url, name):
                    result = timed_pass(url, name, policy, count)
                result["received"] = receiver.received - before
                passes.append(result)
    finally:
        receiver.stop()
    return {"projects": projects, "setup_seconds": setup, "passes": passes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for the tests")
    options = parser.parse_args()
    if options.smoke:
        options.projects, options.workers = 6, [1, 2]
    summary = bench(options.projects, options.workers, load_audit_policy())
    problems = [p for p in summary["passes"] if p["runs"] != options.projects or p["failed"]
                or p["delivered"] != p["received"] or not p["delivered"]]
    if options.json:
        print(json.dumps({**summary, "load_average": os.getloadavg()[0]}, indent=2))
    else:
        print(f"run-due over {options.projects} projects on PostgreSQL, one due slot each, "
              f"webhook delivery on (setup {summary['setup_seconds']:.1f} s; load average "
              f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
        for p in summary["passes"]:
            print(f"  {p['workers']} worker process(es): {p['runs']} runs in {p['seconds']:6.2f} s"
                  f" = {p['runs_per_second']:6.1f} runs/s; {p['delivered']} notifications "
                  f"delivered ({p['received']} received); CPU per run: workers "
                  f"{p['worker_cpu_seconds'] * 1000 / max(p['runs'], 1):.1f} ms, postgres "
                  f"{p['postgres_cpu_seconds'] * 1000 / max(p['runs'], 1):.1f} ms")
    for p in problems:
        print(f"bench/audits.py: expected {options.projects} runs, none failed, every "
              f"notification received; got {p}", file=sys.stderr)
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main())
