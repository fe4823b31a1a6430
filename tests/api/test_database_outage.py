"""A database that stops answering mid-service, through a TCP proxy the test cuts and restores
in front of PostgreSQL: every route that needs it answers 503 `database_unavailable` with
Retry-After (never a 500), the routes that need none keep answering, and the service recovers
by itself when the database is back."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from riskengine.errors import DatabaseUnavailable
from riskengine.store.database import Database, unreachable
from tests.api.support import (
    PG_ADMIN_URL,
    Caller,
    checklist,
    make_app,
    migrate,
    new_token,
    scratch_pg_database,
    unique_code,
)

pytestmark = pytest.mark.postgres


class Proxy:
    """Forward 127.0.0.1:port to PostgreSQL; `cut()` refuses new connections and drops the
    open ones, `restore()` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.listener: socket.socket | None = None
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self.listener is not None
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept() on Linux
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.listener = None
        with self.lock:
            for sock in self.open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            with self.lock:
                self.open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_RDWR)


def _upstream() -> tuple[str, int]:
    from sqlalchemy.engine import make_url
    url = make_url(PG_ADMIN_URL)
    return url.host or "127.0.0.1", url.port or 5432


@pytest.fixture
def proxied() -> Iterator[tuple[Flask, Proxy]]:
    proxy = Proxy(_upstream())
    proxy.restore()
    with scratch_pg_database("rk_outage") as url:
        migrate(url)
        host = f"{_upstream()[0]}:{_upstream()[1]}"
        app = make_app(url.replace(host, f"127.0.0.1:{proxy.port}"))
        try:
            yield app, proxy
        finally:
            if proxy.listener is not None:
                proxy.cut()
            app.extensions["riskengine"].database.engine.dispose()


NEEDS_DATABASE = [
    ("GET", "/api/v1/projects/{code}", None),
    ("GET", "/api/v1/projects", None),
    ("POST", "/api/v1/projects/{code}/checklists", "submit"),
    ("GET", "/api/v1/findings", None),
    ("GET", "/api/v1/audit-runs", None),
    ("GET", "/api/v1/audit-subscriptions", None),
    # The token of these is checked against the database: while it cannot be, they answer
    # 503 too (a revoked token must never pass because the database was away).
    ("POST", "/api/v1/evaluate", "evaluate"),
    ("GET", "/api/v1/rulesets", None),
]


def _send(caller: Caller, method: str, path: str, body: str | None, code: str) -> Any:
    path = path.format(code=code)
    if body == "submit":
        return caller.submit(checklist("sales-risky", code))
    if body == "evaluate":
        return caller.post(path, checklist("sales-ready", code))
    return caller.request(method, path)


def test_an_outage_answers_503_with_retry_after_and_recovers(
        proxied: tuple[Flask, Proxy]) -> None:
    app, proxy = proxied
    admin = Caller(app, new_token(app, "admin"))
    code = unique_code("OUT")
    assert admin.submit(checklist("sales-risky", code)).status_code == 201
    anonymous = Caller(app, None)

    proxy.cut()
    for method, path, body in NEEDS_DATABASE:
        answer = _send(admin, method, path, body, code)
        assert answer.status_code == 503, (method, path, answer.get_data(as_text=True))
        assert answer.get_json()["error"]["code"] == "database_unavailable", (method, path)
        assert int(answer.headers["Retry-After"]) > 0, (method, path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert anonymous.get("/healthz").status_code == 200  # the process itself is fine
    assert anonymous.get("/readyz").status_code == 503
    assert anonymous.get("/api/v1/openapi.json").status_code == 200

    _every_operation_is_503(app, admin)

    proxy.restore()
    for method, path, body in NEEDS_DATABASE:
        answer = _send(admin, method, path, body, code)
        assert answer.status_code < 300, (method, path, answer.get_data(as_text=True))
    assert anonymous.get("/readyz").status_code == 200


PUBLIC_ANSWERS = {"/healthz": 200, "/readyz": 503}


def _every_operation_is_503(app: Flask, admin: Caller) -> None:
    """Every operation of the document, whatever its path ids: the token is checked in the
    database before anything else, so each answers 503 with Retry-After, none a 500."""
    spec = Caller(app, None).get("/api/v1/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in (m for m in item if m in ("get", "post", "put", "patch", "delete")):
            url = re.sub(r"\{[a-z_]+\}", "1", path)
            json_body = {} if method in ("post", "put", "patch") else None
            answer = admin.request(method.upper(), url, json_body=json_body)
            expected = PUBLIC_ANSWERS.get(path, 503)
            assert answer.status_code == expected, (method, path, answer.status_code)
            if expected == 503:
                assert answer.headers.get("Retry-After"), (method, path)


def test_the_store_raises_database_unavailable(proxied: tuple[Flask, Proxy]) -> None:
    app, proxy = proxied
    database: Database = app.extensions["riskengine"].database
    proxy.cut()
    for opened in (database.read, database.write, database.look_up):
        with pytest.raises(DatabaseUnavailable), opened() as handle:
            handle.execute(text("SELECT 1"))


class _Driver(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("error", "outage"), [
    pytest.param(OperationalError("SELECT 1", {}, _Driver("connection refused")), True,
                 id="refused"),
    pytest.param(InterfaceError("SELECT 1", {}, _Driver("connection already closed")), True,
                 id="closed"),
    pytest.param(OperationalError("SELECT 1", {}, _Driver("could not serialize", "40001")),
                 False, id="serialization_failure"),
    pytest.param(OperationalError("SELECT 1", {}, _Driver("lock timeout", "55P03")), False,
                 id="lock_timeout"),
    pytest.param(OperationalError("BEGIN", {}, _Driver("database is locked")), False,
                 id="sqlite_busy"),
])
def test_only_a_database_that_does_not_answer_is_an_outage(error: Exception,
                                                           outage: bool) -> None:
    assert unreachable(error) is outage
