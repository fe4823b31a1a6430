"""The failed-authentication counts: atomic across concurrent writers, per fixed window."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import select

from riskengine.store.database import Database
from riskengine.store.throttle import (
    ADDRESS,
    PREFIX,
    AuthFailure,
    Lock,
    Policy,
    keys,
    locked,
    record_failure,
)

POLICY = Policy(window_seconds=60, address_failures=10, prefix_failures=5)
NOW = 1_800_000_020.0  # 20 s into a window (1_800_000_000 is a multiple of 60)


def attempt() -> dict[str, str]:
    return keys(f"192.0.2.{uuid.uuid4().hex[:8]}", f"rk_{uuid.uuid4().hex}")


def fail(database: Database, tried: dict[str, str], now: float = NOW) -> dict[str, int]:
    with database.write() as session:
        return record_failure(session.connection(), POLICY, tried, now)


def lock(database: Database, tried: dict[str, str], now: float = NOW) -> Lock | None:
    with database.look_up() as connection:
        return locked(connection, POLICY, tried, now)


def test_concurrent_failures_are_all_counted(database: Database) -> None:
    tried, threads, each = attempt(), 4, 10

    def work() -> None:
        for _ in range(each):
            fail(database, tried)
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert fail(database, tried) == {ADDRESS: threads * each + 1, PREFIX: threads * each + 1}


def test_a_key_locks_at_its_limit_until_its_window_ends(database: Database) -> None:
    tried = attempt()
    for count in range(1, POLICY.prefix_failures + 1):
        assert lock(database, tried) is None
        assert fail(database, tried)[PREFIX] == count
    assert lock(database, tried) == Lock(PREFIX, tried[PREFIX], 5, 40)
    assert lock(database, tried, NOW + 39.5) == Lock(PREFIX, tried[PREFIX], 5, 1)
    assert lock(database, tried, NOW + 40) is None  # the next window
    other_prefix = {ADDRESS: tried[ADDRESS], PREFIX: "rk_other"}
    assert lock(database, other_prefix) is None  # the address has 5 of its 10


def test_the_address_lock_comes_first_and_without_a_token(database: Database) -> None:
    address = f"192.0.2.{uuid.uuid4().hex[:8]}"
    for _ in range(POLICY.address_failures):
        fail(database, keys(address, f"rk_{uuid.uuid4().hex}"))
    found = lock(database, keys(address, None))
    assert found is not None and (found.kind, found.failures) == (ADDRESS, 10)


def test_keys_are_cut_and_printable(database: Database) -> None:
    tried = keys("x" * 100, "rk_\x00\x01abcdefghij")
    assert tried == {ADDRESS: "x" * 64, PREFIX: "rk_??abcde"}
    fail(database, tried)
    with database.read() as session:
        assert "rk_??abcde" in set(session.scalars(select(AuthFailure.key)))
