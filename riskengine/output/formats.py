"""Render an assessment for people (table) and for tools (JSON, SARIF 2.1.0, JUnit XML)."""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from itertools import groupby
from typing import Any

from riskengine.assessment.assessor import Assessment
from riskengine.assessment.findings import place_of
from riskengine.output.reports import term
from riskengine.rules.catalog import Catalog
from riskengine.vocabulary import Lang

Style = Callable[..., str]
SEVERITY_COLOURS = {"critical": "red", "high": "yellow", "medium": "cyan", "low": "white"}
SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_HEAD = {Lang.ZH: ("项目", "阶段", "评估日", "闸口", "责任部门", "整改期限", "证据", "措施",
                   "无风险发现", "阻断"),
         Lang.EN: ("Project", "Stage", "As of", "Gate", "Owner", "Due", "Evidence", "Action",
                   "No findings", "blocking")}


def render_json(assessment: Assessment, lang: Lang) -> str:
    return json.dumps(assessment.to_dict(lang), ensure_ascii=False, indent=2)


def _plain(text: str, **_: Any) -> str:
    return text


def _padded(text: str, width: int) -> str:
    """Pad to a column `width` counted in terminal cells (a Chinese character takes two)."""
    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cells)


def render_table(assessment: Assessment, catalog: Catalog, lang: Lang,
                 style: Style = _plain) -> str:
    """Return findings grouped by owner, then severity, for reading in a terminal: every word a
    person reads in `lang` (stage, gate, severity and owner by their labels, no codes)."""
    data = assessment.to_dict(lang)
    head = _HEAD[lang]
    policy = catalog.policy
    decision = data["gate"]["decision"]
    colour = {"fail": "red", "conditional": "yellow", "pass": "green"}[decision]
    stage = policy.stages[assessment.stage].label[lang]
    lines = [f"{head[0]}: {data['project_code']}   {head[1]}: {stage}   "
             f"{head[2]}: {data['as_of']}   {head[3]}: " + style(term("gate", decision, lang),
                                                                   fg=colour, bold=True)]
    counts = data["summary"]["by_severity"]
    lines.append("  ".join(style(f"{term('severity', k, lang)} {v}", fg=SEVERITY_COLOURS[k])
                           for k, v in counts.items()))
    if not data["findings"]:
        lines.append(head[8])
    rank = policy.rank
    width = max(len(term("severity", s.value, lang)) for s in rank) * (2 if lang is Lang.ZH else 1)
    ordered = sorted(data["findings"], key=lambda f: (f["owner"], -rank[f["severity"]]))
    for owner, group in groupby(ordered, key=lambda f: f["owner"]):
        lines.append("")
        lines.append(style(f"■ {head[4]}: {policy.label('owner', owner, lang)}", bold=True))
        for finding in group:
            severity = style(f"[{_padded(term('severity', finding['severity'], lang), width)}]",
                             fg=SEVERITY_COLOURS[finding["severity"]])
            block = f" ⛔{head[9]}" if finding["blocking"] else ""
            lines.append(f"  {severity}{block} {finding['rule_id']}  {finding['title']}")
            where = place_of(catalog, assessment.stage, finding["subject"])[lang.value]
            lines.append(f"      {where}: {finding['message']}")
            lines.append(f"      {head[7]}: {finding['action']}  ({head[5]} {finding['due_date']})")
    return "\n".join(lines)


def render_sarif(assessment: Assessment, catalog: Catalog, lang: Lang, uri: str) -> str:
    """Return SARIF 2.1.0: one run, the stage's rules as the driver's rules, findings as results."""
    rules = [r for rs in catalog.for_stage(assessment.stage) for r in rs.rules]
    index = {r.id: i for i, r in enumerate(rules)}
    driver = {
        "name": "riskengine", "informationUri": "https://example.invalid/riskengine",
        "rules": [{
            "id": r.id, "name": r.id.replace("-", ""),
            "shortDescription": {"text": r.title[lang]},
            "fullDescription": {"text": f"{r.title[lang]} — {r.source[lang]}"},
            "help": {"text": r.action[lang]},
            "defaultConfiguration": {"level": SARIF_LEVELS[r.severity.value]},
            "properties": {"category": r.category.value, "severity": r.severity.value,
                           "owner": r.owner.value, "blocking": r.blocking},
        } for r in rules],
    }
    results = []
    for finding in assessment.to_dict(lang)["findings"]:
        results.append({
            "ruleId": finding["rule_id"], "ruleIndex": index[finding["rule_id"]],
            "level": SARIF_LEVELS[finding["severity"]],
            "message": {"text": f"{finding['title']}: {finding['message']}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri}},
                "logicalLocations": [{"fullyQualifiedName": finding["subject"],
                                      "kind": "member"}]}],
            "partialFingerprints": {"riskengineFingerprint/v1": finding["fingerprint"]},
            "properties": {k: finding[k] for k in (
                "category", "severity", "blocking", "owner", "support", "due_date",
                "escalation", "evidence", "action", "status")},
        })
    run = {"tool": {"driver": driver}, "results": results,
           "properties": {"gate": assessment.gate.to_dict(), "stage": assessment.stage.value,
                          "project_code": assessment.project_code}}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]},
                      ensure_ascii=False, indent=2)


def render_junit(assessment: Assessment, catalog: Catalog, lang: Lang) -> str:
    """Return JUnit XML: a test case per rule (per finding when it fired), failures = findings."""
    findings = assessment.to_dict(lang)["findings"]
    suites = ET.Element("testsuites", name=f"riskengine {assessment.project_code}")
    total_tests = total_failures = 0
    for ruleset in catalog.for_stage(assessment.stage):
        suite = ET.SubElement(suites, "testsuite", name=ruleset.id)
        tests = failures = 0
        for rule in ruleset.rules:
            fired = [f for f in findings if f["rule_id"] == rule.id]
            for finding in fired or [None]:
                tests += 1
                name = rule.id if finding is None else f"{rule.id} {finding['subject']}"
                case = ET.SubElement(suite, "testcase", classname=ruleset.id, name=name)
                if finding is not None:
                    failures += 1
                    failure = ET.SubElement(case, "failure", type=finding["severity"],
                                            message=f"{finding['title']}: {finding['message']}")
                    failure.text = json.dumps({k: finding[k] for k in (
                        "subject", "evidence", "owner", "action", "due_date", "blocking",
                        "fingerprint")}, ensure_ascii=False, indent=1)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        total_tests, total_failures = total_tests + tests, total_failures + failures
    suites.set("tests", str(total_tests))
    suites.set("failures", str(total_failures))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)
