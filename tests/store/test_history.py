"""Every history table refuses every statement that would rewrite or remove one of its rows, on
SQLite and PostgreSQL, and the row is exactly as it was afterwards (issue 13, item 5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

import riskengine.audits.models  # noqa: F401 - audit_runs, on the same metadata
from riskengine.store.database import Database
from riskengine.store.history import HISTORY_TABLES
from riskengine.store.models import Base
from tests.api.support import BACKENDS, database_url, down_and_up

# One row in each history table (and the rows they refer to). Ids start with "h-" (or 7000):
# nothing else in the session's databases uses them.
ROWS = (
    "INSERT INTO projects (id, code, created_at, created_by) "
    "VALUES (7000, 'HISTORY-7000', '2026-11-20 10:00:00', 'x')",
    "INSERT INTO checklists (id, project_id, stage, number, as_of, raw_text, sha256, "
    "submitted_by, created_at) VALUES ('h-checklist', 7000, 'delivery', 1, '2026-11-20', '{}', "
    "'h', 'pm.li', '2026-11-20 10:00:00')",
    "INSERT INTO assessments (id, project_id, checklist_id, stage, number, as_of, rulesets, "
    "content_hash, gate_at_submission, findings, resolved, created_at) VALUES ('h-assessment', "
    "7000, 'h-checklist', 'delivery', 1, '2026-11-20', '[]', 'h', 'fail', '[]', '[]', "
    "'2026-11-20 10:00:00')",
    "INSERT INTO findings VALUES ('h-finding', 7000, 'delivery', 'fp-h', 'R', 'permits', 'high', "
    "false, 'crm', '2026-11-20', '{}', 'open', '', NULL, NULL, 1, 'h-assessment', "
    "'h-assessment', '2026-11-20 10:00:00', '2026-11-20 10:00:00', NULL, NULL, NULL)",
    "INSERT INTO finding_events (id, finding_id, at, actor, action, reason, details) "
    "VALUES (7000, 'h-finding', '2026-11-20 10:00:00', 'owner.wang', 'status', '', '{}')",
    "INSERT INTO waivers (id, finding_id, justification, approver, expires, granted_by, "
    "created_at) VALUES ('h-waiver', 'h-finding', 'because', 'director.chen', '2027-01-01', "
    "'reviewer.zhao', '2026-11-20 10:00:00')",
    "INSERT INTO gate_reviews (id, project_id, stage, assessment_id, assessment_number, "
    "content_hash, computed_gate, decision, reviewer, comments, created_at) VALUES "
    "('h-review', 7000, 'delivery', 'h-assessment', 1, 'h', 'fail', 'fail', 'reviewer.zhao', "
    "'', '2026-11-20 10:00:00')",
    "INSERT INTO audit_schedules (id, project_id, kind, interval, created_at, created_by) "
    "VALUES (7000, 7000, 'weekly', 1, '2026-11-20 10:00:00', 'x')",
    "INSERT INTO audit_slots (id, schedule_id, slot_date, due_at, status, attempts) "
    "VALUES (7000, 7000, '2026-11-27', '2026-11-27 09:00:00', 'done', 1)",
    "INSERT INTO audit_runs (id, project_id, schedule_id, slot_id, slot_date, number, due_at, "
    "ran_at, created_at, checklist_id, gate, body) VALUES ('h-run', 7000, 7000, 7000, "
    "'2026-11-27', 1, '2026-11-27 09:00:00', '2026-11-27 09:00:01', '2026-11-27 09:00:01', "
    "'h-checklist', 'fail', '{}')",
    "INSERT INTO finding_comments (id, finding_id, author, body, mentions, created_at) VALUES "
    "('h-comment', 'h-finding', 'owner.wang', 'done @legal', '[\"legal\"]', "
    "'2026-11-20 10:00:00')",
    "INSERT INTO finding_notices (id, key, finding_id, kind, recipient, body, created_at) VALUES "
    "('h-notice', 'mention:h-comment:legal', 'h-finding', 'mention', 'legal', '{}', "
    "'2026-11-20 10:00:00')",
    "INSERT INTO blobs (id, size, media_type, location, data, created_at) VALUES "
    "('h-blob', 3, 'image/jpeg', 'db', NULL, '2026-11-20 10:00:00')",
    "INSERT INTO attachments (id, project_id, finding_id, blob_id, media_type, file_name, size, "
    "uploaded_by, uploaded_at) VALUES ('h-attachment', 7000, 'h-finding', 'h-blob', "
    "'image/jpeg', 'crack.jpg', 3, 'owner.wang', '2026-11-20 10:00:00')",
    "INSERT INTO attachment_removals (id, attachment_id, removed_by, reason, removed_at) VALUES "
    "('h-removal', 'h-attachment', 'reviewer.zhao', 'blurred', '2026-11-20 10:00:00')",
)
# Each table's row, and the column an attacker rewrites in it (the decision of a review, the
# approver of a waiver, the gate of an assessment or a run, …), with a value of its type.
TARGETS: dict[str, tuple[str, str, str]] = {
    "checklists": ("'h-checklist'", "submitted_by", "'forged'"),
    "assessments": ("'h-assessment'", "gate_at_submission", "'pass'"),
    "finding_events": ("7000", "actor", "'forged'"),
    "waivers": ("'h-waiver'", "approver", "'forged'"),
    "gate_reviews": ("'h-review'", "decision", "'pass'"),
    "audit_runs": ("'h-run'", "gate", "'pass'"),
    "finding_comments": ("'h-comment'", "body", "'forged'"),
    "finding_notices": ("'h-notice'", "recipient", "'forged'"),
    "blobs": ("'h-blob'", "media_type", "'forged'"),
    "attachments": ("'h-attachment'", "blob_id", "'forged'"),
    "attachment_removals": ("'h-removal'", "removed_by", "'forged'"),
}
NEW_ID = {"finding_events": "7001"}  # a free id for a row that takes another's unique key


def _unique_keys(table: str) -> list[tuple[str, ...]]:
    """The table's unique keys other than its primary key, from the models."""
    constraints = Base.metadata.tables[table].constraints
    return [tuple(c.name for c in constraint.columns) for constraint in constraints
            if type(constraint).__name__ == "UniqueConstraint"]


