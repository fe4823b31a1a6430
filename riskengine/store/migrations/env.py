"""Alembic environment: runs on the connection `riskengine db upgrade` hands it, or on the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import riskengine.audits.models  # noqa: F401 - the audits' tables, on the same Base
from riskengine.store.database import connect
from riskengine.store.models import Base


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    with connect(context.config.get_main_option("sqlalchemy.url") or "").connect() as connection:
        run(connection)
