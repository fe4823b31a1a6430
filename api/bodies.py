"""Reading requests: strict UTF-8 JSON bodies, path ids and query values the databases can hold."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request

from api.errors import ApiError, Invalid, NotFound
from riskengine.errors import ChecklistUnreadable
from riskengine.workbook import MEDIA_TYPE

MAX_PROBLEMS = 20
_PATH_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
# Valid UTF-8 JSON can carry a NUL or a lone surrogate only as a \u escape (raw control
# characters are refused by the parser, raw surrogates by the UTF-8 decoder); a body without
# such an escape needs no walk through its values.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unstorable(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield strings no database can hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "body", "must not contain NUL characters"
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                yield path or "body", "must be valid Unicode text"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable(key, path or "body")
            yield from _unstorable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable(item, f"{path}[{index}]")


def parse_json(data: bytes) -> tuple[str, Any]:
    """Return the body's text and value; 400 when unreadable, 422 when it holds unstorable text."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant)
        problems: dict[str, list[str]] = {}
        suspects = _unstorable(value) if _SUSPECT_ESCAPE.search(text) else ()
        for path, message in suspects:
            if len(problems) >= MAX_PROBLEMS:
                break
            problems.setdefault(path, []).append(message)
    except (UnicodeDecodeError, ValueError) as error:
        raise ChecklistUnreadable("the body is not valid UTF-8 JSON",
                                  {"body": [str(error)]}) from error
    except RecursionError as error:
        raise ChecklistUnreadable("the body is nested too deeply",
                                  {"body": ["nested too deeply"]}) from error
    if problems:
        raise Invalid("the body holds text that cannot be stored", problems)
    return text, value


def body() -> tuple[str, Any]:
    """Return the current request's parsed body (read once, checked once)."""
    if "body" not in g:
        g.body = parse_json(request.get_data(cache=True))
    parsed: tuple[str, Any] = g.body
    return parsed


def _check_url() -> None:
    """API ids in paths are short plain words: anything else names nothing (nor reaches SQL)."""
    if not request.path.startswith("/api/"):
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and not _PATH_VALUE.match(value):
            raise NotFound(f"no such {name}")
    bad = {name: ["must not contain NUL characters"]
           for name, value in request.args.items(multi=True) if "\x00" in value}
    if bad:
        raise Invalid("the query holds text that cannot be stored", bad)


def _check_body() -> Response | None:
    # Every JSON body is checked before webargs reads it, so both paths refuse the same input.
    # Not the pages' forms, nor an uploaded workbook (the checklists route reads that itself).
    if request.method in ("POST", "PUT", "PATCH") and request.endpoint and (
            request.routing_exception is None) and request.blueprint != "web" and (
            request.mimetype != MEDIA_TYPE):
        if request.content_length == 0 and not request.get_data(cache=True):
            return None
        body()
    return None


def require_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError("the body must be a JSON object", {"body": [f"got {type(value).__name__}"]})
    return value


def init_app(app: Flask) -> None:
    app.before_request(_check_url)
    app.before_request(_check_body)
