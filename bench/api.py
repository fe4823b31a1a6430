"""Benchmark the HTTP service: gunicorn on loopback with PostgreSQL, 50 concurrent clients.

    python bench/api.py [--seconds 8] [--clients 50] [--workers 2] [--threads 4]

Creates a scratch PostgreSQL database (RISKENGINE_BENCH_PG, default the local server as user
postgres), starts `riskengine serve` on it, and drives it with a small asyncio load generator
(keep-alive HTTP/1.1, one connection per client; no locust or wrk is needed, and it costs far
less CPU than locust on a 2-core machine; the request bodies are made before the clock
starts). Prints throughput, p50/p99 latency and errors for POST /evaluate and a persisted
submission with one client (the latency floor), then with 50 clients GET /healthz (the
framework's floor), POST /evaluate (no persistence) and POST /projects/{code}/checklists
(persisted), then the same submissions at 4 clients, and checks the targets of issue 3 (exit
status 1 when one is missed). Under each line: the CPU one request cost in the server, in the
PostgreSQL backends serving it and in the load generator, and how busy the machine was (other
work on it included: on a shared machine, compare runs made back to back). `--threads 1` runs
sync workers (see api/serving.py).
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
sys.path.insert(0, str(ROOT))

from tests.shared import EXAMPLES  # noqa: E402

PG_ADMIN = os.environ.get("RISKENGINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"throughput": 200.0, "p99_ms_at_4": 40.0, "ratio": 0.7}


@dataclass
class Result:
    name: str
    clients: int
    seconds: float
    latencies: list[float]
    errors: int
    cpu: str = ""  # where the CPU went, per request (see Meter)

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
                f"errors {self.errors}" + (f"\n{'':>40}{self.cpu}" if self.cpu else ""))


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _ticks(pid: int) -> tuple[int, int]:
    """(process group, CPU clock ticks used) of a process, from /proc; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0, 0
    return int(fields[2]), int(fields[11]) + int(fields[12])


class Meter:
    """CPU per request of the server (gunicorn master and workers), of the PostgreSQL backends
    serving the benchmark's database and of this load generator, and how busy the machine was
    (other work on the machine included): where a request's cost goes on a 2-core box."""

    def __init__(self, server_pid: int, database: str) -> None:
        import psycopg

        self.server_pid, self.database = server_pid, database
        self.admin = psycopg.connect(PG_ADMIN, autocommit=True)

    def snapshot(self) -> dict[str, Any]:
        server = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                group, ticks = _ticks(int(entry.name))
                if group == self.server_pid:
                    server[entry.name] = ticks
        backends = {str(pid): _ticks(pid)[1] for (pid,) in self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))}
        times = os.times()
        machine = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return {"server": server, "postgres": backends, "client": times.user + times.system,
                "idle": machine[3] + machine[4], "total": sum(machine[:8])}

    def since(self, before: dict[str, Any], requests: int) -> str:
        after, per = self.snapshot(), 1000 / max(requests, 1)

        def spent(kind: str) -> float:
            used: int = sum(t - before[kind].get(p, 0) for p, t in after[kind].items())
            return used / TICK * per
        total = after["total"] - before["total"]
        busy = 100 * (1 - (after["idle"] - before["idle"]) / total) if total else 0.0
        return (f"cpu/request: server {spent('server'):.1f} ms, postgres {spent('postgres'):.1f}"
                f" ms, load generator {(after['client'] - before['client']) * per:.1f} ms;"
                f" machine {busy:.0f}% busy")

    def close(self) -> None:
        self.admin.close()


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
        answer = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status_line, _, fields = answer.partition("\r\n")
        length = int(fields.partition("content-length:")[2].partition("\r\n")[0] or 0)
        await self.reader.readexactly(length)
        if "connection: close" in fields:
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
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                    IndexError):
                status, connection = 0, Connection(port)
            if status == expected:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1
            sent += 1
    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, errors


def phase(name: str, port: int, token: str, clients: int, seconds: float, make: Any,
          meter: Meter | None = None) -> Result:
    asyncio.run(drive(port, token, clients, min(1.0, seconds / 4), make))  # warm up
    before = meter.snapshot() if meter else None
    started = time.perf_counter()
    latencies, errors = asyncio.run(drive(port, token, clients, seconds, make))
    result = Result(name, clients, time.perf_counter() - started, latencies, errors)
    if meter and before:
        result.cpu = meter.since(before, len(latencies) + errors)
    return result


def checklists(run: str) -> list[tuple[str, bytes]]:
    """Realistic submissions: the contract's examples, each client on projects of its own."""
    names = ("sales-risky", "sales-ready", "delivery-risky")
    return [(name, (EXAMPLES / f"{name}.json").read_bytes()) for name in names]


def submission_maker(run: str, examples: list[tuple[str, bytes]], clients: int) -> Any:
    """Each client looks after 7 projects, re-submitting each one's checklist in turn (mostly
    the same findings again: the usual case). The bodies are made before the clock starts, so
    the load generator spends its CPU on requests, not on JSON."""
    bodies = {}
    for client in range(clients):
        for project in range(7):
            data = json.loads(examples[project % len(examples)][1])
            code = f"B{run}-{client}-{project}"
            data["project"]["code"] = code
            bodies[client, project] = (f"/api/v1/projects/{code}/checklists",
                                       json.dumps(data, ensure_ascii=False).encode())

    def make(client: int, n: int) -> tuple[str, str, bytes, int]:
        path, body = bodies[client, n % 7]
        return "POST", path, body, 201
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
        meter = Meter(server.pid, name)
        try:
            return report(port, token, options, meter)
        finally:
            meter.close()
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


def report(port: int, token: str, options: argparse.Namespace, meter: Meter | None = None
           ) -> int:
    examples = checklists("x")
    evaluate_bodies = [raw for _, raw in examples]
    clients, seconds = options.clients, options.seconds
    load = os.getloadavg()
    results = [
        phase("POST /evaluate (no persistence)", port, token, 1, seconds / 2,
              lambda c, n: ("POST", "/api/v1/evaluate", evaluate_bodies[n % 3], 200), meter),
        phase("POST checklists (persisted)", port, token, 1, seconds / 2,
              submission_maker(uuid.uuid4().hex[:6], examples, 1), meter),
        phase("GET /healthz (framework floor)", port, token, clients, seconds,
              lambda c, n: ("GET", "/healthz", b"", 200), meter),
        phase("POST /evaluate (no persistence)", port, token, clients, seconds,
              lambda c, n: ("POST", "/api/v1/evaluate", evaluate_bodies[n % 3], 200), meter),
        phase("POST checklists (persisted)", port, token, clients, seconds,
              submission_maker(uuid.uuid4().hex[:6], examples, clients), meter),
        phase("POST checklists (persisted)", port, token, 4, seconds,
              submission_maker(uuid.uuid4().hex[:6], examples, 4), meter),
    ]
    print(f"riskengine API benchmark: {options.workers} gunicorn workers x {options.threads} "
          f"threads, PostgreSQL, load generator on the same {os.cpu_count()}-core machine; "
          "load average {:.2f} {:.2f} {:.2f} before, {:.2f} {:.2f} {:.2f} after".format(
              *load, *os.getloadavg()))
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
