"""Writers racing on one project: submissions and finding updates queue, none fails."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from tests.api.support import Caller, checklist, new_token, unique_code


def test_resubmissions_and_updates_race_without_errors(app: Flask) -> None:
    token = new_token(app, "admin")
    body = checklist("sales-risky", unique_code("MIX"))
    first = Caller(app, token).submit(body).get_json()
    findings = [f["id"] for f in first["findings"]]
    start = threading.Barrier(12)

    def act(number: int) -> int:
        caller = Caller(app, token)
        start.wait()
        if number % 2:
            return caller.submit(body).status_code
        finding = findings[number % len(findings)]
        return caller.patch(f"/api/v1/findings/{finding}", {"notes": f"note {number}"}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(act, range(12)))
    assert sorted(set(statuses)) == [200, 201], statuses
    listed = Caller(app, token).get(f"/api/v1/projects/{body['project']['code']}/checklists")
    assert len(listed.get_json()["items"]) == 7
