"""Findings and assessments as stored JSON records, and the content hash that freezes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from riskengine.assessment.assessor import RulesetRef
from riskengine.assessment.findings import Finding, FindingText
from riskengine.vocabulary import Category, FindingStatus, Lang, Owner, Severity


def finding_record(finding: Finding) -> dict[str, Any]:
    """Return everything an evaluation said about a finding, in both languages."""
    return {
        "rule_id": finding.rule_id, "ruleset": finding.ruleset,
        "category": finding.category.value, "severity": finding.severity.value,
        "blocking": finding.blocking, "subject": finding.subject,
        "evidence": dict(finding.evidence), "owner": finding.owner.value,
        "support": [s.value for s in finding.support], "due_date": finding.due_date.isoformat(),
        "escalation": finding.escalation, "fingerprint": finding.fingerprint,
        "texts": {lang.value: {"title": t.title, "message": t.message, "action": t.action,
                               "source": t.source}
                  for lang in finding.texts for t in (finding.texts[lang],)},
        "extra": dict(finding.extra),
        **({"effective_on": finding.effective_on.isoformat(), "in_force": finding.in_force}
           if finding.effective_on else {}),
    }


def finding_from_record(record: Mapping[str, Any]) -> Finding:
    """Rebuild the core's Finding from its record (status open; the caller sets the stored one)."""
    return Finding(
        rule_id=record["rule_id"], ruleset=record["ruleset"],
        category=Category(record["category"]), severity=Severity(record["severity"]),
        blocking=bool(record["blocking"]), subject=record["subject"],
        evidence=record["evidence"], owner=Owner(record["owner"]),
        support=tuple(Owner(s) for s in record["support"]),
        due_date=dt.date.fromisoformat(record["due_date"]), escalation=record["escalation"],
        fingerprint=record["fingerprint"],
        texts={Lang(lang): FindingText(**text) for lang, text in record["texts"].items()},
        extra=record.get("extra") or {},
        effective_on=dt.date.fromisoformat(record["effective_on"])
        if record.get("effective_on") else None,
        in_force=bool(record.get("in_force", True)))


def content_hash(checklist_sha256: str, rulesets: Sequence[RulesetRef],
                 records: Iterable[Mapping[str, Any]]) -> str:
    """Hash what an assessment judged: the checklist, the rulesets' versions, the findings."""
    frozen = {
        "checklist": checklist_sha256,
        "rulesets": [r.to_dict() for r in rulesets],
        "findings": sorted(records, key=lambda r: (r["fingerprint"], r["rule_id"], r["subject"])),
    }
    text = json.dumps(frozen, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def with_statuses(entries: Iterable[Mapping[str, Any]], rows: Mapping[str, Any]) -> list[Finding]:
    """Rebuild an assessment's findings carrying their tracked findings' current statuses.

    `rows` maps a finding id to an object with `status` and `waiver_expires`.
    """
    findings = []
    for entry in entries:
        row = rows[entry["finding_id"]]
        findings.append(finding_from_record(entry).with_status(
            FindingStatus(row.status), row.waiver_expires))
    return findings
