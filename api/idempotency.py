"""Idempotency-Key: a retry of a write gets the first answer, and nothing is stored twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy.orm import Session

from api.answers import encode, json_response
from api.auth import current
from api.bodies import body
from api.errors import ApiError
from api.schemas import ResponseSchema
from api.state import service
from riskengine.idempotency import run_once
from riskengine.output.workbook import MEDIA_TYPE
from riskengine.refusals import refusal

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
Work = Callable[[Session], tuple[int, dict[str, Any]]]


def _fingerprint() -> str:
    if request.mimetype == MEDIA_TYPE:  # an uploaded workbook: the same file is the same request
        canonical = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    else:
        canonical = json.dumps(body()[1], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def run_write(work: Work, schema: type[ResponseSchema]) -> Response:
    """Run a write in one transaction; with an Idempotency-Key, at most once per key. The
    answer is `schema`'s dump of what the work returns (a replay gives the first one's text)."""
    key = request.headers.get("Idempotency-Key")
    database = service().database
    if key is None:
        with database.write() as session:
            status, answer = work(session)
        return json_response(encode(schema, answer), status)
    if not _KEY.match(key):
        raise ApiError(refusal("key_malformed"), {"Idempotency-Key": [refusal("key_shape")]})
    token_id = current().token_id
    with database.write() as session:
        def once() -> tuple[int, str]:
            status, answer = work(session)
            return status, encode(schema, answer)
        done = run_once(session, token_id, key, _fingerprint(), once)
    headers = {"Idempotent-Replayed": "true"} if done.replayed else None
    return json_response(done.body, done.status, headers)
