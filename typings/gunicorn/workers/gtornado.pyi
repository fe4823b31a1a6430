# Typed surface of gunicorn's tornado worker as api/serving.py subclasses it.
from typing import Any

from gunicorn.app.base import Config

class TornadoWorker:
    cfg: Config
    wsgi: Any
    sockets: list[Any]
    alive: bool
    server_alive: bool
    ioloop: Any
    callbacks: list[Any]
    server: Any
    def watchdog(self) -> None: ...
    def heartbeat(self) -> None: ...
    def handle_request(self) -> None: ...
    def run(self) -> None: ...
