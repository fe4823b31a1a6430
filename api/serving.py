"""Run the app under gunicorn from `riskengine serve`, with the production settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from api import create_app


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
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

    `threads` > 1 runs gthread workers: keep-alive, and a slow client holds a thread, not a
    process. A kept-alive connection stays with the worker that accepted it, though, and a
    burst of new connections (a client pool starting) often lands on one worker while another
    idles. `threads` = 1 runs sync workers instead: a worker accepts a connection only when it
    is idle, one request per connection, so load spreads evenly; give them two processes per
    core (database waits) and a buffering proxy in front (slow clients).
    """
    Server({
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": True, "post_fork": _after_fork,
        "timeout": 30, "graceful_timeout": 10, "keepalive": 5, "accesslog": None,
        "errorlog": "-", "loglevel": "info", "proc_name": "riskengine",
        "control_socket_disable": True,
    }).run()
