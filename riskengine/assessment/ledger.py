"""The promise ledger: sales-stage promises carried into delivery, and the finding for a gap.

A single checklist cannot show that a promise went missing between stages, so the rule engine
cannot raise this finding; the ledger does, from `rulesets/ledger.yaml` (id, texts, owner and
severity are data there) and with the core's own Finding, fingerprint and due-date functions.
Everything here is a pure function of checklists; the store reads the mentions
(`store.promises`), and the core's submission (`riskengine.submission`), which every entry
point and the scheduled audits call, judges a delivery checklist through `gaps`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import fields, validate

from riskengine.assessment.assessor import RulesetRef
from riskengine.assessment.findings import (
    Finding,
    FindingText,
    due_date,
    fingerprint,
    raise_finding,
)
from riskengine.assessment.mentions import Mention
from riskengine.errors import RulesetInvalid
from riskengine.refusals import refusal
from riskengine.rules.catalog import DEFAULT_ROOT
from riskengine.rules.files import StrictSchema, one_of, read_rule_file, texts
from riskengine.rules.model import Catalog, Due, Rule, bare_rule
from riskengine.vocabulary import MILESTONES, Category, Lang, Owner, Severity, Stage

FILE_NAME = "ledger.yaml"
_EVIDENCE = ("id", "kind", "channel", "status", "due_date")


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
        identity = self.identity(str(promise["id"]))
        return raise_finding(self.rule, policy, subject=identity, evidence=evidence,
                             texts=texts, due=due_date(self.rule.due, delivery),
                             identity=identity)


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


class _DueSchema(StrictSchema):
    milestone = fields.List(fields.String(validate=validate.OneOf(MILESTONES)), required=True)
    lead_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))


class _LedgerRuleSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    title = texts()
    category = fields.String(required=True, validate=one_of(Category))
    severity = fields.String(required=True, validate=one_of(Severity))
    blocking = fields.Boolean(required=True)
    owner = fields.String(required=True, validate=one_of(Owner))
    support = fields.List(fields.String(validate=one_of(Owner)), load_default=list)
    due = fields.Nested(_DueSchema, required=True)
    source = texts()
    message = texts()
    action = texts()


class _LedgerSchema(StrictSchema):
    ruleset = fields.String(required=True)
    version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+\.\d+$"))
    title = texts()
    ended_statuses = fields.List(fields.String(), required=True)
    rule = fields.Nested(_LedgerRuleSchema, required=True)


def load_ledger(catalog: Catalog, root: Path = DEFAULT_ROOT) -> Ledger:
    """Load `<root>/ledger.yaml`; a bad file stops startup with its path and every problem."""
    path = root / FILE_NAME
    data, content = read_rule_file(path, _LedgerSchema())
    raw = data["rule"]
    rule = bare_rule(
        id=raw["id"], ruleset_id=data["ruleset"], title=raw["title"],
        category=Category(raw["category"]), severity=Severity(raw["severity"]),
        blocking=raw["blocking"], owner=Owner(raw["owner"]),
        support=tuple(Owner(s) for s in raw["support"]),
        due=Due(tuple(raw["due"]["milestone"]), raw["due"]["lead_days"]),
        source=raw["source"], catalogue=(), for_each="promises", when={}, requires=(),
        evidence=_EVIDENCE, message=raw["message"], action=raw["action"])
    problems = []
    for lang in Lang:  # a placeholder the evidence lacks must fail here, not per request
        try:
            rule.message[lang].format_map(dict.fromkeys(rule.evidence, ""))
        except (KeyError, ValueError, IndexError) as error:
            problems.append(refusal("unknown_placeholder", lang=lang.value, error=str(error),
                                    allowed=", ".join(rule.evidence)))
    if problems:
        raise RulesetInvalid(refusal("ledger_invalid"), {str(path): problems})
    ref = RulesetRef(data["ruleset"], data["version"], hashlib.sha256(content).hexdigest()[:16])
    return Ledger(rule, ref, frozenset(data["ended_statuses"]), catalog)


def promise_lines(ledger: Ledger, mentions: Sequence[Mention],
                  gaps: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return each promise from first mention to latest status, with its gap finding (a
    tracked finding with `id` and `status`, by fingerprint) if one was raised."""
    lines = history(mentions, ledger.ended)
    for line in lines:
        gap = gaps.get(ledger.fingerprint(line["id"]))
        line["finding"] = {"id": gap.id, "status": gap.status} if gap else None
    return lines
