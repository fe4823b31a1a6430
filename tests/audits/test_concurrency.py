"""Exactly once per slot: concurrent workers, and a worker killed in the middle of a run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from riskengine.audits.models import AuditRun, AuditSlot
from riskengine.audits.runner import PassReport, run_due
from riskengine.store.database import Database
from tests.audits.support import World, at

D = dt.date
Make = Callable[..., dict[str, Any]]
ROOT = Path(__file__).resolve().parents[2]
WORKERS = 8


def _many_due_slots(world: World, make: Make, projects: int) -> None:
    """`projects` projects with the five default slots each, all due by 2027-06-23."""
    for number in range(projects):
        code = f"CC-{number:03d}"
        if number % 2:
            world.submit(make(code=code, as_of=D(2027, 3, 1), risky=number % 4 == 1))
        else:  # no checklist at all: the audit itself raises the blocking finding
            world.project(code)
            world.set_delivery(code, D(2027, 6, 30))
        world.schedule(code)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_eight_workers_over_200_due_slots_run_each_exactly_once(
        world: World, delivery_checklist: Make, db_url: str) -> None:
    _many_due_slots(world, delivery_checklist, 40)
    now = at("2027-06-23", 1)
    start = threading.Barrier(WORKERS)
    reports: list[PassReport] = []

    def work() -> None:
        database = Database(db_url)  # its own engine: its own connections
        try:
            start.wait()
            reports.append(run_due(world.auditor(database=database), now=now, deliver=False))
        finally:
            database.engine.dispose()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(reports) == WORKERS, "a worker crashed"
    claimed = [run for report in reports for run in report.runs]
    assert not [slot for report in reports for slot in report.failed]
    assert len(claimed) == len(set(claimed)) == 200
    assert sum(1 for report in reports if report.runs) > 1, "the workers did not overlap"
    runs = world.runs()
    assert len(runs) == 200 and {r.id for r in runs} == set(claimed)
    assert len({(r.schedule_id, r.slot_date) for r in runs}) == 200        # no duplicate
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditSlot).where(
            AuditSlot.status != "done")) == 0                                # no gap
    for project, count in Counter(r.project_id for r in runs).items():
        mine = [r for r in runs if r.project_id == project]
        assert [r.number for r in mine] == list(range(1, count + 1))
        assert [r.slot_date for r in mine] == sorted(r.slot_date for r in mine)  # in order


_KILLABLE_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from riskengine.assessment.assessor import Assessor
    from riskengine.audits import runner
    from riskengine.audits.clock import ManualClock
    from riskengine.audits.evaluation import AuditEvaluator
    from riskengine.audits.outbox import Sender
    from riskengine.audits.policy import load_audit_policy
    from riskengine.audits.runner import Auditor, run_due
    from riskengine.store.database import Database
    from riskengine.submission import Submissions
    from tests.audits.support import at

    url, marker = sys.argv[1], Path(sys.argv[2])
    written = runner.enqueue

    def stall(*args, **kwargs):
        rows = written(*args, **kwargs)
        marker.write_text("run written, not committed")   # now the test kills us
        time.sleep(120)
        return rows

    runner.enqueue = stall
    policy = load_audit_policy()
    clock = ManualClock(at("2027-04-01", 1))
    evaluator = AuditEvaluator(Submissions.of(Assessor.from_path()), policy)
    run_due(Auditor(Database(url), evaluator, clock, Sender(policy, smtp=None)))
""")


def test_a_worker_killed_mid_run_leaves_nothing_and_the_slot_runs_later_once(
        world: World, delivery_checklist: Make, db_url: str, tmp_path: Path) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    schedule = world.schedule("NJ-JY-01")
    marker = tmp_path / "stalled"
    worker = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_WORKER, db_url, str(marker)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the worker ended before it stalled"
            assert time.monotonic() < deadline, "the worker never reached the stall"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert world.runs() == []                                   # nothing half-written
    first = world.slots(schedule)[0]
    assert (first.status, first.attempts, first.run_id) == ("pending", 0, None)
    # PostgreSQL ends the dead worker's transaction (and its lock) once it sees the socket
    # close; until then the slot is skipped, not waited for.
    deadline = time.monotonic() + 10
    while not (report := run_due(world.auditor(), now=at("2027-04-01", 2))).runs:
        assert time.monotonic() < deadline, "the slot stayed locked after the worker died"
        time.sleep(0.1)
    assert len(report.runs) == 1
    assert run_due(world.auditor(), now=at("2027-04-01", 3)).runs == []
    (run,) = world.runs()
    assert run.slot_date == D(2027, 4, 1) and run.gate == "fail"
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditRun)) == 1
