"""The `riskengine` command: one click group, each area of commands in its own module."""

from __future__ import annotations

import importlib

import click


@click.group()
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
