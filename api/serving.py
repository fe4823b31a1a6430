"""Run the app under gunicorn from `riskengine serve`, with the production settings."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.wsgi
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gtornado import TornadoWorker
from tornado import httputil
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from api import create_app
from api.observability import API_CSP, SECURITY_HEADERS
from api.uploads import body_limit
from riskengine.refusals import refusal
from riskengine.vocabulary import Lang


class Server(BaseApplication):
    """gunicorn with the app built once in the master (the rulesets compile once) and forked."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.app: Flask | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        if self.app is None:
            self.app = create_app()
        return self.app


# What one request may take to arrive before its connection is closed: slow clients wait on the
# event loop, never in a thread, and are cut off here.
HEADER_TIMEOUT = 10.0  # seconds for the request line and headers (and a kept-alive idle time)
BODY_TIMEOUT = 30.0  # seconds for the whole body (1 MiB at 35 KB/s)
# An upload route's body (a phone's photo on a slow line: 20 MiB at 70 KB/s). It waits on the
# event loop like any body, so a slow upload holds no thread.
UPLOAD_BODY_TIMEOUT = 300.0
MAX_HEADER_BYTES = 64 * 1024  # request line and headers together


class _BodyLimit(httputil.HTTPMessageDelegate):
    """Refuses a body over the app's limit with the app's own answer, `413 too_large`, however
    it is sent (a declared Content-Length, or chunks adding up past it), before the app is
    called: tornado alone would answer a bare 400. The rest of the body is read and dropped
    until the answer is sent, then the connection closes."""

    def __init__(self, delegate: httputil.HTTPMessageDelegate,
                 connection: httputil.HTTPConnection, config: Mapping[str, Any]) -> None:
        self.delegate, self.connection, self.config = delegate, connection, config
        self.limit = int(config["MAX_CONTENT_LENGTH"])
        self.received, self.refused = 0, False
        self.lang = Lang.ZH

    def headers_received(self, start_line: Any, headers: httputil.HTTPHeaders
                         ) -> Awaitable[None] | None:
        # The limit is counted here, so tornado's own check (a bare 400) never fires; an
        # upload route (api.uploads) has its own, larger one.
        self.limit = body_limit(self.config, start_line.method, start_line.path)
        if self.limit > int(self.config["MAX_CONTENT_LENGTH"]):
            cast(Any, self.connection).set_body_timeout(UPLOAD_BODY_TIMEOUT)
        cast(Any, self.connection).set_max_body_size(sys.maxsize)
        self.lang = _lang_of(getattr(start_line, "path", ""), headers.get("Accept-Language", ""))
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            return self._refuse()
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.refused:
            return None
        self.received += len(chunk)
        if self.received > self.limit:
            return self._refuse()
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.delegate.finish()

    def on_connection_close(self) -> None:
        if not self.refused:
            self.delegate.on_connection_close()

    def _refuse(self) -> Awaitable[None]:
        self.refused = True
        body = json.dumps({"error": {
            "code": "too_large", "message": refusal("body_too_large", limit=self.limit).say(
                self.lang), "details": {"body": [refusal("at_most_bytes", limit=self.limit).say(
                    self.lang)]}, "request_id": ""}}, ensure_ascii=False).encode()
        headers = httputil.HTTPHeaders({
            **SECURITY_HEADERS, "Content-Security-Policy": API_CSP, "Cache-Control": "no-store",
            "Content-Type": "application/json", "Content-Length": str(len(body)),
            "Connection": "close"})
        written = self.connection.write_headers(
            httputil.ResponseStartLine("HTTP/1.1", 413, "Content Too Large"), headers, body)
        self.connection.finish()  # tornado drops what still arrives, then closes
        return written


def _lang_of(target: str, accept_language: str) -> Lang:
    """The language asked for, as api.render.requested_lang reads it (no request here yet)."""
    given = parse_qs(urlsplit(target).query).get("lang", [""])[0]
    if given in set(Lang):
        return Lang(given)
    best = parse_accept_header(accept_language, LanguageAccept).best_match(list(Lang))
    return Lang(best) if best else Lang.ZH


