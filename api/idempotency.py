"""Idempotency-Key: a retry of a write gets the first answer, and nothing is stored twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from api.auth import current
from api.bodies import body
from api.errors import ApiError
from api.state import service
from riskengine.idempotency import run_once
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.refusals import refusal

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
Work = Callable[[Session], tuple[int, dict[str, Any]]]


def json_response(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status=status, mimetype="application/json", headers=headers)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def page_response(items: list[Any], query: Mapping[str, Any], total: int) -> Response:
    """Answer one page of a listing: its items, the page asked for (`page`, `per_page`), and
    how many items the whole listing has."""
    return json_response(dump({"items": items, "page": query["page"],
                               "per_page": query["per_page"], "total": total}), 200)


def _fingerprint() -> str:
    if request.mimetype == MEDIA_TYPE:  # an uploaded workbook: the same file is the same request
        canonical = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    else:
        canonical = json.dumps(body()[1], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def run_write(work: Work) -> Response:
    """Run a write in one transaction; with an Idempotency-Key, at most once per key."""
    key = request.headers.get("Idempotency-Key")
    database = service().database
    if key is None:
        with database.write() as session:
            status, answer = work(session)
        return json_response(dump(answer), status)
    if not _KEY.match(key):
        raise ApiError(refusal("key_malformed"), {"Idempotency-Key": [refusal("key_shape")]})
    token_id = current().token_id
    with database.write() as session:
        def once() -> tuple[int, str]:
            status, answer = work(session)
            return status, dump(answer)
        done = run_once(session, token_id, key, _fingerprint(), once)
    headers = {"Idempotent-Replayed": "true"} if done.replayed else None
    return json_response(done.body, done.status, headers)
