"""Fixtures for the audits: one assessor per session, the audit policy, checklists to audit."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.audits.clock import ManualClock
from riskengine.audits.evaluation import AuditEvaluator
from riskengine.audits.policy import AuditPolicy, load_audit_policy
from riskengine.rules.cases import base_checklist
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.store.database import Database
from riskengine.submission import Submissions
from riskengine.vocabulary import Stage
from tests.api.support import BACKENDS, database_url, shared_assessor
from tests.audits.support import World, at, copied_database
from tests.shared import no_later_than


@pytest.fixture(scope="session")
def assessor() -> Assessor:
    # Compiling the rulesets again leaks memory inside durable_rules: the API tests' one.
    return shared_assessor()


@pytest.fixture(scope="session")
def policy() -> AuditPolicy:
    return load_audit_policy()


@pytest.fixture(scope="session")
def evaluator(assessor: Assessor, policy: AuditPolicy) -> AuditEvaluator:
    return AuditEvaluator(Submissions.of(assessor), policy)


def _base(stage: Stage) -> dict[str, Any]:
    clean: dict[str, Any] = json.loads(json.dumps(base_checklist(DEFAULT_ROOT, stage),
                                                  default=str))
    return clean


@pytest.fixture(scope="session")
def _delivery_base() -> dict[str, Any]:
    return _base(Stage.DELIVERY)


@pytest.fixture
def sales_checklist() -> Callable[..., dict[str, Any]]:
    """Return a clean sales checklist for a project, with `promises` added to its own."""
    base = _base(Stage.SALES)

    def make(code: str = "NJ-JY-01", *promises: dict[str, Any]) -> dict[str, Any]:
        checklist = copy.deepcopy(base)
        checklist["project"]["code"] = code
        checklist["promises"] = [*checklist.get("promises", []), *promises]
        return checklist
    return make




@pytest.fixture
def delivery_checklist(_delivery_base: dict[str, Any]
                       ) -> Callable[..., dict[str, Any]]:
    """Return a clean delivery checklist for a project, delivery date and as_of; `risky` adds
    a critical (blocking) and a medium finding, both owned by engineering."""
    def make(code: str = "NJ-JY-01", delivery: dt.date = dt.date(2027, 6, 30),
             as_of: dt.date = dt.date(2027, 5, 1), risky: bool = False) -> dict[str, Any]:
        checklist = copy.deepcopy(_delivery_base)
        checklist["project"]["code"] = code
        checklist["as_of"] = as_of.isoformat()
        no_later_than(checklist, as_of.isoformat())
        checklist["milestones"]["contract_delivery_date"] = delivery.isoformat()
        if risky:
            checklist["checks"]["quality_docs_ready"] = False
            checklist["checks"]["major_quality_hazards_open"] = 2
        return checklist
    return make


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def template_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each test copies (much faster than migrating per test)."""
    with database_url(backend, tmp_path_factory.mktemp(f"audits-{backend}")) as url:
        yield url


@pytest.fixture
def db_url(template_url: str, tmp_path: Path) -> Iterator[str]:
    with copied_database(template_url, tmp_path) as url:
        yield url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at("2027-01-01"))


@pytest.fixture
def world(database: Database, assessor: Assessor, policy: AuditPolicy, clock: ManualClock
          ) -> World:
    return World(database, assessor, policy, clock)
