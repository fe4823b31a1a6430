"""Runs compared with the previous one, digests in the outbox, webhooks to a real receiver."""

from __future__ import annotations

import datetime as dt
import email
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from riskengine.audits.delivery import post_webhook
from riskengine.audits.models import AuditOutbox
from riskengine.audits.outbox import DIGEST, Sender, create_subscription
from riskengine.audits.runner import run_due
from riskengine.audits.signing import DELIVERY_HEADER, EVENT_HEADER, HEADER, verify
from tests.api.support import free_port
from tests.audits.support import World, at

D = dt.date
Make = Callable[..., dict[str, Any]]
DELIVERY = D(2027, 6, 30)
SECRET = "whsec-test-0123456789"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[tuple[dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving(port: int) -> Iterator[Receiver]:
    receiver = Receiver(port)
    try:
        yield receiver
    finally:
        receiver.stop()


def _subscribe(world: World, port: int, recipients: list[str] | None = None) -> None:
    with world.database.write() as session:
        create_subscription(session, "webhook", f"http://127.0.0.1:{port}/hooks", SECRET,
                            recipients, None, "admin", world.clock.now(), events=[DIGEST])


def _outbox(world: World) -> list[AuditOutbox]:
    with world.database.read() as session:
        return list(session.scalars(select(AuditOutbox).order_by(AuditOutbox.id)))


def test_runs_are_compared_with_the_previous_one(world: World, delivery_checklist: Make
                                                 ) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 28), risky=True))
    world.schedule("NJ-JY-01")
    run_due(world.auditor(), now=at("2027-04-01"))
    fixed = delivery_checklist(as_of=D(2027, 4, 28))
    fixed["checks"]["major_quality_hazards_open"] = 0        # the critical one is fixed
    world.submit(fixed | {"checks": {**fixed["checks"], "quality_docs_ready": False}})
    run_due(world.auditor(), now=at("2027-05-01"))
    first, second = world.runs()
    assert first.gate == "fail" and first.body["diff"]["gate"]["changed"] is False
    assert len(first.body["diff"]["new"]) == 2
    diff = second.body["diff"]
    assert diff["gate"] == {"before": "fail", "after": "pass", "changed": True}
    assert len(diff["resolved"]) == 1 and len(diff["persisting"]) == 1 and diff["new"] == []
    assert diff["resolved_findings"][0]["rule_id"] == "DELIVERY-REGULATORY-011"
    assert [f["change"] for f in second.body["findings"]] == ["persisting"]


def test_escalation_and_digests_are_stored_with_the_run(world: World, delivery_checklist: Make
                                                        ) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 6, 1), risky=True))
    world.clock.set(at("2027-05-15"))                          # created after T-60
    world.schedule("NJ-JY-01")
    run_due(world.auditor(), now=at("2027-06-23"))            # T-30, T-14, T-7 in one catch-up
    runs = world.runs()
    t30, t14, t7 = runs
    assert [e["to"] for e in t30.body["escalations"]] == ["regional_gm"]
    # At T-14 the checklist is 15 days old: stale (high, crm), and the energy acceptance it
    # planned for 05-25 is late (high, permits): both go to the project GM now.
    assert t14.body["checklist"]["age_days"] == 15 and t14.body["checklist"]["stale"]
    pairs = {("engineering", "regional_gm"), ("crm", "project_gm"), ("permits", "project_gm")}
    assert {(e["from"], e["to"]) for e in t14.body["escalations"]} == pairs
    assert {(e["from"], e["to"]) for e in t7.body["escalations"]} == pairs | {
        ("engineering", "department_head")}
    digests = {d["recipient"]: d for d in t7.body["digests"]}
    assert sorted(digests) == ["crm", "department_head", "engineering", "permits",
                               "project_gm", "regional_gm"]
    assert digests["engineering"]["counts"] == {"new": 0, "due_soon": 2, "overdue": 0,
                                                "escalated": 0}
    assert digests["project_gm"]["counts"]["escalated"] == 2


