"""The labels of the closed sets (rulesets/policy.yaml `labels`), read on their own.

The words table (riskengine.refusals) shows codes by these labels, and the rule files' own
problems are said through that table; reading the labels here, apart from the catalogue,
keeps the table free of the catalogue it words. The catalogue validates the same file (every
code has its label) whenever it loads, so the service never starts with a label missing.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

# An installed package has no rulesets beside it: deployments point RISKENGINE_RULESETS at them.
DEFAULT_ROOT = Path(os.environ.get("RISKENGINE_RULESETS")
                    or Path(__file__).resolve().parents[2] / "rulesets")


@functools.cache
def bundled_labels() -> dict[str, dict[str, Any]]:
    """Group -> code -> {lang: text} of the rulesets the service runs; empty if unreadable."""
    try:
        raw = yaml.safe_load((DEFAULT_ROOT / "policy.yaml").read_bytes())
    except (OSError, yaml.YAMLError):
        return {}
    labels = raw.get("labels") if isinstance(raw, dict) else None
    return {g: v for g, v in labels.items() if isinstance(v, dict)} if isinstance(
        labels, dict) else {}
