"""Turn engine matches into findings: texts, evidence, owners, due date, escalation, fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from riskengine.assessment.facts import FactSet, Subject
from riskengine.rules.compiler import member_path
from riskengine.rules.engine import Match
from riskengine.rules.model import Catalog, Due, Policy, Rule, Ruleset
from riskengine.vocabulary import (
    ACTIVE_STATUSES,
    Category,
    FindingStatus,
    Lang,
    Owner,
    Severity,
    Stage,
)

_MISSING = object()


@dataclass(frozen=True)
class FindingText:
    title: str
    message: str
    action: str
    source: str


@dataclass(frozen=True)
class Finding:
    rule_id: str
    ruleset: str
    category: Category
    severity: Severity
    blocking: bool
    subject: str
    evidence: Mapping[str, Any]
    owner: Owner
    support: tuple[Owner, ...]
    due_date: dt.date
    escalation: str
    fingerprint: str
    texts: Mapping[Lang, FindingText]
    status: FindingStatus = FindingStatus.OPEN
    waiver_expires: dt.date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    effective_on: dt.date | None = None  # the rule's, when it has one
    in_force: bool = True  # False: reported, but not counted toward the gate yet

    def with_status(self, status: FindingStatus, waiver_expires: dt.date | None = None
                    ) -> Finding:
        if status is self.status and waiver_expires == self.waiver_expires:
            return self  # frozen: the same finding (a re-submission's usual case)
        return replace(self, status=status, waiver_expires=waiver_expires)

    def waiver_holds(self, today: dt.date) -> bool:
        """Whether it is waived by a waiver that has not expired by `today`."""
        return (self.status is FindingStatus.WAIVED and self.waiver_expires is not None
                and self.waiver_expires >= today)

    def open_on(self, today: dt.date) -> bool:
        """Whether it counts as open on `today`: worked on, or waived by a lapsed waiver."""
        return self.status in ACTIVE_STATUSES or (
            self.status is FindingStatus.WAIVED and not self.waiver_holds(today))

    def overdue_on(self, today: dt.date) -> bool:
        return self.due_date < today and self.open_on(today)

    def to_dict(self, lang: Lang = Lang.ZH) -> dict[str, Any]:
        """Return the finding as the contract's JSON object, texts in `lang`."""
        text = self.texts[lang]
        # `_value_`: the enums' plain strings without the Enum property's cost per access
        body = {
            "rule_id": self.rule_id, "ruleset": self.ruleset,
            "category": self.category._value_, "severity": self.severity._value_,
            "blocking": self.blocking, "title": text.title, "message": text.message,
            "subject": self.subject, "evidence": dict(self.evidence),
            "owner": self.owner._value_, "support": [s._value_ for s in self.support],
            "action": text.action, "due_date": self.due_date.isoformat(),
            "escalation": self.escalation, "source": text.source,
            "fingerprint": self.fingerprint, "status": self.status._value_,
        }
        if self.extra:
            body.update(self.extra)
        if self.effective_on is not None:
            body.update(self._in_force())
        return body

    def _in_force(self) -> dict[str, Any]:
        if self.effective_on is None:
            return {}
        return {"effective_on": self.effective_on.isoformat(), "in_force": self.in_force}


def raise_finding(rule: Rule, policy: Policy, *, subject: str, evidence: Mapping[str, Any],
                  texts: Mapping[Lang, FindingText], due: dt.date, identity: str,
                  category: Category | None = None, print_rule: str | None = None,
                  as_of: dt.date | None = None) -> Finding:
    """The one factory of findings, for the rules, the promise ledger and the audits: the
    rule's severity, owners and blocking flag, the policy's escalation, a stable fingerprint
    of (`print_rule` or the rule's id, the subject's identity)."""
    return Finding(
        rule_id=rule.id, ruleset=rule.ruleset_id, category=category or rule.category,
        severity=rule.severity, blocking=rule.blocking, subject=subject, evidence=evidence,
        owner=rule.owner, support=rule.support, due_date=due,
        escalation=policy.escalation[rule.severity],
        fingerprint=fingerprint(print_rule or rule.id, identity), texts=texts,
        effective_on=rule.effective_on,
        in_force=as_of is None or rule.in_force_on(as_of))


