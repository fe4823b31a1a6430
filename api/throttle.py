"""Failed authentication is throttled per client address and per token prefix (issue 13).

After `AUTH_THROTTLE_ADDRESS_FAILURES` failed tokens from one address, or
`AUTH_THROTTLE_PREFIX_FAILURES` with one token prefix, within a window of
`AUTH_THROTTLE_WINDOW_SECONDS` (api/config.py), every further attempt from that address or with
that prefix is answered `429 too_many_requests` with `Retry-After` (seconds) until the window
ends, and each refusal is logged (logger `riskengine.api`). The lock holds for a valid token
too: an attacker who guesses right is still slowed, and a token sent from a locked address, or
starting with a locked prefix, is not even looked up. A valid token from another address, with
another prefix, is unaffected. The holder of a token whose prefix someone else is guessing at is
refused for what remains of the window; the 429 says for how long.

Behind a proxy every request comes from the proxy's address: set TRUSTED_PROXIES
(RISKENGINE_TRUSTED_PROXIES) to the number of proxies in front, and the client's address is
read from X-Forwarded-For instead (`client_address`); with 0, the default, that header is
ignored (anyone may write it).

Bearer tokens of the API and the login form of the pages (api/web/account.py) both go through
here (a page session's signed cookie is no guess: it is not counted). The counts are in the
database (riskengine.store.throttle), shared by every worker and host: each failure is one
short write transaction, a locked key's attempts only a read. A request without a bearer token
tries nothing and answers 401 uncounted. The clock (`Throttle.clock`, epoch seconds) is there
for tests to move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, request
from sqlalchemy import Connection

from api.config import ConfigError
from api.errors import TooManyRequests
from api.state import service
from riskengine.refusals import refusal
from riskengine.store.throttle import ADDRESS, PREFIX, Lock, Policy, keys, locked, record_failure

log = logging.getLogger("riskengine.api")
EXTENSION = "riskengine.throttle"


@dataclass
class Throttle:
    policy: Policy
    trusted_proxies: int = 0
    clock: Callable[[], float] = field(default=time.time)

    def check(self, connection: Connection, attempt: dict[str, str]) -> None:
        """Refuse the attempt (429) if its address or its token prefix is out of attempts."""
        lock = self.refusal(connection, attempt)
        if lock is not None:
            what = refusal("this_address" if lock.kind == ADDRESS else "this_token_prefix")
            raise TooManyRequests(
                refusal("throttled", source=what, seconds=lock.retry_after),
                {"retry_after": [str(lock.retry_after)]},
                headers={"Retry-After": str(lock.retry_after)})

    def refusal(self, connection: Connection, attempt: dict[str, str]) -> Lock | None:
        """Return the lock refusing the attempt, logged, or None."""
        lock = locked(connection, self.policy, attempt, self.clock())
        if lock is not None:
            log.warning("authentication throttled: address=%s prefix=%s failures=%d "
                        "locked=%s retry_after=%ds", attempt[ADDRESS], attempt.get(PREFIX, "-"),
                        lock.failures, lock.kind, lock.retry_after)
        return lock

    def failed(self, attempt: dict[str, str]) -> dict[str, int]:
        """Count a failed attempt; return the window's counts by kind."""
        with service().database.write() as session:
            return record_failure(session.connection(), self.policy, attempt, self.clock())

def throttle() -> Throttle:
    found: Throttle = current_app.extensions[EXTENSION]
    return found


def throttled_attempt(secret: str | None) -> dict[str, str]:
    """The keys the current request's attempt with `secret` counts against."""
    return keys(client_address(throttle().trusted_proxies), secret)


def client_address(trusted_proxies: int) -> str | None:
    """The client's address: the peer's, or behind `trusted_proxies` proxies (TRUSTED_PROXIES)
    the one the outermost of them saw, as ProxyFix reads X-Forwarded-For: the Nth from the
    right. Entries left of it are the client's to write, so they are never trusted."""
    if trusted_proxies:
        hops = [hop.strip() for value in request.headers.getlist("X-Forwarded-For")
                for hop in value.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies]
    return request.remote_addr


def init_throttle(app: Flask) -> None:
    policy = {name: int(app.config[f"AUTH_THROTTLE_{name.upper()}"])
              for name in ("window_seconds", "address_failures", "prefix_failures")}
    for name, value in policy.items():
        if value < 1:
            raise ConfigError(f"AUTH_THROTTLE_{name.upper()} must be at least 1, got {value}")
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, got {proxies}")
    app.extensions[EXTENSION] = Throttle(Policy(**policy), proxies)
