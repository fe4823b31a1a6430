"""Open the database (embedded SQLite file or PostgreSQL) and bring its schema to the latest."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from riskengine.errors import DatabaseUnavailable
from riskengine.refusals import refusal

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works: it only has to be the same for every host running `db upgrade` at once.
_UPGRADE_LOCK = 0x7269736B
# A pooled PostgreSQL connection idle this long is pinged before use (`_ping_idle_connections`).
PING_AFTER_IDLE_SECONDS = 1.0


def default_url() -> str:
    """Return DATABASE_URL, or the embedded SQLite file under ./instance."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{Path.cwd() / 'instance' / 'riskengine.sqlite3'}"


def normalize_url(url: str) -> str:
    """Accept the URLs platforms hand out (postgres://, postgresql://) and pick psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _json(value: Any) -> str:
    # Compact and UTF-8: the findings' Chinese texts take a third of their escaped (\u) size,
    # which is less to send, to parse into PostgreSQL's json, to compress and to log in the WAL.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def connect(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and writer-first transactions."""
    url = normalize_url(url)
    options.setdefault("json_serializer", _json)
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, **options)
        if not options.get("pool_pre_ping"):
            _ping_idle_connections(engine)
        return engine
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **options)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use when it sat idle: a restarted or failed-over server
    (or a proxy that dropped it) then costs a reconnect, not a failed request. Under load every
    connection is back in use within milliseconds, and a ping per checkout (`pool_pre_ping`:
    a round trip, twice per request) would be pure overhead."""

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool drops this connection and tries another
            raise DisconnectionError(str(error)) from error

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    event.listen(engine, "connect", checkin)  # just opened: as good as just used
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
    cursor = dbapi_connection.cursor()
    # recursive_triggers: a REPLACE deleting a row fires its DELETE triggers, so the history
    # tables' DELETE triggers refuse it (riskengine.store.history); SQLite skips them without.
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL",
                   "recursive_triggers=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers take the lock up front: a deferred transaction that reads and then writes can fail
    # with "database is locked" instead of waiting its turn. Readers never wait (WAL).
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# What a database that cannot be reached raises: refused or dropped connections, a server
# shutting down, a pool that cannot connect. (Constraint violations, bad SQL and the like are
# other DBAPIErrors: they stay what they are.)
_UNREACHABLE = (OperationalError, InterfaceError, DisconnectionError)
# SQLSTATEs that are OperationalErrors but mean the server answered: a serialization failure or
# deadlock (retried by the writer), a lock timeout, a query cancelled by its timeout.
_ANSWERED = frozenset({"40001", "40P01", "55P03", "57014"})


def unreachable(error: BaseException) -> bool:
    """Whether a driver error means the database did not answer (not that it refused)."""
    if not isinstance(error, _UNREACHABLE):
        return False
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in _ANSWERED:
        return False
    # SQLite's "database is locked" is an OperationalError too: a busy file, not an outage.
    return not (isinstance(error, DBAPIError) and "database is locked" in str(error))


@contextmanager
def _translated() -> Iterator[None]:
    """Raise DatabaseUnavailable (503 with Retry-After) for a database that does not answer."""
    try:
        yield
    except _UNREACHABLE as error:
        if not unreachable(error):
            raise
        raise DatabaseUnavailable(refusal("database_unavailable"),
                                  {"database": [refusal("unreachable")]}) from error


class Database:
    """One engine and its sessions: `write()` and `read()` each run one transaction; a
    database that does not answer raises `DatabaseUnavailable` from either."""

    def __init__(self, url: str, **options: Any) -> None:
        self.engine = connect(url, **options)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        # Reads need no transaction of their own on PostgreSQL: autocommit saves two round trips.
        reading = {} if self.engine.dialect.name == "sqlite" else {"isolation_level": "AUTOCOMMIT"}
        self._looking = self.engine.execution_options(read_only=True, **reading)
        self._reader = sessionmaker(self._looking, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with _translated(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translated(), self._reader() as session, session.begin():
            yield session

    @contextmanager
    def look_up(self) -> Iterator[Connection]:
        """A Core connection for a read of a statement or two, without an ORM session."""
        with _translated(), self._looking.connect() as connection:
            yield connection

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> str:
    """Apply every pending migration; return the revision the database is at."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return MigrationContext.configure(connection).get_current_revision() or ""


def pending(engine: Engine) -> bool:
    """Return whether the database lacks a migration of this version of riskengine."""
    head = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current != head
