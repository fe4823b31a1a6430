"""Reading requests: strict UTF-8 JSON bodies, path ids and query values the databases can hold."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.datastructures import MultiDict

from api.errors import ApiError, Invalid, NotFound, TooLarge, UnsupportedMediaType
from api.state import service
from api.uploads import MULTIPART, takes_upload
from riskengine.checklist.wording import Wording, worded_error
from riskengine.errors import ChecklistUnreadable
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.refusals import Refusal, refusal

MAX_PROBLEMS = 20
# The contract nests five levels (inspections[].defects[]); the parser's own limit depends on
# how deep in the stack it runs, and webargs parses the body again deeper than we do: a body
# just under the limit here would overflow there (a 500). A fixed limit far below both holds
# wherever the body is read or walked.
MAX_DEPTH = 64
_PATH_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_FILES = frozenset({"static", "web.static"})  # the only paths that are not ids
# Valid UTF-8 JSON can carry a NUL or a lone surrogate only as a \u escape (raw control
# characters are refused by the parser, raw surrogates by the UTF-8 decoder); a body without
# such an escape needs no walk through its values.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


JSON = "application/json"
# The one route that also takes a filled Excel template as its body.
_WORKBOOK_ENDPOINTS = frozenset({"checklists.Checklists"})
_ACCEPT_HEADER = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}  # RFC 5789, W3C LDP


class _DuplicateKey(ValueError):
    """One object of the body names a key twice (a parser would keep either silently)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(_step(key))
            seen.add(key)
    return value


def _step(key: str) -> str:
    """A key as a step of a path in an answer: a lone surrogate, which no answer can encode
    either, written as its escape."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


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
            name = _step(key)
            yield from _unstorable(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable(item, f"{path}[{index}]")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked a level at a time)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, dict | list)]
    return bool(level)


def _too_deep() -> ChecklistUnreadable:
    return ChecklistUnreadable("the body is nested too deeply",
                               {"body": [f"objects and arrays nest at most {MAX_DEPTH} levels"]})


def parse_json(data: bytes) -> tuple[str, Any]:
    """Return the body's text and value; 400 when unreadable or nested too deeply, 422 when it
    holds unstorable text."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
        # Nesting deeper than MAX_DEPTH needs that many brackets: most bodies skip the walk.
        if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
            raise _too_deep()
        problems: dict[str, list[str]] = {}
        suspects = _unstorable(value) if _SUSPECT_ESCAPE.search(text) else ()
        for path, message in suspects:
            if len(problems) >= MAX_PROBLEMS:
                break
            problems.setdefault(path, []).append(message)
    except _DuplicateKey as error:
        raise ChecklistUnreadable(refusal("body_repeats_key", name=str(error)), {
            "body": [refusal("key_appears_twice", name=str(error))]}) from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ChecklistUnreadable("the body is not valid UTF-8 JSON",
                                  {"body": [str(error)]}) from error
    except RecursionError as error:
        raise _too_deep() from error
    if problems:
        raise Invalid("the body holds text that cannot be stored", problems)
    return text, value


def body() -> tuple[str, Any]:
    """Return the current request's parsed body (read once, checked once)."""
    if "body" not in g:
        try:
            g.body = parse_json(request.get_data(cache=True))
        except (Invalid, ChecklistUnreadable) as error:  # worded, as validation problems are
            raise worded_error(error, Wording.of(service().assessor.catalog)) from None
    parsed: tuple[str, Any] = g.body
    return parsed


def _check_url() -> None:
    """Ids in paths, the API's and the pages', are short plain words: anything else names
    nothing (nor reaches SQL, where PostgreSQL refuses a NUL with a 500)."""
    if request.endpoint in _FILES:
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and not _PATH_VALUE.match(value):
            raise NotFound(refusal("route_not_found"), {name: [refusal("not_an_id")]})
    bad = _with_nul(request.args)
    if bad:
        raise Invalid(refusal("query_unstorable"), bad)


def _check_form() -> None:
    # The pages' forms reach the same columns as the API's bodies (reasons, comments, ids).
    if request.method == "POST" and request.blueprint == "web":
        bad = _with_nul(request.form)
        if bad:
            raise Invalid(refusal("form_unstorable"), bad)


def _with_nul(values: MultiDict[str, str]) -> dict[str, list[Refusal]]:
    return {name: [refusal("no_nul")]
            for name, value in values.items(multi=True) if "\x00" in value}


def _check_size() -> None:
    """413 for a body over the limit however it is sent: werkzeug refuses a declared length
    over it, but cuts a chunked body (no length) at the limit and hands on the first part."""
    limit = request.max_content_length  # an upload route's own (api.uploads), or the service's
    if not limit or request.content_length is not None:
        return
    if len(request.get_data(cache=True)) >= limit and request.environ["wsgi.input"].read(1):
        raise TooLarge(refusal("body_too_large", limit=limit))


def accepted_types() -> list[str]:
    """The media types the current route's body may have."""
    if takes_upload():
        return [MULTIPART]
    return [JSON, MEDIA_TYPE] if request.endpoint in _WORKBOOK_ENDPOINTS else [JSON]


def _check_body() -> Response | None:
    # Every JSON body is checked before webargs reads it, so both paths refuse the same input.
    # Not the pages' forms, nor an uploaded workbook (the checklists route reads that itself).
    if request.method in ("POST", "PUT", "PATCH") and request.endpoint and (
            request.routing_exception is None) and request.blueprint != "web":
        if request.content_length == 0 and not request.get_data(cache=True):
            return None
        _check_size()
        accepted = accepted_types()
        if request.mimetype not in accepted:
            # Anything else was once read as JSON whatever it said it was: refuse it instead.
            raise UnsupportedMediaType(
                refusal("media_type_refused", type=request.mimetype or "(none)"),
                {"Content-Type": [refusal("send_one_of", types=accepted)]},
                headers={_ACCEPT_HEADER.get(request.method, "Accept"): ", ".join(accepted)})
        if request.mimetype == JSON:
            body()
    return None


def require_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(refusal("body_not_object"),
                       {"body": [refusal("got_type", type=type(value).__name__)]})
    return value


def init_app(app: Flask) -> None:
    app.before_request(_check_url)
    app.before_request(_check_form)
    app.before_request(_check_body)
