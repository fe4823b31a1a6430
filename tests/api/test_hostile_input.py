"""Hostile input: whatever a client sends, the answer is never a 500.

The schemathesis test draws only what the OpenAPI document allows; these draw what it forbids:
any JSON value in any place of a valid body (wrong types, huge numbers, odd text, keys added or
dropped), bodies of the wrong JSON type, odd query strings, path ids and headers. Every answer
must be below 500, carry no traceback, and be the error envelope when it is an error.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from api.answers import encode as encode_answer
from api.bodies import MAX_DEPTH, parse_json
from api.errors import ApiError, status_of
from api.schemas import AssessmentOut
from riskengine.assessment.findings import due_date
from riskengine.audits.policy import load_audit_policy
from riskengine.audits.schedule import ScheduleKind, ScheduleRule, compute_slots
from riskengine.checklist.contract import LISTS, ItemField, ListSpec
from riskengine.errors import RiskEngineError
from riskengine.rules.catalog import Due
from riskengine.vocabulary import MILESTONES, CheckType, Lang
from tests.api.support import (
    RULESETS,
    Caller,
    checklist,
    new_token,
    shared_assessor,
    unique_code,
)

# RISKENGINE_HOSTILE_EXAMPLES=2000 hunts longer; the default keeps the module within a minute.
EXAMPLES = int(os.environ.get("RISKENGINE_HOSTILE_EXAMPLES", "80"))
HOSTILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))

# --- values --------------------------------------------------------------------------------

# JSON text json.dumps cannot write: a sentinel string in the value, swapped for the raw token.
RAW_TOKENS = ("1e400", "-1e400", "1E+2", "-0", "1e-400", "123456789012345678901234567890.5")
_RAW = re.compile(r'"@raw:([^"]+)@"')

ODD_TEXT = st.sampled_from([
    "", " ", "\t", "0", "-1", "1e400", "NaN", "null", "true", "[]", "{}", "sales", "delivery",
    "open", "waived", "pass", "2026-11-20", "0001-01-01", "9999-12-31", "2026-02-29",
    "2026-13-01", "+2026-01-01", "2026-W01-1", "20261120", "2026-11-20T10:00:00",
    "2026-11-20 ", "２０２６-１１-２０", "٢٠٢٦-١١-٢٠", "中文", "金色家园二期", "\u202eevil",
    "\u200b", "\ufeff", "🏠" * 3, "e\u0301", "\U0001d518", "\\u0000", "%00", "../..",
    "'; drop table projects; --", "a" * 5000, "中" * 4001, "\ud800", "\x00", "\x7f\x1b[31m",
    "https://example.invalid/x", "a@b", "WH-JK-02", "ЖЖ", "ǅ",
])
HUGE = st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63,
                        -(2**63) - 1, 2**64, 10**30, -(10**30), 10**400, 10**9, 10**9 + 1,
                        10**12, 10**12 + 1])
FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, 1e308, -1e308, 5e-324, 1e16]))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), HUGE, FLOATS, st.text(max_size=20), ODD_TEXT,
    st.sampled_from([f"@raw:{t}@" for t in RAW_TOKENS]))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=8), ODD_TEXT), inner,
                                            max_size=4)),
    max_leaves=8)
KEYS = st.one_of(st.text(max_size=12), ODD_TEXT, st.sampled_from(["id", "stage", "project",
                                                                  "waiver", "__proto__"]))


def encode(value: Any) -> bytes:
    """The JSON of `value`, sentinel strings written as the raw tokens they stand for."""
    return _RAW.sub(r"\1", json.dumps(value)).encode()


# --- places in a body ----------------------------------------------------------------------

Path = tuple[str | int, ...]


def places(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every place of a JSON value (the first item of each list stands for all of them)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from places(item, (*path, key))
    elif isinstance(value, list) and value:
        yield (*path, 0)
        yield from places(value[0], (*path, 0))


def objects(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every object of a JSON value, the whole body included."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from objects(item, (*path, key))
    elif isinstance(value, list) and value:
        yield from objects(value[0], (*path, 0))


def at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


@dataclass(frozen=True)
class Edit:
    """One change to a body: put `value` at `path` (a new key too), or drop the key there."""

    path: Path
    value: Any = None
    drop: bool = False

    def apply(self, body: Any) -> None:
        parent, last = at(body, self.path[:-1]), self.path[-1]
        if self.drop:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(self.value)  # edits never share (nor change) it


def edits(base: Any) -> st.SearchStrategy[Edit]:
    """A value of any JSON type at one place, a key added to one object, or a key dropped."""
    every = sorted(places(base), key=repr)
    keyed = [p for p in every if isinstance(p[-1], str)]
    parents = sorted(objects(base), key=repr)
    replaced = st.builds(Edit, st.sampled_from(every), JSON)
    added = st.builds(lambda parent, key, value: Edit((*parent, key), value),
                      st.sampled_from(parents), KEYS, JSON)
    dropped = st.builds(lambda path: Edit(path, drop=True), st.sampled_from(keyed))
    return st.one_of(replaced, replaced, added, dropped)


def edited(base: Any, changes: list[Edit]) -> Any:
    body = json.loads(json.dumps(base))
    for change in changes:
        try:
            change.apply(body)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed or replaced this place
    return body


# --- a checklist with every place filled ---------------------------------------------------

def _sample(spec: ItemField, index: int) -> Any:
    if spec.type == "list":
        return list(spec.choices[:2])
    if spec.choices:
        return spec.choices[index % len(spec.choices)]
    # a date that records the past is before the examples' as_of (a later one is refused)
    return {CheckType.BOOL: False, CheckType.INT: 3, CheckType.NUMBER: 120.5,
            CheckType.DATE: "2026-01-20" if spec.past else "2026-12-20",
            CheckType.STRING: f"HOSTILE-{index}"}[
        CheckType(spec.type)]


def full_item(spec: ListSpec, index: int = 0) -> dict[str, Any]:
    """An item of the list with every field the contract defines, nested lists too."""
    item = {name: _sample(f, index) for name, f in spec.fields.items()}
    item.update({name: [full_item(child, index)] for name, child in spec.nested.items()})
    return item


def _identity(spec: ListSpec, item: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(item.get(k) for k in spec.identity)


def full_checklist(name: str, code: str) -> dict[str, Any]:
    """A contract example whose every list starts with a full item, every milestone set."""
    data = checklist(name, code)
    data["submitted_by"] = "pm.hostile"
    data["milestones"] = {m: data["milestones"].get(m, "2027-03-01") for m in MILESTONES}
    for index, (list_name, spec) in enumerate(LISTS.items()):
        given = data.get(list_name, [])
        # an identity none of the example's items has (a duplicate is refused), else the
        # full item stands in for the example's item of its identity
        full = next((item for shift in range(len(LISTS) + 20)
                     if _identity(spec, item := full_item(spec, index + 1 + shift))
                     not in {_identity(spec, each) for each in given}),
                    full_item(spec, index + 1))
        data[list_name] = [full, *(each for each in given
                                   if _identity(spec, each) != _identity(spec, full))]
    return data


SALES, DELIVERY = full_checklist("sales-risky", "HOSTILE"), full_checklist("delivery-risky",
                                                                          "HOSTILE")
CHECKLIST_EDITS = st.one_of(
    st.tuples(st.just(SALES), st.lists(edits(SALES), min_size=1, max_size=3)),
    st.tuples(st.just(DELIVERY), st.lists(edits(DELIVERY), min_size=1, max_size=3)))


# --- answers -------------------------------------------------------------------------------

def answered(response: TestResponse, sent: Any) -> None:
    """Below 500, no traceback, and an error is the envelope (a 400 or 422 naming a place)."""
    text = response.get_data().decode("utf-8", "replace")  # a workbook is binary
    assert response.status_code < 500, (sent, response.status_code, text[:2000])
    assert "Traceback" not in text, (sent, text[:2000])
    if response.status_code < 400:
        return
    assert response.is_json, (sent, response.status_code, text[:500])
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details", "request_id"}, (sent, error)
    assert isinstance(error["code"], str) and isinstance(error["message"], str), (sent, error)
    details = error["details"]
    assert isinstance(details, dict), (sent, error)
    if response.status_code in (400, 422):
        assert details, (sent, error)
        for path, messages in details.items():
            assert isinstance(path, str) and messages, (sent, error)
            assert all(isinstance(m, str) and m for m in messages), (sent, error)


@dataclass
class World:
    """What the tests write against: an admin, a project with findings, a review."""

    app: Flask
    admin: Caller
    code: str
    finding_id: str
    assessment_id: str
    checklist_id: str
    review_id: str
    schedule_id: int

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> TestResponse:
        given = {"Content-Type": "application/json"} if body is not None else {}
        return self.admin.request(method, path, data=body, headers={**given, **(headers or {})})


@pytest.fixture(scope="module")
def world(app: Flask) -> World:
    admin = Caller(app, new_token(app, "admin", name="admin.hostile"))
    code = unique_code("HOSTILE")
    stored = admin.submit(checklist("sales-risky", code))
    assert stored.status_code == 201, stored.get_json()
    assessment = stored.get_json()
    review = admin.post(f"/api/v1/projects/{code}/gate-reviews",
                        {"stage": "sales", "decision": "fail"})
    assert review.status_code == 201, review.get_json()
    # Far ahead, so the slots are still to come whenever the suite runs; a default schedule
    # follows the delivery date, so moving that date replans it.
    delivery = admin.request("PUT", f"/api/v1/projects/{code}/delivery-date",
                             {"contract_delivery_date": "2090-06-30"})
    assert delivery.status_code == 200, delivery.get_json()
    assert admin.post(f"/api/v1/projects/{code}/audit-schedules", {}).status_code == 201
    schedule = admin.post(f"/api/v1/projects/{code}/audit-schedules",
                          {"kind": "weekly", "start": "2090-01-02", "end": "2090-03-01"})
    assert schedule.status_code == 201, schedule.get_json()
    return World(app, admin, code, assessment["findings"][0]["id"], assessment["id"],
                 assessment["checklist_id"], review.get_json()["id"], schedule.get_json()["id"])


def for_world(world: World, base: Any) -> Any:
    """A checklist for the world's project (its code is in the path of the checklists route)."""
    body = json.loads(json.dumps(base))
    body["project"]["code"] = world.code
    return body


