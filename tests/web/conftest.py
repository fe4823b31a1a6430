"""The pages' fixtures: an app per database backend, a logged-in client per role, examples."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from riskengine.assessment.assessor import Assessor
from riskengine.vocabulary import Lang
from tests.api.support import BACKENDS, database_url, example, make_app, new_token, shared_assessor

TODAY = dt.date(2026, 11, 20)  # the contract examples' as_of: waivers and due dates are judged then


@pytest.fixture(scope="session")
def assessor() -> Assessor:
    return shared_assessor()


@pytest.fixture(scope="session", params=BACKENDS)
def web_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def web_app(web_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with database_url(web_backend, tmp_path_factory.mktemp(f"web-{web_backend}")) as url:
        app = make_app(url, SECRET_KEY=uuid.uuid4().hex * 2, TODAY=TODAY)
        yield app
        app.extensions["riskengine"].database.engine.dispose()


class Visitor:
    """A browser stand-in: logs in with a token, sends each form with the session's token."""

    def __init__(self, app: Flask, token: str | None = None) -> None:
        self.app, self.token = app, token
        self.client: FlaskClient = app.test_client()
        if token:
            self.login(token)

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            if "csrf" not in session:
                session["csrf"] = uuid.uuid4().hex
            return str(session["csrf"])

    def login(self, token: str) -> TestResponse:
        self.client.get("/login")
        return self.client.post("/login", data={"token": token, "csrf_token": self.csrf()})

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True,
             **kwargs: Any) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf()
        return self.client.post(path, data=form, **kwargs)

    def upload(self, content: bytes, name: str = "checklist.xlsx") -> TestResponse:
        import io
        return self.post("/checklists/upload", {"workbook": (io.BytesIO(content), name)},
                         content_type="multipart/form-data")


@pytest.fixture
def visitor(web_app: Flask) -> Callable[..., Visitor]:
    """`visitor("reviewer", projects=[...])` → a logged-in client with a new token of that role."""
    def make(role: str = "admin", projects: list[str] | None = None,
             department: str | None = None, name: str | None = None) -> Visitor:
        token = new_token(web_app, role, projects, department, name or f"{role}.web")
        return Visitor(web_app, token)
    return make


def unique(prefix: str = "W") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def checklist(name: str, code: str | None = None) -> dict[str, Any]:
    """A contract example, for a project of its own when `code` is given."""
    import copy
    data = copy.deepcopy(example(name))
    if code:
        data["project"]["code"] = code
    return data


def assessment_id(response: TestResponse) -> str:
    """Return the assessment id a submission redirected to."""
    location = response.headers.get("Location", "")
    found = re.search(r"/assessments/([0-9a-f]+)", location)
    assert found, (response.status_code, response.get_data(as_text=True)[:2000])
    return found.group(1)


@pytest.fixture(scope="session")
def langs() -> tuple[Lang, ...]:
    return tuple(Lang)
