"""Where the project's shared folder is: the public contract's examples the tests submit.

The contract is not part of this repository; it sits beside it (`../shared`), which is where
every checkout of the workspace has it. A clone made elsewhere finds it through the checkout it
was cloned from (a local `origin`), or through RISKENGINE_SHARED.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from riskengine.checklist.contract import LISTS, PAST_CHECKS

ROOT = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    given = os.environ.get("RISKENGINE_SHARED")
    found = [Path(given)] if given else []
    found.append(ROOT.parent / "shared")
    origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if origin and "://" not in origin and Path(origin).is_dir():
        found.append(Path(origin).resolve().parent / "shared")
    return found


def shared_folder() -> Path:
    for folder in _candidates():
        if (folder / "contract" / "examples").is_dir():
            return folder
    tried = ", ".join(str(c) for c in _candidates())
    raise FileNotFoundError(f"the shared folder (contract examples) is not at {tried}; "
                            "set RISKENGINE_SHARED to it")


SHARED = shared_folder()
EXAMPLES = SHARED / "contract" / "examples"

# The answers, all of them safe, to the facts of the guidelines released after the contract's
# examples were written (rules effective 2027-01-01): a sales example with these raises nothing.
NEWER_SALES_FACTS = {
    "sales_progress_presented_truthfully": True, "show_flat_beyond_delivery_standard": False,
    "contract_terms_explained_at_signing": True, "title_certificate_process_explained": True,
}


def no_later_than(checklist: dict[str, Any], as_of: str) -> None:
    """Dates that record the past (acceptance passed, inspected) moved to as_of at the latest:
    a checklist dated earlier than its base would record the future, which is refused."""
    for name, spec in LISTS.items():
        for item in checklist.get(name) or []:
            for key, field in spec.fields.items():
                if field.past and str(item.get(key) or "") > as_of:
                    item[key] = as_of
    for key in PAST_CHECKS & set(checklist.get("checks") or {}):
        if str(checklist["checks"][key] or "") > as_of:
            checklist["checks"][key] = as_of