def _copy(table: str, columns: list[str], **changed: str) -> str:
    """`SELECT` the history row again, some columns changed: the source of an overwrite."""
    where = TARGETS[table][0]
    picked = ", ".join(changed.get(column, f'"{column}"') for column in columns)
    return f"SELECT {picked} FROM {table} WHERE id = {where}"


def _statement(form: str, table: str, columns: list[str]) -> str:
    """The statement `form` against the table's row; a `…unique_key:a,b` form takes the row's
    unique key (a, b) with a new id."""
    form, _, key = form.partition(":")
    row, column, value = TARGETS[table]
    forged = _copy(table, columns, **{column: value})
    other = _copy(table, columns, id=NEW_ID.get(table, "'h-other'"), **{column: value})
    return {
        "update": f"UPDATE {table} SET {column} = {value} WHERE id = {row}",
        "update_all": f"UPDATE {table} SET id = id",
        "update_or_replace": f"UPDATE OR REPLACE {table} SET {column} = {value} WHERE id = {row}",
        "delete": f"DELETE FROM {table} WHERE id = {row}",
        "delete_all": f"DELETE FROM {table}",
        "replace": f"REPLACE INTO {table} {forged}",
        "insert_or_replace": f"INSERT OR REPLACE INTO {table} {forged}",
        "insert_or_replace_unique_key": f"INSERT OR REPLACE INTO {table} {other}",
        "upsert": f"INSERT INTO {table} {forged} ON CONFLICT (id) DO UPDATE "
                  f"SET {column} = excluded.{column}",
        "upsert_unique_key": f"INSERT INTO {table} {other} ON CONFLICT ({key}) DO UPDATE "
                             f"SET {column} = excluded.{column}",
        "truncate": f"TRUNCATE {table} CASCADE",
        "merge_update": f"MERGE INTO {table} USING (SELECT {row} AS id) AS s ON {table}.id = "
                        f"s.id WHEN MATCHED THEN UPDATE SET {column} = {value}",
        "merge_delete": f"MERGE INTO {table} USING (SELECT {row} AS id) AS s ON {table}.id = "
                        f"s.id WHEN MATCHED THEN DELETE",
    }[form]


COMMON = ["update", "update_all", "delete", "delete_all", "upsert", "upsert_unique_key"]
SQLITE = [*COMMON, "update_or_replace", "replace", "insert_or_replace",
          "insert_or_replace_unique_key"]