def test_webhook_signature_verifies_at_a_real_receiver(world: World, delivery_checklist: Make
                                                       ) -> None:
    port = free_port()
    _subscribe(world, port, ["engineering"])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    with receiving(port) as receiver:
        report = run_due(world.auditor(), now=at("2027-04-01"))
    assert report.deliveries["delivered"] == 1
    ((headers, body),) = receiver.requests
    now = int(dt.datetime.now(dt.UTC).timestamp())
    assert verify(SECRET, body, headers[HEADER], now, 300)
    # What a receiver in any language does: HMAC-SHA256 over "<t>.<body>" with the secret.
    stamp, mac = (part.split("=", 1)[1] for part in headers[HEADER].split(","))
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(expected.hexdigest(), mac)
    payload = json.loads(body)
    assert payload["recipient"] == "engineering" and payload["project"] == "NJ-JY-01"
    assert payload["counts"]["new"] == 2 and payload["gate"]["decision"] == "fail"
    (entry,) = _outbox(world)
    assert headers[DELIVERY_HEADER] == str(entry.id) and entry.status == "delivered"


def test_receiver_down_then_up_gets_the_digest_exactly_once(
        world: World, delivery_checklist: Make, policy: Any) -> None:
    port = free_port()
    _subscribe(world, port)
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    world.clock.set(at("2027-04-01"))
    down = run_due(world.auditor())
    assert down.deliveries == {"delivered": 0, "pending": 1, "failed": 0}
    (entry,) = _outbox(world)
    assert entry.attempts == 1 and "Connection" in (entry.last_error or "")
    with receiving(port) as receiver:
        assert run_due(world.auditor()).deliveries["delivered"] == 0   # backing off
        world.clock.advance(dt.timedelta(seconds=policy.retry.first_seconds))
        assert run_due(world.auditor()).deliveries["delivered"] == 1
        world.clock.advance(dt.timedelta(days=1))
        assert run_due(world.auditor()).deliveries["delivered"] == 0
    assert len(receiver.requests) == 1
    (entry,) = _outbox(world)
    assert (entry.status, entry.attempts) == ("delivered", 2)


def test_a_receiver_that_never_answers_is_given_up_after_max_attempts(
        world: World, delivery_checklist: Make, policy: Any) -> None:
    _subscribe(world, free_port())
    world.submit(delivery_checklist(as_of=D(2027, 3, 1)))
    world.schedule("NJ-JY-01")
    world.clock.set(at("2027-04-01"))
    for _ in range(policy.retry.max_attempts + 2):
        run_due(world.auditor())
        world.clock.advance(dt.timedelta(seconds=policy.retry.max_seconds))
    (entry,) = _outbox(world)   # the clean checklist is only stale: one digest, to crm
    assert (entry.status, entry.attempts, entry.recipient) == (
        "failed", policy.retry.max_attempts, "crm")


@pytest.mark.parametrize("recipients", [pytest.param(["marketing"], id="other_owner_only")])
def test_subscriptions_filter_by_recipient(world: World, delivery_checklist: Make,
                                           recipients: list[str]) -> None:
    _subscribe(world, free_port(), recipients)
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    run_due(world.auditor(), now=at("2027-04-01"), deliver=False)
    assert _outbox(world) == []


