"""The workflow's data (issue 11): `closure: {evidence: required}` on a rule, policy.yaml's
`workflow` section (SLA days by severity, waiver reminders, verifier departments); nonsense in
either is refused at load with its place named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from riskengine.errors import RulesetInvalid, Words
from riskengine.rules.catalog import load_policy, load_ruleset
from riskengine.vocabulary import Owner, Severity
from tests.api.support import RULESETS

RULE = "  - id: SALES-PERMITS-001\n"


@pytest.fixture
def rulesets(tmp_path: Path) -> Path:
    root = tmp_path / "rulesets"
    shutil.copytree(RULESETS, root)
    return root


def closure(root: Path, value: str) -> None:
    path = root / "sales" / "permits.yaml"
    text = path.read_text(encoding="utf-8")
    assert RULE in text
    path.write_text(text.replace(RULE, f"{RULE}    closure: {{evidence: {value}}}\n"),
                    encoding="utf-8")


def permits(root: Path) -> tuple[dict[str, bool], dict[str, list[Words]]]:
    """The permits ruleset's rules, read (not compiled: the engine keeps what it compiles),
    each with whether it asks for evidence; and the problems found."""
    problems: dict[str, list[Words]] = {}
    ruleset = load_ruleset(root / "sales" / "permits.yaml", load_policy(root / "policy.yaml"),
                           problems)
    rules = {r.id: r.closure_evidence for r in ruleset.rules} if ruleset else {}
    return rules, problems


def test_a_rule_asks_for_evidence_to_close(rulesets: Path) -> None:
    closure(rulesets, "required")
    rules, problems = permits(rulesets)
    assert problems == {}
    assert rules["SALES-PERMITS-001"] is True
    assert not any(v for k, v in rules.items() if k != "SALES-PERMITS-001")


def test_a_closure_of_nonsense_is_refused(rulesets: Path) -> None:
    closure(rulesets, "sometimes")
    _, problems = permits(rulesets)
    text = "\n".join(p.say("en") for ps in problems.values() for p in ps)
    assert "closure" in text and "evidence" in text and "required" in text
    assert "须为以下之一" in "\n".join(p.say("zh") for ps in problems.values() for p in ps)


def test_the_policy_s_workflow_section() -> None:
    workflow = load_policy(RULESETS / "policy.yaml").workflow
    assert workflow.sla_days == {Severity.CRITICAL: 7, Severity.HIGH: 14, Severity.MEDIUM: 30,
                                 Severity.LOW: 60}
    assert workflow.waiver_reminder_days == (14, 3)
    assert workflow.verifier_departments == frozenset({Owner.CRM})


@pytest.mark.parametrize(("section", "place"), [
    ("workflow: {sla_days: {critical: 7, high: 14, medium: 30}}", "sla_days"),
    ("workflow: {sla_days: {critical: 0, high: 14, medium: 30, low: 60}}", "sla_days"),
    ("workflow: {waiver_reminder_days: [14, -3]}", "waiver_reminder_days"),
    ("workflow: {verifier_departments: [finance]}", "verifier_departments"),
    ("workflow: {sla_hours: {critical: 7}}", "sla_hours"),
])
def test_a_bad_workflow_section_is_refused(rulesets: Path, section: str, place: str) -> None:
    path = rulesets / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("workflow:")
    end = text.find("\n", text.index("verifier_departments", start))
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    with pytest.raises(RulesetInvalid) as refused:
        load_policy(path)
    assert place in str(refused.value.details)