# --- checklists ----------------------------------------------------------------------------

@HOSTILE
@given(case=CHECKLIST_EDITS)
def test_evaluate_answers_any_json_in_any_place(world: World,
                                                case: tuple[Any, list[Edit]]) -> None:
    base, changes = case
    body = edited(base, changes)
    answered(world.send("POST", "/api/v1/evaluate", encode(body)), changes)


@HOSTILE
@given(case=CHECKLIST_EDITS)
def test_submitting_answers_any_json_in_any_place(world: World,
                                                  case: tuple[Any, list[Edit]]) -> None:
    base, changes = case
    body = edited(for_world(world, base), changes)
    answered(world.send("POST", f"/api/v1/projects/{world.code}/checklists", encode(body)),
             changes)


def test_full_checklists_are_valid(world: World) -> None:
    """The bases the edits start from are valid: an edit reaches past validation."""
    for base in (SALES, DELIVERY):
        answer = world.send("POST", "/api/v1/evaluate", encode(base))
        assert answer.status_code == 200, answer.get_json()


EDGES = [None, True, -1, 10**400, 1e308, "", "中", "0001-01-01", "9999-12-31", [], {},
         "@raw:1e400@"]


def test_every_place_of_a_checklist_takes_every_edge_value() -> None:
    """Each place of both full checklists with each edge value: hypothesis finds the odd
    value, this sweep the odd place (a date of year 1 in one milestone was a 500). It reads
    and assesses as the evaluate route does, without HTTP, so it runs once and fast."""
    assessor = shared_assessor()
    for base in (SALES, DELIVERY):
        for path in sorted(places(base), key=repr):
            for value in EDGES:
                change = Edit(path, value)
                try:
                    encode_answer(AssessmentOut, assessor.assess(
                        parse_json(encode(edited(base, [change])))[1]).to_dict(Lang.EN))
                except ApiError as error:
                    assert error.status < 500, (change, error)
                except RiskEngineError as error:
                    assert status_of(error) < 500, (change, error)


