"""Validate a submitted checklist against the contract and the loaded rulesets' `checks` keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate

from riskengine.checklist.coherence import incoherent
from riskengine.checklist.contract import LISTS, PROJECT_CODE, ItemField, ListSpec
from riskengine.checklist.wording import Wording
from riskengine.errors import ChecklistInvalid, ChecklistUnreadable
from riskengine.refusals import json_problem, refusal
from riskengine.rules.catalog import Catalog, CheckSpec
from riskengine.vocabulary import MILESTONES, CheckType, Lang, Stage

MAX_ITEMS = 2000  # per list: keeps one checklist far below the engine's limits
MAX_NESTED = 50  # inspections, and defects per inspection: positional ids stay collision-free
MAX_TEXT = 4000


class Numeric(fields.Field[float | int]):
    """A JSON number kept as given (400 stays 400); booleans and strings are refused, and
    what the contract bounds (a distance, an area) is refused outside its bound."""

    default_error_messages = {"invalid": "must be a number"}
    bound = 1e12

    def __init__(self, minimum: float | None = None, above_minimum: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.above_minimum = minimum, above_minimum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise self.make_error("invalid")
        if abs(value) > self.bound:
            raise ValidationError("must be between -1e12 and 1e12")
        if self.minimum is not None and not _within(value, self.minimum, self.above_minimum):
            word = "more than" if self.above_minimum else "at least"
            raise ValidationError(f"must be {word} {self.minimum:g}")
        return value


def _within(value: float, minimum: float, above: bool) -> bool:
    return value > minimum if above else value >= minimum


class StrictBool(fields.Field[bool]):
    """JSON true or false only: 1, "yes" and "true" are refused (the engine would equate them)."""

    default_error_messages = {"invalid": "must be true or false"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


class IsoDate(fields.Field[dt.date]):
    """A calendar date written YYYY-MM-DD (the contract's only date form)."""

    default_error_messages = {"invalid": "must be a date YYYY-MM-DD"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise self.make_error("invalid")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise self.make_error("invalid") from error


class Choice(fields.Field[str]):
    """One value of a closed vocabulary; the error lists them all."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self.listing = ", ".join(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or value not in self.choices:
            raise ValidationError(f"must be one of: {self.listing}")
        return value


class Text(fields.Field[str]):
    default_error_messages = {"invalid": "must be a string"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if len(value) > MAX_TEXT:
            raise ValidationError(f"must be at most {MAX_TEXT} characters")
        return value


class Count(fields.Field[int]):
    default_error_messages = {"invalid": "must be a whole number from 0 to 1000000000"}
    ceiling = 10**9

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if type(value) is not int or not 0 <= value <= self.ceiling:
            raise self.make_error("invalid")
        return value


def _date(**kwargs: Any) -> IsoDate:
    return IsoDate(**kwargs)


def _text(**kwargs: Any) -> Text:
    return Text(**kwargs)


def _typed(kind: CheckType | str, choices: tuple[str, ...] = (),
           **kwargs: Any) -> fields.Field[Any]:
    if kind == "list":
        return fields.List(Choice(choices) if choices else Text(), **kwargs)
    if choices:
        return Choice(choices, **kwargs)
    field_classes: dict[CheckType, type[fields.Field[Any]]] = {
        CheckType.BOOL: StrictBool, CheckType.INT: Count, CheckType.NUMBER: Numeric,
        CheckType.DATE: IsoDate, CheckType.STRING: Text,
    }
    return field_classes[CheckType(kind)](**kwargs)


def _field(spec: ItemField) -> fields.Field[Any]:
    presence: dict[str, Any] = {"required": True} if spec.required else {"allow_none": True}
    if spec.minimum is not None and spec.type == CheckType.NUMBER:
        return Numeric(spec.minimum, spec.above_minimum, **presence)
    return _typed(spec.type, spec.choices, **presence)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class Items(fields.Field[list[dict[str, Any]]]):
    """A contract list, each item checked field by field with the contract's own fields.

    Per-item nested Schemas cost most of a large checklist's validation; this field keeps
    marshmallow's fields and error shape (`{index: {field: [messages]}}`) without them.
    """

    def __init__(self, spec: ListSpec, limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit
        self.item_fields: dict[str, fields.Field[Any]] = {k: _field(f)
                                                         for k, f in spec.fields.items()}
        self.item_fields.update({child: Items(child_spec, MAX_NESTED, allow_none=True)
                                 for child, child_spec in spec.nested.items()})
        self.required_fields = tuple(k for k, f in spec.fields.items() if f.required)

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ValidationError("must be a list")
        if len(value) > self.limit:
            raise ValidationError(f"must have at most {self.limit} items")
        errors: dict[int, Any] = {}
        items = []
        for index, item in enumerate(value):
            clean, problems = self._item(item)
            items.append(clean)
            if problems:
                errors[index] = problems
        if errors:
            raise ValidationError(errors)
        return items

    def _item(self, item: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(item, dict):
            return {}, {"_schema": ["must be an object"]}
        clean: dict[str, Any] = {}
        problems: dict[str, Any] = {}
        for key, raw in item.items():
            field = self.item_fields.get(key)
            if field is None:
                problems[key] = ["Unknown field."]
                continue
            try:
                clean[key] = field.deserialize(raw)
            except ValidationError as error:
                problems[key] = error.messages
        for key in self.required_fields:
            if clean.get(key) is None and key not in problems:
                problems[key] = ["Missing data for required field."]
        return clean, problems


def _checklist_schema(checks: Mapping[str, CheckSpec]) -> Schema:
    check_fields = {k: _typed(c.type, allow_none=True) for k, c in checks.items()}
    project = _Strict.from_dict({
        "code": fields.String(required=True, validate=validate.Regexp(
            PROJECT_CODE, error="must be 1-40 letters, digits, '_' or '-'")),
        "name": _text(allow_none=True),
        "city": _text(allow_none=True),
    }, name="project")
    milestones = _Strict.from_dict({m: _date(allow_none=True)
                                    for m in MILESTONES}, name="milestones")
    attrs: dict[str, Any] = {
        "project": fields.Nested(project, required=True),
        "stage": Choice(tuple(s.value for s in Stage), required=True),
        "as_of": _date(required=True),
        "submitted_by": _text(allow_none=True),
        "milestones": fields.Nested(milestones, load_default=dict),
        "checks": fields.Nested(_Strict.from_dict(check_fields, name="checks"),
                                load_default=dict),
    }
    for name, spec in LISTS.items():
        limit = MAX_NESTED if spec.nested else MAX_ITEMS
        attrs[name] = Items(spec, limit, load_default=list)
    return _Strict.from_dict(attrs, name="checklist")()


# The fast path: each schema compiled once into plain checks that accept a subset of what
# marshmallow accepts and build the same value from it. Whatever they cannot vouch for goes
# to marshmallow, which then decides and words every problem (messages, paths, order).

Load = Callable[[Any], Any]


class _Unvouched(Exception):
    """The fast path cannot vouch for a value; marshmallow decides."""


def _unvouched(*_: Any) -> NoReturn:
    raise _Unvouched


def _exact(kind: type) -> Load:
    def load(value: Any) -> Any:
        if type(value) is kind:
            return value
        raise _Unvouched
    return load


def _whole(ceiling: int) -> Load:
    def load(value: Any) -> int:
        if type(value) is int and 0 <= value <= ceiling:
            return value
        raise _Unvouched
    return load


def _number(bound: float, minimum: float | None, above: bool) -> Load:
    def load(value: Any) -> float | int:
        # NaN fails every comparison, so it is never vouched for
        if ((type(value) is int or type(value) is float) and abs(value) <= bound
                and (minimum is None or _within(value, minimum, above))):
            return value
        raise _Unvouched
    return load


def _text_up_to(limit: int) -> Load:
    def load(value: Any) -> str:
        if type(value) is str and len(value) <= limit:
            return value
        raise _Unvouched
    return load


def _one_of(choices: frozenset[str]) -> Load:
    def load(value: Any) -> str:
        if type(value) is str and value in choices:
            return value
        raise _Unvouched
    return load


def _iso_date(value: Any) -> dt.date:
    # Only a date written back exactly as read: other spellings fromisoformat tolerates are
    # IsoDate's to judge.
    if type(value) is str:
        try:
            date = dt.date.fromisoformat(value)
        except ValueError:
            raise _Unvouched from None
        if date.isoformat() == value:
            return date
    raise _Unvouched


def _list_of(load_each: Load) -> Load:
    def load(value: Any) -> list[Any]:
        if type(value) is list:
            return [load_each(each) for each in value]
        raise _Unvouched
    return load


def _validated(load: Load, validators: list[Callable[[Any], Any]]) -> Load:
    def load_valid(value: Any) -> Any:
        out = load(value)
        for validator in validators:
            try:
                if validator(out) is False:
                    raise _Unvouched
            except ValidationError as error:
                raise _Unvouched from error
        return out
    return load_valid


def _fast_field(field: fields.Field[Any]) -> Load:
    """A field's value check; None and absence are the container's to judge."""
    if field.pre_load or field.post_load:
        return _unvouched
    load = _fast_value(field)
    return _validated(load, field.validators) if field.validators else load


def _fast_value(field: fields.Field[Any]) -> Load:
    # Exact classes: a subclass may refuse more than its base, so it is not vouched for.
    if type(field) is StrictBool:
        return _exact(bool)
    if type(field) is Count:
        return _whole(field.ceiling)
    if type(field) is Numeric:
        return _number(field.bound, field.minimum, field.above_minimum)
    if type(field) is Text:
        return _text_up_to(MAX_TEXT)
    if type(field) is fields.String:  # bytes, which marshmallow decodes, are left to it
        return _exact(str)
    if type(field) is Choice:
        return _one_of(field.choices)
    if type(field) is IsoDate:
        return _iso_date
    if type(field) is fields.List:
        return _list_of(_fast_field(field.inner))
    if type(field) is fields.Nested and not field.many and field.unknown is None:
        return _fast_schema(field.schema)
    if type(field) is Items:
        return _fast_items(field)
    return _unvouched


def _fast_items(field: Items) -> Load:
    loads = {key: _fast_field(f) for key, f in field.item_fields.items()}
    nullable = frozenset(key for key, f in field.item_fields.items() if f.allow_none)
    required, limit = field.required_fields, field.limit

    def load_item(item: Any) -> dict[str, Any]:
        if type(item) is not dict:
            raise _Unvouched
        clean: dict[str, Any] = {}
        for key, value in item.items():  # Items keeps the submitted order
            if value is None and key in nullable:
                clean[key] = None
            else:
                clean[key] = loads.get(key, _unvouched)(value)
        for key in required:
            if clean.get(key) is None:
                raise _Unvouched
        return clean

    def load(value: Any) -> list[dict[str, Any]]:
        if type(value) is not list or len(value) > limit:
            raise _Unvouched
        return [load_item(item) for item in value]
    return load


def _when_missing(field: fields.Field[Any]) -> Callable[[], Any] | None:
    """What an absent field becomes: refused, its load_default, or nothing (None)."""
    if field.required:
        return _unvouched
    default = field.load_default
    if default is missing:
        return None
    return default if callable(default) else lambda: default


def _fast_schema(schema: Schema) -> Load:
    load_fields = schema.load_fields
    if (schema.unknown != RAISE or schema.many or any(schema._hooks.values())
            or any(f.data_key is not None or f.attribute is not None or "." in name
                   for name, f in load_fields.items())):
        return _unvouched
    names = frozenset(load_fields)
    plan = [(name, _fast_field(f), f.allow_none, _when_missing(f))
            for name, f in load_fields.items()]

    def load(data: Any) -> dict[str, Any]:
        if type(data) is not dict or not data.keys() <= names:
            raise _Unvouched
        out: dict[str, Any] = {}
        for name, load_field, nullable, when_missing in plan:  # a Schema keeps declared order
            value = data.get(name, missing)
            if value is missing:
                if when_missing is not None:
                    out[name] = when_missing()
            elif value is None and nullable:
                out[name] = None
            else:
                out[name] = load_field(value)
        return out
    return load


def _paths(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield from ((prefix or "checklist", m) for m in messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _paths(item, prefix)
    else:
        yield prefix or "checklist", str(messages)


Problems = list[tuple[str, str]]  # (checklist path, problem in plain English)


class ChecklistValidator:
    """Validates checklists for the stages of one catalogue."""

    def __init__(self, catalog: Catalog) -> None:
        self.checks = {stage: catalog.checks(stage) for stage in Stage}
        self.schemas = {stage: _checklist_schema(self.checks[stage]) for stage in Stage}
        self.fast = {stage: _fast_schema(schema) for stage, schema in self.schemas.items()}
        everything = {k: v for stage in Stage for k, v in self.checks[stage].items()}
        self.fallback = _checklist_schema(everything)
        self.wording = Wording(catalog.policy, everything)

    def validate(self, raw: Any, *, fast: bool = True) -> dict[str, Any]:
        """Return the typed checklist, or raise ChecklistInvalid listing every problem, worded
        in each language (Chinese by default: `in_lang` gives the English).

        `fast=False` skips the fast path: marshmallow alone, the reference it must match.
        """
        valid, summary, problems = self.problems(raw, fast=fast)
        if valid is None:
            raise self.invalid(summary, problems)
        return valid

    def invalid(self, summary: str, problems: Problems) -> ChecklistInvalid:
        worded = self.wording.worded(summary, ((path, path, p) for path, p in problems))
        message, details = worded[Lang.ZH.value]
        error = ChecklistInvalid(message, details)
        error.worded = worded
        return error

    def problems(self, raw: Any, *, fast: bool = True
                 ) -> tuple[dict[str, Any] | None, str, Problems]:
        """Return the typed checklist (None when it has problems), a summary and every problem
        by path, in plain English (what `wording` words)."""
        if not isinstance(raw, Mapping):
            return None, "the checklist must be a JSON object", [
                ("checklist", f"got {type(raw).__name__}")]
        stage = raw.get("stage")
        known = _stage(stage)
        if fast and known is not None:
            try:
                vouched: dict[str, Any] = self.fast[known](raw)
                return self._coherent(vouched, [])
            except _Unvouched:
                pass
        schema = self.fallback if known is None else self.schemas[known]
        try:
            loaded: dict[str, Any] = schema.load(raw)
        except ValidationError as error:
            # What did load is still checked, so every problem is listed at once.
            partial = error.valid_data if isinstance(error.valid_data, dict) else {}
            return self._coherent(partial, self.explain(error.messages, stage), valid=False)
        return self._coherent(loaded, [])

    @staticmethod
    def _coherent(loaded: dict[str, Any], problems: Problems, valid: bool = True
                  ) -> tuple[dict[str, Any] | None, str, Problems]:
        problems = problems + list(incoherent(loaded))
        return (loaded if valid and not problems else None), "the checklist is invalid", problems

    def explain(self, messages: Any, stage: Any) -> Problems:
        """Map marshmallow's messages to (path, problem), saying what is allowed."""
        out: Problems = []
        for path, message in _paths(messages):
            if message == "Unknown field.":
                message = self.unknown(path, stage)
            elif message == "Missing data for required field.":
                message = "is required"
            out.append((path, message))
        return out

    def unknown(self, path: str, stage: Any) -> str:
        parent, _, name = path.rpartition(".")
        known = _stage(stage)
        if parent == "checks" and known is not None:
            allowed = sorted(self.checks[known])
            return f"unknown check key {name!r} for stage {stage}; allowed: {', '.join(allowed)}"
        return f"unknown field {name!r}; the contract does not define it here"


def _stage(value: Any) -> Stage | None:
    """The stage a checklist names, or None (whatever JSON value it holds instead)."""
    return Stage(value) if isinstance(value, str) and value in _STAGES else None


_STAGES = frozenset(s.value for s in Stage)


def read_checklist(text: str | bytes) -> Any:
    """Parse checklist JSON, raising ChecklistUnreadable with the position of a syntax error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ChecklistUnreadable(json_problem(error.msg, error.lineno, error.colno), {
            "checklist": [refusal("json_at", line=error.lineno, column=error.colno)]}) from error
    except UnicodeDecodeError as error:
        raise ChecklistUnreadable(refusal("text_not_utf8"), {
            "checklist": [refusal("byte_at", position=error.start)]}) from error
