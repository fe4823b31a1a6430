"""Response schemas serialise the answers, at the cost of straight-line code.

marshmallow's `Schema.dump` walks every field through several calls; a 400-finding assessment
would spend more on that walk than on judging the checklist. So each response schema is
compiled, once, into a plain Python function that does what `dump` does for the values the
service gives it: the schema's fields and nothing else, under their `data_key`, nested schemas
and lists dumped in turn, dates and datetimes as ISO text. Scalars (strings, numbers, booleans)
pass as they are: the core gives them typed. Dates may arrive already as ISO text (the
contract's objects carry them so) and pass as they are too. `tests/api/test_schema_dumping.py`
holds every compiled schema equal to marshmallow's own `dump`.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema, fields

Dump = Callable[[Any], Any]

_MISSING = object()
# Fields whose dumped value is the value itself (marshmallow coerces; ours are typed already).
_AS_IS = (fields.String, fields.Integer, fields.Float, fields.Boolean, fields.Raw)


# The test suite sets this: an answer carrying a field its schema does not declare is then an
# error, so a field added to a body but not to its schema is caught, not silently dropped.
STRICT_ENV = "RISKENGINE_STRICT_SCHEMAS"


class NotCompilable(TypeError):
    """A response schema uses a field the compiler does not know; it must not be guessed."""


class UndeclaredField(KeyError):
    """(strict mode) An answer's value has a field its response schema does not declare."""


def _undeclared(schema: str, extra: set[str]) -> None:
    raise UndeclaredField(f"{schema} does not declare {sorted(extra)}")


def _date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _datetime(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _converter(field: fields.Field[Any]) -> Dump | None:
    """How to dump one field's value; None when it is dumped as it is."""
    if isinstance(field, fields.Nested):
        nested = field.schema
        if nested.only or nested.exclude:
            raise NotCompilable("a nested schema narrowed by only/exclude")
        return schema_dumper(type(nested), bool(field.many))
    if isinstance(field, fields.Date):  # before DateTime: marshmallow's Date is a DateTime
        return _date
    if isinstance(field, fields.DateTime):
        return _datetime
    if isinstance(field, fields.List):
        item = _converter(field.inner)
        if item is None:
            return list
        return lambda values: [None if v is None else item(v) for v in values]
    if isinstance(field, fields.Dict):
        value_field = field.value_field
        value = None if value_field is None else _converter(value_field)
        if value is None:
            return dict
        return lambda mapping: {k: None if v is None else value(v) for k, v in mapping.items()}
    if isinstance(field, _AS_IS):
        return None
    raise NotCompilable(f"{type(field).__name__} cannot be compiled into a dumper")


@functools.cache
def schema_dumper(schema: type[Schema], many: bool = False) -> Dump:
    """Return the compiled `dump` of a schema class (of a list of values when `many`)."""
    instance = schema()
    lines = ["def dump(value):", "    get = value.get if isinstance(value, Mapping) else "
             "(lambda name, default: getattr(value, name, default))", "    out = {}"]
    scope: dict[str, Any] = {"Mapping": Mapping, "MISSING": _MISSING, "undeclared": _undeclared,
                             "KNOWN": frozenset(f.attribute or n
                                                for n, f in instance.dump_fields.items())}
    if os.environ.get(STRICT_ENV) == "1":
        lines += ["    if isinstance(value, Mapping) and not value.keys() <= KNOWN:",
                  f"        undeclared({schema.__name__!r}, set(value.keys() - KNOWN))"]
    for index, (name, field) in enumerate(instance.dump_fields.items()):
        attribute = field.attribute or name
        key = field.data_key or name
        convert = _converter(field)
        lines.append(f"    x = get({attribute!r}, MISSING)")
        lines.append("    if x is not MISSING:")
        if convert is None:
            lines.append(f"        out[{key!r}] = x")
        else:
            scope[f"c{index}"] = convert
            lines.append(f"        out[{key!r}] = None if x is None else c{index}(x)")
    lines.append("    return out")
    exec(compile("\n".join(lines), f"<dump {schema.__name__}>", "exec"), scope)  # noqa: S102
    one: Dump = scope["dump"]
    if many:
        return lambda values: [one(v) for v in values]
    return one
