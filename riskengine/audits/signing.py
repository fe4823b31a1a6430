"""Sign webhook bodies with HMAC-SHA256, and check such signatures (what receivers do); sign
requests to the chat vendors' robots as each of them publishes.

Header: `X-Riskengine-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
The timestamp is signed too, so a receiver that refuses old signatures refuses replays.
"""

from __future__ import annotations

import base64
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


# --- the chat vendors' own signatures (their servers check them; formats as published) --------

def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk custom robot "加签": Base64(HmacSHA256(key=secret, msg=timestamp + "\\n" +
    secret)), timestamp in milliseconds. The caller URL-encodes it into `&sign=` (DingTalk
    open platform, 自定义机器人安全设置 › 加签; its Python sample ends in
    `urllib.parse.quote_plus(base64.b64encode(hmac_code))`)."""
    text = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu/Lark custom bot "签名校验": Base64(HmacSHA256(key=timestamp + "\\n" + secret,
    msg=empty)), timestamp in seconds, sent as `timestamp` and `sign` in the JSON body
    (open.feishu.cn 自定义机器人使用指南 › 签名校验; its Go/Java samples MAC an empty message
    under the key, unlike DingTalk's)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
