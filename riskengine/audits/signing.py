"""Sign webhook bodies with HMAC-SHA256, and check such signatures (what receivers do).

Header: `X-Riskengine-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
The timestamp is signed too, so a receiver that refuses old signatures refuses replays.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Riskengine-Signature"
DELIVERY_HEADER = "X-Riskengine-Delivery"  # the outbox id: receivers drop a repeated one
EVENT_HEADER = "X-Riskengine-Event"


def _mac(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Return the signature header value for a body sent at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance: int) -> bool:
    """Return whether `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(_mac(secret, body, timestamp), parts.get("v1", ""))
