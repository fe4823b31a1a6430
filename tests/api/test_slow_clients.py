"""Fifty clients trickling a byte a second do not starve the real server, which keeps several
worker processes busy on CPU-bound requests.

`riskengine serve` runs in a subprocess on a free port of 127.0.0.1 (SQLite, 2 workers × 4
threads, the defaults on 2 cores). Half the slow clients trickle their headers, half send
their headers and trickle the body; meanwhile `/healthz` and a checklist submission must each
answer within a second. Every socket and the server are closed whatever happens.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.serving import HEADER_TIMEOUT
from riskengine.store.database import Database
from riskengine.store.tokens import create_token
from tests.api.support import migrate, production_server
from tests.shared import EXAMPLES

SLOW_CLIENTS = 50
BODY_BYTES = 1000  # what each body trickler announces, and never finishes sending
ANSWER_WITHIN = 1.0  # seconds
SALES_READY = (EXAMPLES / "sales-ready.json").read_bytes()
CODE = json.loads(SALES_READY)["project"]["code"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[int, str, subprocess.Popen[bytes]]]:
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    url = f"sqlite:///{tmp_path / 'riskengine.sqlite3'}"
    migrate(url)
    database = Database(url)
    with database.write() as session:
        _, token = create_token(session, "slow-clients", "submitter", None, None)
    database.engine.dispose()
    with production_server(tmp_path, url, "--workers", "2", "--threads", "4") as (port, process):
        yield port, token, process


class Tricklers:
    """`count` connections, each sending its request one byte a second (half stop in the
    headers, half in the body), from one thread; `stop()` closes them all."""

    def __init__(self, port: int, count: int) -> None:
        head = (f"POST /api/v1/projects/{CODE}/checklists HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nX-Padding: " + "x" * 200 + "\r\n"
                f"Content-Length: {BODY_BYTES}\r\n\r\n").encode()
        self.sockets: list[socket.socket] = []
        self.pending: list[bytes] = []
        self.stopped = threading.Event()
        for number in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.sockets.append(sock)
            if number % 2:  # a body trickler: its headers whole, then its body byte by byte
                sock.sendall(head)
                self.pending.append(b"{" + b" " * (BODY_BYTES - 2))
            else:
                self.pending.append(head)
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        deadline = self.started + 25  # bounded whatever the test does
        while not self.stopped.wait(1.0) and time.monotonic() < deadline:
            for index, sock in enumerate(self.sockets):
                if self.pending[index]:
                    with contextlib.suppress(OSError):  # the server may have cut it off
                        sock.send(self.pending[index][:1])
                        self.pending[index] = self.pending[index][1:]

    def closed_by_server(self, sock: socket.socket) -> bool:
        sock.settimeout(0.5)
        try:
            return sock.recv(1024) == b""
        except TimeoutError:
            return False
        except OSError:
            return True  # reset

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def timed(port: int, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    """(seconds, status, body) of one request on a new connection."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        data = answer.read()
        return time.monotonic() - started, answer.status, data
    finally:
        connection.close()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def workers_of(master: int, expected: int) -> list[int]:
    """The master's child processes, once `expected` have started (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) >= expected or time.monotonic() > deadline:
            return [int(pid) for pid in children]
        time.sleep(0.1)


def test_slow_clients_do_not_starve_the_service(server: tuple[int, str, subprocess.Popen[bytes]]
                                                ) -> None:
    port, token, process = server
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    tricklers = Tricklers(port, SLOW_CLIENTS)
    try:
        time.sleep(2.5)  # every slow client has sent a byte or more: gthread would hold them
        seconds, status, _ = timed(port, "GET", "/healthz")
        print(f"\nwith {SLOW_CLIENTS} slow clients: /healthz in {seconds * 1000:.1f} ms")
        assert status == 200
        assert seconds < ANSWER_WITHIN, f"/healthz took {seconds:.2f} s"
        seconds, status, data = timed(port, "POST", f"/api/v1/projects/{CODE}/checklists",
                                      SALES_READY, auth)
        assert status == 201, data[:300]
        print(f"a submission in {seconds * 1000:.1f} ms")
        assert json.loads(data)["gate"]
        assert seconds < ANSWER_WITHIN, f"the submission took {seconds:.2f} s"
        assert process.poll() is None

        # The header tricklers are cut off once their time is up; the server goes on.
        time.sleep(max(0.0, tricklers.started + HEADER_TIMEOUT + 1.5 - time.monotonic()))
        header_tricklers = tricklers.sockets[0::2]
        assert all(tricklers.closed_by_server(sock) for sock in header_tricklers)
        assert timed(port, "GET", "/healthz")[1] == 200
    finally:
        tricklers.stop()


def test_cpu_bound_requests_run_on_several_processes(
        server: tuple[int, str, subprocess.Popen[bytes]]) -> None:
    port, token, process = server
    workers = workers_of(process.pid, 2)
    assert len(workers) >= 2, workers
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    before = {pid: cpu_ticks(pid) for pid in workers}
    statuses: list[int] = []

    def evaluate() -> None:  # a new connection each time: any worker may take it
        deadline = time.monotonic() + 3
        for _ in range(300):
            if time.monotonic() > deadline:
                break
            statuses.append(timed(port, "POST", "/api/v1/evaluate", SALES_READY, auth)[1])

    clients = [threading.Thread(target=evaluate) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=15)
    gained = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
    total = sum(gained.values())
    print(f"\n{len(statuses)} evaluations; CPU ticks per worker: {gained}")
    assert statuses and set(statuses) == {200}, set(statuses)
    assert total > 0
    busy = [pid for pid, ticks in gained.items() if ticks >= 0.15 * total]
    assert len(busy) >= 2, f"one process did the work: {gained}"


def _raw_answer(port: int, request: bytes, then: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a raw request (and `then`, which the server may no longer read); return the
    status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):  # the server may close before reading it all
            sock.sendall(then)
        reply = http.client.HTTPResponse(sock)
        reply.begin()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()


@pytest.mark.parametrize(("sent", "query", "says"), [
    ("declared", "", "请求正文超过 1048576 字节"),
    ("chunked", "?lang=en", "the body is larger than 1048576 bytes")])
def test_a_body_over_the_limit_is_the_apps_413_however_it_is_sent(
        server: tuple[int, str, subprocess.Popen[bytes]], sent: str, query: str,
        says: str) -> None:
    port, token, _ = server
    limit = 1024 * 1024  # RISKENGINE_MAX_BODY_BYTES' default
    head = (f"POST /api/v1/evaluate{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
    if sent == "declared":
        request, then = f"{head}Content-Length: {limit + 1}\r\n\r\n".encode(), b"x" * 4096
    else:
        chunk = b"x" * 65536
        piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        request = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
        then = piece * (limit // len(chunk) + 2) + b"0\r\n\r\n"
    status, headers, body = _raw_answer(port, request, then)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "too_large"
    assert json.loads(body)["error"]["message"] == says
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["connection"] == "close"
    after = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        after.request("GET", "/healthz")
        assert after.getresponse().status == 200  # the worker still serves
    finally:
        after.close()


def test_an_upload_route_takes_a_photo_over_the_json_limit_and_no_more(
        server: tuple[int, str, subprocess.Popen[bytes]]) -> None:
    """A phone's photo (over RISKENGINE_MAX_BODY_BYTES) reaches the upload route through the
    worker; a body over the attachment limit is refused there with the app's 413."""
    import io
    import os

    from PIL import Image
    port, token, _ = server
    auth = {"Authorization": f"Bearer {token}"}
    body = json.loads(SALES_READY)
    body["project"]["code"] = code = f"UP-{os.getpid()}"
    _, status, answer = timed(port, "POST", f"/api/v1/projects/{code}/checklists",
                              json.dumps(body).encode(), {**auth,
                                                          "Content-Type": "application/json"})
    assert status == 201, answer[:300]
    finding = json.loads(answer)["findings"][0]["id"]
    out = io.BytesIO()
    Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3)).save(out, "JPEG", quality=95)
    photo = out.getvalue()
    assert len(photo) > 1024 * 1024  # over the JSON bodies' limit
    boundary = "riskengine-test"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"IMG.JPG\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + photo + \
        f"\r\n--{boundary}--\r\n".encode()
    kind = {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    path = f"/api/v1/findings/{finding}/attachments"
    _, status, answer = timed(port, "POST", path, form, kind)
    assert status == 201, answer[:300]
    assert json.loads(answer)["width"] == 1200
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {20 * 1024 * 1024 + 64 * 1024 + 1}\r\n\r\n").encode()
    status, _, refused = _raw_answer(port, head, b"x" * 4096)
    assert status == 413 and json.loads(refused)["error"]["code"] == "too_large"
