"""Where a persisted submission's extra cost goes, against the floor of its writes.

    python bench/store.py [--requests 400] [--rounds 5] [--json] [--smoke]

In one process, on a scratch PostgreSQL database (RISKENGINE_BENCH_PG, default the local
server as user postgres), it measures the CPU one request costs, in this process (thread CPU
time, so waiting for the database is not counted) and in the PostgreSQL backends serving it
(/proc), for:

- `POST /api/v1/evaluate` through the app (Flask test client, no HTTP server);
- `POST /api/v1/projects/{code}/checklists` through the app, re-submitting the contract
  examples to their projects (the usual case: the same findings again);
- the *driver floor*: the writes such a re-submission must make — lock the project, read its
  tracked findings, insert the checklist and the assessment (with its findings' records), mark
  the findings as raised again, update the project, commit — as bare psycopg calls with no
  SQLAlchemy, no Flask and no matching logic; only the assessment's JSON is built.

It prints each figure (the median of the rounds, each round's mean over its requests; thread
CPU time, so the machine's other work mostly stays out of it) and
the ratio evaluate ÷ submission that bench/api.py measures as throughput, beside the best that
ratio could be if the service's persistence cost no more than the driver floor.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.shared import EXAMPLES  # noqa: E402

PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TICK = os.sysconf("SC_CLK_TCK")
NAMES = ("sales-risky", "sales-ready", "delivery-risky")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Backends:
    """CPU used so far by the PostgreSQL backends connected to one database."""

    def __init__(self, admin: Any, database: str) -> None:
        self.admin, self.database = admin, database

    def ticks(self) -> int:
        total = 0
        for (pid,) in self.admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total


def measure(run: Callable[[int], None], requests: int, rounds: int, backends: Backends
            ) -> tuple[float, float]:
    """(this process, PostgreSQL) CPU milliseconds per request, the median of `rounds`."""
    here, there = [], []
    for _ in range(rounds):
        ticks, started = backends.ticks(), time.thread_time()
        run(requests)
        here.append((time.thread_time() - started) * 1000 / requests)
        there.append((backends.ticks() - ticks) / TICK * 1000 / requests)
    return statistics.median(here), statistics.median(there)


class DriverFloor:
    """A re-submission's writes as bare psycopg calls (see the module's docstring)."""

    def __init__(self, url: str, assessor: Any, examples: list[dict[str, Any]],
                 codes: list[str]) -> None:
        import psycopg

        from riskengine.store.records import finding_record

        self.connection = psycopg.connect(url)
        self.work = []
        for code, checklist in zip(codes, examples, strict=True):
            assessment = assessor.assess(checklist)
            self.work.append((code, checklist["stage"], _json(checklist),
                              [finding_record(f) for f in assessment.findings],
                              [r.to_dict() for r in assessment.rulesets]))

    def run(self, requests: int) -> None:
        for n in range(requests):
            self.submit(*self.work[n % len(self.work)])

    def submit(self, code: str, stage: str, text: str, records: list[dict[str, Any]],
               rulesets: list[dict[str, Any]]) -> None:
        from psycopg.types.json import Json

        db = self.connection
        with db.transaction():
            (project,) = db.execute("SELECT id FROM projects WHERE code = %s FOR UPDATE",
                                    (code,)).fetchone() or (None,)
            tracked = db.execute(
                "SELECT id, fingerprint, status, version, record FROM findings"
                " WHERE project_id = %s AND stage = %s", (project, stage)).fetchall()
            (number,) = db.execute(
                "SELECT coalesce(max(number), 0) + 1 FROM assessments"
                " WHERE project_id = %s AND stage = %s", (project, stage)).fetchone() or (1,)
            ids = {fingerprint: id_ for id_, fingerprint, *_ in tracked}
            entries = [{**r, "finding_id": ids[r["fingerprint"]], "change": "persisting"}
                       for r in records]
            checklist_id, assessment_id = uuid.uuid4().hex, uuid.uuid4().hex
            now, today = dt.datetime.now(dt.UTC), dt.date.today()
            db.execute(
                "INSERT INTO checklists (id, project_id, stage, number, as_of, raw_text, sha256,"
                " submitted_by, token_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s)", (checklist_id, project, stage, number, today, text,
                             hashlib.sha256(text.encode()).hexdigest(), "bench", None, now))
            db.execute(
                "INSERT INTO assessments (id, project_id, checklist_id, stage, number, as_of,"
                " rulesets, content_hash, gate_at_submission, findings, resolved, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (assessment_id, project, checklist_id, stage, number, today,
                 Json(rulesets, _json), hashlib.sha256(_json(entries).encode()).hexdigest(),
                 "fail", Json(entries, _json), Json([], _json), now))
            if tracked:
                db.execute("UPDATE findings SET last_assessment_id = %s WHERE id = ANY(%s)",
                           (assessment_id, [row[0] for row in tracked]))
            db.execute("UPDATE projects SET stage = %s, gate = %s, latest_assessment_id = %s"
                       " WHERE id = %s", (stage, "fail", assessment_id, project))

    def close(self) -> None:
        self.connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, for the tests")
    options = parser.parse_args()
    if options.smoke:
        options.requests, options.rounds = 6, 2
    import psycopg

    from tests.api.support import make_app, migrate, new_token

    name = f"rk_bench_store_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    app = floor = None
    try:
        migrate(url)
        app = make_app(url)
        token = new_token(app, "admin", name="bench")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        examples = [json.loads((EXAMPLES / f"{n}.json").read_text()) for n in NAMES]
        bodies = [json.dumps(e, ensure_ascii=False).encode() for e in examples]
        projects = []
        for n in range(21):
            checklist = copy.deepcopy(examples[n % 3])
            checklist["project"]["code"] = f"S{n}"
            projects.append(checklist)
        posts = [(f"/api/v1/projects/{c['project']['code']}/checklists",
                  json.dumps(c, ensure_ascii=False).encode()) for c in projects]

        def evaluate(requests: int) -> None:
            for n in range(requests):
                answer = client.post("/api/v1/evaluate", data=bodies[n % 3], headers=headers)
                assert answer.status_code == 200, answer.data[:300]

        def submit(requests: int) -> None:
            for n in range(requests):
                path, body = posts[n % len(posts)]
                answer = client.post(path, data=body, headers=headers)
                assert answer.status_code == 201, answer.data[:300]

        evaluate(60)
        submit(2 * len(posts))  # every project exists and has been re-submitted once
        floor = DriverFloor(url, app.extensions["riskengine"].assessor, projects,
                            [c["project"]["code"] for c in projects])
        floor.run(60)
        backends = Backends(admin, name)
        results = {label: measure(run, options.requests, options.rounds, backends)
                   for label, run in (("POST /evaluate", evaluate),
                                      ("POST checklists (persisted)", submit),
                                      ("driver floor of its writes", floor.run))}
    finally:
        if floor is not None:
            floor.close()
        if app is not None:
            app.extensions["riskengine"].database.engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    evaluate_cost = sum(results["POST /evaluate"])
    submit_cost = sum(results["POST checklists (persisted)"])
    floor_cost = sum(results["driver floor of its writes"])
    if options.json:
        print(json.dumps({
            "rounds": options.rounds, "requests": options.requests,
            "load_average": os.getloadavg()[0],
            "cpu_ms": {label: {"python": here, "postgres": there, "total": here + there}
                       for label, (here, there) in results.items()},
            "submission_over_evaluation": submit_cost / evaluate_cost,
            "ratio_evaluate_over_submission": evaluate_cost / submit_cost,
            "ratio_at_driver_floor": evaluate_cost / (evaluate_cost + floor_cost)}, indent=2))
        return 0
    print(f"CPU per request, in-process on PostgreSQL (median of {options.rounds} rounds of "
          f"{options.requests}; load average {os.getloadavg()[0]:.2f}):")
    for label, (here, there) in results.items():
        print(f"  {label:<30} python {here:5.2f} ms  postgres {there:5.2f} ms"
              f"  total {here + there:5.2f} ms")
    print(f"persistence adds {submit_cost - evaluate_cost:.2f} ms per submission "
          f"({submit_cost / evaluate_cost:.2f}x an evaluation); "
          f"the driver floor of its writes is {floor_cost:.2f} ms")
    print(f"ratio evaluate/submission (CPU): {evaluate_cost / submit_cost:.2f}; "
          f"at the driver floor it would be {evaluate_cost / (evaluate_cost + floor_cost):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
