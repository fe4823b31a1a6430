"""One app per database backend for the session; each test works on its own projects."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from riskengine.rules.catalog import Catalog
from tests.api.support import BACKENDS, Caller, database_url, make_app, new_token


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_url(backend, tmp_path_factory.mktemp(backend)) as url:
        yield url


@pytest.fixture(scope="session")
def app(db_url: str) -> Iterator[Flask]:
    app = make_app(db_url)
    yield app
    app.extensions["riskengine"].database.engine.dispose()


@pytest.fixture
def caller(app: Flask) -> Callable[..., Caller]:
    """`caller("owner", projects=[...], department="crm")` → a client with such a token."""
    def make(role: str = "admin", projects: list[str] | None = None,
             department: str | None = None, name: str | None = None) -> Caller:
        return Caller(app, new_token(app, role, projects, department, name))
    return make


@pytest.fixture
def admin(caller: Callable[..., Caller]) -> Caller:
    return caller("admin", name="admin.zhang")


@pytest.fixture
def today(app: Flask) -> Iterator[Callable[[dt.date], None]]:
    """Pin the service's date (waivers, overdue findings); restored after the test."""
    service = app.extensions["riskengine"]
    saved = service.pinned_today

    def pin(day: dt.date) -> None:
        service.pinned_today = day
    yield pin
    service.pinned_today = saved


@pytest.fixture
def evidence_required(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Rules named in the set ask for evidence before their findings are resolved."""
    wanted: set[str] = set()
    original = Catalog.rule

    def rule(self: Catalog, rule_id: str) -> Any:
        found = original(self, rule_id)
        if found is not None and rule_id in wanted:
            return dataclasses.replace(found, closure_evidence=True)
        return found
    monkeypatch.setattr(Catalog, "rule", rule)
    return wanted
