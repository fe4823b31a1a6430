"""The one exception root of riskengine and its documented subclasses.

Every error the core, the store, the audits and the API raise on purpose is a `RiskEngineError`
with a `code` and structured `details`; `api.errors.STATUSES` is the one table that gives each
its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Words(Protocol):
    """A text said in the reader's language (`riskengine.refusals.Refusal`: a key and params)."""

    def say(self, lang: str) -> str: ...


class RiskEngineError(Exception):
    """Base of every error riskengine raises on purpose; `code` and `details` are structured.

    The message, and each line of the details, is `Words` (a refusal of riskengine.refusals)
    said in Chinese by default and in English by `in_lang`; details keys stay machine paths.
    """

    code = "riskengine_error"

    def __init__(self, message: str | Words, details: Mapping[str, Any] | None = None,
                 code: str | None = None) -> None:
        self.said = message
        self._details: dict[str, Any] = {
            k: list(v) if isinstance(v, list | tuple) else v for k, v in (details or {}).items()}
        self.message = _say_message(message, "zh")
        self.details = _said_details(self._details, "zh")
        super().__init__(self.message)
        if code is not None:
            self.code = code
        # The message and details worded in each language, where a person reads them
        # (validation problems); the default `message` and `details` are the Chinese ones.
        self.worded: dict[str, tuple[str, dict[str, Any]]] = {}

    def in_lang(self, lang: str) -> tuple[str, dict[str, Any]]:
        """Return the message and details in a language."""
        if str(lang) in self.worded:
            return self.worded[str(lang)]
        if isinstance(self.said, Words) or any(_has_words(v) for v in self._details.values()):
            return _say_message(self.said, str(lang)), _said_details(self._details, str(lang))
        return self.message, self.details

    @property
    def said_details(self) -> dict[str, Any]:
        """The details as given (`Words` unsaid): to pass on to another error, re-keyed."""
        return dict(self._details)

    @property
    def refused(self) -> bool:
        """Whether the message is a refusal of the words table (worded in every language)."""
        return isinstance(self.said, Words)

    def __str__(self) -> str:
        lines = [self.message]
        for path, problems in sorted(self.details.items()):
            items = problems if isinstance(problems, list) else [problems]
            lines.extend(f"  {path}: {problem}" for problem in items)
        return "\n".join(lines)


def _say(text: Any, lang: str) -> Any:
    return text.say(lang) if isinstance(text, Words) else text


def _say_message(text: str | Words, lang: str) -> str:
    return text.say(lang) if isinstance(text, Words) else text


def _has_words(value: Any) -> bool:
    return isinstance(value, Words) or (
        isinstance(value, list) and any(isinstance(v, Words) for v in value))


def _said_details(details: Mapping[str, Any], lang: str) -> dict[str, Any]:
    return {k: [_say(v, lang) for v in value] if isinstance(value, list) else _say(value, lang)
            for k, value in details.items()}


class ChecklistInvalid(RiskEngineError):
    """A submitted checklist breaks the contract; details map each path to its problems."""

    code = "invalid_checklist"


class ChecklistUnreadable(RiskEngineError):
    """The input is not JSON (or not an object) at all."""

    code = "unreadable"


class WorkbookInvalid(RiskEngineError):
    """A checklist read from tables (an uploaded workbook, a web form) is unreadable or its
    values break the contract; details are keyed by cell (`offsite_factors!C4`) or sheet."""

    code = "invalid_workbook"


class RulesetInvalid(RiskEngineError):
    """A rule file failed to load; details map `file[: rule]` to its problems."""

    code = "invalid_ruleset"


class EvaluationError(RiskEngineError):
    """The rule engine failed; an assessment is never produced from a failed evaluation."""

    code = "evaluation_failed"


class NotFound(RiskEngineError):
    """What was asked for does not exist, or is not the caller's to see."""

    code = "not_found"


class Invalid(RiskEngineError):
    """A request the domain cannot take as asked; details name each field and what is allowed."""

    code = "invalid"


class Refused(RiskEngineError):
    """A change the domain's rules do not allow (a transition, a waiver, a review)."""

    code = "refused"


class NotPermitted(Refused):
    """The caller's role or department may not do this."""

    code = "forbidden"


class StoreError(RiskEngineError):
    """A write the data refuses; `code` says which refusal, `details` what is allowed."""

    code = "conflict"


class StaleVersion(StoreError):
    code = "version_mismatch"


class KeyReused(StoreError):
    code = "idempotency_key_reused"


class DatabaseUnavailable(RiskEngineError):
    """The database did not answer; the request may be retried once it is back."""

    code = "database_unavailable"


class TooLarge(RiskEngineError):
    """A body or an uploaded file over its configured size limit."""

    code = "too_large"


class StorageUnavailable(RiskEngineError):
    """The object store holding an attachment's bytes did not answer (or is not configured)."""

    code = "storage_unavailable"
