"""PostgreSQL connections: pinged only after sitting idle, and a dead one is replaced unseen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from riskengine.store import database as db
from riskengine.store.database import Database
from tests.api.support import database_url, pg_admin

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Database]:
    with database_url("postgres", tmp_path) as url:
        database = Database(url, pool_size=1, max_overflow=0)
        yield database
        database.engine.dispose()


def _backend(database: Database) -> int:
    with database.read() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(pid: int) -> None:
    with pg_admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_killed_while_idle_is_replaced(pg: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first = _backend(pg)
    _kill(first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle long enough
    second = _backend(pg)
    assert second != first
    with pg.write() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1


def test_a_connection_in_steady_use_is_not_pinged(pg: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _backend(pg)
    pings: list[Any] = []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    monkeypatch.setattr(pg.engine.dialect, "do_ping", pings.append)
    for _ in range(3):
        _backend(pg)
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend(pg)
    assert len(pings) == 1
