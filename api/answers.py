"""Answers: every JSON answer is its route's response schema dumping a value, encoded once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response

from api.schemas import ResponseSchema
from api.schemas.dumping import schema_dumper


def json_response(text: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(text, status=status, mimetype="application/json",
                    headers=dict(headers or {}))


def encode(schema: type[ResponseSchema], value: Any) -> str:
    """The answer's text: the value as the schema dumps it (its fields, nothing more)."""
    dumped = schema_dumper(schema)(value)
    try:
        # orjson writes the same compact UTF-8 text as json.dumps(ensure_ascii=False), an
        # order of magnitude faster on a 400-finding answer.
        return orjson.dumps(dumped, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: json writes it
        return json.dumps(dumped, ensure_ascii=False, separators=(",", ":"))


def answer(schema: type[ResponseSchema], value: Any, status: int = 200,
           headers: Mapping[str, str] | None = None) -> Response:
    return json_response(encode(schema, value), status, headers)


def page_answer(schema: type[ResponseSchema], items: list[Any], query: Mapping[str, Any],
                total: int) -> Response:
    """Answer one page of a listing: its items, the page asked for (`page`, `per_page`), and
    how many items the whole listing has."""
    return answer(schema, {"items": items, "page": query["page"],
                           "per_page": query["per_page"], "total": total})