# --- the other writes ----------------------------------------------------------------------

def write_bodies(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid body of every other write, each documented property given (nested ones too)."""
    expires = (world.app.extensions["riskengine"].today() + dt.timedelta(days=30)).isoformat()
    code = world.code
    evidence = {"note": "permit issued", "references": ["no. 118"], "attachments": ["a1"]}
    return {
        ("POST", "/api/v1/projects"): {"code": unique_code("HOSTILE"), "name": "金色家园",
                                       "city": "武汉"},
        ("PATCH", f"/api/v1/findings/{world.finding_id}"): {
            "status": "waived", "notes": "n", "reason": "r", "version": 1,
            "waiver": {"justification": "accepted", "approver": "gm.wang", "expires": expires},
            "evidence": evidence, "due_date": expires, "assign_to": "design"},
        ("POST", f"/api/v1/findings/{world.finding_id}/waiver-requests"): {
            "justification": "buyers told in writing", "expires": expires},
        ("POST", f"/api/v1/waiver-requests/{'0' * 32}/decision"): {
            "decision": "deny", "reason": "fix it"},
        ("POST", f"/api/v1/findings/{world.finding_id}/comments"): {"body": "@legal 请确认"},
        ("POST", "/api/v1/findings/bulk"): {
            "action": "start", "ids": [world.finding_id], "assign_to": "design",
            "due_date": expires, "reason": "r", "evidence": evidence,
            "filter": {"project": code, "owner": "crm", "severity": ["high"],
                       "status": ["open"], "stage": "sales", "rule_id": "R", "overdue": True}},
        ("POST", f"/api/v1/projects/{code}/gate-reviews"): {
            "stage": "sales", "decision": "pass", "comments": "c",
            "assessment_id": world.assessment_id, "override_justification": "signed off"},
        ("POST", f"/api/v1/projects/{code}/audit-schedules"): {
            "kind": "weekly", "offsets_days": [30, 7], "start": "2090-01-02",
            "end": "2090-02-01", "interval": 2},
        ("PUT", f"/api/v1/projects/{code}/delivery-date"): {"contract_delivery_date":
                                                            "2090-06-30"},
        ("POST", "/api/v1/audit-subscriptions"): {
            "channel": "webhook", "target": "https://example.invalid/hook",
            "secret": "s" * 20, "recipients": ["crm"], "projects": [code],
            "departments": ["crm"], "events": ["audit.digest"], "lang": "zh-en"},
        ("POST", "/api/v1/rules/whatif"): {"files": {"sales/parking.yaml": (
            RULESETS / "sales" / "parking.yaml").read_text(encoding="utf-8")}},
    }


def documented(spec: dict[str, Any], schema: dict[str, Any], prefix: Path = ()
               ) -> Iterator[Path]:
    """The paths of a request schema's properties, into nested objects."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for name, child in schema.get("properties", {}).items():
        yield (*prefix, name)
        yield from documented(spec, child, (*prefix, name))


def template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_write_bodies_cover_every_documented_write(world: World) -> None:
    """Every JSON write of the OpenAPI document is drawn on here, each property in its base."""
    spec = world.admin.get("/api/v1/openapi.json").get_json()
    bodies = {(m, template(re.sub(r"/(HOSTILE-\w+|[0-9a-f]{32}|\d+)(?=/|$)", "/{}", p))): b
              for (m, p), b in write_bodies(world).items()}
    bodies.update({("POST", "/api/v1/evaluate"): SALES,
                   ("POST", "/api/v1/projects/{}/checklists"): SALES})
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None or "application/json" not in body["content"]:
                continue  # uploads (multipart): tests/api/test_attachments.py
            key = (method.upper(), template(path))
            assert key in bodies, key
            schema = body["content"]["application/json"]["schema"]
            for place in documented(spec, schema):
                if not key[1].endswith(("/evaluate", "/checklists")):
                    at(bodies[key], place)  # a KeyError names a property not drawn on


def twins(base: Any) -> st.SearchStrategy[list[Edit]]:
    """One value at two places at once (start and end of a schedule, say)."""
    every = sorted(places(base), key=repr)
    return st.builds(lambda paths, value: [Edit(p, value) for p in paths],
                     st.lists(st.sampled_from(every), min_size=min(2, len(every)), max_size=2,
                              unique=True),
                     st.one_of(JSON, ODD_TEXT))


def write_cases(world: World) -> st.SearchStrategy[tuple[str, str, Any, list[Edit]]]:
    bodies = write_bodies(world)
    return st.sampled_from(sorted(bodies)).flatmap(lambda route: st.tuples(
        st.just(route[0]), st.just(route[1]), st.just(bodies[route]),
        st.one_of(st.lists(edits(bodies[route]), min_size=1, max_size=2),
                  twins(bodies[route]))))


def test_every_write_answers_any_json_in_any_place(world: World) -> None:
    @HOSTILE
    @given(case=write_cases(world))
    def check(case: tuple[str, str, Any, list[Edit]]) -> None:
        method, path, base, changes = case
        answered(world.send(method, path, encode(edited(base, changes))), (path, changes))
    check()


def test_every_place_of_every_write_takes_every_edge_value(world: World) -> None:
    for (method, path), base in sorted(write_bodies(world).items()):
        for place in sorted(places(base), key=repr):
            for value in EDGES:
                change = Edit(place, value)
                answered(world.send(method, path, encode(edited(base, [change]))),
                         (path, change))


NOT_OBJECTS = st.one_of(
    st.none(), st.booleans(), st.integers(), HUGE, FLOATS, st.text(max_size=10), ODD_TEXT,
    st.lists(JSON, max_size=3), st.sampled_from([f"@raw:{t}@" for t in RAW_TOKENS]))
RAW_BODIES = st.sampled_from([
    b"", b" ", b"{", b"}", b"[", b"[]", b"\xff\xfe", b"\xef\xbb\xbf{}", b"NaN",
    b"Infinity", b"-Infinity", b'{"a": NaN}', b'{"a": 1, "a": 2}', b"[" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000, b"\x00", b"{}\x00", b"{} {}", b"null",
    '{"a": "中"}'.encode("utf-16"), b'"\\ud800"', b"1" * 5000,
    *(b'{"a":' + b"[" * depth + b"]" * depth + b"}" for depth in (65, 500, 970, 990))])


def all_writes(world: World) -> list[tuple[str, str]]:
    return [*sorted(write_bodies(world)), ("POST", "/api/v1/evaluate"),
            ("POST", f"/api/v1/projects/{world.code}/checklists")]


def test_every_write_answers_a_body_of_any_other_type(world: World) -> None:
    @HOSTILE
    @given(route=st.sampled_from(all_writes(world)),
           body=st.one_of(NOT_OBJECTS.map(encode), RAW_BODIES))
    def check(route: tuple[str, str], body: bytes) -> None:
        answer = world.send(*route, body)
        answered(answer, (route, body[:100]))
        assert answer.status_code in (400, 409, 413, 422), (route, body[:100], answer.status_code)
    check()


# --- queries, path ids, headers ------------------------------------------------------------

def reads(world: World) -> list[str]:
    """Every GET of the API, ids filled with the world's."""
    code = world.code
    return [
        "/api/v1/projects", "/api/v1/findings", "/api/v1/audit-runs", "/api/v1/rulesets",
        "/api/v1/audit-subscriptions", f"/api/v1/projects/{code}",
        f"/api/v1/projects/{code}/checklists", f"/api/v1/projects/{code}/gate-reviews",
        f"/api/v1/projects/{code}/promises", f"/api/v1/projects/{code}/audit-schedules",
        f"/api/v1/projects/{code}/delivery-date",
        f"/api/v1/projects/{code}/checklists/{world.checklist_id}",
        f"/api/v1/projects/{code}/gate-reviews/{world.review_id}",
        f"/api/v1/projects/{code}/audit-schedules/{world.schedule_id}",
        f"/api/v1/assessments/{world.assessment_id}", f"/api/v1/findings/{world.finding_id}",
        f"/api/v1/findings/{world.finding_id}/attachments",
        f"/api/v1/projects/{code}/items/attachments", "/api/v1/rules/SALES-OFFSITE-001",
        "/api/v1/audit-runs/0123456789abcdef",
        "/api/v1/templates/sales.xlsx",
    ]


QUERY_NAMES = st.one_of(st.sampled_from([
    "page", "per_page", "lang", "city", "stage", "gate", "project", "owner", "severity",
    "status", "rule_id", "overdue", "as_of", "from", "to", "since", "date"]), KEYS)
QUERY_VALUES = st.one_of(st.text(max_size=12), ODD_TEXT, st.integers().map(str),
                         HUGE.map(str), FLOATS.map(str), st.sampled_from(RAW_TOKENS))
RAW_ESCAPES = st.sampled_from(["%", "%zz", "%FF", "%00", "%C0%80", "%ED%A0%80", "%E4%B8",
                               "%2F..%2F", "+", "&&", "=", "==", "a=%", "%25", ";"])


def query_string(pairs: list[tuple[str, str]], raw: list[str]) -> str:
    return "&".join([urlencode(pairs, quote_via=quote, errors="surrogatepass"), *raw])


def test_every_read_answers_any_query(world: World) -> None:
    @HOSTILE
    @given(path=st.sampled_from(reads(world)),
           pairs=st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=6),
           raw=st.lists(RAW_ESCAPES, max_size=2))
    def check(path: str, pairs: list[tuple[str, str]], raw: list[str]) -> None:
        url = f"{path}?{query_string(pairs, raw)}"
        answer = world.send("GET", url)
        answered(answer, url)
    check()


