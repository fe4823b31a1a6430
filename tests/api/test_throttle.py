"""Failed authentication is throttled per client address and per token prefix, the counts in
the database: shared by two apps on one database as by two workers (issue 13, item 7)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection, func, inspect, select
from werkzeug.test import TestResponse

from api.config import from_environment
from riskengine.store.database import Database
from riskengine.store.models import Base
from riskengine.store.throttle import AuthFailure
from tests.api.support import BACKENDS, database_url, down_and_up, make_app, new_token

WINDOW, PER_ADDRESS, PER_PREFIX = 60, 4, 3
START = 1_800_000_000.0  # a window's first second (a multiple of WINDOW)


class Clock:
    """The throttle's clock, moved by the tests: epoch seconds."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    apps: tuple[Flask, Flask]  # two workers on one database
    clock: Clock
    url: str

    def send(self, token: str, address: str, app: int = 0, via: str | None = None,
             on: Flask | None = None) -> TestResponse:
        client = (on or self.apps[app]).test_client()
        headers = {"Authorization": f"Bearer {token}"}
        if via is not None:
            headers["X-Forwarded-For"] = via
        return client.get("/api/v1/rulesets", headers=headers,
                          environ_base={"REMOTE_ADDR": address})

    def token(self) -> str:
        return new_token(self.apps[0], "auditor")

    def next_window(self) -> None:
        """Move to the start of a window no test has used yet."""
        self.clock.now = (self.clock.now // WINDOW + 1) * WINDOW


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    with database_url(str(request.param), tmp_path_factory.mktemp("throttle")) as url:
        config = {"AUTH_THROTTLE_WINDOW_SECONDS": WINDOW,
                  "AUTH_THROTTLE_ADDRESS_FAILURES": PER_ADDRESS,
                  "AUTH_THROTTLE_PREFIX_FAILURES": PER_PREFIX}
        apps = (make_app(url, **config), make_app(url, **config))
        clock = Clock()
        for app in apps:
            app.extensions["riskengine.throttle"].clock = clock
        yield World(apps, clock, url)
        for app in apps:
            app.extensions["riskengine"].database.engine.dispose()


@pytest.fixture
def world_now(world: World) -> World:
    world.next_window()
    return world


def address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # a documentation one


def bad() -> str:
    return f"rk_{uuid.uuid4().hex}"  # a new prefix each time: only the address counts


def assert_throttled(answer: TestResponse, retry_after: int) -> None:
    assert answer.status_code == 429, answer.get_data(as_text=True)
    assert answer.headers["Retry-After"] == str(retry_after)
    error = answer.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert str(retry_after) in error["message"]
    assert error["details"] == {"retry_after": [str(retry_after)]}


def test_the_defaults_are_documented_policy() -> None:
    config = from_environment()
    assert (config["AUTH_THROTTLE_WINDOW_SECONDS"], config["AUTH_THROTTLE_ADDRESS_FAILURES"],
            config["AUTH_THROTTLE_PREFIX_FAILURES"]) == (60, 10, 5)


def test_failures_from_one_address_then_429_even_with_a_valid_token(
        world_now: World, caplog: pytest.LogCaptureFixture) -> None:
    world, client, valid = world_now, address(), world_now.token()
    for _ in range(PER_ADDRESS):
        assert world.send(bad(), client).status_code == 401
    world.clock.now += 15
    tried = bad()
    with caplog.at_level(logging.WARNING, logger="riskengine.api"):
        assert_throttled(world.send(tried, client), WINDOW - 15)
    # The demanding choice (api/throttle.py): a right guess from a locked address is refused.
    assert_throttled(world.send(valid, client), WINDOW - 15)
    [line, _] = [r.getMessage() for r in caplog.records if r.name == "riskengine.api"]
    assert f"address={client}" in line and f"prefix={tried[:10]}" in line
    assert f"failures={PER_ADDRESS}" in line


def test_a_valid_token_from_another_address_is_unaffected(world_now: World) -> None:
    world, locked, valid = world_now, address(), world_now.token()
    for _ in range(PER_ADDRESS + 2):
        world.send(bad(), locked)
    assert world.send(bad(), locked).status_code == 429
    assert world.send(valid, address()).status_code == 200
    assert world.send(bad(), address()).status_code == 401  # another address starts at 0


def test_failures_with_one_prefix_from_many_addresses_then_429(world_now: World) -> None:
    world, victim, other = world_now, world_now.token(), world_now.token()
    for _ in range(PER_PREFIX):
        assert world.send(victim[:10] + uuid.uuid4().hex, address()).status_code == 401
    assert_throttled(world.send(victim[:10] + "guess", address()), WINDOW)
    assert_throttled(world.send(victim, address()), WINDOW)  # its holder waits the window out
    assert world.send(other, address()).status_code == 200


def test_the_lock_ends_with_its_window(world_now: World) -> None:
    world, client, valid = world_now, address(), world_now.token()
    for _ in range(PER_ADDRESS):
        world.send(bad(), client)
    world.clock.now += WINDOW - 1
    assert_throttled(world.send(valid, client), 1)
    world.clock.now += 1
    assert world.send(valid, client).status_code == 200
    for _ in range(PER_ADDRESS):  # counted anew
        assert world.send(bad(), client).status_code == 401
    assert world.send(valid, client).status_code == 429


def test_ended_windows_are_pruned(world_now: World) -> None:
    world = world_now
    world.send(bad(), address())
    database: Database = world.apps[0].extensions["riskengine"].database
    current = int(world.clock.now)
    world.clock.now += WINDOW
    world.send(bad(), address())
    with database.read() as session:
        starts = set(session.scalars(select(AuthFailure.window_start)))
        assert min(starts) >= current + WINDOW
        assert session.scalar(select(func.count()).select_from(AuthFailure)) == 2


def test_two_apps_on_one_database_share_the_counts(world_now: World) -> None:
    world, client, valid = world_now, address(), world_now.token()
    for attempt in range(PER_ADDRESS):
        assert world.send(bad(), client, app=attempt % 2).status_code == 401
    assert world.send(valid, client, app=0).status_code == 429
    assert world.send(valid, client, app=1).status_code == 429
    assert world.send(valid, address(), app=1).status_code == 200


def test_the_login_page_goes_through_the_same_throttle(world_now: World) -> None:
    world, client, valid = world_now, address(), world_now.token()
    browser = world.apps[1].test_client()
    browser.environ_base["REMOTE_ADDR"] = client
    browser.get("/login")
    with browser.session_transaction() as session:
        session["csrf"] = csrf = uuid.uuid4().hex

    def log_in(token: str) -> TestResponse:
        return browser.post("/login", data={"token": token, "csrf_token": csrf})

    for _ in range(PER_ADDRESS - 1):
        assert log_in(bad()).status_code == 401
    assert world.send(bad(), client).status_code == 401  # the API's failures count too
    answer = log_in(valid)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == str(WINDOW)
    assert "登录失败次数过多" in answer.get_data(as_text=True)
    with browser.session_transaction() as session:
        assert "token_id" not in session
    assert world.send(valid, client).status_code == 429
    world.clock.now += WINDOW
    assert log_in(valid).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_counts(world_now: World) -> None:
    world, proxy, valid = world_now, address(), world_now.token()
    behind = make_app(world.url, AUTH_THROTTLE_ADDRESS_FAILURES=PER_ADDRESS, TRUSTED_PROXIES=1)
    behind.extensions["riskengine.throttle"].clock = world.clock
    try:
        client = address()
        for _ in range(PER_ADDRESS):  # what the client writes itself changes nothing
            assert world.send(bad(), proxy, via=f"{address()}, {client}",
                              on=behind).status_code == 401
        assert world.send(valid, proxy, via=client, on=behind).status_code == 429
        assert world.send(valid, proxy, via=address(), on=behind).status_code == 200
        # Without trusted proxies the header is the client's to forge: the peer counts.
        assert world.send(valid, proxy, via=client).status_code == 200
    finally:
        behind.extensions["riskengine"].database.engine.dispose()


def test_the_table_is_the_models(world: World) -> None:
    database: Database = world.apps[0].extensions["riskengine"].database
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": lambda item, name, kind, *_: (
                name if kind == "table" else item.table.name) == "auth_failures"})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_table_comes_and_goes_with_its_migration(backend: str, tmp_path: Path) -> None:
    def below(connection: Connection) -> None:
        assert "auth_failures" not in inspect(connection).get_table_names()

    def back(connection: Connection) -> None:
        assert "auth_failures" in inspect(connection).get_table_names()
    with database_url(backend, tmp_path) as url:
        down_and_up(url, "0103", below, back)
