"""`riskengine audits …` against a real database: run-due at a given instant, schedules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from riskengine.cli import main
from tests.audits.support import World

D = dt.date
Make = Callable[..., dict[str, Any]]


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("RISKENGINE_SMTP_HOST", raising=False)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, ["audits", *args], catch_exceptions=False)
    return invoke


def test_run_due_now_runs_what_is_due_then_and_exits(
        cli: Callable[..., Any], world: World, delivery_checklist: Make) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 30)))
    world.schedule("NJ-JY-01")
    early = cli("run-due", "--now", "2027-03-31T23:59:59")
    assert early.exit_code == 0 and early.output.startswith("ran 0 audit(s)")
    due = cli("run-due", "--now", "2027-05-01T00:00:00+00:00")
    assert due.exit_code == 0, due.output
    assert due.output.startswith("ran 2 audit(s), 0 failed")
    assert [r.slot_date for r in world.runs()] == [D(2027, 4, 1), D(2027, 5, 1)]
    assert cli("run-due", "--now", "2027-05-01").output.startswith("ran 0 audit(s)")


def test_run_due_refuses_a_malformed_instant(cli: Callable[..., Any]) -> None:
    result = CliRunner().invoke(main, ["audits", "run-due", "--now", "tomorrow"])
    assert result.exit_code == 2 and "ISO" in result.output


def test_schedule_create_list_delete_and_delivery_date(
        cli: Callable[..., Any], world: World, delivery_checklist: Make) -> None:
    world.submit(delivery_checklist(as_of=D(2026, 12, 1)))
    created = cli("schedule", "create", "NJ-JY-01", "--offsets", "30,7")
    assert created.exit_code == 0, created.output
    assert "2027-05-31" in created.output and "2027-06-23" in created.output
    moved = cli("delivery-date", "NJ-JY-01", "2027-07-30")
    assert moved.exit_code == 0
    listed = cli("schedule", "list", "NJ-JY-01").output
    assert "delivery 2027-07-30 from project" in listed and "2027-06-30" in listed
    schedule_id = listed.split()[1]
    assert cli("schedule", "delete", "NJ-JY-01", schedule_id).exit_code == 0
    assert cli("schedule", "list", "NJ-JY-01").output == ""
    missing = CliRunner().invoke(main, ["audits", "schedule", "list", "NOPE"])
    assert missing.exit_code == 1
    assert "没有找到项目 NOPE / project NOPE not found" in missing.output


def test_subscribe_prints_the_secret_once(cli: Callable[..., Any]) -> None:
    result = cli("subscribe", "--webhook", "http://127.0.0.1:9/hook", "--recipient", "crm")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("signing secret (shown only now): ")