POSTGRES = [*COMMON, "truncate", "merge_update", "merge_delete"]
# What a connection that did not turn recursive_triggers on (the sqlite3 shell, another
# program) can still try: the BEFORE INSERT triggers alone refuse it.
BARE = ["replace", "insert_or_replace", "insert_or_replace_unique_key", "upsert",
        "upsert_unique_key"]


def _cases(forms: list[str]) -> list[Any]:
    """(table, form) for each history table and form; a unique-key form once per unique key."""
    cases = []
    for table in HISTORY_TABLES:
        for form in forms:
            keyed = [f"{form}:{','.join(key)}" for key in _unique_keys(table)]
            for case in keyed if "unique_key" in form else [form]:
                cases.append(pytest.param(table, case, id=f"{table}-{case}"))
    return cases


def _seeded(backend: str, tmp: Path) -> Iterator[Database]:
    with database_url(backend, tmp) as url:
        database = Database(url)
        with database.engine.begin() as connection:
            for statement in ROWS:
                connection.exec_driver_sql(statement)
        yield database
        database.engine.dispose()


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from _seeded("sqlite", tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def on_postgres() -> Iterator[Database]:
    yield from _seeded("postgres", Path("."))


def _snapshot(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in
                connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")]


def _columns(table: str) -> list[str]:
    return list(Base.metadata.tables[table].columns.keys())


def _refused(engine: Engine, table: str, form: str) -> None:
    before = _snapshot(engine, table)
    assert before, f"{table} has no row to protect"
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.exec_driver_sql(_statement(form, table, _columns(table)))
    assert _snapshot(engine, table) == before


@pytest.mark.parametrize(("table", "form"), _cases(SQLITE))
def test_sqlite_refuses(on_sqlite: Database, table: str, form: str) -> None:
    _refused(on_sqlite.engine, table, form)


@pytest.mark.postgres
@pytest.mark.parametrize(("table", "form"), _cases(POSTGRES))
def test_postgres_refuses(on_postgres: Database, table: str, form: str) -> None:
    _refused(on_postgres.engine, table, form)


@pytest.mark.parametrize(("table", "form"), _cases(BARE))
def test_sqlite_refuses_without_recursive_triggers(on_sqlite: Database, table: str,
                                                   form: str) -> None:
    """The sqlite3 module's own connection: no pragma of the service's turned on."""
    path = make_url(str(on_sqlite.engine.url)).database
    assert path
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert connection.execute("PRAGMA recursive_triggers").fetchone() == (0,)
        before = _snapshot(on_sqlite.engine, table)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(_statement(form, table, _columns(table)))
        assert _snapshot(on_sqlite.engine, table) == before
    finally:
        connection.close()


def test_service_connections_fire_triggers_recursively(on_sqlite: Database) -> None:
    with on_sqlite.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1


def test_every_history_table_is_tested() -> None:
    """A table added to HISTORY_TABLES needs its row and its target here (and a migration)."""
    assert set(TARGETS) == set(HISTORY_TABLES)
    assert {statement.split()[2] for statement in ROWS} >= set(HISTORY_TABLES)


@pytest.mark.parametrize("backend", BACKENDS)
def test_downgrade_and_upgrade_again(backend: str, tmp_path: Path) -> None:
    """Below 0103 the SQLite guards are gone; back at the head, they are there again."""
    expected = set(HISTORY_TABLES) if backend == "sqlite" else set()

    def below(connection: Connection) -> None:
        assert _guards(connection) == set()

    def back(connection: Connection) -> None:
        assert _guards(connection) == expected
    with database_url(backend, tmp_path) as url:
        down_and_up(url, "0102", below, back)


@pytest.mark.parametrize("backend", BACKENDS)
def test_attachments_downgrade_and_upgrade_again(backend: str, tmp_path: Path) -> None:
    """0109's tables go below it, and come back (guarded) at the head."""
    added = {"blobs", "attachments", "attachment_removals"}

    def tables(connection: Connection) -> set[str]:
        from sqlalchemy import inspect
        return set(inspect(connection).get_table_names())

    def below(connection: Connection) -> None:
        assert not added & tables(connection)

    def back(connection: Connection) -> None:
        assert added <= tables(connection)
        if connection.dialect.name == "sqlite":
            assert added <= _guards(connection)
    with database_url(backend, tmp_path) as url:
        down_and_up(url, "0105", below, back)


def _guards(connection: Connection) -> set[str]:
    if connection.dialect.name != "sqlite":
        return set()
    return {name.removesuffix("_no_overwrite") for name, in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_overwrite'")}
