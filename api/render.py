"""Answer bodies: stored rows back into the contract's objects, in the requested language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask import request

from riskengine.assessment.assessor import Assessment, RulesetRef
from riskengine.assessment.findings import Finding
from riskengine.rules.catalog import Catalog, Rule, Ruleset
from riskengine.rules.model import GatePolicy
from riskengine.store import models as m
from riskengine.store.records import finding_from_record
from riskengine.store.submissions import TrackedFinding
from riskengine.vocabulary import FindingStatus, Lang, Stage


def requested_lang() -> Lang:
    """`?lang=` first, then Accept-Language; Chinese unless English is asked for."""
    given = request.args.get("lang")
    if given in set(Lang):
        return Lang(given)
    best = request.accept_languages.best_match([lang.value for lang in Lang])
    return Lang(best) if best else Lang.ZH


def stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def waiver_body(waiver: m.Waiver, today: dt.date) -> dict[str, Any]:
    return {"id": waiver.id, "justification": waiver.justification, "approver": waiver.approver,
            "expires": waiver.expires.isoformat(), "granted_by": waiver.granted_by,
            "created_at": stamp(waiver.created_at), "holds": waiver.expires >= today}


def finding_body(row: m.Finding, project_code: str, waiver: m.Waiver | None, today: dt.date,
                 lang: Lang) -> dict[str, Any]:
    """A tracked finding: its latest evaluation with its status, version, notes and waiver."""
    finding = finding_from_record(row.record).with_status(
        FindingStatus(row.status), row.waiver_expires)
    body = finding.to_dict(lang)
    body.update({
        "id": row.id, "version": row.version, "notes": row.notes, "project_code": project_code,
        "stage": row.stage, "waiver": waiver_body(waiver, today) if waiver else None,
        "overdue": finding.overdue_on(today),
    })
    return body


def assessment_body(row: m.Assessment, project_code: str, findings: Sequence[Finding],
                    tracked: Mapping[str, m.Finding | TrackedFinding],
                    waivers: Mapping[str, m.Waiver], today: dt.date, lang: Lang,
                    policy: GatePolicy, latest_number: int | None = None) -> dict[str, Any]:
    """A stored assessment, its findings carrying their current statuses, its gate decided
    today; `findings` are the row's findings in order (rebuilt, or the core's own)."""
    core = Assessment.judged(
        project_code=project_code, stage=Stage(row.stage), as_of=row.as_of,
        rulesets=tuple(RulesetRef(**r) for r in row.rulesets), findings=findings,
        today=today, policy=policy, id=row.id)
    body = core.to_dict(lang)
    for item, entry in zip(body["findings"], row.findings, strict=True):
        tracked_row = tracked[entry["finding_id"]]
        waiver = waivers.get(tracked_row.waiver_id or "")
        item.update({"id": tracked_row.id, "change": entry["change"],
                     "version": tracked_row.version, "notes": tracked_row.notes,
                     "waiver": waiver_body(waiver, today) if waiver else None})
    # The gate names its blockers by fingerprint; a person works them by tracked id.
    by_fingerprint = {item["fingerprint"]: item["id"] for item in body["findings"]}
    body["gate"]["blocking_ids"] = [by_fingerprint[f] for f in body["gate"]["blocking"]
                                    if f in by_fingerprint]
    changes: dict[str, list[str]] = {"new": [], "persisting": [], "resolved": list(row.resolved)}
    for entry in row.findings:
        ids = changes[entry["change"]]
        if entry["finding_id"] not in ids:
            ids.append(entry["finding_id"])
    body.update({
        "checklist_id": row.checklist_id, "number": row.number, "content_hash": row.content_hash,
        "gate_at_submission": row.gate_at_submission, "created_at": stamp(row.created_at),
        "superseded": latest_number is not None and latest_number > row.number,
        "changes": changes,
        "resolved": [_resolved(tracked[i], lang) for i in row.resolved if i in tracked],
    })
    return body


def _resolved(row: m.Finding | TrackedFinding, lang: Lang) -> dict[str, Any]:
    return {"id": row.id, "rule_id": row.rule_id, "fingerprint": row.fingerprint,
            "title": row.record["texts"][lang.value]["title"], "status": row.status}


def event_body(event: m.FindingEvent) -> dict[str, Any]:
    return {"at": stamp(event.at), "actor": event.actor, "action": event.action,
            "from_status": event.from_status, "to_status": event.to_status,
            "reason": event.reason, "details": event.details}


def project_body(project: m.Project, latest: Mapping[str, m.Assessment] | None = None
                 ) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": project.code, "name": project.name, "city": project.city,
        "created_at": stamp(project.created_at), "created_by": project.created_by,
        "stage": project.stage, "gate": project.gate,
        "latest_assessment_id": project.latest_assessment_id,
    }
    if latest is not None:
        body["assessments"] = {stage: {
            "id": a.id, "number": a.number, "as_of": a.as_of.isoformat(),
            "gate": a.gate_at_submission, "created_at": stamp(a.created_at)}
            for stage, a in latest.items()}
    return body


def review_body(review: m.GateReview, project_code: str, latest: Mapping[str, int]
                ) -> dict[str, Any]:
    superseded = latest.get(review.stage, 0) > review.assessment_number
    return {
        "id": review.id, "project_code": project_code, "stage": review.stage,
        "decision": review.decision, "computed_gate": review.computed_gate,
        "reviewer": review.reviewer, "comments": review.comments,
        "override_justification": review.override_justification,
        "assessment": {"id": review.assessment_id, "number": review.assessment_number,
                       "content_hash": review.content_hash},
        "audit_run": {"id": review.audit_run_id, "slot_date": _day(review.audit_run_slot),
                      "gate": review.audit_run_gate} if review.audit_run_id else None,
        "status": "superseded" if superseded else "active",
        "created_at": stamp(review.created_at),
    }


def rule_body(rule: Rule, lang: Lang) -> dict[str, Any]:
    return {
        "id": rule.id, "ruleset": rule.ruleset_id, "title": rule.title[lang],
        "category": rule.category.value, "severity": rule.severity.value,
        "blocking": rule.blocking, "owner": rule.owner.value,
        "support": [s.value for s in rule.support], "message": rule.message[lang],
        "action": rule.action[lang], "source": rule.source[lang],
        "catalogue": list(rule.catalogue), "for_each": rule.for_each,
        "due": {"milestones": list(rule.due.milestones), "lead_days": rule.due.lead_days},
    }


def ruleset_body(ruleset: Ruleset, lang: Lang) -> dict[str, Any]:
    return {"id": ruleset.id, "version": ruleset.version, "hash": ruleset.content_hash,
            "stage": ruleset.stage.value, "title": ruleset.title[lang],
            "rules": [rule_body(r, lang) for r in ruleset.rules]}


def checks_body(catalog: Catalog, lang: Lang) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in Stage:
        owners = {key: r.id for r in catalog.for_stage(stage) for key in r.checks}
        out[stage.value] = {key: {"type": spec.type.value, "description": spec.description[lang],
                                  "ruleset": owners.get(key)}
                            for key, spec in sorted(catalog.checks(stage).items())}
    return out