ID_TEXT = st.one_of(st.text(min_size=1, max_size=70), ODD_TEXT.filter(bool),
                    st.sampled_from(["0", "-1", "2147483648", "99999999999999999999", "1e3",
                                     "..", ".", "ＡＢ", "a" * 65, "a" * 64]))


def test_every_path_id_answers_odd_characters(world: World) -> None:
    ids = {world.code, world.checklist_id, world.review_id, str(world.schedule_id),
           world.assessment_id, world.finding_id, "SALES-OFFSITE-001", "0123456789abcdef",
           "sales", "2147483647"}
    routes = [("GET", r) for r in reads(world)] + all_writes(world) + [
        ("DELETE", f"/api/v1/projects/{world.code}/audit-schedules/2147483647"),
        ("DELETE", "/api/v1/audit-subscriptions/2147483647")]
    swaps = [(method, path, index) for method, path in routes
             for index, step in enumerate(path.split("/")) if step.removesuffix(".xlsx") in ids]

    @HOSTILE
    @given(swap=st.sampled_from(swaps), odd=ID_TEXT, raw=st.booleans())
    def check(swap: tuple[str, str, int], odd: str, raw: bool) -> None:
        method, path, index = swap
        steps = path.split("/")
        suffix = ".xlsx" if steps[index].endswith(".xlsx") else ""
        plain = raw and odd.isascii() and odd.isprintable() and not set(odd) & set("/?#")
        steps[index] = (odd if plain else quote(odd, safe="", errors="surrogatepass")) + suffix
        url = "/".join(steps)
        answer = world.send(method, url, b"{}" if method != "GET" else None)
        answered(answer, (method, url))
        assert answer.status_code != 200 or method == "GET", (method, url)
    check()


