"""The rules catalogue: every rule in words, its parameters, owner, source, and its own examples."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, request

from api.auth import current
from api.state import service
from api.web.blueprint import lang, page, t
from api.web.conditions import describe
from riskengine.rules.cases import Case, base_checklist, load_cases
from riskengine.rules.catalog import Catalog, Rule
from riskengine.vocabulary import Stage


def changes(case: Case, base: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return what a case changes in its stage's clean checklist, path by path."""
    out: list[tuple[str, str]] = []
    for key in sorted(set(case.checklist) | set(base)):
        given, clean = case.checklist.get(key), base.get(key)
        if given == clean:
            continue
        if isinstance(given, Mapping) and isinstance(clean, Mapping):
            for inner in sorted(set(given) | set(clean)):
                if given.get(inner) != clean.get(inner):
                    out.append((f"{key}.{inner}", _show(given.get(inner))))
        else:
            out.append((key, _show(given)))
    return out


def _show(value: Any) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False)


def _examples() -> dict[str, list[dict[str, Any]]]:
    """Return each rule's example cases (loaded once per app)."""
    cache: dict[str, dict[str, list[dict[str, Any]]]] = current_app.extensions.setdefault(
        "riskengine.web", {})
    if "examples" not in cache:
        root = Path(current_app.config["RULESETS_DIR"])
        bases = {stage: base_checklist(root, stage) for stage in Stage
                 if (root / stage.value / "_base.yaml").exists()}
        found: dict[str, list[dict[str, Any]]] = {}
        for case in load_cases(root):
            stage = Stage(case.ruleset.split(".", 1)[0])
            diff = changes(case, bases.get(stage, {}))
            for expected in case.fires:
                if "rule" in expected:
                    found.setdefault(str(expected["rule"]), []).append(
                        {"name": case.name, "fires": True, "expected": dict(expected),
                         "changes": diff})
            for rule_id in case.silent:
                found.setdefault(rule_id, []).append(
                    {"name": case.name, "fires": False, "expected": {}, "changes": diff})
        cache["examples"] = found
    return cache["examples"]


def _parameters(catalog: Catalog, rule: Rule) -> list[tuple[str, str, str]]:
    """Return the parameters of the rule's ruleset that its condition names."""
    ruleset = catalog.ruleset(rule.ruleset_id)
    if ruleset is None:
        return []
    text = json.dumps([rule.when, [r.when for r in rule.requires]], default=str)
    return [(name, _show(p.value) + (f" {p.unit}" if p.unit else ""), p.description[lang()])
            for name, p in ruleset.parameters.items() if f'"{name}"' in text]


def _entry(catalog: Catalog, rule: Rule, examples: dict[str, list[dict[str, Any]]]
           ) -> dict[str, Any]:
    return {"rule": rule, "words": describe(catalog, rule, lang()),
            "parameters": _parameters(catalog, rule), "examples": examples.get(rule.id, [])}


def rules() -> tuple[str, int]:
    """Every rule of a stage, in words, with its parameters, owner, source and examples."""
    current()
    state = service()
    catalog = state.assessor.catalog
    given = request.args.get("stage")
    stage = Stage(given) if given in set(Stage) else Stage.SALES
    examples = _examples()
    rulesets = [(r, [_entry(catalog, rule, examples) for rule in r.rules])
                for r in catalog.for_stage(stage)]
    ledger = state.submissions.ledger.rule if stage is Stage.DELIVERY else None
    return page("rules.html", title=t("rules"), stage=stage, rulesets=rulesets,
                ledger=ledger, count=sum(len(r.rules) for r, _ in rulesets))


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/rules", view_func=rules)
