"""Send one notification (webhook POST or SMTP e-mail), and when to try again after a failure.
The chat robots (WeCom, DingTalk, Feishu) are sent by `riskengine.audits.robots`."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from riskengine.audits.policy import RetryPolicy
from riskengine.audits.signing import DELIVERY_HEADER, EVENT_HEADER, HEADER, sign

EVENT = "audit.digest"
_ERROR_TEXT = 500  # keep stored errors short: they are shown on the run


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None = None
    error: str = ""
    retry: bool = True  # False: a refusal no retry can fix (a robot's wrong key): fail now


def transport_failure(error: BaseException) -> Attempt:
    """A try that got no usable answer: refused, timed out, unknown host, not HTTP."""
    return Attempt(False, None, f"{type(error).__name__}: {error}"[:_ERROR_TEXT])


def next_attempt(policy: RetryPolicy, attempts: int, now: dt.datetime) -> dt.datetime | None:
    """Return when to try again after `attempts` failed tries, or None: give up."""
    if attempts >= policy.max_attempts:
        return None
    delay = min(policy.first_seconds * policy.factor ** (attempts - 1), policy.max_seconds)
    return now + dt.timedelta(seconds=delay)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET without the body: count it as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def post_webhook(url: str, secret: str, body: bytes, delivery_id: str, timestamp: int,
                 timeout: float, event: str = EVENT) -> Attempt:
    """POST a signed JSON body; any 2xx answer is a delivery, anything else a failed try."""
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "riskengine-audits/1",
        HEADER: sign(secret, body, timestamp), DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return Attempt(False, error.code, f"HTTP {error.code}")
    except (OSError, ValueError, http.client.HTTPException) as error:
        # refused, timed out, unknown host, a bad URL, or an answer that is not HTTP
        return transport_failure(error)
    return Attempt(200 <= status < 300, status, "" if status < 300 else f"HTTP {status}")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """Read RISKENGINE_SMTP_*; None when no host is configured (e-mail is off)."""
        host = os.environ.get("RISKENGINE_SMTP_HOST", "").strip()
        if not host:
            return None
        use_ssl = os.environ.get("RISKENGINE_SMTP_SSL", "0") == "1"
        return cls(
            host=host, port=int(os.environ.get("RISKENGINE_SMTP_PORT") or (465 if use_ssl else 25)),
            sender=os.environ.get("RISKENGINE_SMTP_FROM") or "riskengine@localhost",
            user=os.environ.get("RISKENGINE_SMTP_USER") or None,
            password=os.environ.get("RISKENGINE_SMTP_PASSWORD") or None,
            starttls=os.environ.get("RISKENGINE_SMTP_STARTTLS", "0") == "1", use_ssl=use_ssl)


def send_email(settings: SmtpSettings | None, to: str, subject: str, text: str,
               timeout: float) -> Attempt:
    """Send a plain-text e-mail; without SMTP settings it is a failed try (kept for later)."""
    if settings is None:
        return Attempt(False, None, "SMTP is not configured (RISKENGINE_SMTP_HOST)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, to, subject
    message.set_content(text)
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                             context=ssl.create_default_context())
            if settings.use_ssl else smtplib.SMTP(settings.host, settings.port, timeout=timeout))
        with smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        return Attempt(False, None, f"{type(error).__name__}: {error}"[:_ERROR_TEXT])
    return Attempt(True)
