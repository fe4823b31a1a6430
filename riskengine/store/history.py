"""The history tables: evidence, only ever inserted into. This is the one list of them.

The database refuses every statement that would rewrite or remove one of their rows: UPDATE,
DELETE and TRUNCATE (migrations 0001 and audits01), and on SQLite REPLACE, `INSERT OR REPLACE`
and upserts on an existing key too (migration 0103, with `recursive_triggers` turned on for
every connection in riskengine.store.database). Each migration freezes the list as it was at
its revision; tests/store/test_history.py holds every table here to every such statement.
"""

from __future__ import annotations

from riskengine.store.models import APPEND_ONLY

# The service's own (riskengine.store.models.APPEND_ONLY) and the audits' runs.
HISTORY_TABLES: tuple[str, ...] = (*APPEND_ONLY, "audit_runs")
