"""Benchmark the what-if of a rule change over a portfolio: N projects with large checklists
of both stages, judged by the current rulesets and a draft, over worker processes.

    python bench/whatif.py [--projects 1000] [--workers 1 2] [--backend postgres] [--smoke]

Each project stores a sales checklist (the contract's risky example with its off-site factors,
permits and promises repeated to ~100 items) and a delivery one. The draft makes undisclosed
parking critical and blocking. Prints, per worker count, the wall time, the CPU time of this
process and its children, and both per project; a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskengine.assessment.assessor import Assessor  # noqa: E402
from riskengine.rules.catalog import DEFAULT_ROOT  # noqa: E402
from riskengine.store import Actor  # noqa: E402
from riskengine.store.database import Database, upgrade  # noqa: E402
from riskengine.store.latest import latest_checklists  # noqa: E402
from riskengine.store.promises import sales_mentions  # noqa: E402
from riskengine.submission import Submissions  # noqa: E402
from riskengine.whatif import candidates_of, compare, write_draft  # noqa: E402

PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    import psycopg
    name = f"rk_whatif_{os.getpid()}"
    with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _examples() -> dict[str, Any]:
    from tests.shared import EXAMPLES as found
    return {name: json.loads((found / f"{name}.json").read_text()) for name in (
        "sales-risky", "delivery-risky")}


def large(example: dict[str, Any], code: str, copies: int) -> dict[str, Any]:
    """The example for project `code`, its lists repeated `copies` times (distinct names)."""
    body = copy.deepcopy(example)
    body["project"]["code"] = code
    for key in ("offsite_factors", "onsite_factors", "sales_materials", "complaints"):
        items = body.get(key) or []
        body[key] = [dict(item, **({"name": f"{item['name']}-{n}"} if "name" in item else {}),
                          **({"id": f"{item['id']}-{n}"} if "id" in item else {}),
                          **({"topic": f"{item['topic']}-{n}"} if "topic" in item else {}))
                     for n in range(copies) for item in items]
    return body


def populate(url: str, projects: int, copies: int) -> None:
    examples = _examples()
    submissions = Submissions.of(Assessor.from_path())
    database = Database(url)
    for number in range(projects):
        code = f"WHATIF-{number:05d}"
        with database.write() as session:
            for name in ("sales-risky", "delivery-risky"):
                body = large(examples[name], code, copies)
                submissions.submit(session, submissions.receive(body), Actor("bench"),
                                   dt.date.fromisoformat(body["as_of"]))
    database.engine.dispose()


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, len(
        os.sched_getaffinity(0))])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--smoke", action="store_true", help="4 projects, small lists")
    args = parser.parse_args()
    if args.smoke:
        args.projects, args.copies, args.workers = 4, 2, [1, 2]
    with scratch(args.backend) as url, tempfile.TemporaryDirectory() as folder:
        migrating = Database(url)
        upgrade(migrating.engine)
        migrating.engine.dispose()
        started = time.perf_counter()
        populate(url, args.projects, args.copies)
        print(f"populated {args.projects} projects × 2 stages in "
              f"{time.perf_counter() - started:.1f} s")
        parking = (DEFAULT_ROOT / "sales" / "parking.yaml").read_text(encoding="utf-8")
        stricter = parking.replace("severity: high", "severity: critical", 1).replace(
            "blocking: false", "blocking: true", 1)
        draft = write_draft(DEFAULT_ROOT, {"sales/parking.yaml": stricter}, Path(folder))
        database = Database(url)
        with database.read() as session:
            candidates = candidates_of(latest_checklists(session),
                                       lambda pid: sales_mentions(session, pid))
        results = []
        for workers in args.workers:
            wall, spent = time.perf_counter(), cpu()
            report = compare(DEFAULT_ROOT, draft, candidates, workers)
            wall, spent = time.perf_counter() - wall, cpu() - spent
            summary = report.summary()
            results.append({"workers": workers, "checklists": len(candidates),
                            "wall_s": round(wall, 2), "cpu_s": round(spent, 2),
                            "wall_ms_per_checklist": round(1000 * wall / len(candidates), 2),
                            "cpu_ms_per_checklist": round(1000 * spent / len(candidates), 2),
                            "gate_changed": summary["gate_changed"]})
            print(f"workers {workers}: {len(candidates)} checklists in {wall:.1f} s wall, "
                  f"{spent:.1f} s CPU ({1000 * wall / len(candidates):.1f} ms wall, "
                  f"{1000 * spent / len(candidates):.1f} ms CPU each; the CPU includes loading "
                  f"both catalogues in every worker); gates changed: {summary['gate_changed']}")
        print(json.dumps({"whatif": results}))


if __name__ == "__main__":
    main()
