"""Compare a run with the project's previous one: new, resolved and persisting findings, gate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NEW, RESOLVED, PERSISTING = "new", "resolved", "persisting"


@dataclass(frozen=True)
class Comparison:
    new: tuple[str, ...]         # fingerprints, in the order of the run's findings
    resolved: tuple[str, ...]    # in the order of the previous run's findings
    persisting: tuple[str, ...]
    gate_before: str | None      # None: the project's first run
    gate_after: str

    @property
    def gate_changed(self) -> bool:
        return self.gate_before is not None and self.gate_before != self.gate_after

    def change_of(self, fingerprint: str) -> str:
        return PERSISTING if fingerprint in self.persisting else NEW

    def to_dict(self) -> dict[str, Any]:
        return {"new": list(self.new), "resolved": list(self.resolved),
                "persisting": list(self.persisting),
                "gate": {"before": self.gate_before, "after": self.gate_after,
                         "changed": self.gate_changed}}


def compare(previous: Sequence[str] | None, current: Iterable[str], gate_before: str | None,
            gate_after: str) -> Comparison:
    """Match findings by fingerprint; with no previous run every finding is new."""
    before = list(dict.fromkeys(previous or ()))
    now = list(dict.fromkeys(current))
    seen, present = set(before), set(now)
    return Comparison(
        new=tuple(f for f in now if f not in seen),
        resolved=tuple(f for f in before if f not in present),
        persisting=tuple(f for f in now if f in seen),
        gate_before=gate_before if previous is not None else None, gate_after=gate_after)
