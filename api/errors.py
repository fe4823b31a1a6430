"""Every error answer is `{"error": {"code", "message", "details"}}`, built in one place."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

from api.render import requested_lang
from api.state import service
from riskengine.audits import DeliveryDateUnknown, ScheduleInvalid
from riskengine.checklist.wording import Wording
from riskengine.errors import (
    ChecklistInvalid,
    ChecklistUnreadable,
    DatabaseUnavailable,
    Invalid,
    KeyReused,
    NotFound,
    NotPermitted,
    Refused,
    RiskEngineError,
    StaleVersion,
    StorageUnavailable,
    StoreError,
    TooLarge,
    Words,
    WorkbookInvalid,
)
from riskengine.refusals import refusal

log = logging.getLogger("riskengine.api")

# werkzeug's refusals by status, as riskengine.refusals words them.
HTTP_WORDS = {400: "bad_request", 404: "route_not_found", 405: "method_not_allowed",
              406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type",
              422: "request_invalid", 428: "precondition_required", 500: "service_failed",
              503: "service_unavailable"}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    412: "precondition_failed", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 428: "precondition_required", 429: "too_many_requests",
    500: "internal_error", 503: "unavailable",
}


class ApiError(RiskEngineError):
    """A refusal only the HTTP layer can make (a header, a role, a body); `headers` go with it."""

    code = "bad_request"

    def __init__(self, message: str | Words, details: Mapping[str, Any] | None = None,
                 code: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, details, code)
        self.headers = dict(headers or {})


class Unauthorized(ApiError):
    code = "unauthorized"


class Forbidden(ApiError):
    code = "forbidden"


class Conflict(ApiError):
    code = "conflict"


class PreconditionFailed(ApiError):
    code = "precondition_failed"


class TooManyRequests(ApiError):
    code = "too_many_requests"


class UnsupportedMediaType(ApiError):
    code = "unsupported_media_type"


__all__ = ["ApiError", "Conflict", "Forbidden", "Invalid", "NotFound", "PreconditionFailed",
           "TooLarge", "TooManyRequests", "Unauthorized", "UnsupportedMediaType", "status_of"]

# The one table from riskengine's errors to HTTP statuses (the first match counts: a subclass
# before its base).
STATUSES: dict[type[Exception], int] = {
    Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, PreconditionFailed: 412,
    Invalid: 422, TooManyRequests: 429, UnsupportedMediaType: 415, TooLarge: 413, ApiError: 400,
    ChecklistInvalid: 422, ChecklistUnreadable: 400, WorkbookInvalid: 422,
    ScheduleInvalid: 422, DeliveryDateUnknown: 422, StaleVersion: 409, KeyReused: 409,
    StoreError: 409, DatabaseUnavailable: 503, NotPermitted: 403, Refused: 409,
    StorageUnavailable: 503,
}


def error_response(status: int, code: str, message: str,
                   details: Mapping[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": dict(details or {}),
                      "request_id": g.get("request_id", "")}}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(dict(headers or {}))
    return response


def flatten(messages: Any, prefix: str = "") -> Iterator[tuple[str, str | Words]]:
    """Yield marshmallow/webargs messages as (path, message), dropping the location level."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key)
            if not prefix and name in ("json", "query", "headers", "path", "form"):
                yield from flatten(value, "")
                continue
            yield from flatten(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from flatten(item, prefix)
    else:
        yield prefix or "body", messages if isinstance(messages, Words) else str(messages)


def as_details(messages: Any) -> dict[str, list[str | Words]]:
    details: dict[str, list[str | Words]] = {}
    for path, message in flatten(messages):
        details.setdefault(path, []).append(message)
    return details


def handle_http(error: HTTPException) -> Response:
    """werkzeug's and webargs' refusals (no route, method, size, media type, a body webargs
    refuses), said in the reader's language like ours; their own English stays in the logs."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    lang = requested_lang()
    details: dict[str, list[str]] = {}
    if messages:
        wording = Wording.of(service().assessor.catalog)
        details = {path: [p.say(lang) if isinstance(p, Words) else wording.text(p, lang)
                          for p in problems] for path, problems in as_details(messages).items()}
    message = refusal(HTTP_WORDS.get(status, "http_error"), status=status).say(lang)
    headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    return error_response(status, HTTP_CODES.get(status, "error"), message, details, headers)


def status_of(error: Exception) -> int:
    """Return the HTTP status of one of riskengine's errors."""
    return next((s for t, s in STATUSES.items() if isinstance(error, t)), 500)


def handle_domain(error: RiskEngineError) -> Response:
    status = status_of(error)
    if status >= 500:
        log.error("request failed: %s", error, extra={"request_id": g.get("request_id")})
    headers = dict(getattr(error, "headers", {}) or {})
    if isinstance(error, DatabaseUnavailable | StorageUnavailable):
        headers.setdefault("Retry-After", "5")
    message, details = error.in_lang(requested_lang())  # validation problems: worded
    return error_response(status, error.code, message, details, headers)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"request_id": g.get("request_id")})
    return error_response(500, "internal_error", refusal("service_failed").say(requested_lang()))


def init_app(app: Flask) -> None:
    app.register_error_handler(RiskEngineError, handle_domain)
    app.register_error_handler(Exception, handle_unexpected)
