"""The one exception root of riskengine and its documented subclasses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class RiskEngineError(Exception):
    """Base of every error riskengine raises on purpose; `code` and `details` are structured."""

    code = "riskengine_error"

    def __init__(self, message: str, details: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, list[str]] = {k: list(v) for k, v in (details or {}).items()}

    def __str__(self) -> str:
        lines = [self.message]
        for path, problems in sorted(self.details.items()):
            lines.extend(f"  {path}: {problem}" for problem in problems)
        return "\n".join(lines)


class ChecklistInvalid(RiskEngineError):
    """A submitted checklist breaks the contract; details map each path to its problems."""

    code = "invalid_checklist"


class ChecklistUnreadable(RiskEngineError):
    """The input is not JSON (or not an object) at all."""

    code = "unreadable"


class RulesetInvalid(RiskEngineError):
    """A ruleset file failed to load; details map `file[: rule]` to its problems."""

    code = "invalid_ruleset"


class EvaluationError(RiskEngineError):
    """The rule engine failed; an assessment is never produced from a failed evaluation."""

    code = "evaluation_failed"
