"""History refuses REPLACE and upserts on SQLite too.

SQLite's `INSERT OR REPLACE` (and `REPLACE`) resolves a key conflict by deleting the old row,
and it fires no DELETE trigger unless `recursive_triggers` is on: the UPDATE/DELETE triggers of
0001 and audits01 let it rewrite history. Two guards now close that, each enough on its own:
every connection of the service turns `recursive_triggers` on (riskengine/store/database.py),
so the existing DELETE triggers refuse the replacement; and each history table gets a BEFORE
INSERT trigger that refuses a row whose primary key or unique key is already taken, which
catches REPLACE and the upsert `INSERT … ON CONFLICT DO UPDATE` on any connection (the sqlite3
shell included). A plain duplicate INSERT, refused by the constraint before, is now refused by
the trigger first: same error class (IntegrityError), an "append-only" message.

PostgreSQL needs no new guard: it has no REPLACE; `ON CONFLICT DO UPDATE` and MERGE fire the
row-level UPDATE/DELETE triggers, and the statement-level TRUNCATE triggers are in place since
0001 / audits01. tests/store/test_history.py checks every form on both databases.

Revision ID: 0103
Revises: 0102
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0103"
down_revision = "0102"
branch_labels = None
depends_on = None

# The history tables as of this revision, frozen here like any migration's schema; the list the
# code and the tests use is riskengine.store.history.HISTORY_TABLES.
HISTORY = ("checklists", "assessments", "finding_events", "waivers", "gate_reviews",
           "audit_runs")


def _keys(table: str) -> list[tuple[str, ...]]:
    """The table's primary key and unique keys, as the database has them at this revision."""
    inspector = sa.inspect(op.get_bind())
    keys = [tuple(inspector.get_pk_constraint(table)["constrained_columns"])]
    keys += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
    keys += [tuple(c for c in i["column_names"] if c) for i in inspector.get_indexes(table)
             if i["unique"]]
    return list(dict.fromkeys(key for key in keys if key))


def _no_overwrite(table: str) -> str:
    taken = " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} WHERE "
        + " AND ".join(f'"{column}" = NEW."{column}"' for column in key) + ")"
        for key in _keys(table))
    return (f"CREATE TRIGGER {table}_no_overwrite BEFORE INSERT ON {table} WHEN {taken} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with this key exists, "
            "REPLACE refused'); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in HISTORY:
            op.execute(_no_overwrite(table))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in HISTORY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_overwrite")
