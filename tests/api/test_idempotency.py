"""Idempotency-Key: a retry gets the first answer and stores nothing, even under a race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask

from tests.api.support import Caller, checklist, new_token, unique_code


def stored(admin: Caller, code: str) -> int:
    return len(admin.get(f"/api/v1/projects/{code}/checklists").get_json()["items"])


def test_a_retry_gets_the_first_answer(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    first = admin.submit(body, headers={"Idempotency-Key": "submit-1"})
    retry = admin.submit(body, headers={"Idempotency-Key": "submit-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.get_data() == first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert stored(admin, body["project"]["code"]) == 1


def test_the_same_key_with_another_body_is_409(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    admin.submit(body, headers={"Idempotency-Key": "submit-2"})
    changed = {**body, "as_of": "2026-11-21"}
    answer = admin.submit(changed, headers={"Idempotency-Key": "submit-2"})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "idempotency_key_reused"
    assert stored(admin, body["project"]["code"]) == 1


def test_keys_belong_to_their_token(admin: Caller, caller: Callable[..., Caller]) -> None:
    body = checklist("sales-risky", unique_code())
    one = admin.submit(body, headers={"Idempotency-Key": "shared"}).get_json()
    two = caller("admin").submit(body, headers={"Idempotency-Key": "shared"}).get_json()
    assert one["id"] != two["id"]


def test_a_failed_request_does_not_burn_the_key(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    broken = {**body, "stage": "nonsense"}
    assert admin.submit(broken, headers={"Idempotency-Key": "k"}).status_code == 422
    assert admin.submit(broken, headers={"Idempotency-Key": "k"}).status_code == 422


def test_a_malformed_key_is_400(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    assert admin.submit(body, headers={"Idempotency-Key": "x" * 256}).status_code == 400


def test_other_writes_are_idempotent_too(admin: Caller) -> None:
    code = unique_code()
    first = admin.post("/api/v1/projects", {"code": code}, headers={"Idempotency-Key": "p"})
    again = admin.post("/api/v1/projects", {"code": code}, headers={"Idempotency-Key": "p"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_data() == again.get_data()


def test_twenty_concurrent_submissions(app: Flask) -> None:
    """10 threads retry one key, 10 use their own: 11 checklists, one answer per key."""
    token = new_token(app, "submitter")
    body = checklist("sales-risky", unique_code("RACE"))
    start = threading.Barrier(20)

    def send(key: str) -> tuple[int, Any]:
        caller = Caller(app, token)
        start.wait()
        answer = caller.submit(body, headers={"Idempotency-Key": key})
        return answer.status_code, answer.get_json()

    keys = ["same"] * 10 + [f"own-{n}" for n in range(10)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, keys))
    assert [status for status, _ in results] == [201] * 20, results
    same = {answer["id"] for (_, answer), key in zip(results, keys, strict=True) if key == "same"}
    own = {answer["id"] for (_, answer), key in zip(results, keys, strict=True) if key != "same"}
    assert len(same) == 1 and len(own) == 10 and not same & own
    admin = Caller(app, new_token(app, "admin"))
    listed = admin.get(f"/api/v1/projects/{body['project']['code']}/checklists").get_json()
    assert len(listed["items"]) == 11
    assert sorted(c["number"] for c in listed["items"]) == list(range(1, 12))
