"""Contract examples, gate logic, fingerprints, due dates and languages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from riskengine.assessment.assessor import Assessor
from riskengine.assessment.gate import decide_gate
from riskengine.vocabulary import FindingStatus, GateDecision, Lang, Severity

Load = Callable[[str], dict[str, Any]]
Base = Callable[[str], dict[str, Any]]
LANDFILL = {"kind": "landfill", "name": "金口垃圾场", "distance_m": 400, "planned": False,
            "disclosed_publicly": False, "in_contract_appendix": False}


@pytest.mark.parametrize(("name", "gate"), [("sales-ready", "pass"), ("sales-risky", "fail"),
                                            ("delivery-risky", "fail")])
def test_contract_examples_give_their_gates(assessor: Assessor, example: Load, name: str,
                                            gate: str) -> None:
    body = assessor.assess(example(name)).to_dict()
    assert body["gate"]["decision"] == gate
    assert "id" not in body
    blocking = {f["fingerprint"] for f in body["findings"] if f["blocking"]}
    assert set(body["gate"]["blocking"]) == blocking
    assert sum(body["summary"]["by_severity"].values()) == len(body["findings"])


def test_sales_risky_names_the_catalogue_risks(assessor: Assessor, example: Load) -> None:
    findings = assessor.assess(example("sales-risky")).to_dict()["findings"]
    by_subject = {(f["rule_id"].rsplit("-", 1)[0], f["subject"]) for f in findings}
    assert ("SALES-OFFSITE", "offsite_factors[0]") in by_subject  # undisclosed substation
    assert ("SALES-PERMITS", "permits[4]") in by_subject  # pre-sale permit pending
    severities = {f["subject"]: f["severity"] for f in findings
                  if f["rule_id"].startswith("SALES-OFFSITE")}
    assert severities["offsite_factors[0]"] == "critical"


def test_finding_has_every_contract_field(assessor: Assessor, example: Load) -> None:
    finding = assessor.assess(example("sales-risky")).to_dict()["findings"][0]
    assert set(finding) >= {"rule_id", "ruleset", "category", "severity", "blocking", "title",
                            "message", "subject", "evidence", "owner", "support", "action",
                            "due_date", "escalation", "source", "fingerprint", "status"}
    assert finding["status"] == "open"


def test_fingerprints_survive_reordering_of_lists(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    other = dict(LANDFILL, kind="cemetery", name="公墓", distance_m=600)
    checklist["offsite_factors"] = [LANDFILL, other]
    first = {f.subject: f.fingerprint for f in assessor.assess(checklist).findings}
    checklist["offsite_factors"] = [other, LANDFILL]
    second = {f.subject: f.fingerprint for f in assessor.assess(checklist).findings}
    assert first["offsite_factors[0]"] == second["offsite_factors[1]"]
    assert first["offsite_factors[1]"] == second["offsite_factors[0]"]
    assert len(set(first.values())) == len(first)


def test_due_date_counts_back_from_the_earliest_milestone(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    checklist["as_of"] = "2026-11-01"
    for permit in checklist["permits"]:  # a permit obtained after as_of is refused
        if permit.get("obtained_date", "") > checklist["as_of"]:
            permit["obtained_date"] = checklist["as_of"]
    checklist["milestones"].update(subscription_start="2026-12-10", launch_date="2026-12-20")
    finding = next(f for f in assessor.assess(checklist).findings
                   if f.rule_id == "SALES-OFFSITE-001")
    assert finding.due_date == dt.date(2026, 12, 3)  # subscription − 7 days
    checklist["as_of"] = "2026-12-08"
    finding = next(f for f in assessor.assess(checklist).findings
                   if f.rule_id == "SALES-OFFSITE-001")
    assert finding.due_date == dt.date(2026, 12, 8)  # never before the checklist date


def test_escalation_follows_severity(assessor: Assessor, example: Load) -> None:
    expected = {"critical": "regional_gm", "high": "project_gm", "medium": "department_head",
                "low": "owner"}
    for finding in assessor.assess(example("sales-risky")).to_dict()["findings"]:
        assert finding["escalation"] == expected[finding["severity"]]


def test_english_on_request_chinese_by_default(assessor: Assessor, base: Base) -> None:
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    result = assessor.assess(checklist)
    zh = result.to_dict()["findings"][0]
    en = result.to_dict(Lang.EN)["findings"][0]
    assert zh["fingerprint"] == en["fingerprint"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["title"])
    assert en["title"].isascii() and en["title"] != zh["title"]


def test_empty_checklist_never_passes(assessor: Assessor) -> None:
    for stage in ("sales", "delivery"):
        result = assessor.assess({"project": {"code": "EMPTY-1"}, "stage": stage,
                                  "as_of": "2026-11-20"})
        assert result.gate.decision is GateDecision.FAIL
        assert any(f.category.value == "information" for f in result.findings)


def test_gate_waivers_and_expiry(assessor: Assessor, example: Load) -> None:
    findings = list(assessor.assess(example("sales-risky")).findings)
    today = dt.date(2026, 11, 20)
    blocking = [f for f in findings if f.blocking]
    assert decide_gate(findings, today).decision is GateDecision.FAIL
    waived = [f.with_status(FindingStatus.WAIVED, today + dt.timedelta(days=10))
              if f.blocking else f.with_status(FindingStatus.RESOLVED) for f in findings]
    assert decide_gate(waived, today).decision is GateDecision.CONDITIONAL
    later = today + dt.timedelta(days=11)
    assert decide_gate(waived, later).decision is GateDecision.FAIL  # waiver expired
    resolved = [f.with_status(FindingStatus.RESOLVED) for f in findings]
    # a blocking finding holds the gate until its resolution is verified (issue 11)
    assert decide_gate(resolved, today).decision is GateDecision.FAIL
    verified = [f.with_status(FindingStatus.VERIFIED) for f in findings]
    assert decide_gate(verified, today).decision is GateDecision.PASS
    high = replace(blocking[0], blocking=False, severity=Severity.HIGH)
    assert decide_gate([high], today).decision is GateDecision.CONDITIONAL


def test_summary_counts_open_findings_as_the_gate_does(assessor: Assessor, example: Load) -> None:
    result = assessor.assess(example("sales-risky"))
    today = result.as_of
    waived = [f.with_status(FindingStatus.WAIVED, today + dt.timedelta(days=5))
              if f.severity is Severity.CRITICAL else f for f in result.findings]
    summary = result.regate(waived, today).to_dict()["summary"]
    assert summary["by_severity"]["critical"] == 0
    # the off-site factor, the pre-sale permit, and the EIA approval the example does not list
    # (the six permits are a closed set)
    assert summary["by_status"]["waived"] == 3
    lapsed = result.regate(waived, today + dt.timedelta(days=6)).to_dict()["summary"]
    assert lapsed["by_severity"]["critical"] == 3  # an expired waiver counts as open again


def test_items_with_the_same_identity_get_distinct_fingerprints(assessor: Assessor,
                                                               base: Base) -> None:
    checklist = base("sales")
    checklist["offsite_factors"] = [LANDFILL]
    # validation names such twins (duplicates); fingerprints must still keep them apart
    valid = assessor.validate(checklist)
    valid["offsite_factors"].append(dict(valid["offsite_factors"][0]))
    result = assessor.assess_valid(valid)
    prints = [f.fingerprint for f in result.findings if f.rule_id == "SALES-OFFSITE-001"]
    assert len(prints) == 2 and len(set(prints)) == 2
    assert len(set(result.gate.blocking)) == len(result.gate.blocking)
    checklist["offsite_factors"] = [LANDFILL]
    single = [f.fingerprint for f in assessor.assess(checklist).findings
              if f.rule_id == "SALES-OFFSITE-001"]
    assert single == prints[:1]  # the first keeps its fingerprint
