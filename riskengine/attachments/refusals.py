"""The refusals of an upload or of attachment ids, worded in Chinese (the default) and English,
as checklist validation words its problems (`RiskEngineError.worded`)."""

from __future__ import annotations

from typing import Any, TypeVar

from riskengine.errors import Invalid, RiskEngineError, StorageUnavailable, TooLarge
from riskengine.refusals import refusal

__all__ = ["Invalid", "StorageUnavailable", "TooLarge", "invalid", "refused", "worded"]

E = TypeVar("E", bound=RiskEngineError)


def worded(error: E, field: str, zh: tuple[str, str], en: tuple[str, str]) -> E:
    """Give `error` its Chinese message and detail (the default) and its English ones."""
    error.message, error.details = zh[0], {field: [zh[1]]}
    error.worded["zh"] = (zh[0], {field: [zh[1]]})
    error.worded["en"] = (en[0], {field: [en[1]]})
    return error


def invalid(field: str, zh: tuple[str, str], en: tuple[str, str],
            code: str = "invalid") -> RiskEngineError:
    return worded(Invalid(en[0], code=code), field, zh, en)


def refused(error: type[E], field: str, key: str, code: str | None = None, **params: Any) -> E:
    """An error said by the refusal `key` (riskengine.refusals), its detail at `field` by
    `key`_hint, in Chinese by default and in English on request."""
    return error(refusal(key, **params), {field: [refusal(f"{key}_hint", **params)]}, code)
