"""Webhook signatures and the retry schedule of the outbox (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from riskengine.audits.delivery import next_attempt
from riskengine.audits.policy import RetryPolicy
from riskengine.audits.signing import sign, verify

BODY = b'{"recipient": "crm"}'


def test_signature_verifies_with_the_secret_only() -> None:
    header = sign("s3cret", BODY, 1_800_000_000)
    assert verify("s3cret", BODY, header, 1_800_000_010, 300)
    assert not verify("other", BODY, header, 1_800_000_010, 300)
    assert not verify("s3cret", BODY + b" ", header, 1_800_000_010, 300)


@pytest.mark.parametrize("header", [
    pytest.param("", id="empty"), pytest.param("t=abc,v1=00", id="bad_time"),
    pytest.param("v1=00", id="no_time"),
])
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert not verify("s3cret", BODY, header, 0, 300)


def test_old_signatures_are_refused_as_replays() -> None:
    header = sign("s3cret", BODY, 1_800_000_000)
    assert not verify("s3cret", BODY, header, 1_800_000_301, 300)


def test_backoff_doubles_up_to_the_cap_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, first_seconds=30, factor=2, max_seconds=100)
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    waits = [next_attempt(policy, n, now) for n in range(1, 6)]
    assert [(w - now).total_seconds() if w else None for w in waits] == [
        30, 60, 100, 100, None]
