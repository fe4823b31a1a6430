"""Reading JSON bodies: the quick check for unstorable text agrees with the full walk."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.bodies import _unstorable, parse_json
from api.errors import Invalid

# Text drawn with NULs, lone and paired surrogates, and CJK (escaped or raw in the JSON).
TEXT = st.text(st.one_of(st.sampled_from(["\x00", "\ud800", "\udfff", "😀", "中", "\\", "u"]),
                         st.characters()), max_size=8)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12)


def _problems(text: str) -> dict[str, list[str]] | None:
    try:
        parse_json(text.encode("utf-8", "surrogatepass"))
    except Invalid as error:
        return error.details
    return None


@settings(max_examples=300, deadline=None)
@given(value=VALUES, ascii_only=st.booleans())
def test_unstorable_text_is_found_whichever_way_it_is_written(value: Any,
                                                              ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    expected: dict[str, list[str]] = {}
    for path, message in _unstorable(value):
        expected.setdefault(path, []).append(message)
    if not ascii_only and any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return  # raw surrogates are not UTF-8: the decoder refuses the body first (400)
    if expected:
        assert _problems(text) == expected or len(expected) > 20
    else:
        assert _problems(text) is None


@pytest.mark.parametrize("text", [r'{"a": "\u0000"}', r'{"a": "\uD83D"}', r'{"\u0000": 1}'])
def test_escaped_nul_or_lone_surrogate_is_422(text: str) -> None:
    with pytest.raises(Invalid):
        parse_json(text.encode())


def test_escaped_backslash_before_u_is_plain_text() -> None:
    assert parse_json(rb'{"a": "\\u0000"}')[1] == {"a": "\\u0000"}
