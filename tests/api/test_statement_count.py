"""How many SQL statements a submission costs, pinned: each one is ≈ 80 µs of SQLAlchemy and
driver CPU (bench/store.py), so a change that adds one per finding, or a lazy load per row,
shows here as a failing count instead of as a slower service weeks later."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event

from bench.inputs import large_sales
from tests.api.support import (
    Caller,
    checklist,
    database_url,
    make_app,
    new_token,
    shared_assessor,
    unique_code,
)

# The same on both backends (SQLite's driver adds an explicit BEGIN per transaction, which is
# transaction control, not work, and is left out). A delivery checklist reads one row more
# (its stage's delivery date for the audit schedule).
FIRST = {"sales": 12, "delivery": 13}  # the project is created
# A submission that raises new blocking findings reads the subscriptions to tell (one SELECT).
NOTIFYING = 1
AGAIN = {"sales": 8, "delivery": 9}  # a re-submission: the usual case
AGAIN_KINDS = {"SELECT": 4, "INSERT": 2, "UPDATE": 2}  # sales; delivery one SELECT more


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """Every statement the app's engine sends while inside (authentication's included)."""
    engine = app.extensions["riskengine"].database.engine
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb != "BEGIN":
            sent.append(verb)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements(app: Flask, admin: Caller, body: dict[str, object]) -> list[str]:
    with counting(app) as sent:
        answer = admin.submit(body)
    assert answer.status_code == 201, answer.get_data(as_text=True)[:300]
    return sent


def _large(code: str) -> dict[str, object]:
    lists = {k: v for k, v in large_sales().items() if isinstance(v, list)}
    return checklist("sales-risky", code, **lists)


@pytest.fixture(scope="module")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A database of its own: another test's audit subscriptions would add the notices a new
    blocking finding queues for them to the count."""
    with database_url(backend, tmp_path_factory.mktemp(f"count-{backend}")) as url:
        made = make_app(url)
        yield made
        made.extensions["riskengine"].database.engine.dispose()


@pytest.fixture
def admin(app: Flask) -> Caller:
    return Caller(app, new_token(app, "admin"))


def test_a_submission_costs_a_fixed_number_of_statements(app: Flask, admin: Caller) -> None:
    for name, stage, blocking in (("sales-risky", "sales", True),
                                  ("delivery-risky", "delivery", True),
                                  ("sales-ready", "sales", False)):
        body = checklist(name, unique_code())
        assert len(statements(app, admin, body)) == FIRST[stage] + NOTIFYING * blocking, name
        again = statements(app, admin, body)
        assert len(again) == AGAIN[stage], (name, again)
        assert len(statements(app, admin, body)) == AGAIN[stage], name


def test_the_count_does_not_grow_with_the_findings(app: Flask, admin: Caller) -> None:
    """330 items and over a hundred findings cost the statements three findings cost: findings
    are written and matched in bulk, never one statement each."""
    body = _large(unique_code())
    assert len(statements(app, admin, body)) == FIRST["sales"] + NOTIFYING
    again = statements(app, admin, body)
    assert {verb: again.count(verb) for verb in set(again)} == AGAIN_KINDS
    assert len(shared_assessor().assess(body).findings) > 100


# Naming evidence files costs one SELECT (the ids, their projects and removals at once),
# however many items name however many files.
NAMING_FILES = 1


def test_naming_files_costs_one_statement_for_them_all(app: Flask, admin: Caller) -> None:
    from tests.api.support import photo, send_file
    body = checklist("sales-risky", unique_code())
    assert admin.submit(body).status_code == 201
    code = body["project"]["code"]  # type: ignore[index]
    ids = []
    for colour in ("red", "green", "blue"):
        sent = send_file(admin, f"/api/v1/projects/{code}/items/attachments", photo(colour=colour),
                         stage="sales", item="permits/presale_permit")
        assert sent.status_code == 201
        ids.append(sent.get_json()["id"])
    permits = [dict(p, attachments=ids) for p in body["permits"]]  # type: ignore[attr-defined]
    named = statements(app, admin, {**body, "permits": permits})
    assert len(named) == AGAIN["sales"] + NAMING_FILES, named