def sort_findings(findings: Iterable[Finding], policy: Policy) -> list[Finding]:
    """Return findings in the one order every output uses (`Policy.sort_key`)."""
    return sorted(findings, key=policy.sort_key)


def fingerprint(rule_id: str, subject_identity: str) -> str:
    """Return the stable id of a finding: the same rule on the same subject, whatever the order."""
    return hashlib.sha256(f"{rule_id}|{subject_identity}".encode()).hexdigest()[:24]


def _owner_of(subject: Subject, path: str) -> tuple[str, str]:
    """Return the path and identity of a missing fact at the part of the checklist owning it:
    a milestone belongs to the checklist, an `inspection.*` field to the defect's inspection,
    so one missing fact is one finding however many items the rule looked at."""
    if path.startswith("count_by."):  # a member of a closed set the checklist does not list
        _, list_name, member = path.split(".", 2)
        return f"{list_name}/{member}", f"{list_name}/{member}"
    if subject.path == "checklist" or path == "as_of" or path.startswith("milestones."):
        return path, path
    if path.startswith("inspection.") and ".defects[" in subject.path:
        parent_path = subject.path.split(".defects[", 1)[0]
        parent_identity = subject.identity.rsplit("/", 2)[0]
        field_name = path.removeprefix("inspection.")
        return f"{parent_path}.{field_name}", f"{parent_identity}.{field_name}"
    return f"{subject.path}.{path}", f"{subject.identity}.{path}"


def due_date(due: Due, checklist: Mapping[str, Any]) -> dt.date:
    """Return the earliest present milestone of `due` minus its lead days, never before as_of."""
    as_of = dt.date.fromisoformat(str(checklist["as_of"]))
    milestones = checklist.get("milestones") or {}
    present = [dt.date.fromisoformat(str(milestones[m])) for m in due.milestones
               if milestones.get(m)]
    if not present:
        return as_of
    # Counted in day numbers: a milestone in the first days of year 1 minus the lead falls
    # before the calendar begins, which date arithmetic refuses; it is before as_of anyway.
    day = min(present).toordinal() - due.lead_days
    return max(dt.date.fromordinal(min(max(day, 1), dt.date.max.toordinal())), as_of)


class _Quoted:
    """A quoted value: `{kind:label}` prints its label; booleans and lists read naturally."""

    __slots__ = ("value", "policy", "lang")

    def __init__(self, value: Any, policy: Policy, lang: Lang) -> None:
        self.value, self.policy, self.lang = value, policy, lang

    def __getattr__(self, name: str) -> _Quoted:
        # `{milestones.contract_delivery_date}` when the checklist has no milestones at all:
        # a path under a missing value is missing too, and prints "—" (never a crash).
        if name in _Quoted.__slots__ or name.startswith("__"):
            raise AttributeError(name)
        return _Quoted(None, self.policy, self.lang)

    def __format__(self, spec: str) -> str:
        return quote(self.value, spec, self.policy, self.lang)


_YES_NO = {Lang.ZH: ("否", "是"), Lang.EN: ("no", "yes")}


def quote(value: Any, spec: str, policy: Policy, lang: Lang) -> str:
    """Print a value in a text: a text given per language in `lang`, a missing value as "—",
    `label` as the vocabulary's label, booleans and lists as a person reads them."""
    if type(value) is str and not spec:
        return value  # the usual case, first
    if isinstance(value, dict):  # a text given per language
        value = value.get(lang.value)
    if value is None:
        return "—"
    if spec == "label":
        return policy.label("kind", str(value), lang)
    if value is True or value is False:
        return _YES_NO[lang][value]
    if isinstance(value, list):
        return ", ".join(policy.label("kind", str(v), lang) for v in value)
    return format(value, spec)


class _Values(dict[str, Any]):
    """format_map's table: `{checks.x}` reads through attributes, unknown names print "—"."""

    def __init__(self, flat: Mapping[str, Any], policy: Policy, lang: Lang) -> None:
        super().__init__()
        self.policy, self.lang = policy, lang
        for path, value in flat.items():
            head, _, rest = path.partition(".")
            if rest:
                branch = self.get(head)
                if not isinstance(branch, _Branch):
                    branch = self[head] = _Branch(policy, lang)
                branch.add(rest, value)
            else:
                self[head] = _Quoted(value, policy, lang)

    def __missing__(self, key: str) -> _Quoted:
        return _Quoted(None, self.policy, self.lang)


