"""The refusals of an upload or of attachment ids, worded in Chinese (the default) and English,
as checklist validation words its problems (`RiskEngineError.worded`)."""

from __future__ import annotations

from typing import TypeVar

from riskengine.errors import Invalid, RiskEngineError, StorageUnavailable, TooLarge

__all__ = ["StorageUnavailable", "TooLarge", "invalid", "worded"]

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
