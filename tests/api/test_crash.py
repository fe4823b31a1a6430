"""SIGKILL the server during a burst of submissions: every answered 201 survives in the database."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from flask import Flask

from riskengine.store.findings import findings_by_id
from riskengine.store.projects import get_assessment
from tests.api.support import (
    RULESETS,
    STRONG_KEY,
    checklist,
    free_port,
    new_token,
    serve_in_background,
    unique_code,
)


def start_server(db_url: str, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": STRONG_KEY,
           "RISKENGINE_RULESETS": str(RULESETS), "RISKENGINE_ENV": "production",
           "RISKENGINE_LOG_REQUESTS": "0"}
    return serve_in_background(env, tmp, port, "--workers", "2", "--threads", "2")


def submit(port: int, token: str, body: dict[str, object]) -> tuple[int, str | None]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/projects/{body['project']['code']}/checklists",  # type: ignore[index]
        data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())["id"]
    except urllib.error.HTTPError as error:
        return error.code, None
    except (OSError, http.client.HTTPException):
        return 0, None  # the server died under this request: no (whole) answer, no promise


def test_every_201_survives_a_sigkill(app: Flask, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    token = new_token(app, "submitter")
    server = start_server(db_url, port, tmp_path)
    answered: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def burst() -> None:
        code = unique_code("CRASH")
        while not stop.is_set():
            answered.append(submit(port, token, checklist("sales-risky", code)))

    threads = [threading.Thread(target=burst) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while sum(status == 201 for status, _ in answered) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    created = [assessment for status, assessment in answered if status == 201]
    assert len(created) >= 30, answered[-5:]
    assert {status for status, _ in answered} <= {201, 0}, answered
    with app.extensions["riskengine"].database.read() as session:
        for assessment_id in created:
            found = get_assessment(session, str(assessment_id), None)
            assert found is not None, f"answered 201 but lost: {assessment_id}"
            ids = {e["finding_id"] for e in found[0].findings}
            assert len(findings_by_id(session, ids)) == len(ids)