class _Branch:
    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.__dict__["values"] = _Values({}, policy, lang)

    def add(self, path: str, value: Any) -> None:
        head, _, rest = path.partition(".")
        values = self.__dict__["values"]
        if rest:
            branch = values.get(head)
            if not isinstance(branch, _Branch):
                branch = values[head] = _Branch(values.policy, values.lang)
            branch.add(rest, value)
        else:
            values[head] = _Quoted(value, values.policy, values.lang)

    def __getattr__(self, name: str) -> Any:
        return self.__dict__["values"][name]


def render(template: str, values: Mapping[str, Any], policy: Policy, lang: Lang) -> str:
    """Fill `{path}` and `{path:label}` from values (flat dotted keys) in `lang`."""
    return template.format_map(_Values(values, policy, lang))


class Template:
    """A text with `{path}` and `{path:label}` places, parsed once: its literal runs and the
    values they quote (flat dotted keys), filled as `render` fills them."""

    __slots__ = ("text", "pattern", "places")

    def __init__(self, text: str) -> None:
        self.text = text
        self.places: tuple[tuple[str, str], ...] = ()
        self.pattern = ""  # the literal runs with `%s` at each place, for one `%` in C
        if "{" in text:
            parsed = list(string.Formatter().parse(text))
            self.places = tuple((name, spec or "") for _, name, spec, _ in parsed
                                if name is not None)
            self.pattern = "".join(literal.replace("%", "%%") + ("%s" if name is not None else "")
                                   for literal, name, _, _ in parsed)

    def fill(self, values: Mapping[str, Any], policy: Policy, lang: Lang) -> str:
        if not self.pattern:
            return self.text
        return self.pattern % tuple([quote(values.get(name), spec, policy, lang)
                                     for name, spec in self.places])


def _nested(keys: Iterable[str]) -> bool:
    """Whether one key is a dotted prefix of another: `render` nests such values (a later key
    replacing an earlier one), so flat lookups would read them differently."""
    ordered = sorted(keys)
    return any(b.startswith(a + ".") for a, b in zip(ordered, ordered[1:], strict=False))


class _Texts(Mapping[Lang, FindingText]):
    """A finding's texts, rendered per language on first use (most callers need one)."""

    def __init__(self, templates: Mapping[str, Mapping[str, Template]],
                 values: Mapping[str, Any], source: Mapping[str, str], policy: Policy,
                 nested: bool = False) -> None:
        self.templates, self.quoted, self.source, self.policy = templates, values, source, policy
        self.nested = nested  # some value key is a dotted prefix of another (`_nested`)
        self.done: dict[Lang, FindingText] = {}

    def __getitem__(self, lang: Lang) -> FindingText:
        text = self.done.get(lang)
        if text is None:
            values = self.quoted
            fill: dict[str, str] = {}
            for key, by_lang in self.templates.items():
                template = by_lang[lang]
                fill[key] = template.text if not template.pattern else (
                    template.text.format_map(_Values(values, self.policy, lang))
                    if self.nested else template.fill(values, self.policy, lang))
            text = self.done[lang] = FindingText(fill["title"], fill["message"], fill["action"],
                                                 self.source[lang])
        return text

    def __iter__(self) -> Iterator[Lang]:
        return iter(Lang)

    def __len__(self) -> int:
        return len(Lang)


def _templates(texts: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Template]]:
    return {key: {lang: Template(text[lang]) for lang in Lang} for key, text in texts.items()}


class _RuleParts:
    """What every finding of one rule shares, prepared once per catalogue: its texts parsed,
    its parameters as values to quote, its evidence paths split."""

    __slots__ = ("rule", "params", "templates", "evidence", "nested")

    def __init__(self, rule: Rule, ruleset: Ruleset) -> None:
        self.rule = rule
        self.params = {f"param.{k}": p.value for k, p in ruleset.parameters.items()
                       if not isinstance(p.value, (Mapping, list))}
        self.templates = _templates({"title": rule.title, "message": rule.message,
                                     "action": rule.action})
        # (path, its keys in the item and the checklist, its keys in a defect's inspection,
        # whether it is one key)
        self.evidence = tuple((path, tuple(path.split(".")),
                               tuple(path.removeprefix("inspection.").split(".")),
                               "." not in path) for path in rule.evidence)
        self.nested = _nested([*self.params, *rule.evidence])