HEADER_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40),
    st.sampled_from(["", " ", "*", "W/\"v1\"", "\"v1\"", "\"v99999999999999999999\"", ",,,",
                     "W/", "\"", "en", "zh", "en-US,en;q=0.9", "*;q=0", "en;q=abc", "zh;q=1e400",
                     ";;;", "x" * 300, "\t", "application/json; charset=latin-1",
                     "application/json; charset=utf-16", "application/json;;",
                     "text/plain", "multipart/form-data; boundary=x",
                     "multipart/form-data", "application/x-www-form-urlencoded",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "application/merge-patch+json", "*/*", "application/",
                     "\u00e4\u00f6\u00fc", "\u00ff" * 10]))
HEADER_NAMES = st.sampled_from(["Idempotency-Key", "If-Match", "Accept-Language",
                                "Content-Type", "Accept", "Content-Encoding"])


def test_every_route_answers_odd_headers(world: World) -> None:
    bodies = write_bodies(world)
    bodies[("POST", "/api/v1/evaluate")] = SALES
    bodies[("POST", f"/api/v1/projects/{world.code}/checklists")] = for_world(world, SALES)
    routes = [*sorted(bodies), *[("GET", r) for r in reads(world)]]

    @HOSTILE
    @given(route=st.sampled_from(routes),
           headers=st.dictionaries(HEADER_NAMES, HEADER_TEXT, min_size=1, max_size=3))
    def check(route: tuple[str, str], headers: dict[str, str]) -> None:
        body = encode(bodies[route]) if route in bodies else None
        answer = world.send(*route, body, headers)
        answered(answer, (route, headers))
    check()


