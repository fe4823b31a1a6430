"""Lints over the bundled rulesets: ids, texts, vocabularies, coverage, examples, limits."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from riskengine.assessment.assessor import Assessor
from riskengine.assessment.facts import map_facts
from riskengine.rules.cases import load_cases
from riskengine.rules.catalog import DEFAULT_ROOT, Catalog, Rule
from riskengine.rules.compiler import compile_ruleset, fact_fields
from riskengine.rules.engine import MAX_PROPERTIES, count_properties
from riskengine.rules.network import check_network
from riskengine.vocabulary import Lang, Severity, Stage


@pytest.fixture(scope="module")
def catalog(assessor: Assessor) -> Catalog:
    return assessor.catalog


def _rules(catalog: Catalog) -> list[Rule]:
    return list(catalog.rules())


def test_rule_ids_are_unique_and_follow_the_ruleset(catalog: Catalog) -> None:
    ids = Counter(r.id for r in _rules(catalog))
    assert [i for i, n in ids.items() if n > 1] == []
    for rule in _rules(catalog):
        stage, topic = rule.ruleset_id.split(".")
        assert rule.id.startswith(f"{stage.upper()}-"), rule.id


def test_every_text_is_given_in_zh_and_en(catalog: Catalog) -> None:
    for rule in _rules(catalog):
        for text in (rule.title, rule.message, rule.action, rule.source):
            assert set(text) == {"zh", "en"} and all(v.strip() for v in text.values()), rule.id
        assert re.search(r"[\u4e00-\u9fff]", rule.title["zh"]), f"{rule.id}: zh title in Chinese"


# What a person reads names a source by its title (risk-catalogue.md "Provenance"), never by the
# workspace's file names for the source documents or by a seed number.
FORBIDDEN_IN_SOURCE = ("种子", "seed", "000", "001", ".txt")


def test_sources_name_documents_by_title(catalog: Catalog) -> None:
    offending = [(rule.id, lang, text) for rule in _rules(catalog)
                 for lang, text in rule.source.items()
                 if any(word in text.lower() for word in FORBIDDEN_IN_SOURCE)]
    assert offending == []


def test_critical_rules_block(catalog: Catalog) -> None:
    assert [r.id for r in _rules(catalog)
            if r.severity is Severity.CRITICAL and not r.blocking] == []


def test_templates_quote_only_evidence_and_scalar_parameters(catalog: Catalog) -> None:
    for ruleset in catalog.rulesets:
        scalars = {f"param.{k}" for k, p in ruleset.parameters.items()
                   if not isinstance(p.value, (dict, list))}
        for rule in ruleset.rules:
            allowed = set(rule.evidence) | scalars
            for lang in Lang:
                for text in (rule.message[lang], rule.action[lang]):
                    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
                    assert names <= allowed, f"{rule.id} {lang}: {sorted(names - allowed)}"


def _bullets(stage: Stage) -> dict[str, str]:
    data = yaml.safe_load((DEFAULT_ROOT / stage.value / "_catalogue.yaml").read_text("utf-8"))
    return {b["id"]: b["text"] for b in data}


@pytest.mark.parametrize("stage", list(Stage), ids=[s.value for s in Stage])
def test_every_catalogue_bullet_is_covered_and_every_reference_exists(
        catalog: Catalog, stage: Stage) -> None:
    bullets = _bullets(stage)
    referenced = {ref for r in catalog.rules(stage) for ref in r.catalogue}
    assert sorted(set(bullets) - referenced) == [], "catalogue bullets without a rule"
    assert sorted(referenced - set(bullets)) == [], "rules citing unknown bullets"


@pytest.mark.parametrize("stage", list(Stage), ids=[s.value for s in Stage])
def test_coverage_table_names_every_rule(catalog: Catalog, stage: Stage) -> None:
    table = (DEFAULT_ROOT / stage.value / "COVERAGE.md").read_text(encoding="utf-8")
    missing = [r.id for r in catalog.rules(stage) if r.id not in table]
    assert missing == []


def test_every_rule_has_a_firing_and_a_silent_example(catalog: Catalog) -> None:
    fires: set[str] = set()
    silent: set[str] = set()
    for case in load_cases():
        fires.update(str(f.get("rule")) for f in case.fires)
        silent.update(case.silent)
    rules = {r.id for r in _rules(catalog)}
    assert sorted(rules - fires) == [], "rules with no firing example"
    assert sorted(rules - silent) == [], "rules with no silent example"


@pytest.mark.parametrize("stage", list(Stage), ids=[s.value for s in Stage])
def test_the_clean_base_checklist_raises_nothing(assessor: Assessor, stage: Stage,
                                                  base: Callable[[str], dict[str, Any]]) -> None:
    result = assessor.assess(base(stage.value))
    assert [f.rule_id for f in result.findings] == []
    assert result.gate.decision.value == "pass"


def test_compiled_stages_stay_within_engine_limits(catalog: Catalog) -> None:
    # one durable ruleset per stage: its alpha network's tables, counted as durable fills them
    for stage in Stage:
        compiled = catalog.stages[stage]
        check_network(stage.value, compiled.definition)
        assert len(compiled.definition) < 4096  # durable's actions per ruleset
    for ruleset in catalog.rulesets:
        checks = {k: v.type for k, v in catalog.checks(ruleset.stage).items()}
        check_network(ruleset.id, compile_ruleset(ruleset, checks).definition)


@pytest.mark.parametrize("stage", list(Stage), ids=[s.value for s in Stage])
def test_the_fullest_checklist_fact_stays_below_the_property_limit(
        assessor: Assessor, stage: Stage, base: Callable[[str], dict[str, Any]]) -> None:
    checklist = assessor.validate(base(stage.value))
    check_types = assessor.check_types[stage]
    checklist["checks"] = {k: {"bool": True, "date": checklist["as_of"]}.get(t.value, 1)
                           for k, t in check_types.items()}
    fact = map_facts(checklist, check_types).by_type["checklist"][0]
    assert count_properties(fact) + 1 <= MAX_PROPERTIES
    assert len(fact_fields(None, check_types)) < MAX_PROPERTIES


def test_test_files_sit_beside_their_rulesets() -> None:
    for path in Path(DEFAULT_ROOT).glob("*/*.test.yaml"):
        assert path.with_name(path.name.replace(".test.yaml", ".yaml")).exists(), path


def test_every_word_people_read_for_a_vocabulary_value_is_in_policy_yaml(tmp_path: Path) -> None:
    """Severities, gates, statuses, owners and categories take their words from policy.yaml
    alone; a policy that leaves one out is refused, naming what is missing."""
    from riskengine.errors import RulesetInvalid
    from riskengine.output.reports import term
    from riskengine.rules.catalog import load_policy
    from riskengine.vocabulary import FindingStatus, GateDecision

    assert term("status", FindingStatus.IN_PROGRESS, Lang.ZH) == "处理中"
    assert term("gate", GateDecision.CONDITIONAL, Lang.EN) == "Conditional"
    assert term("severity", Severity.CRITICAL, Lang.ZH) == "严重"
    data = yaml.safe_load((DEFAULT_ROOT / "policy.yaml").read_text(encoding="utf-8"))
    del data["labels"]["status"]["verified"]
    del data["labels"]["gate"]
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(RulesetInvalid) as caught:
        load_policy(tmp_path / "policy.yaml")
    problems = str(caught.value)
    assert "verified" in problems and "'gate': ['fail', 'conditional', 'pass']" in problems
