"""What the API and store tests share: one assessor, databases on both backends, a client."""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Connection
from werkzeug.test import TestResponse

from riskengine.assessment.assessor import Assessor
from riskengine.output.workbook import MEDIA_TYPE, write_template
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.store.database import Database, upgrade
from riskengine.store.tokens import create_token
from riskengine.vocabulary import Stage
from tests.shared import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
RULESETS = Path(os.environ.get("RISKENGINE_RULESETS") or DEFAULT_ROOT)
PG_ADMIN_URL = os.environ.get("RISKENGINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@functools.cache
def shared_assessor() -> Assessor:
    # Compiling rulesets leaks memory inside durable_rules: one per test process.
    return Assessor.from_path(RULESETS)


@functools.cache
def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def checklist(name: str, code: str, **changes: Any) -> dict[str, Any]:
    """A contract example for project `code`, its `checks` cut to the keys rulesets declare.

    The rulesets are written in parallel with the service; keys they do not declare yet would
    make a valid example invalid, and these tests are about the service, not the rules.
    """
    data = copy.deepcopy(example(name))
    data["project"]["code"] = code
    declared = shared_assessor().validator.checks
    stage = next(s for s in declared if s.value == data["stage"])
    data["checks"] = {k: v for k, v in data.get("checks", {}).items() if k in declared[stage]}
    data.update(changes)
    return data


def missing(what: str, remedy: str) -> NoReturn:
    """Fail a test whose real dependency (PostgreSQL, Chromium) is absent: every run tests
    both databases and the browser, so a missing one is never a silent skip."""
    pytest.fail(f"{what}; {remedy}", pytrace=False)


def pg_admin() -> Any:
    """A connection to PostgreSQL's admin database; the test fails if it is unreachable."""
    import psycopg
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        missing(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}",
                "`make services` starts the local server (or set RISKENGINE_TEST_PG)")


@contextmanager
def database_url(backend: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database of the backend, removed afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'riskengine.sqlite3'}"
        migrate(url)
        yield url
        return
    with scratch_pg_database("rk_test") as url:
        migrate(url)
        yield url


@contextmanager
def scratch_pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """The URL of a new PostgreSQL database (empty, or a copy of `template`), dropped after."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield pg_url(name)
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(name: str) -> str:
    """The URL of the PostgreSQL database `name`, on the admin connection's server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def migrate(url: str) -> None:
    """Bring the database at `url` to the latest schema."""
    database = Database(url)
    upgrade(database.engine)
    database.engine.dispose()


def make_app(url: str, **config: Any) -> Flask:
    """An app on `url`; no scheduler thread (whatever RISKENGINE_SCHEDULER says) unless asked."""
    from api import create_app
    return create_app({"ENV": "testing", "DATABASE_URL": url, "RULESETS_DIR": str(RULESETS),
                       "LOG_REQUESTS": False, "AUDIT_SCHEDULER": False, **config},
                      assessor=shared_assessor())


def new_token(app: Flask, role: str, projects: list[str] | None = None,
              department: str | None = None, name: str | None = None) -> str:
    with app.extensions["riskengine"].database.write() as session:
        _, secret = create_token(session, name or f"{role}-{uuid.uuid4().hex[:6]}", role,
                                 department, projects)
    return secret


class Caller:
    """A test client that sends one token: `caller.post(path, json=...)`."""

    def __init__(self, app: Flask, token: str | None) -> None:
        self.app, self.token = app, token
        self.client: FlaskClient = app.test_client()

    def headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        given = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**given, **(extra or {})}

    def request(self, method: str, path: str, json_body: Any = None, data: Any = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False)
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self.client.open(path, method=method, data=data, headers=self.headers(headers),
                                **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, json_body=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, json_body=json, **kwargs)

    def submit(self, body: dict[str, Any], **kwargs: Any) -> TestResponse:
        return self.post(f"/api/v1/projects/{body['project']['code']}/checklists", body, **kwargs)

    def upload(self, code: str, workbook: bytes, headers: dict[str, str] | None = None,
               **kwargs: Any) -> TestResponse:
        """Submit a filled Excel template as the body of the checklists route."""
        return self.request("POST", f"/api/v1/projects/{code}/checklists", data=workbook,
                            headers={"Content-Type": MEDIA_TYPE, **(headers or {})}, **kwargs)


# A production-strength key for servers the tests start (the settings refuse weak ones).
STRONG_KEY = "test-server-" + "0123456789abcdefghijklmnopqrstuv"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_in_background(env: dict[str, str], cwd: Path, port: int, *options: str
                        ) -> subprocess.Popen[bytes]:
    """`riskengine serve --port PORT OPTIONS` in its own process group, once /readyz answers
    (its output in cwd/server.log, shown if it never does)."""
    command = [sys.executable, "-c", "from riskengine.cli import main; main()", "serve",
               "--port", str(port), *options]
    with (cwd / "server.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, cwd=cwd, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    raise AssertionError("server did not start: " + (cwd / "server.log").read_text())


@contextlib.contextmanager
def production_server(tmp: Path, url: str, *options: str
                      ) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`riskengine serve` as production runs it (SQLite at `url`, no scheduler, no request
    log) on a free port; stopped (TERM, then KILL) whatever happens."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": STRONG_KEY,
           "RISKENGINE_RULESETS": str(RULESETS), "RISKENGINE_ENV": "production",
           "RISKENGINE_LOG_REQUESTS": "0", "RISKENGINE_SCHEDULER": "0"}
    port = free_port()
    process = serve_in_background(env, tmp, port, *options)
    try:
        yield port, process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def down_and_up(url: str, revision: str, below: Callable[[Connection], None],
                back: Callable[[Connection], None]) -> None:
    """Downgrade the database at `url` to `revision` and check it (`below`), upgrade it back to
    the head and check it again (`back`): a migration's downgrade must undo what it did."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from riskengine.store.database import alembic_config, upgrade
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
            below(connection)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert upgrade(database.engine) == head
        with database.engine.connect() as connection:
            back(connection)
    finally:
        database.engine.dispose()


def send_file(caller: Caller, path: str, data: bytes, name: str = "photo.jpg",
              content_type: str = "image/jpeg", **form: str) -> TestResponse:
    """Upload `data` as the `file` part of a multipart form (the client's type is a claim)."""
    import io
    fields: dict[str, Any] = {**form, "file": (io.BytesIO(data), name, content_type)}
    return caller.client.post(path, data=fields, headers=caller.headers(None),
                              content_type="multipart/form-data")


def photo(size: tuple[int, int] = (64, 48), colour: str = "red", kind: str = "JPEG",
          **save: Any) -> bytes:
    """A small real image made with Pillow (different colours: different bytes)."""
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind, **save)
    return out.getvalue()


def workbook(data: dict[str, Any], **cells: Any) -> bytes:
    """The stage's template filled with `data`; `cells` (`sheet__C4=value`) overwrite cells."""
    content = write_template(shared_assessor().catalog, Stage(data["stage"]), data)
    if not cells:
        return content
    book = load_workbook(io.BytesIO(content))
    for where, value in cells.items():
        sheet, cell = where.split("__")
        book[sheet][cell] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
