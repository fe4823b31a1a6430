"""`riskengine rules list|test|whatif` and `riskengine template`: the loaded rules, their
examples, and what a draft of them would change."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from riskengine.cli import main
from riskengine.cli.assess import EXIT_FAIL, EXIT_INVALID, load_assessor
from riskengine.cli.errors import echo_error
from riskengine.cli.service import _database as open_database
from riskengine.errors import RiskEngineError
from riskengine.output import template
from riskengine.output.whatif import render_whatif_table, render_whatif_xlsx
from riskengine.rules.cases import load_cases, run_case
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.store.latest import latest_checklists
from riskengine.store.promises import sales_mentions
from riskengine.submission import Submissions
from riskengine.vocabulary import Lang, Stage
from riskengine.whatif import candidates_of, compare, refuse_unforcing

_STAGE = click.Choice([s.value for s in Stage])
_RULESETS = click.option("--rulesets", type=click.Path(exists=True, file_okay=False,
                                                       path_type=Path),
                         help="Ruleset folder (default: the bundled rulesets).")


@main.group()
def rules() -> None:
    """Inspect the loaded rules and run their examples."""


@rules.command("list")
@click.option("--stage", type=_STAGE)
@click.option("--lang", type=click.Choice([lang.value for lang in Lang]), default="zh")
@_RULESETS
def list_rules(stage: str | None, lang: str, rulesets: Path | None) -> None:
    """List every rule: id, severity, owner, blocking, title."""
    catalog = load_assessor(rulesets, Lang(lang)).catalog
    for ruleset in catalog.rulesets:
        if stage and ruleset.stage.value != stage:
            continue
        click.echo(f"{ruleset.id}  v{ruleset.version}  ({ruleset.content_hash})")
        for rule in ruleset.rules:
            block = "blocking" if rule.blocking else ""
            click.echo(f"  {rule.id:<22} {rule.severity.value:<8} {rule.owner.value:<11} "
                       f"{block:<8} {rule.title[Lang(lang)]}")


@rules.command("test")
@click.option("--stage", type=_STAGE)
@click.option("-v", "--verbose", is_flag=True, help="Print every case, not only failures.")
@_RULESETS
def test_rules(stage: str | None, verbose: bool, rulesets: Path | None) -> None:
    """Run every rule's own examples; exit 1 if any case fails."""
    assessor = load_assessor(rulesets)
    passed = failed = 0
    for case in load_cases(rulesets or DEFAULT_ROOT, Stage(stage) if stage else None):
        outcome = run_case(assessor, case)
        if outcome.passed:
            passed += 1
            if verbose:
                click.echo(f"PASS {case.id}")
            continue
        failed += 1
        click.echo(f"FAIL {case.id} ({case.path})")
        for problem in outcome.problems:
            click.echo(f"     {problem}")
    click.echo(f"{passed} passed, {failed} failed")
    if failed or not passed:
        sys.exit(EXIT_FAIL)


@main.command("template")
@click.option("--stage", type=_STAGE, required=True)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="yaml: commented; json: a valid empty checklist.")
@click.option("--lang", type=click.Choice([lang.value for lang in Lang]), default="zh")
@_RULESETS
def template_command(stage: str, fmt: str, lang: str, rulesets: Path | None) -> None:
    """Print an empty checklist for STAGE listing every field and `checks` key."""
    catalog = load_assessor(rulesets, Lang(lang)).catalog
    if fmt == "json":
        click.echo(template.render_json(catalog, Stage(stage)))
    else:
        click.echo(template.render_yaml(catalog, Stage(stage), Lang(lang)), nl=False)


@rules.command("whatif")
@click.argument("draft", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_RULESETS
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as an Excel workbook.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes (default: the cores this process may use).")
@click.option("--lang", type=click.Choice([lang.value for lang in Lang]), default="zh")
def whatif_command(draft: Path, rulesets: Path | None, fmt: str, xlsx: Path | None,
                   workers: int | None, lang: str) -> None:
    """Judge every project's latest checklists by the DRAFT rulesets beside the current ones
    (DATABASE_URL); print what would change. Stores nothing. Exit 1 if a gate gets worse."""
    current = rulesets or DEFAULT_ROOT
    # a bad draft stops here, every problem listed
    policy = load_assessor(draft, Lang(lang)).catalog.policy
    database = open_database()
    with database.read() as session:
        try:
            refuse_unforcing(session, Submissions.of(load_assessor(draft, Lang(lang)), draft))
        except RiskEngineError as error:
            echo_error(error, Lang(lang))
            sys.exit(EXIT_INVALID)
        stored = latest_checklists(session)
        candidates = candidates_of(stored, lambda pid: sales_mentions(session, pid))
    count = workers or len(os.sched_getaffinity(0))
    if sys.stderr.isatty() and candidates:
        with click.progressbar(length=len(candidates), label="what-if", file=sys.stderr) as bar:
            report = compare(current, draft, candidates, count, bar.update)
    else:
        report = compare(current, draft, candidates, count)
    language = Lang(lang)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_whatif_table(report, language, policy))
    if xlsx is not None:
        xlsx.write_bytes(render_whatif_xlsx(report, language, policy))
    sys.exit(EXIT_FAIL if report.summary()["worse"] else 0)
