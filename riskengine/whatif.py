"""What-if before release: every project's latest checklist of each stage judged by the
current rulesets and by a draft, side by side, and what would change.

Read-only: nothing is stored. Each checklist is judged as a submission is (validated, assessed,
a delivery one also by the promise ledger against the project's sales promises), fresh: every
finding open, the gate decided on the checklist's own date, so the difference is the rules'
alone. Many projects spread over processes, each with both catalogues loaded once.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment.assessor import Assessor
from riskengine.assessment.findings import Finding
from riskengine.assessment.mentions import Mention
from riskengine.errors import Invalid, RiskEngineError, RulesetInvalid, Words
from riskengine.refusals import refusal
from riskengine.releases import unforced
from riskengine.store.releases import all_releases
from riskengine.submission import Submissions
from riskengine.vocabulary import GateDecision, Stage

_ORDER = {GateDecision.PASS.value: 0, GateDecision.CONDITIONAL.value: 1,
          GateDecision.FAIL.value: 2}
_COMPARED = ("severity", "blocking", "owner", "due_date", "in_force")
REFUSED = "refused"  # the gate of a checklist a catalogue refuses (its checks keys, say)


@dataclass(frozen=True)
class Candidate:
    """One stored checklist to judge twice (picklable: it crosses to worker processes)."""

    code: str
    name: str | None
    city: str | None
    stage: str
    checklist_id: str
    raw_text: str
    earlier: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class FindingChange:
    change: str  # added | removed | changed
    rule_id: str
    subject: str
    fingerprint: str
    title: Mapping[str, str]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "rule_id": self.rule_id, "subject": self.subject,
                "fingerprint": self.fingerprint, "title": dict(self.title),
                "before": dict(self.before) if self.before is not None else None,
                "after": dict(self.after) if self.after is not None else None}


@dataclass(frozen=True)
class ProjectOutcome:
    code: str
    name: str | None
    city: str | None
    stage: str
    checklist_id: str
    gate_before: str
    gate_after: str
    changes: tuple[FindingChange, ...]
    problems: Mapping[str, Any] = field(default_factory=dict)  # why a side refused it

    @property
    def gate_changed(self) -> bool:
        return self.gate_before != self.gate_after

    @property
    def worse(self) -> bool:
        return _rank(self.gate_after) > _rank(self.gate_before)

    def to_dict(self) -> dict[str, Any]:
        return {"project_code": self.code, "name": self.name, "city": self.city,
                "stage": self.stage, "checklist_id": self.checklist_id,
                "gate": {"before": self.gate_before, "after": self.gate_after,
                         "changed": self.gate_changed},
                "changes": [c.to_dict() for c in self.changes],
                "problems": dict(self.problems)}


@dataclass(frozen=True)
class WhatIf:
    projects: tuple[ProjectOutcome, ...]

    def summary(self) -> dict[str, Any]:
        """How many projects change gate, and which rules move them."""
        causes: Counter[str] = Counter()
        touched: Counter[str] = Counter()
        for outcome in self.projects:
            rules = {c.rule_id for c in outcome.changes}
            touched.update(rules)
            if outcome.gate_changed:
                causes.update(_causes(outcome))
        changed = [p for p in self.projects if p.gate_changed]
        return {
            "projects": len(self.projects),
            "gate_changed": len(changed),
            "worse": sum(1 for p in changed if p.worse),
            "better": sum(1 for p in changed if not p.worse),
            "refused_by_draft": sum(1 for p in self.projects if p.gate_after == REFUSED),
            "rules": [{"rule_id": rule, "projects_changed": touched[rule],
                       "gates_moved": causes[rule]}
                      for rule in sorted(touched, key=lambda r: (-causes[r], -touched[r], r))],
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "projects": [p.to_dict() for p in self.projects]}


def _rank(gate: str) -> int:
    return _ORDER.get(gate, 3)  # a refused checklist ranks below fail: nothing can pass


def _causes(outcome: ProjectOutcome) -> set[str]:
    """The rules whose changes weigh on the gate's move: for a worse gate the findings added
    or made heavier, for a better one those removed or made lighter."""
    weighed = set()
    for change in outcome.changes:
        side = change.after if outcome.worse else change.before
        if side is not None and side.get("in_force", True) and (
                side.get("blocking") or side.get("severity") in ("critical", "high")):
            weighed.add(change.rule_id)
    return weighed


def _shape(finding: Finding) -> dict[str, Any]:
    return {"severity": finding.severity.value, "blocking": finding.blocking,
            "owner": finding.owner.value, "due_date": finding.due_date.isoformat(),
            "in_force": finding.in_force}


def diff(before: Sequence[Finding], after: Sequence[Finding]) -> list[FindingChange]:
    """The findings added, removed and changed (severity, blocking, owner, due date, in
    force) between two judgements of one checklist, matched by fingerprint."""
    old = {f.fingerprint: f for f in before}
    new = {f.fingerprint: f for f in after}
    out: list[FindingChange] = []
    for print_, finding in new.items():
        titles = {lang.value: t.title for lang, t in finding.texts.items()}
        if print_ not in old:
            out.append(FindingChange("added", finding.rule_id, finding.subject, print_, titles,
                                     None, _shape(finding)))
        elif _shape(old[print_]) != _shape(finding):
            out.append(FindingChange("changed", finding.rule_id, finding.subject, print_,
                                     titles, _shape(old[print_]), _shape(finding)))
    for print_, finding in old.items():
        if print_ not in new:
            titles = {lang.value: t.title for lang, t in finding.texts.items()}
            out.append(FindingChange("removed", finding.rule_id, finding.subject, print_,
                                     titles, _shape(finding), None))
    return sorted(out, key=lambda c: (c.change, c.rule_id, c.subject))


def _judge(submissions: Submissions, candidate: Candidate
           ) -> tuple[str, tuple[Finding, ...], Mapping[str, Any]]:
    try:
        received = submissions.receive(json.loads(candidate.raw_text), candidate.raw_text)
        assessment = submissions.judge(received, candidate.earlier)
    except RiskEngineError as error:
        return REFUSED, (), {"code": error.code, "message": error.message,
                             "details": error.details}
    return assessment.gate.decision.value, assessment.findings, {}


def compare_one(current: Submissions, draft: Submissions, candidate: Candidate
                ) -> ProjectOutcome:
    """Judge one checklist by both catalogues and say what changes."""
    gate_before, before, _ = _judge(current, candidate)
    gate_after, after, problems = _judge(draft, candidate)
    return ProjectOutcome(candidate.code, candidate.name, candidate.city, candidate.stage,
                          candidate.checklist_id, gate_before, gate_after,
                          tuple(diff(before, after)), problems)


# --- many projects, over processes -----------------------------------------------------------

# A worker process's two catalogues, loaded once by the pool's initialiser.
_PAIR: tuple[Submissions, Submissions] | None = None


def _pair(current_root: str, draft_root: str) -> tuple[Submissions, Submissions]:
    return (Submissions.of(Assessor.from_path(Path(current_root)), Path(current_root)),
            Submissions.of(Assessor.from_path(Path(draft_root)), Path(draft_root)))


def _load(current_root: str, draft_root: str) -> None:
    global _PAIR
    _PAIR = _pair(current_root, draft_root)


def _one(candidate: Candidate) -> ProjectOutcome:
    assert _PAIR is not None, "the worker was not initialised"
    return compare_one(*_PAIR, candidate)


def compare(current_root: Path, draft_root: Path, candidates: Sequence[Candidate],
            workers: int = 1, progress: Callable[[int], None] | None = None) -> WhatIf:
    """Judge every candidate by the rulesets at both roots; `workers` > 1 spreads them over
    processes (each loads both catalogues once); `progress(n)` after each n done."""
    if workers <= 1 or len(candidates) < 2:
        return compare_loaded(*_pair(str(current_root), str(draft_root)), candidates, progress)
    # spawn, not fork: a forked durable_rules engine shares the parent's C state
    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(50, len(candidates) // (workers * 4) or 1))
    with context.Pool(workers, _load, (str(current_root), str(draft_root))) as pool:
        return WhatIf(tuple(_counted(pool.imap(_one, candidates, chunk), progress)))


def compare_loaded(current: Submissions, draft: Submissions, candidates: Sequence[Candidate],
                   progress: Callable[[int], None] | None = None) -> WhatIf:
    """Judge every candidate in this process with catalogues already loaded."""
    return WhatIf(tuple(_counted((compare_one(current, draft, c) for c in candidates),
                                 progress)))


def _counted(results: Iterable[ProjectOutcome], progress: Callable[[int], None] | None
             ) -> Iterator[ProjectOutcome]:
    for outcome in results:
        if progress is not None:
            progress(1)
        yield outcome


# Where a draft file may go: a stage's ruleset (not its examples' base) or a policy file.
_DRAFT_NAME = re.compile(r"(?:(sales|delivery)/[a-z][a-z0-9_]*(?:\.test)?|policy|ledger|audit)"
                         r"\.yaml\Z")


def write_draft(current_root: Path, files: Mapping[str, str], into: Path) -> Path:
    """Lay a draft out at `into`: the current rulesets with `files` (relative name → YAML
    text) over them; a name outside the ruleset layout is refused (Invalid)."""
    bad = {name: [refusal("draft_file_names")]
           for name in files if not _DRAFT_NAME.match(name)}
    if bad:
        raise Invalid(refusal("draft_outside_layout"), bad)
    shutil.copytree(current_root, into, dirs_exist_ok=True)
    for name, text in files.items():
        (into / name).write_text(text, encoding="utf-8")
    return into


def candidates_of(stored: Iterable[Any], earlier: Callable[[int], Sequence[Mention]]
                  ) -> list[Candidate]:
    """Candidates from the store's latest checklists; `earlier(project_id)` gives a delivery
    checklist's sales promises (what the ledger judges it against)."""
    return [Candidate(s.code, s.name, s.city, s.stage, s.checklist_id, s.raw_text,
                      tuple(earlier(s.project_id)) if s.stage == Stage.DELIVERY.value else ())
            for s in stored]


def load_draft(root: Path) -> Submissions:
    """Load a draft laid out by `write_draft`; one that does not load is refused (Invalid),
    every problem keyed by the draft's own file names."""
    try:
        return Submissions.of(Assessor.from_path(root), root)
    except RulesetInvalid as error:
        prefix = f"{root}/"
        raise Invalid(refusal("draft_does_not_load"), {
            key.replace(prefix, ""): [_Unrooted(p, prefix) for p in problems]
            for key, problems in error.said_details.items()}) from error


@dataclass(frozen=True)
class _Unrooted:
    """A draft's problem said without the draft's temporary directory (its own file names)."""

    problem: Any
    prefix: str

    def say(self, lang: str) -> str:
        said = self.problem.say(lang) if isinstance(self.problem, Words) else str(self.problem)
        return said.replace(self.prefix, "")


def refuse_unforcing(session: Session, draft: Submissions) -> None:
    """Refuse a draft that dates a rule already in force in a stored release (Invalid)."""
    problems = unforced(draft.assessor.catalog, all_releases(session))
    if problems:
        raise Invalid(refusal("draft_suspends_rules"), problems)
