"""The `riskengine` command: one click group, each area of commands in its own module."""

from __future__ import annotations

import importlib
from typing import Any

import click

EXIT_INTERNAL = 3


class Commands(click.Group):
    """The command group; an error no command expected is one line on stderr and exit 3,
    never a traceback (a CI job reads the exit code: 0/1 gate, 2 input, 3 riskengine)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # the last resort: every expected error has its own exit
            reason = " ".join(f"{type(error).__name__}: {error}".split())[:500]
            click.echo(f"内部错误：{reason} / internal error: {reason}", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=Commands)
@click.version_option(package_name="riskengine")
def main() -> None:
    """Assess real-estate project checklists against the risk rulesets."""


# Each module adds its commands to `main`; a module that is absent is simply not offered.
for _module in ("assess", "rules", "service", "audits", "findings"):
    try:
        importlib.import_module(f"riskengine.cli.{_module}")
    except ModuleNotFoundError as _error:
        if _error.name != f"riskengine.cli.{_module}":
            raise
