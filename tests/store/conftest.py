"""Migrated databases on both backends, one per session each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskengine.store.database import Database
from tests.api.support import BACKENDS, database_url


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Database]:
    with database_url(str(request.param), tmp_path_factory.mktemp("store")) as url:
        database = Database(url)
        yield database
        database.engine.dispose()
