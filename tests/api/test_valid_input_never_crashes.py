"""No valid checklist crashes an assessment: generated checklists of both stages, derived from
the rulesets' base checklists and the contract examples by removing or altering their optional
parts within the schema, are assessed in process, by `riskengine assess` (exit 0, 1 or 2 only)
and over HTTP (`POST /api/v1/evaluate` and a submission: never a 5xx). A fixed seed, 40
examples in the suite; RISKENGINE_PROPERTY_EXAMPLES=N for a longer run."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.assessment.findings import render
from riskengine.checklist.contract import LISTS, ListSpec
from riskengine.cli import EXIT_INTERNAL, main
from riskengine.errors import ChecklistInvalid
from riskengine.rules.cases import base_checklist
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.vocabulary import MILESTONES, CheckType, Lang, Stage
from tests.api.support import Caller, checklist, new_token, shared_assessor, unique_code

SOURCES = ("sales-ready", "sales-risky", "delivery-risky")
# The suite's bounded run; RISKENGINE_PROPERTY_EXAMPLES=N (e.g. 1000) for a longer one.
EXAMPLES = int(os.environ.get("RISKENGINE_PROPERTY_EXAMPLES", "40"))
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
DATES = st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)).map(dt.date.isoformat)
VALUES = {CheckType.BOOL: st.booleans(), CheckType.INT: st.integers(0, 5000),
          CheckType.NUMBER: st.integers(0, 5000) | st.floats(0, 1e6, allow_nan=False),
          CheckType.DATE: DATES, CheckType.STRING: TEXT}


@functools.cache
def starts() -> list[dict[str, Any]]:
    """The checklists generation starts from: each stage's base, and every example."""
    bases = [json.loads(json.dumps(base_checklist(DEFAULT_ROOT, stage), default=str))
             for stage in Stage]
    return [*bases, *(checklist(name, "GEN-0") for name in SOURCES)]


def _alter_item(draw: st.DrawFn, item: dict[str, Any], spec: ListSpec) -> None:
    for name, field in spec.fields.items():
        if field.required or name not in item:
            continue
        choice = draw(st.sampled_from(["keep", "keep", "drop", "null", "alter"]))
        if choice == "drop":
            del item[name]
        elif choice == "null":
            item[name] = None
        elif choice == "alter" and field.choices and field.type != "list":
            item[name] = draw(st.sampled_from(field.choices))
        elif choice == "alter" and field.type in VALUES and not field.choices:
            item[name] = draw(VALUES[CheckType(field.type)])
    for child, child_spec in spec.nested.items():
        if isinstance(item.get(child), list):
            item[child] = _alter_list(draw, item[child], child_spec)


def _alter_list(draw: st.DrawFn, items: list[Any], spec: ListSpec) -> list[Any] | None:
    choice = draw(st.sampled_from(["keep", "keep", "keep", "empty", "fewer"]))
    if choice == "empty":
        return []
    kept = items[:draw(st.integers(0, len(items)))] if choice == "fewer" else items
    for item in kept:
        _alter_item(draw, item, spec)
    return kept


@st.composite
def valid_checklists(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(starts())))
    stage = Stage(data["stage"])
    milestones = data.get("milestones") or {}
    if draw(st.booleans()):
        data.pop("milestones", None)
    else:
        for name in MILESTONES:
            choice = draw(st.sampled_from(["keep", "drop", "null", "date"]))
            if choice == "drop":
                milestones.pop(name, None)
            elif choice in ("null", "date"):
                milestones[name] = None if choice == "null" else draw(DATES)
        data["milestones"] = milestones
    declared = shared_assessor().validator.checks[stage]
    checks = data.setdefault("checks", {})
    for key in sorted(declared):
        choice = draw(st.sampled_from(["keep", "keep", "drop", "null", "alter"]))
        if choice == "drop":
            checks.pop(key, None)
        elif choice == "null":
            checks[key] = None
        elif choice == "alter":
            checks[key] = draw(VALUES[CheckType(declared[key].type)])
    for name, spec in LISTS.items():
        if isinstance(data.get(name), list):
            if draw(st.integers(0, 5)) == 0:
                del data[name]
            else:
                data[name] = _alter_list(draw, data[name], spec)
    for optional in ("submitted_by",):
        if draw(st.booleans()):
            data.pop(optional, None)
    project = data["project"]
    for optional in ("name", "city"):
        if draw(st.booleans()):
            project.pop(optional, None)
    if draw(st.booleans()):
        data["as_of"] = draw(DATES)
    return data


def _cli(monkeypatch: pytest.MonkeyPatch, body: dict[str, Any]) -> Any:
    import riskengine.cli.assess as assess_command
    monkeypatch.setattr(assess_command, "load_assessor", lambda *_: shared_assessor())
    return CliRunner().invoke(main, ["assess", "-"], input=json.dumps(body, ensure_ascii=False))


def test_generated_checklists_never_crash(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = Caller(app, new_token(app, "admin"))
    assessed: list[int] = []

    @given(body=valid_checklists())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def never_crash(body: dict[str, Any]) -> None:
        body["project"]["code"] = unique_code("GEN")
        try:
            shared_assessor().assess(copy.deepcopy(body))
            valid = True
        except ChecklistInvalid:
            valid = False  # a refusal, with its details: not a crash
        assessed.append(valid)
        done = _cli(monkeypatch, body)
        assert done.exit_code in ((0, 1) if valid else (2,)), (done.exit_code, done.output)
        answer = caller.post("/api/v1/evaluate", body)
        assert answer.status_code == (200 if valid else 422), answer.get_data(as_text=True)
        stored = caller.submit(body)
        assert stored.status_code == (201 if valid else 422), stored.get_data(as_text=True)
    never_crash()
    assert sum(assessed) >= len(assessed) // 2, "the generator made mostly invalid checklists"


def test_an_at_risk_promise_without_milestones_is_a_finding_not_a_crash() -> None:
    """The crash that was: a promise finding's text names `milestones.contract_delivery_date`,
    and a checklist without milestones had nothing there."""
    body = checklist("delivery-risky", "GEN-1")
    del body["milestones"]
    result = shared_assessor().assess(body)
    assert result.findings
    text = render("交付日 {milestones.contract_delivery_date}", {},
                  shared_assessor().catalog.policy, Lang.ZH)
    assert text == "交付日 —"


def test_an_internal_error_on_the_cli_is_one_line_and_exit_3(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("engine exploded\nsecond line")
    monkeypatch.setattr(type(shared_assessor()), "assess", broken)
    done = _cli(monkeypatch, checklist("sales-ready", "GEN-2"))
    assert done.exit_code == EXIT_INTERNAL
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("内部错误：RuntimeError: engine exploded")
    assert "/ internal error:" in lines[0] and "Traceback" not in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
