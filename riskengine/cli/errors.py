"""An expected error on stderr, in the reader's language: the command's `--lang`, or (for a
command without one) the Chinese message then the English one on the same line."""

from __future__ import annotations

import click

from riskengine.errors import RiskEngineError
from riskengine.refusals import refusal
from riskengine.vocabulary import Lang


def echo_error(error: RiskEngineError, lang: Lang | None = None) -> None:
    """Print the error's message, then each detail as `  path: problem` (without a language,
    a detail worded in both is followed by its English, `/`-separated)."""
    message, details = error.in_lang(lang or Lang.ZH)
    line = refusal("error_line", message=message).say(lang or Lang.ZH)
    english = error.in_lang(Lang.EN)[1] if lang is None else details
    if lang is None:
        line += " / " + refusal("error_line", message=error.in_lang(Lang.EN)[0]).say(Lang.EN)
    click.echo(line, err=True)
    for path, problems in sorted(details.items()):
        listed = problems if isinstance(problems, list) else [problems]
        said = english.get(path, listed)
        for index, problem in enumerate(listed):
            other = said[index] if isinstance(said, list) and index < len(said) else problem
            click.echo(f"  {path}: {problem}" + (f" / {other}" if other != problem else ""),
                       err=True)


def echo_refusal(key: str, lang: Lang | None = None) -> None:
    """Print one refusal of the words table as an error line."""
    echo_error(RiskEngineError(refusal(key)), lang)


def refused(error: RiskEngineError | str, **params: object) -> click.ClickException:
    """A click refusal (exit 1) for a command without --lang: Chinese, then English; `error`
    is an error or a key of the words table."""
    if isinstance(error, str):
        error = RiskEngineError(refusal(error, **params))
    return click.ClickException(f"{error.in_lang(Lang.ZH)[0]} / {error.in_lang(Lang.EN)[0]}")
