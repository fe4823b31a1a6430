"""Migrations build exactly the models' schema, and history cannot be changed or removed."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from riskengine.store.database import Database, alembic_config, normalize_url, pending, upgrade
from riskengine.store.models import APPEND_ONLY, Base

ROWS = {
    "checklists": "INSERT INTO checklists VALUES ('c-{t}', {p}, 'sales', 1, '2026-11-20', '{{}}',"
                  " 'h', 'pm', NULL, '2026-11-20 10:00:00')",
    "assessments": "INSERT INTO assessments VALUES ('a-{t}', {p}, 'c-{t}', 'sales', 1, "
                   "'2026-11-20', '[]', 'h', 'pass', '[]', '[]', '2026-11-20 10:00:00')",
    "findings": "INSERT INTO findings VALUES ('f-{t}', {p}, 'sales', 'fp-{t}', 'R', 'permits', "
                "'high', false, 'crm', '2026-11-20', '{{}}', 'open', '', NULL, NULL, 1, 'a-{t}', "
                "'a-{t}', '2026-11-20 10:00:00', '2026-11-20 10:00:00', NULL, NULL, NULL)",
    "finding_events": "INSERT INTO finding_events (finding_id, at, actor, action, reason, details)"
                      " VALUES ('f-{t}', '2026-11-20 10:00:00', 'x', 'status', '', '{{}}')",
    "waivers": "INSERT INTO waivers VALUES ('w-{t}', 'f-{t}', 'because', 'r', '2027-01-01', 'r',"
               " NULL, '2026-11-20 10:00:00')",
    "gate_reviews": "INSERT INTO gate_reviews VALUES ('g-{t}', {p}, 'sales', 'a-{t}', 1, 'h', "
                    "'pass', 'pass', 'r', NULL, '', NULL, '2026-11-20 10:00:00', NULL, NULL, NULL)",
    "finding_comments": "INSERT INTO finding_comments VALUES ('m-{t}', 'f-{t}', 'r', NULL, 'hi',"
                        " '[]', '2026-11-20 10:00:00')",
    "finding_notices": "INSERT INTO finding_notices VALUES ('n-{t}', 'k-{t}', 'f-{t}', 'mention',"
                       " 'legal', '{{}}', '2026-11-20 10:00:00')",
    "blobs": "INSERT INTO blobs VALUES ('b-{t}', 3, 'image/jpeg', 'db', NULL, "
             "'2026-11-20 10:00:00')",
    "attachments": "INSERT INTO attachments (id, project_id, finding_id, blob_id, media_type, "
                   "file_name, size, uploaded_by, uploaded_at) VALUES ('at-{t}', {p}, 'f-{t}', "
                   "'b-{t}', 'image/jpeg', 'x.jpg', 3, 'r', '2026-11-20 10:00:00')",
    "attachment_removals": "INSERT INTO attachment_removals VALUES ('ar-{t}', 'at-{t}', 'r', "
                           "NULL, 'blurred', '2026-11-20 10:00:00')",
}


# Other packages add tables (and columns) of their own; this compares the service's.
SERVICE_TABLES = frozenset(mapper.local_table.name for mapper in Base.registry.mappers
                           if mapper.class_.__module__ == "riskengine.store.models")


def _service_object(item: Any, name: str | None, kind: str, reflected: bool,
                    other: Any) -> bool:
    if kind == "column" and reflected and other is None:
        return False  # a column another package's migration adds to a service table
    table = name if kind == "table" else getattr(getattr(item, "table", None), "name", None)
    return table in SERVICE_TABLES


def test_schema_is_current_and_matches_the_models(database: Database) -> None:
    assert not pending(database.engine)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": _service_object})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_again_changes_nothing(database: Database) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert upgrade(database.engine) == head


@pytest.fixture(scope="module")
def history(database: Database) -> str:
    """One row in every append-only table."""
    tag = database.engine.dialect.name
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO projects (code, created_at, created_by) VALUES "
                                f"('HIST-{tag}', '2026-11-20 10:00:00', 'x')"))
        project = connection.execute(text(
            f"SELECT id FROM projects WHERE code = 'HIST-{tag}'")).scalar_one()
        for table in ("checklists", "assessments", "findings", "finding_events", "waivers",
                      "gate_reviews", "finding_comments", "finding_notices", "blobs",
                      "attachments", "attachment_removals"):
            connection.execute(text(ROWS[table].format(t=tag, p=project)))
    return tag


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"],
                         ids=["update", "delete"])
def test_history_is_append_only(database: Database, history: str, table: str,
                                statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as connection:
            connection.execute(text(statement.format(table=table)))
    with database.engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() >= 1


def test_tracked_findings_stay_mutable(database: Database, history: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(f"UPDATE findings SET status = 'in_progress' "
                                f"WHERE id = 'f-{history}'"))


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_platform_urls_use_psycopg(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_a_submission_reads_and_writes_every_column_of_a_tracked_finding() -> None:
    """TrackedFinding mirrors the findings table by hand (for typing): a column added to the
    model must be added there too, or a submission would silently not store it."""
    from dataclasses import fields

    from riskengine.store.models import Finding
    from riskengine.store.submissions import TrackedFinding

    assert [f.name for f in fields(TrackedFinding)] == [
        c.key for c in Finding.__mapper__.column_attrs]
