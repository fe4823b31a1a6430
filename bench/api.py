"""Benchmark the HTTP service: gunicorn on loopback with PostgreSQL, 50 concurrent clients.

    python bench/api.py [--seconds 8] [--clients 50] [--workers 2] [--threads 4]

Creates a scratch PostgreSQL database (RISKENGINE_BENCH_PG, default the local server as user
postgres), starts `riskengine serve` on it, and drives it with a small asyncio load generator
(keep-alive HTTP/1.1, one connection per client; no locust or wrk is needed, and it costs far
less CPU than locust on a 2-core machine). Prints throughput, p50/p99 latency and errors for
POST /evaluate and a persisted submission with one client (the latency floor), then with 50
clients GET /healthz (the framework's floor), POST /evaluate (no persistence) and
POST /projects/{code}/checklists (persisted), then the same submissions at 4 clients, and
checks the targets of issue 3 (exit status 1 when one is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "contract" / "examples"
PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"throughput": 200.0, "p99_ms_at_4": 40.0, "ratio": 0.7}


@dataclass
class Result:
    name: str
    clients: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def line(self) -> str:
        return (f"{self.name:<34} {self.clients:>3} clients {self.throughput:>8.1f} req/s  "
                f"p50 {self.percentile(0.5):6.1f} ms  p99 {self.percentile(0.99):6.1f} ms  "
                f"errors {self.errors}")


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough protocol for a benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}"
                f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return int(status_line.split()[1])


async def drive(port: int, token: str, clients: int, seconds: float,
                make: Any) -> tuple[list[float], int]:
    """Run `clients` loops for `seconds`; each sends make(client, n) -> (method, path, body)."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(number: int) -> None:
        nonlocal errors
        connection, sent = Connection(port), 0
        while time.perf_counter() < stop:
            method, path, body, expected = make(number, sent)
            started = time.perf_counter()
            try:
                status = await connection.request(method, path, token, body)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status, connection = 0, Connection(port)
            if status == expected:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            sent += 1
    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors


def phase(name: str, port: int, token: str, clients: int, seconds: float, make: Any) -> Result:
    asyncio.run(drive(port, token, clients, min(1.0, seconds / 4), make))  # warm up
    started = time.perf_counter()
    latencies, errors = asyncio.run(drive(port, token, clients, seconds, make))
    return Result(name, clients, time.perf_counter() - started, latencies, errors)


def checklists(run: str) -> list[tuple[str, bytes]]:
    """Realistic submissions: the contract's examples, each client on projects of its own."""
    names = ("sales-risky", "sales-ready", "delivery-risky")
    return [(name, (EXAMPLES / f"{name}.json").read_bytes()) for name in names]


def submission_maker(run: str, examples: list[tuple[str, bytes]]) -> Any:
    def make(client: int, n: int) -> tuple[str, str, bytes, int]:
        # Each client looks after 7 projects, each re-submitting its own checklist (mostly the
        # same findings again, the usual case), in turn.
        project = n % 7
        name, raw = examples[project % len(examples)]
        data = json.loads(raw)
        code = f"B{run}-{client}-{project}"
        data["project"]["code"] = code
        return "POST", f"/api/v1/projects/{code}/checklists", json.dumps(
            data, ensure_ascii=False).encode(), 201
    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def riskengine(*args: str, env: dict[str, str], **kwargs: Any) -> Any:
    command = [sys.executable, "-c", "from riskengine.cli import main; main()", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True, **kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args()
    import psycopg

    name = f"rk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    env = {**os.environ, "DATABASE_URL": url, "RISKENGINE_LOG_REQUESTS": "0",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or uuid.uuid4().hex * 2}
    server = None
    try:
        riskengine("db", "upgrade", env=env)
        token = riskengine("tokens", "create", "--role", "admin", env=env).stdout.split()[-1]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", "from riskengine.cli import main; main()", "serve", "--port",
             str(port), "--workers", str(options.workers), "--threads", str(options.threads)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        wait_ready(port)
        return report(port, token, options)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def report(port: int, token: str, options: argparse.Namespace) -> int:
    examples = checklists("x")
    evaluate_bodies = [raw for _, raw in examples]
    clients, seconds = options.clients, options.seconds
    results = [
        phase("POST /evaluate (no persistence)", port, token, 1, seconds / 2,
              lambda c, n: ("POST", "/api/v1/evaluate", evaluate_bodies[n % 3], 200)),
        phase("POST checklists (persisted)", port, token, 1, seconds / 2,
              submission_maker(uuid.uuid4().hex[:6], examples)),
        phase("GET /healthz (framework floor)", port, token, clients, seconds,
              lambda c, n: ("GET", "/healthz", b"", 200)),
        phase("POST /evaluate (no persistence)", port, token, clients, seconds,
              lambda c, n: ("POST", "/api/v1/evaluate", evaluate_bodies[n % 3], 200)),
        phase("POST checklists (persisted)", port, token, clients, seconds,
              submission_maker(uuid.uuid4().hex[:6], examples)),
        phase("POST checklists (persisted)", port, token, 4, seconds,
              submission_maker(uuid.uuid4().hex[:6], examples)),
    ]
    print(f"riskengine API benchmark: {options.workers} gunicorn workers x {options.threads} "
          f"threads, PostgreSQL, load generator on the same {os.cpu_count()}-core machine")
    for result in results:
        print(result.line())
    _, _, _, evaluate, persisted, four = results
    ratio = persisted.throughput / evaluate.throughput if evaluate.throughput else 0.0
    checks = {
        f"persisted throughput >= {TARGETS['throughput']:.0f}/s with 0 errors":
            persisted.throughput >= TARGETS["throughput"] and persisted.errors == 0,
        f"p99 at 4 clients < {TARGETS['p99_ms_at_4']:.0f} ms":
            four.percentile(0.99) < TARGETS["p99_ms_at_4"],
        f"persisted/evaluate >= {TARGETS['ratio']} (is {ratio:.2f})": ratio >= TARGETS["ratio"],
    }
    for text, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {text}")
    print(f"median latency, persisted at 4 clients: {statistics.median(four.latencies) * 1000:.1f}"
          " ms" if four.latencies else "no successful submission")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
