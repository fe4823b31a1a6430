"""`riskengine db upgrade` and `riskengine tokens`, as operators and scripts call them."""

from __future__ import annotations

import secrets

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from flask import Flask

from riskengine.cli import main
from riskengine.store.database import alembic_config
from tests.api.support import Caller, unique_code


@pytest.fixture
def run(db_url: str) -> CliRunner:
    return CliRunner(env={"DATABASE_URL": db_url})


def test_db_upgrade_is_repeatable(run: CliRunner) -> None:
    result = run.invoke(main, ["db", "upgrade"])
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.exit_code == 0 and f"revision {head}" in result.output


def test_token_is_the_last_word_of_the_last_line(run: CliRunner, app: Flask) -> None:
    code = unique_code()
    result = run.invoke(main, ["tokens", "create", "--role", "submitter", "--projects", code])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1].split()[-1]
    caller = Caller(app, token)
    assert caller.post("/api/v1/projects", {"code": code}).status_code == 201
    assert caller.post("/api/v1/projects", {"code": unique_code()}).status_code == 403


def test_several_projects_and_owner_departments(run: CliRunner, app: Flask) -> None:
    one, two = unique_code(), unique_code()
    result = run.invoke(main, ["tokens", "create", "--role", "owner:crm", "--projects", one, two])
    assert result.exit_code == 0, result.output
    assert "department=crm" in result.output and f"{one},{two}" in result.output or \
        f"{two},{one}" in result.output
    commas = run.invoke(main, ["tokens", "create", "--role", "owner", "--department", "legal",
                               "--projects", f"{one},{two}"])
    assert commas.exit_code == 0, commas.output


@pytest.mark.parametrize("args", [["--role", "king"], ["--role", "owner"],
                                  ["--role", "owner:nobody"]])
def test_bad_roles_are_refused(run: CliRunner, args: list[str]) -> None:
    assert run.invoke(main, ["tokens", "create", *args]).exit_code == 2


def test_revoked_tokens_stop_working(run: CliRunner, app: Flask) -> None:
    created = run.invoke(main, ["tokens", "create", "--role", "auditor"]).output
    token = created.strip().split()[-1]
    assert Caller(app, token).get("/api/v1/rulesets").status_code == 200
    revoked = run.invoke(main, ["tokens", "revoke", token[:10]])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert Caller(app, token).get("/api/v1/rulesets").status_code == 401
    listed = run.invoke(main, ["tokens", "list"]).output
    assert token not in listed and "revoked" in listed


@pytest.mark.parametrize("secret", [None, "changeme"], ids=["missing", "weak"])
def test_serve_refuses_production_without_a_strong_secret(db_url: str,
                                                          secret: str | None) -> None:
    runner = CliRunner(env={"DATABASE_URL": db_url, "SECRET_KEY": secret,
                            "RISKENGINE_ENV": None})
    result = runner.invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 3 and "SECRET_KEY" in result.output


@pytest.mark.parametrize(("env", "args", "expected"), [
    ({"RISKENGINE_WORKERS": "3", "RISKENGINE_THREADS": "1"}, [], (3, 1)),
    ({"RISKENGINE_WORKERS": "3"}, ["--workers", "5"], (5, 4)),  # the option wins
], ids=["environment", "option"])
def test_serve_sizes_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                          env: dict[str, str], args: list[str],
                                          expected: tuple[int, int]) -> None:
    """A container's CMD stays as built; RISKENGINE_WORKERS/THREADS size it."""
    import api.serving

    started: list[tuple[int, int]] = []
    monkeypatch.setattr(api.serving, "serve",
                        lambda host, port, workers, threads: started.append((workers, threads)))
    runner = CliRunner(env={"DATABASE_URL": db_url, "SECRET_KEY": secrets.token_urlsafe(48),
                            "RISKENGINE_ENV": "production", **env})
    result = runner.invoke(main, ["serve", "--port", "1", *args])
    assert result.exit_code == 0, result.output
    assert started == [expected]


def test_serve_refuses_zero_workers(db_url: str) -> None:
    runner = CliRunner(env={"DATABASE_URL": db_url, "RISKENGINE_WORKERS": "0"})
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 2 and "RISKENGINE_WORKERS" in result.output