class BufferingWorker(TornadoWorker):
    """A gunicorn worker whose event loop (tornado's HTTP server) reads each request whole,
    headers and body, within the limits above; only then does one of its `threads` run the app.

    gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives,
    and the thread then blocks reading the rest: a few clients sending a byte a second hold
    every thread. Here they hold only a buffer on the event loop.
    """

    def run(self) -> None:
        # gunicorn's TornadoWorker.run, with the app on a thread pool and the limits set.
        self.ioloop = tornado.ioloop.IOLoop.current()
        self.alive, self.server_alive = True, False
        self.callbacks = [tornado.ioloop.PeriodicCallback(self.watchdog, 1000),
                          tornado.ioloop.PeriodicCallback(self.heartbeat, 1000)]
        for callback in self.callbacks:
            callback.start()
        # The app's own log line covers every request; tornado's would repeat it.
        logging.getLogger("tornado.access").disabled = True
        container = tornado.wsgi.WSGIContainer(
            self.wsgi, executor=ThreadPoolExecutor(self.cfg.threads, "riskengine"))
        worker = self

        config = self.wsgi.config

        class _Server(tornado.httpserver.HTTPServer):
            def start_request(self, server_conn: object,
                              request_conn: httputil.HTTPConnection
                              ) -> httputil.HTTPMessageDelegate:
                return _BodyLimit(super().start_request(server_conn, request_conn),
                                  request_conn, config)

            def on_close(self, server_conn: Any) -> None:
                worker.handle_request()  # counts toward max_requests
                super().on_close(server_conn)

        self.server = _Server(
            container, no_keep_alive=self.cfg.keepalive <= 0,
            idle_connection_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT,
            max_header_size=MAX_HEADER_BYTES)
        self.server_alive = True
        for listener in own_listeners([s.sock for s in self.sockets],
                                      int(cast(Any, self.cfg).backlog)):
            listener.setblocking(False)
            self.server.add_socket(listener)
        self.ioloop.start()


def own_listeners(shared: list[socket.socket], backlog: int) -> list[socket.socket]:
    """Give a worker listening sockets of its own on the master's addresses (SO_REUSEPORT).

    With one socket shared by every worker, a burst of connections goes to whichever worker's
    event loop wakes first (tornado accepts all that are waiting), and kept-alive connections
    stay there: under load one worker did nearly all the work. With a socket per worker the
    kernel spreads new connections over the workers by hashing. The shared socket is then shut
    down (once, by the first worker; the master never accepts), or the kernel would keep
    handing it a share of the connections that no worker reads. A socket the master did not
    open with SO_REUSEPORT (a Unix socket, an inherited descriptor) stays shared.
    """
    own: list[socket.socket] = []
    for listener in shared:
        if listener.family not in (socket.AF_INET, socket.AF_INET6) or not listener.getsockopt(
                socket.SOL_SOCKET, socket.SO_REUSEPORT):
            own.append(listener)
            continue
        host, port = listener.getsockname()[:2]
        own.extend(tornado.netutil.bind_sockets(port, host, family=listener.family,
                                                backlog=backlog, reuse_port=True))
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:  # shut down already, by an earlier worker
            pass
    return own


def _after_fork(server: Any, worker: Any) -> None:
    # Connections opened in the master must not be shared by the forked workers.
    app = server.app.app
    if app is not None:
        app.extensions["riskengine"].database.engine.dispose(close=False)


def local_secret(instance: Path) -> str:
    """Return the embedded deployment's secret key, created (owner-only) on first use."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped; the settings come from the environment (see the README).

    `workers` processes (the rule engine holds the GIL: processes scale it), each reading
    requests whole on its event loop and running the app on `threads` threads (database waits
    overlap). Each worker listens on a socket of its own (`reuse_port`, see `own_listeners`),
    so connections spread evenly; a kept-alive connection stays with the worker that accepted it.
    """
    Server({
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": f"{__name__}.{BufferingWorker.__name__}",
        "preload_app": True, "post_fork": _after_fork,
        "timeout": 30, "graceful_timeout": 10, "keepalive": 5, "accesslog": None,
        "reuse_port": True,
        "errorlog": "-", "loglevel": "info", "proc_name": "riskengine",
        "control_socket_disable": True,
    }).run()
