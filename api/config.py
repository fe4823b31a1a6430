"""Settings from the environment, with the checks production refuses to start without."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from riskengine.attachments.evidence import DEFAULT_LIMIT
from riskengine.attachments.objects import S3Settings
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.store.database import default_url

MIN_SECRET_LENGTH = 32
_WEAK = {"dev", "development", "secret", "changeme", "change-me", "test", "password"}


class ConfigError(RuntimeError):
    """The service must not start with these settings."""


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError as error:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from error


def from_environment() -> dict[str, Any]:
    """Return the settings the environment gives, defaults filled in."""
    return {
        "ENV": os.environ.get("RISKENGINE_ENV", "production"),
        "DATABASE_URL": default_url(),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "MAX_CONTENT_LENGTH": _int("RISKENGINE_MAX_BODY_BYTES", 1024 * 1024),
        "RULESETS_DIR": os.environ.get("RISKENGINE_RULESETS") or str(DEFAULT_ROOT),
        "LOG_REQUESTS": os.environ.get("RISKENGINE_LOG_REQUESTS", "1") != "0",
        "DB_POOL_SIZE": _int("RISKENGINE_DB_POOL_SIZE", 5),
        # Evidence files (api/uploads.py): the largest one, and an S3-compatible bucket for
        # their bytes (None: the database keeps them).
        "ATTACHMENT_MAX_BYTES": _int("RISKENGINE_ATTACHMENT_MAX_BYTES", DEFAULT_LIMIT),
        "ATTACHMENTS_S3": S3Settings.from_environment(),
        # The service's address as its users reach it (links in the XLSX report); without
        # it, the address the request came to.
        "PUBLIC_URL": os.environ.get("RISKENGINE_PUBLIC_URL", "").strip() or None,
        "TODAY": None,  # tests pin the date that waivers and due dates are judged against
        "PER_PAGE_MAX": 100,
        # Failed authentication (api/throttle.py): after this many failures in one window from
        # one client address, or with one token prefix, attempts get 429 until it ends.
        "AUTH_THROTTLE_WINDOW_SECONDS": _int("RISKENGINE_AUTH_THROTTLE_WINDOW_SECONDS", 60),
        "AUTH_THROTTLE_ADDRESS_FAILURES": _int("RISKENGINE_AUTH_THROTTLE_ADDRESS_FAILURES", 10),
        "AUTH_THROTTLE_PREFIX_FAILURES": _int("RISKENGINE_AUTH_THROTTLE_PREFIX_FAILURES", 5),
        # Proxies in front that append to X-Forwarded-For: the throttle's client address.
        "TRUSTED_PROXIES": _int("RISKENGINE_TRUSTED_PROXIES", 0),
        "API_TITLE": "riskengine",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }


def check_secret(config: Mapping[str, Any]) -> None:
    """Refuse production without a strong SECRET_KEY (weak keys make forgeable sessions)."""
    if config.get("ENV") != "production":
        return
    key = config.get("SECRET_KEY") or ""
    if len(key) < MIN_SECRET_LENGTH or key.lower() in _WEAK or len(set(key)) < 10:
        raise ConfigError(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
            "characters in production, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
