"""Rule releases: what a ruleset version said (its rules, texts and parameters, by content
hash), kept for as long as any assessment names it, and what changed between versions.

A snapshot is plain JSON data, so a stored assessment can be shown with the rules it was
judged by long after the files changed, and two snapshots compare rule by rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.assessment.ledger import Ledger
from riskengine.refusals import Refusal, refusal
from riskengine.rules.model import Catalog, Rule, Ruleset

# What a reader of a release compares: a change to any of these is a changed rule.
_RULE_FIELDS = ("title", "category", "severity", "blocking", "owner", "support", "due",
                "when", "requires", "message", "action", "source", "effective_on")


@dataclass(frozen=True)
class Snapshot:
    ruleset_id: str
    hash: str
    version: str
    stage: str
    content: Mapping[str, Any]  # {"title", "parameters": {...}, "rules": {id: {...}}}


def _rule(rule: Rule) -> dict[str, Any]:
    due = rule.due
    return {
        "title": dict(rule.title), "category": rule.category.value,
        "severity": rule.severity.value, "blocking": rule.blocking, "owner": rule.owner.value,
        "support": [s.value for s in rule.support],
        "due": {"milestones": list(due.milestones), "lead_days": due.lead_days} if due else None,
        "when": rule.when, "requires": [r.path for r in rule.requires or ()],
        "message": dict(rule.message), "action": dict(rule.action), "source": dict(rule.source),
        "effective_on": rule.effective_on.isoformat() if rule.effective_on else None,
    }


def _json(value: Any) -> Any:
    """The value as JSON data (YAML may hold dates in conditions and parameters)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def snapshot(ruleset: Ruleset) -> Snapshot:
    """What one loaded ruleset says, as data."""
    return Snapshot(ruleset.id, ruleset.content_hash, ruleset.version, ruleset.stage.value,
                    _json({"title": dict(ruleset.title),
                           "parameters": {k: p.value for k, p in ruleset.parameters.items()},
                           "rules": {rule.id: _rule(rule) for rule in ruleset.rules}}))


def snapshots(catalog: Catalog, ledger: Ledger) -> list[Snapshot]:
    """Every ruleset a submission is judged by, the promise ledger's included."""
    ref, rule = ledger.ref, ledger.rule
    return [*(snapshot(r) for r in catalog.rulesets),
            Snapshot(ref.id, ref.hash, ref.version, rule.ruleset_id.split(".", 1)[0],
                     _json({"title": dict(rule.title), "parameters": {},
                            "rules": {rule.id: _rule(rule)}}))]


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed from one snapshot's content to the next: rules added, removed, changed
    (with the fields that changed), parameters changed (before → after)."""
    old_rules = (before or {}).get("rules", {})
    new_rules = after.get("rules", {})
    changed = {rule_id: [f for f in _RULE_FIELDS if old_rules[rule_id].get(f) != body.get(f)]
               for rule_id, body in new_rules.items() if rule_id in old_rules}
    old_params = (before or {}).get("parameters", {})
    new_params = after.get("parameters", {})
    return {
        "rules_added": sorted(set(new_rules) - set(old_rules)),
        "rules_removed": sorted(set(old_rules) - set(new_rules)),
        "rules_changed": {k: v for k, v in sorted(changed.items()) if v},
        "parameters_changed": {
            name: {"before": old_params.get(name), "after": new_params.get(name)}
            for name in sorted(set(old_params) | set(new_params))
            if old_params.get(name) != new_params.get(name)},
    }


def release_log(releases: Sequence[tuple[Snapshot, dt.datetime]]) -> list[dict[str, Any]]:
    """A ruleset's versions in the order first used, each with what changed from the one
    before it."""
    log: list[dict[str, Any]] = []
    previous: Mapping[str, Any] | None = None
    for release, first_used in releases:
        log.append({"ruleset": release.ruleset_id, "version": release.version,
                    "hash": release.hash, "first_used_at": first_used.isoformat(),
                    "changes": changes(previous, release.content)})
        previous = release.content
    return log


def unforced(catalog: Catalog, stored: Sequence[Snapshot]) -> dict[str, list[Refusal]]:
    """Rules the catalogue gives an `effective_on` though an earlier release already had them
    in force (no `effective_on`, or one already passed then): a date may announce a new rule,
    never lift one that was binding. Keyed like a rule file's problems."""
    binding: dict[str, str] = {}
    for release in stored:
        for rule_id, body in release.content.get("rules", {}).items():
            if not body.get("effective_on"):
                binding.setdefault(rule_id, f"{release.ruleset_id} {release.version}")
    problems: dict[str, list[Refusal]] = {}
    for ruleset in catalog.rulesets:
        for rule in ruleset.rules:
            if rule.effective_on is not None and rule.id in binding:
                problems.setdefault(f"{ruleset.stage.value}/{ruleset.topic}.yaml: {rule.id}",
                                    []).append(refusal("dated_in_force", release=binding[rule.id]))
    return problems