class SmtpReceiver:
    """Just enough SMTP on 127.0.0.1 to accept messages and keep them."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.listener, self.listener.accept()[0] as connection:
            stream = connection.makefile("rwb")
            reply = stream.write
            reply(b"220 test ESMTP\r\n")
            stream.flush()
            recipient = ""
            for line in stream:
                command = line.decode().strip().upper()
                if command.startswith(("EHLO", "HELO", "MAIL")):
                    reply(b"250 OK\r\n")
                elif command.startswith("RCPT"):
                    recipient = line.decode().split(":", 1)[1].strip(" <>\r\n")
                    reply(b"250 OK\r\n")
                elif command == "DATA":
                    reply(b"354 go ahead\r\n")
                    stream.flush()
                    data = b"".join(iter(lambda: stream.readline(), b".\r\n"))
                    self.messages.append((recipient, data))
                    reply(b"250 queued\r\n")
                elif command == "QUIT":
                    reply(b"221 bye\r\n")
                    stream.flush()
                    return
                stream.flush()


def test_digest_by_email_when_smtp_is_configured(
        world: World, delivery_checklist: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = SmtpReceiver()
    monkeypatch.setenv("RISKENGINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RISKENGINE_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("RISKENGINE_SMTP_FROM", "audits@riskengine.test")
    monkeypatch.setenv("RISKENGINE_MAIL_LANG", "en")
    with world.database.write() as session:
        create_subscription(session, "email", "eng@example.test", None, ["engineering"], None,
                            "admin", world.clock.now(), events=[DIGEST])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    world.schedule("NJ-JY-01")
    auditor = world.auditor()
    auditor.sender = Sender(world.policy)      # SMTP settings read from the environment
    report = run_due(auditor, now=at("2027-04-01"))
    smtp.thread.join(timeout=10)
    assert report.deliveries["delivered"] == 1
    ((recipient, data),) = smtp.messages
    text = data.decode()
    assert recipient == "eng@example.test"
    assert "Subject: [riskengine] NJ-JY-01 2027-04-01: fail" in text
    assert "new (2):" in text and "[critical]" in text


def test_without_smtp_an_email_waits_in_the_outbox(world: World, delivery_checklist: Make
                                                    ) -> None:
    with world.database.write() as session:
        create_subscription(session, "email", "crm@example.test", None, None, None, "admin",
                            world.clock.now(), events=[DIGEST])
    world.submit(delivery_checklist(as_of=D(2027, 3, 1)))
    world.schedule("NJ-JY-01")
    assert run_due(world.auditor(), now=at("2027-04-01")).deliveries["pending"] == 1
    (entry,) = _outbox(world)
    assert "SMTP is not configured" in (entry.last_error or "")


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/garbage":
            self.wfile.write(b"not http at all\r\n\r\n")
            return
        self.send_response(500 if self.path == "/error" else 302)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.parametrize(("path", "status", "error"), [
    pytest.param("/error", 500, "HTTP 500", id="server_error"),
    pytest.param("/redirect", 302, "HTTP 302", id="redirect_not_followed"),
    pytest.param("/garbage", None, "BadStatusLine", id="not_http"),
])
def test_a_failed_post_is_a_failed_attempt_never_an_exception(path: str, status: int | None,
                                                               error: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        attempt = post_webhook(f"http://127.0.0.1:{server.server_address[1]}{path}", SECRET,
                               b"{}", "1", 0, 5)
    finally:
        server.shutdown()
        server.server_close()
    assert not attempt.ok and attempt.status == status and error in attempt.error


def test_a_webhook_gets_every_event_signed_and_named(world: World, delivery_checklist: Make
                                                     ) -> None:
    port = free_port()
    with world.database.write() as session:   # no `events`: every event
        create_subscription(session, "webhook", f"http://127.0.0.1:{port}/hooks", SECRET,
                            None, None, "admin", world.clock.now())
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    with receiving(port) as receiver:
        report = run_due(world.auditor(), now=at("2027-04-01"))
    assert report.deliveries["delivered"] == 1
    ((headers, body),) = receiver.requests
    now = int(dt.datetime.now(dt.UTC).timestamp())
    assert verify(SECRET, body, headers[HEADER], now, 300)
    assert headers[EVENT_HEADER] == "finding.blocking"
    payload = json.loads(body)
    assert payload["event"] == "finding.blocking" and payload["project"] == "NJ-JY-01"
    assert payload["finding"]["blocking"] is True and payload["recipient"] == "engineering"
    assert payload["finding"]["title"]["zh"] and payload["link"].startswith("/api/v1/findings/")


def test_an_event_by_email_is_in_chinese(world: World, delivery_checklist: Make,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = SmtpReceiver()
    monkeypatch.setenv("RISKENGINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RISKENGINE_SMTP_PORT", str(smtp.port))
    with world.database.write() as session:
        create_subscription(session, "email", "eng@example.test", None, None, None, "admin",
                            world.clock.now(), events=["finding.blocking"])
    world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
    auditor = world.auditor()
    auditor.sender = Sender(world.policy)
    assert run_due(auditor, now=at("2027-04-01")).deliveries["delivered"] == 1
    smtp.thread.join(timeout=10)
    ((_, data),) = smtp.messages
    text = email.message_from_bytes(data).get_payload(decode=True).decode()
    assert text.startswith("新增阻断项 · NJ-JY-01") and "【严重·阻断】" in text
    assert "DELIVERY-" not in text and "engineering" not in text
