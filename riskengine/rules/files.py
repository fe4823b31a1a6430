"""The schema family every rule file shares: stage rulesets, `policy.yaml`, `ledger.yaml` and
`audit.yaml` are read by one function, with the same text, enum and strictness fields, and a
bad file is refused with its path and every problem (never the first alone)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from riskengine.errors import RiskEngineError, RulesetInvalid, Words
from riskengine.refusals import AtPath, Marshmallow, refusal, yaml_problem
from riskengine.vocabulary import Lang


class StrictSchema(Schema):
    """Unknown keys are refused: a misspelt key must not be silently ignored."""

    class Meta:
        unknown = RAISE


def texts(required: bool = True) -> fields.Dict:
    """A text in every language, none empty."""
    return fields.Dict(keys=fields.String(validate=validate.OneOf([lang.value for lang in Lang])),
                       values=fields.String(validate=validate.Length(min=1)), required=required,
                       validate=validate.Length(equal=len(Lang)))


def one_of(values: type[Enum]) -> validate.OneOf:
    return validate.OneOf([v.value for v in values])


def problem_lines(messages: Any, prefix: str = "") -> Iterator[Words]:
    """Yield marshmallow's nested messages as `path: message` lines in words (a Dict field's
    `value` level is dropped: the path names the key)."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = prefix if key == "value" and prefix else (
                f"{prefix}.{key}" if prefix else str(key))
            yield from problem_lines(value, name)
    elif isinstance(messages, list):
        for item in messages:
            yield from problem_lines(item, prefix)
    else:
        said = messages if isinstance(messages, Words) else Marshmallow(str(messages))
        yield AtPath(prefix, said)


def read_rule_file(path: Path, schema: Schema,
                   error: type[RiskEngineError] = RulesetInvalid) -> tuple[dict[str, Any], bytes]:
    """Return a rule file's data as `schema` loads it, and its bytes (for its content hash);
    raise `error` naming the file and every problem."""
    try:
        content = path.read_bytes()
        raw = yaml.safe_load(content)
        data: dict[str, Any] = schema.load(raw if isinstance(raw, Mapping) else {})
    except OSError as failure:
        raise error(refusal("file_unreadable", name=path.name),
                    {str(path): [str(failure)]}) from failure
    except yaml.YAMLError as failure:
        raise error(refusal("file_not_yaml", name=path.name),
                    {str(path): [yaml_problem(failure)]}) from failure
    except ValidationError as failure:
        raise error(refusal("rule_file_invalid", name=path.name),
                    {str(path): list(problem_lines(failure.messages))}) from failure
    return data, content
