"""The audits' migration builds exactly their models, and runs cannot be changed or removed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from riskengine.audits.models import DELIVERY_COLUMN
from riskengine.audits.runner import run_due
from riskengine.store.database import Database
from riskengine.store.models import Base
from tests.audits.support import World, at

AUDIT_TABLES = frozenset(t for t in Base.metadata.tables if t.startswith("audit_"))


def _audit_object(item: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
    if kind == "table":
        return name in AUDIT_TABLES
    table = getattr(getattr(item, "table", None), "name", None)
    return table in AUDIT_TABLES or (table == "projects" and name == DELIVERY_COLUMN)


def test_migration_matches_the_models(database: Database) -> None:
    assert len(AUDIT_TABLES) == 5
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _audit_object})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("statement", [
    pytest.param("UPDATE audit_runs SET gate = 'pass'", id="update"),
    pytest.param("DELETE FROM audit_runs", id="delete"),
])
def test_runs_are_append_only(world: World, delivery_checklist: Callable[..., dict[str, Any]],
                              statement: str) -> None:
    world.submit(delivery_checklist(as_of=dt.date(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    run_due(world.auditor(), now=at("2027-04-01"))
    with pytest.raises(DBAPIError, match="append-only"):
        with world.database.engine.begin() as connection:
            connection.execute(text(statement))
    assert [r.gate for r in world.runs()] == ["fail"]
