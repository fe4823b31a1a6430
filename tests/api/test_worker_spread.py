"""Connections spread over the workers: each listens on a socket of its own (SO_REUSEPORT).

With one shared listening socket, a burst of keep-alive connections went to whichever worker's
event loop woke first, and stayed there: one of two workers did nearly all the work.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.api import _listening_port_connections, _socket_inodes
from tests.api.support import migrate, production_server

CONNECTIONS = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    tmp_path = tmp_path_factory.mktemp("spread")
    url = f"sqlite:///{tmp_path / 'riskengine.sqlite3'}"
    migrate(url)
    with production_server(tmp_path, url, "--workers", "2", "--threads", "2") as running:
        yield running


def workers(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(stat[1]) == master:
                    found.append(int(entry.name))
    return found


def listeners(port: int) -> int:
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for r in rows if r.split()[3] == "0A"
               and int(r.split()[1].rpartition(":")[2], 16) == port)


def test_each_worker_listens_and_keep_alive_connections_spread(
        server: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, process = server
    deadline = time.monotonic() + 15  # /readyz answers once the first worker is up
    while time.monotonic() < deadline and (len(workers(process.pid)) < 2
                                           or listeners(port) < 2):
        time.sleep(0.1)
    pids = workers(process.pid)
    assert len(pids) == 2
    assert listeners(port) == 2  # one per worker; the master's shared socket is shut down
    opened = []
    try:
        for _ in range(CONNECTIONS):  # a burst, as 50 benchmark clients or a proxy open them
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            opened.append(sock)
        for sock in opened:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)
        established = _listening_port_connections(port)
        held = [len(_socket_inodes(pid) & established) for pid in pids]
    finally:
        for sock in opened:
            sock.close()
    assert sum(held) == CONNECTIONS
    # hashing over two sockets: fewer than 8 of 40 on one worker has odds of about 1 in 10^5
    assert min(held) >= 8, held


def test_a_respawned_worker_listens_again(server: tuple[int, subprocess.Popen[bytes]]) -> None:
    """The master's socket is shut down once; a worker started later still binds its own."""
    port, process = server
    old = workers(process.pid)
    os.kill(old[0], signal.SIGKILL)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not (
            len(now := workers(process.pid)) == 2 and old[0] not in now and listeners(port) == 2):
        time.sleep(0.2)
    assert len(workers(process.pid)) == 2 and listeners(port) == 2
    for _ in range(20):  # new connections reach both workers, the new one included
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
