"""`riskengine assess`: evaluate one checklist without storing it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.validation import read_checklist
from riskengine.cli import main
from riskengine.cli.errors import echo_error
from riskengine.errors import ChecklistInvalid, ChecklistUnreadable, RiskEngineError
from riskengine.output.formats import render_json, render_junit, render_sarif, render_table
from riskengine.vocabulary import GateDecision, Lang

EXIT_PASS, EXIT_FAIL, EXIT_INVALID, EXIT_ERROR = 0, 1, 2, 3


def load_assessor(rulesets: Path | None, lang: Lang | None = None) -> Assessor:
    """Load the catalogue, or exit 3 listing every problem of the rule files (in `lang`, or
    Chinese then English)."""
    try:
        return Assessor.from_path(rulesets) if rulesets else Assessor.from_path()
    except RiskEngineError as error:
        echo_error(error, lang)
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("checklist", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["json", "table", "sarif", "junit"]),
              default="json", show_default=True)
@click.option("--lang", type=click.Choice([lang.value for lang in Lang]), default="zh",
              show_default=True)
@click.option("--rulesets", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Ruleset folder (default: the bundled rulesets).")
def assess(checklist: BinaryIO, fmt: str, lang: str, rulesets: Path | None) -> None:
    """Assess CHECKLIST (a JSON file, or - for standard input).

    Exit status: 0 gate pass or conditional, 1 gate fail, 2 unreadable or invalid input
    (every problem listed on stderr), 3 the rules or the engine failed.
    """
    language = Lang(lang)
    assessor = load_assessor(rulesets, language)
    try:
        result = assessor.assess(read_checklist(checklist.read()))
    except (ChecklistInvalid, ChecklistUnreadable) as error:
        echo_error(error, language)
        sys.exit(EXIT_INVALID)
    except RiskEngineError as error:
        echo_error(error, language)
        sys.exit(EXIT_ERROR)
    if fmt == "json":
        click.echo(render_json(result, language))
    elif fmt == "table":
        colour = sys.stdout.isatty()
        click.echo(render_table(result, assessor.catalog, language,
                                click.style if colour else _plain), color=colour)
    elif fmt == "sarif":
        click.echo(render_sarif(result, assessor.catalog, language, checklist.name))
    else:
        click.echo(render_junit(result, assessor.catalog, language))
    sys.exit(EXIT_FAIL if result.gate.decision is GateDecision.FAIL else EXIT_PASS)


def _plain(text: str, **_: object) -> str:
    return text