class FindingParts:
    """The per-rule parts of findings for one catalogue (build once, share between
    evaluations): rules and their prepared texts, the closed sets' titles, the places of
    missing facts as they are named."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rules: dict[str, _RuleParts] = {
            rule.id: _RuleParts(rule, ruleset) for ruleset in catalog.rulesets
            for rule in ruleset.rules}
        # a closed set's member not listed is judged by the set's title, not the rule's
        self.sets = {(rule_id, member_path(closed, member)): closed.label
                     for ruleset in catalog.rulesets for closed in ruleset.closed_sets
                     for member, rule_id in zip(closed.members, closed.rule_ids, strict=True)}
        self.incomplete = _templates(catalog.policy.incomplete)
        self.places: dict[tuple[Stage, str], dict[str, str]] = {}

    def place(self, stage: Stage, path: str) -> dict[str, str]:
        found = self.places.get((stage, path))
        if found is None:
            if len(self.places) > 4096:  # paths name rows: bound what a worker remembers
                self.places.clear()
            found = self.places[(stage, path)] = place_of(self.catalog, stage, path)
        return found


def settle(matches: Iterable[Match]) -> list[Match]:
    """Drop the unknown outcomes of a rule on a fact where the rule holds on it (another
    alternative of its condition matched): a condition that holds is not unknown."""
    matches = list(matches)
    decided = {(m.key.rule_id, m.fact_id) for m in matches if m.key.decided}
    return [m for m in matches if m.key.decided or m.key.closed or m.key.requirement is not None
            or (m.key.rule_id, m.fact_id) not in decided]


_ROW = re.compile(r"^([a-z_]+)\[(\d+)\]$")


class FindingBuilder:
    """Builds the findings of one evaluation of one checklist."""

    def __init__(self, catalog: Catalog, checklist: Mapping[str, Any], facts: FactSet,
                 parts: FindingParts | None = None) -> None:
        self.catalog, self.checklist, self.facts = catalog, checklist, facts
        self.parts = parts if parts is not None else FindingParts(catalog)
        self.stage = Stage(checklist["stage"])
        self.as_of: dt.date = checklist["as_of"]
        self.dues: dict[Due, dt.date] = {}

    def build(self, matches: Iterable[Match]) -> list[Finding]:
        """Return the findings for the matches, one per missing path, sorted most severe first."""
        findings: list[Finding] = []
        # a missing fact is one finding, by the most severe rule needing it: chosen among
        # the rules first, built once
        missing: dict[str, tuple[Rule, Subject, str]] = {}
        rank = self.catalog.policy.rank
        rules = self.parts.rules
        for key, fact_id in dict.fromkeys((m.key, m.fact_id) for m in settle(matches)):
            parts = rules[key.rule_id]
            rule = parts.rule
            subject = self.facts.subject(fact_id)
            if key.decided:
                findings.append(self.finding(parts, subject))
                continue
            for path in key.unknown or (rule.requires[key.requirement or 0].path,):
                full = _owner_of(subject, path)[0]
                kept = missing.get(full)
                if kept is None or (rank[rule.severity], rule.blocking, kept[0].id) > (
                        rank[kept[0].severity], kept[0].blocking, rule.id):
                    missing[full] = (rule, subject, path)
        findings.extend(self.missing(*chosen) for chosen in missing.values())
        return sort_findings(findings, self.catalog.policy)

    def outranks(self, one: Finding, other: Finding) -> bool:
        rank = self.catalog.policy.rank
        return (rank[one.severity], one.blocking, other.rule_id) > (
            rank[other.severity], other.blocking, one.rule_id)

    def evidence(self, parts: _RuleParts, subject: Subject) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # the counts and sums facts.py computed, never the engine's fact (it carries only
        # what the conditions read)
        item = subject.item
        sources = (item, subject.parent, self.checklist, subject.derived)
        for path, keys, in_parent, single in parts.evidence:
            if single and type(item) is dict and path in item:
                value = item[path]  # the usual case: a field of the item itself
            else:
                for source in sources:
                    value = _find(source, in_parent if source is subject.parent else keys)
                    if value is not _MISSING:
                        break
                else:
                    continue
            out[path] = value if type(value) in _PLAIN or not isinstance(value, dt.date) \
                else value.isoformat()
        return out

    def due(self, due: Due) -> dt.date:
        day = self.dues.get(due)
        if day is None:
            day = self.dues[due] = due_date(due, self.checklist)
        return day

    def finding(self, parts: _RuleParts, subject: Subject) -> Finding:
        rule = parts.rule
        evidence = self.evidence(parts, subject)
        path = subject.path if subject.path != "checklist" else (
            rule.subject or (rule.evidence[0] if rule.evidence else "checklist"))
        texts = _Texts(parts.templates, {**parts.params, **evidence}, rule.source,
                       self.catalog.policy, parts.nested)
        identity = subject.identity if subject.path != "checklist" else path
        return raise_finding(rule, self.catalog.policy, subject=path, evidence=evidence,
                             texts=texts, due=self.due(rule.due), identity=identity,
                             as_of=self.as_of)

    def missing(self, rule: Rule, subject: Subject, path: str) -> Finding:
        full, identity = _owner_of(subject, path)
        title = self.parts.sets.get((rule.id, path), rule.title)
        values = {"fact": self.label(full), "rule_title": dict(title)}
        texts = _Texts(self.parts.incomplete, values, rule.source, self.catalog.policy)
        return raise_finding(rule, self.catalog.policy, subject=full, evidence={path: None},
                             texts=texts, due=self.due(rule.due), identity=identity,
                             category=Category.INFORMATION, print_rule="missing",
                             as_of=self.as_of)

    def label(self, path: str) -> dict[str, str]:
        """Name a fact as a person reads it, by labels and row numbers, in each language."""
        return self.parts.place(self.stage, path)


_PLAIN = frozenset({str, int, float, bool, type(None), list})  # never a date


def _find(data: Any, keys: tuple[str, ...]) -> Any:
    """Return the value at a path (split beforehand) of nested mappings, or _MISSING."""
    for key in keys:
        if not (type(data) is dict or isinstance(data, Mapping)) or key not in data:
            return _MISSING
        data = data[key]
    return data


def place_of(catalog: Catalog, stage: Stage, path: str) -> dict[str, str]:
    """Name a place in a checklist as a person reads it, by labels and row numbers, in each
    language: `offsite_factors[0].distance_m` → 场外不利因素 第 1 行 · 距离（米）; a member of a
    closed set (`permits/eia_approval`) by its list and kind; a check by its description."""
    labels = catalog.policy.labels.get("field", {})
    kinds = catalog.policy.labels.get("kind", {})
    checks = catalog.checks(stage)
    out: dict[str, str] = {}
    for lang in Lang:
        def name(key: str, lang: Lang = lang) -> str:
            text = labels.get(key)
            return text[lang] if text else key
        if "/" in path:  # a member of a closed set: list/member
            list_name, member = path.split("/", 1)
            kind = kinds.get(member)
            out[lang.value] = f"{name(list_name)}：{kind[lang] if kind else member}" \
                if lang is Lang.ZH else f"{name(list_name)}: {kind[lang] if kind else member}"
            continue
        if path.startswith("checks."):
            spec = checks.get(path.removeprefix("checks."))
            out[lang.value] = spec.description[lang] if spec else name(path)
            continue
        counted = path.split(".")
        if counted[0] in ("count", "count_by") and len(counted) >= 2:  # how many items list
            kind = kinds.get(counted[2]) if len(counted) > 2 else None
            what = f"{name(counted[1])}：{kind[lang]}" if kind and lang is Lang.ZH else (
                f"{name(counted[1])}: {kind[lang]}" if kind else name(counted[1]))
            out[lang.value] = f"{what}（条数）" if lang is Lang.ZH else f"{what} (items)"
            continue
        parts = []
        for part in path.removeprefix("milestones.").split("."):
            row = _ROW.match(part)
            if row:
                number = int(row.group(2)) + 1
                parts.append(f"{name(row.group(1))} 第 {number} 行" if lang is Lang.ZH
                             else f"{name(row.group(1))} row {number}")
            else:
                parts.append(name(part))
        out[lang.value] = " · ".join(parts)
    return out
