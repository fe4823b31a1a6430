"""The promise ledger: sales-stage promises carried into delivery, and the finding for a gap.

A single checklist cannot show that a promise went missing between stages, so the rule engine
cannot raise this finding; the ledger does, from `rulesets/ledger.yaml` (id, texts, owner and
severity are data there) and with the core's own Finding, fingerprint and due-date functions.
Everything here is a pure function of checklists; the store reads them (`store.promises`), and
the API's submissions and the scheduled audits both judge a delivery checklist through `gaps`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from riskengine.assessment import Assessment, RulesetRef
from riskengine.catalog import DEFAULT_ROOT, Catalog, Due, Rule
from riskengine.errors import RulesetInvalid
from riskengine.findings import Finding, FindingText, due_date, fingerprint
from riskengine.gate import decide_gate
from riskengine.vocabulary import Category, Lang, Owner, Severity, Stage

FILE_NAME = "ledger.yaml"
_EVIDENCE = ("id", "kind", "channel", "status", "due_date")


@dataclass(frozen=True)
class Mention:
    """A promise as one checklist states it."""

    checklist_id: str
    stage: str
    number: int
    as_of: str
    promise: Mapping[str, Any]


@dataclass(frozen=True)
class Ledger:
    rule: Rule
    ref: RulesetRef
    ended: frozenset[str]
    catalog: Catalog

    def identity(self, promise_id: str) -> str:
        return f"promises/{promise_id}"

    def fingerprint(self, promise_id: str) -> str:
        return fingerprint(self.rule.id, self.identity(promise_id))

    def gaps(self, earlier: Iterable[Mention], delivery: Mapping[str, Any]) -> list[Finding]:
        """Return a finding for each live sales promise the delivery checklist leaves out."""
        latest: dict[str, Mention] = {}
        for mention in earlier:
            if mention.stage == Stage.SALES.value:
                latest[str(mention.promise["id"])] = mention
        carried = {str(p.get("id")) for p in delivery.get("promises") or []}
        return [self.finding(m.promise, delivery) for pid, m in latest.items()
                if pid not in carried and m.promise.get("status") not in self.ended]

    def finding(self, promise: Mapping[str, Any], delivery: Mapping[str, Any]) -> Finding:
        evidence = {k: promise.get(k) for k in _EVIDENCE}
        policy = self.catalog.policy
        texts = {}
        for lang in Lang:
            values = {k: policy.label("kind", str(v), lang) if k != "id" else v
                      for k, v in evidence.items()}
            texts[lang] = FindingText(
                title=self.rule.title[lang], message=self.rule.message[lang].format_map(values),
                action=self.rule.action[lang], source=self.rule.source[lang])
        return Finding(
            rule_id=self.rule.id, ruleset=self.rule.ruleset_id, category=self.rule.category,
            severity=self.rule.severity, blocking=self.rule.blocking,
            subject=self.identity(str(promise["id"])), evidence=evidence, owner=self.rule.owner,
            support=self.rule.support, due_date=due_date(self.rule.due, delivery),
            escalation=policy.escalation[self.rule.severity],
            fingerprint=self.fingerprint(str(promise["id"])), texts=texts)


def mentions_in(checklist_id: str, stage: str, number: int, as_of: str,
                checklist: Mapping[str, Any]) -> list[Mention]:
    """Return the promises one checklist states, as mentions."""
    return [Mention(checklist_id, stage, number, as_of, promise)
            for promise in checklist.get("promises") or []]


def history(mentions: Sequence[Mention], ended: frozenset[str]) -> list[dict[str, Any]]:
    """Return each promise from its first mention to its latest status, with evidence."""
    lines: dict[str, dict[str, Any]] = {}
    for mention in mentions:
        promise = mention.promise
        where = {"checklist_id": mention.checklist_id, "stage": mention.stage,
                 "number": mention.number, "as_of": mention.as_of}
        line = lines.setdefault(str(promise["id"]), {
            "id": str(promise["id"]), "first_mentioned": where, "history": []})
        line["history"].append({**where, **{k: promise.get(k) for k in (
            "status", "evidence", "due_date", "in_contract", "agreement_signed", "funded")}})
        line.update({k: promise.get(k) for k in ("kind", "channel", "status", "evidence",
                                                 "due_date", "description")})
        line["latest"] = where
    for line in lines.values():
        line["ended"] = line["status"] in ended
        line["in_delivery"] = any(h["stage"] == Stage.DELIVERY.value for h in line["history"])
    return list(lines.values())


def _rule(**values: Any) -> Rule:
    # The core's Rule grows fields for the rule engine; those mean nothing for the ledger.
    unused: dict[str, Any] = {f.name: None for f in fields(Rule) if f.name not in values}
    return Rule(**values, **unused)


def load_ledger(catalog: Catalog, root: Path = DEFAULT_ROOT) -> Ledger:
    """Load `<root>/ledger.yaml`; a bad file stops startup with its path and the problem."""
    path = root / FILE_NAME
    try:
        content = path.read_bytes()
        data = yaml.safe_load(content)
        raw = data["rule"]
        rule = _rule(
            id=raw["id"], ruleset_id=data["ruleset"], title=raw["title"],
            category=Category(raw["category"]), severity=Severity(raw["severity"]),
            blocking=bool(raw["blocking"]), owner=Owner(raw["owner"]),
            support=tuple(Owner(s) for s in raw.get("support", ())),
            due=Due(tuple(raw["due"]["milestone"]), int(raw["due"]["lead_days"])),
            source=raw["source"], catalogue=(), for_each="promises", when={}, requires=(),
            evidence=_EVIDENCE, message=raw["message"], action=raw["action"])
        for text in (rule.title, rule.message, rule.action, rule.source):
            missing = [lang.value for lang in Lang if not text.get(lang)]
            if missing:
                raise ValueError(f"texts lack {missing}")
        for lang in Lang:  # a placeholder the evidence lacks must fail here, not per request
            rule.message[lang].format_map(dict.fromkeys(rule.evidence, ""))
        ref = RulesetRef(data["ruleset"], str(data["version"]),
                         hashlib.sha256(content).hexdigest()[:16])
        return Ledger(rule, ref, frozenset(data["ended_statuses"]), catalog)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise RulesetInvalid("the promise ledger file is invalid", {str(path): [repr(error)]}
                             ) from error


def add_gaps(assessment: Assessment, ledger: Ledger, gaps: Sequence[Finding]) -> Assessment:
    """Return a delivery assessment that also judged the ledger: its gaps, its ruleset version."""
    findings = assessment.findings + tuple(gaps)
    return replace(assessment, findings=findings, rulesets=assessment.rulesets + (ledger.ref,),
                   gate=decide_gate(findings, assessment.as_of))
