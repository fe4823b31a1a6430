"""The response schemas serialise the answers through compiled code that must equal marshmallow's
own `dump`: every response schema, on values hypothesis draws from its declared fields (native
dates; ISO text passes as it is)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

import api.schemas.audits  # noqa: F401  (its schemas are response schemas too)
from api.answers import encode
from api.schemas import FindingOut, ResponseSchema, WaiverOut
from api.schemas.dumping import NotCompilable, UndeclaredField, schema_dumper


class Anything(ResponseSchema):
    value = fields.Raw()


def _every(cls: type[ResponseSchema]) -> list[type[ResponseSchema]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_every(sub)]
    return found


SCHEMAS = sorted(set(_every(ResponseSchema)), key=lambda s: s.__name__)
_TEXT = st.text(max_size=8)
_SCALAR = st.one_of(_TEXT, st.integers(-5, 5), st.booleans())


def _value(field: fields.Field[Any], depth: int) -> st.SearchStrategy[Any]:
    if isinstance(field, fields.Nested):
        inner = _object(type(field.schema), depth + 1)
        return st.lists(inner, max_size=2) if field.many else inner
    if isinstance(field, fields.Date):
        return st.dates()
    if isinstance(field, fields.DateTime):
        return st.datetimes(timezones=st.just(dt.UTC))
    if isinstance(field, fields.List):
        return st.lists(_value(field.inner, depth + 1), max_size=2)
    if isinstance(field, fields.Dict):
        values = _value(field.value_field, depth + 1) if field.value_field else _SCALAR
        return st.dictionaries(_TEXT, values, max_size=2)
    if isinstance(field, fields.Boolean):
        return st.booleans()
    if isinstance(field, fields.Integer):
        return st.integers(-10**6, 10**6)
    if isinstance(field, fields.Float):
        return st.floats(allow_nan=False, allow_infinity=False)
    return _TEXT


def _object(schema: type[Schema], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    if depth > 3:
        return st.just({})
    required, optional = {}, {}
    for name, field in schema().dump_fields.items():
        value = _value(field, depth)
        key = field.attribute or name
        # marshmallow reads a key missing from a dict as the dict's attribute of that name
        # (`items` → dict.items); the compiled dump does not, so such keys are always drawn.
        (required if hasattr(dict, key) else optional)[key] = (
            st.none() | value if field.allow_none else value)
    return st.fixed_dictionaries(required, optional=optional)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_dump_equals_marshmallows(schema: type[ResponseSchema], data: st.DataObject
                                           ) -> None:
    value = data.draw(_object(schema))
    expected = Schema.dump(schema(), value)
    assert schema_dumper(schema)(value) == expected
    assert schema().dump(value) == expected  # what flask-smorest would call


def test_dates_already_in_iso_text_pass_as_they_are() -> None:
    """The contract's objects carry dates as ISO text (and times with `Z`): kept as they are."""
    body = {"id": "w1", "expires": "2027-03-01", "created_at": "2027-01-01T08:00:00Z",
            "justification": "j", "approver": "a", "granted_by": "g", "holds": True}
    assert schema_dumper(WaiverOut)(body) == body
    native = {**body, "expires": dt.date(2027, 3, 1),
              "created_at": dt.datetime(2027, 1, 1, 8, tzinfo=dt.UTC)}
    assert schema_dumper(WaiverOut)(native) == {**body, "created_at": "2027-01-01T08:00:00+00:00"}


def test_every_response_schema_compiles() -> None:
    assert len(SCHEMAS) > 40
    for schema in SCHEMAS:
        schema_dumper(schema)


def test_a_field_the_compiler_does_not_know_is_refused() -> None:
    class Odd(ResponseSchema):
        name = fields.Method("name_of")

        def name_of(self, value: Any) -> str:
            return "odd"

    with pytest.raises(NotCompilable, match="Method"):
        schema_dumper(Odd)


def test_an_undeclared_field_fails_the_suite_and_is_dropped_in_production(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs strict (tests/conftest.py), so a body that grew a field its schema
    lacks fails a test instead of losing the field in every answer."""
    body = {"rule_id": "R-1", "unexpected": 1}
    with pytest.raises(UndeclaredField, match="unexpected"):
        schema_dumper(FindingOut)(body)
    monkeypatch.delenv("RISKENGINE_STRICT_SCHEMAS")
    schema_dumper.cache_clear()
    try:
        assert schema_dumper(FindingOut)(body) == {"rule_id": "R-1"}
    finally:
        monkeypatch.setenv("RISKENGINE_STRICT_SCHEMAS", "1")
        schema_dumper.cache_clear()


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12))
def test_the_answer_text_is_what_json_writes(value: Any) -> None:
    """orjson encodes the answers; its text reads back as json.dumps's does, whatever the value
    (integers beyond 64 bits included: json writes those)."""
    text = encode(Anything, {"value": value})
    assert json.loads(text) == json.loads(json.dumps({"value": value}, ensure_ascii=False))
