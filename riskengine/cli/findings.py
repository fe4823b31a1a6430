"""`riskengine findings sweep`: the daily pass over waivers (cron, Kubernetes CronJob): remind
owners of waivers about to lapse, reopen the findings whose waiver lapsed. Safe to run as often
as you like: each notice is queued once, each lapse recorded once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from riskengine.cli import main
from riskengine.cli.errors import refused
from riskengine.rules.catalog import DEFAULT_ROOT, load_policy
from riskengine.store.database import Database, default_url, pending
from riskengine.waivers import sweep


@main.group()
def findings() -> None:
    """Tracked findings: the workflow's scheduled pass."""


@findings.command("sweep")
@click.option("--today", "today_text", metavar="YYYY-MM-DD",
              help="The day to judge waivers against (default: today, UTC).")
@click.option("--rulesets", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Ruleset folder whose policy.yaml to read (default: the bundled rulesets).")
def sweep_command(today_text: str | None, rulesets: Path | None) -> None:
    """Remind owners of lapsing waivers and reopen lapsed ones; print what was done (JSON)."""
    try:
        today = (dt.date.fromisoformat(today_text) if today_text
                 else dt.datetime.now(dt.UTC).date())
    except ValueError as error:
        raise click.BadParameter(f"not an ISO date: {today_text}", param_hint="--today") from error
    policy = load_policy((rulesets or DEFAULT_ROOT) / "policy.yaml")
    database = Database(default_url())
    try:
        if pending(database.engine):
            raise refused("schema_not_current")
        with database.write() as session:
            swept = sweep(session, today, policy)
    finally:
        database.engine.dispose()
    click.echo(json.dumps({"today": today.isoformat(), "lapsed": swept.lapsed,
                           "reminded": swept.reminded}))