# --- the 500s these tests found, one plain test each ---------------------------------------

def envelope(response: TestResponse, status: int) -> dict[str, list[str]]:
    """The details of an error answer of `status`."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    answered(response, None)
    details: dict[str, list[str]] = response.get_json()["error"]["details"]
    return details


def test_a_key_with_a_lone_surrogate_is_named_by_its_escape(world: World) -> None:
    # The path named the key itself, which no answer can encode: the error answer was a 500.
    body = rb'{"acceptances": [{"\ud800": "\ud800"}]}'
    details = envelope(world.send("POST", "/api/v1/evaluate", body), 422)
    assert details == {"acceptances[0]": ["验收 第 1 行：须为有效的 Unicode 文字"],
                       "acceptances[0].\\ud800": [
                           "验收 第 1 行 · \\ud800：须为有效的 Unicode 文字"]}


@pytest.mark.parametrize("milestone", ["launch_date", "subscription_start",
                                       "contract_delivery_date", "open_day_date"])
def test_a_milestone_in_the_first_days_of_year_one_is_assessed(world: World,
                                                               milestone: str) -> None:
    # A due date is the milestone less the rule's lead days: before year 1 it overflowed.
    for base in (SALES, DELIVERY):
        body = for_world(world, base)
        body["milestones"][milestone] = "0001-01-01"
        evaluated = world.send("POST", "/api/v1/evaluate", encode(body))
        assert evaluated.status_code == 200, evaluated.get_json()
        stored = world.send("POST", f"/api/v1/projects/{world.code}/checklists", encode(body))
        assert stored.status_code == 201, stored.get_json()
        assert min(f["due_date"] for f in stored.get_json()["findings"]) >= body["as_of"]
    # A due date before the calendar begins is before as_of: as_of it is.
    assert due_date(Due((milestone,), 14), {"as_of": "2026-11-20", "milestones": {
        milestone: "0001-01-01"}}) == dt.date(2026, 11, 20)


@pytest.mark.parametrize("schedule", [
    {"kind": "weekly", "start": "9999-12-20", "end": "9999-12-31"},
    {"kind": "monthly", "start": "9999-12-01", "end": "9999-12-31"},
], ids=["weekly", "monthly"])
def test_a_recurrence_ending_on_the_last_day_of_the_calendar_is_scheduled(
        world: World, schedule: dict[str, Any]) -> None:
    # The next slot after the last one was computed before comparing it with `end`: in year
    # 10000 it overflowed.
    code = unique_code("HOSTILE")
    assert world.admin.post("/api/v1/projects", {"code": code}).status_code == 201
    created = world.admin.post(f"/api/v1/projects/{code}/audit-schedules", schedule)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["slots"][-1]["slot_date"] <= "9999-12-31"


@pytest.mark.parametrize(("delivery", "schedule", "status"), [
    ("0001-01-01", {}, 422),
    ("0001-03-01", {}, 422),
    ("9999-12-31", {"kind": "offsets", "offsets_days": [-30, 30]}, 201),
], ids=["year-one", "year-one-march", "last-day-after"])
def test_a_delivery_date_at_the_ends_of_the_calendar_is_scheduled_or_refused(
        world: World, delivery: str, schedule: dict[str, Any], status: int) -> None:
    # Slots days before (or after) delivery fell off the calendar: now they do not exist, and
    # a schedule with none left is refused as already past.
    code = unique_code("HOSTILE")
    assert world.admin.post("/api/v1/projects", {"code": code}).status_code == 201
    moved = world.admin.request("PUT", f"/api/v1/projects/{code}/delivery-date",
                                {"contract_delivery_date": delivery})
    assert moved.status_code == 200, moved.get_json()
    created = world.admin.post(f"/api/v1/projects/{code}/audit-schedules", schedule)
    if status == 422:
        assert "schedule" in envelope(created, 422)
    else:
        assert created.status_code == 201, created.get_json()
        assert [s["slot_date"] for s in created.get_json()["slots"]] == ["9999-12-01"]


def test_moving_the_delivery_date_to_year_one_drops_the_future_slots(world: World) -> None:
    code = unique_code("HOSTILE")
    assert world.admin.post("/api/v1/projects", {"code": code}).status_code == 201
    path = f"/api/v1/projects/{code}/delivery-date"
    assert world.admin.request("PUT", path, {"contract_delivery_date": "2090-06-30"}
                               ).status_code == 200
    assert world.admin.post(f"/api/v1/projects/{code}/audit-schedules", {}).status_code == 201
    moved = world.admin.request("PUT", path, {"contract_delivery_date": "0001-01-01"})
    assert moved.status_code == 200, moved.get_json()
    listed = world.admin.get(f"/api/v1/projects/{code}/audit-schedules").get_json()
    assert listed["items"][0]["slots"] == []


def test_a_slot_whose_instant_falls_off_the_calendar_in_utc_does_not_exist() -> None:
    # A zone ahead of UTC puts midnight of 0001-01-01 in year 0, one behind puts the last day
    # in year 10000: the slot's instant overflowed.
    policy = load_audit_policy(RULESETS)
    rule = ScheduleRule(ScheduleKind.OFFSETS, (0,))
    for zone, day in (("Asia/Shanghai", dt.date(1, 1, 1)),
                      ("America/New_York", dt.date(9999, 12, 31))):
        zoned = replace(policy, timezone=ZoneInfo(zone), run_at=dt.time(0, 0)
                        if zone.startswith("Asia") else dt.time(23, 0))
        assert compute_slots(rule, day, zoned) == []
    assert len(compute_slots(rule, dt.date(2090, 1, 1), policy)) == 1


def test_a_body_nested_just_under_the_parsers_limit_is_400(world: World) -> None:
    # The body parsed before the view, then webargs parsed it again deeper in the stack, past
    # Python's recursion limit. Where that window lies depends on the caller's stack: every
    # depth up to the limit is tried.
    for depth in range(MAX_DEPTH + 1, sys.getrecursionlimit(), 3):
        body = b'{"code": ' + b"[" * depth + b"]" * depth + b"}"
        for method, path in all_writes(world):
            assert "body" in envelope(world.send(method, path, body), 400), depth


def test_a_body_nests_at_most_max_depth_levels(world: World) -> None:
    def nested(depth: int) -> bytes:  # `depth` levels, the body's own object included
        return b'{"code": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
    assert world.send("POST", "/api/v1/projects", nested(MAX_DEPTH)).status_code == 422
    assert "body" in envelope(world.send("POST", "/api/v1/projects", nested(MAX_DEPTH + 1)),
                              400)


def test_a_workbook_cell_of_five_thousand_digits_is_422(world: World) -> None:
    # The cell reader turned digits into an int, which refuses more than 4300 of them.
    template = world.admin.get("/api/v1/templates/sales.xlsx").get_data()
    book = load_workbook(io.BytesIO(template))
    for row in book["project"].iter_rows(min_row=4):
        row[3].value = {"project.code": world.code, "as_of": "2026-11-20"}.get(
            str(row[0].value), row[3].value)
    book["complaints"].cell(row=4, column=1, value="车位")
    book["complaints"].cell(row=4, column=2, value="9" * 5000)
    content = io.BytesIO()
    book.save(content)
    details = envelope(world.admin.upload(world.code, content.getvalue()), 422)
    assert details == {"complaints!B4": ["投诉!B4 · 未结投诉数：须为 0 至 1000000000 的整数"]}


# --- the pages ------------------------------------------------------------------------------

class Visitor:
    """A browser logged in to the pages with the world's admin token; forms carry its CSRF
    token."""

    def __init__(self, world: World) -> None:
        self.client: FlaskClient = world.app.test_client()
        self.post("/login", {"token": world.admin.token or ""})

    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            session.setdefault("csrf", "hostile-csrf")
            return str(session["csrf"])

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)

    def post(self, path: str, form: dict[str, str]) -> TestResponse:
        return self.client.post(path, data={**form, "csrf_token": self.csrf()})


@pytest.mark.parametrize("url", [
    "/?city=a%00b", "/projects/a%00b", "/projects/{code}/gate-review?x=%00",
    "/assessments/%00/report.pdf", "/projects/{code}/checklists/a%00b.xlsx",
    "/checklists/new?project={code}&from=a%00b",
])
def test_a_nul_in_a_page_url_is_refused(world: World, url: str) -> None:
    # The API refused these; the pages passed them to SQL, where PostgreSQL refuses a NUL.
    answer = Visitor(world).get(url.format(code=world.code))
    assert answer.status_code in (404, 422), answer.status_code


@pytest.mark.parametrize(("path", "form"), [
    ("/findings/{finding}", {"action": "start", "reason": "a\x00b"}),
    ("/projects/{code}/gate-review", {"decision": "fail", "assessment_id": "a\x00b"}),
    ("/checklists/new", {"stage": "sales", "project.code": "{code}", "project.name": "a\x00b",
                         "as_of": "2026-11-20"}),
])
def test_a_nul_in_a_page_form_is_422(world: World, path: str, form: dict[str, str]) -> None:
    filled = {k: v.format(code=world.code) for k, v in form.items()}
    answer = Visitor(world).post(path.format(code=world.code, finding=world.finding_id), filled)
    assert answer.status_code == 422, answer.status_code


@pytest.mark.parametrize("version", ["²", "9" * 5000])
def test_a_finding_version_the_page_did_not_write_is_400(world: World, version: str) -> None:
    # str.isdigit takes "²", and int() refuses it, as it does 5000 digits: a 500.
    answer = Visitor(world).post(f"/findings/{world.finding_id}",
                                 {"action": "start", "version": version})
    assert answer.status_code == 400, answer.status_code


def test_a_form_key_the_page_did_not_write_is_400(world: World) -> None:
    # The key is stored with a prefix in a column of 255 characters: a longer one was a 500.
    answer = Visitor(world).post("/checklists/new", {
        "stage": "sales", "project.code": world.code, "as_of": "2026-11-20",
        "form_key": "k" * 300})
    assert answer.status_code == 400, answer.status_code


def test_a_form_number_of_five_thousand_digits_is_refused_at_its_input(world: World) -> None:
    answer = Visitor(world).post("/checklists/new", {
        "stage": "sales", "project.code": world.code, "as_of": "2026-11-20",
        "complaints.0.topic": "车位", "complaints.0.open_count": "9" * 5000})
    assert answer.status_code == 422, answer.status_code
