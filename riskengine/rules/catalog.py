"""Load and validate the ruleset files into an immutable catalogue."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate

from riskengine.checklist.contract import LISTS
from riskengine.errors import RulesetInvalid, Words
from riskengine.refusals import refusal, yaml_problem
from riskengine.rules.compiler import (
    RuleProblem,
    check_closed_sets,
    check_rule,
    compile_ruleset,
    compile_stage,
    operands,
)
from riskengine.rules.files import StrictSchema, one_of, problem_lines, read_rule_file, texts
from riskengine.rules.labels import DEFAULT_ROOT
from riskengine.rules.model import (
    Catalog,
    CheckSpec,
    ClosedSet,
    Due,
    FindingPolicy,
    GatePolicy,
    Parameter,
    Policy,
    Requirement,
    Rule,
    Ruleset,
    StagePolicy,
    Text,
    WorkflowPolicy,
    default_sla_days,
)
from riskengine.vocabulary import (
    MILESTONES,
    Category,
    CheckType,
    FindingStatus,
    GateDecision,
    Owner,
    Severity,
    Stage,
)

__all__ = ["DEFAULT_ROOT", "Catalog", "CheckSpec", "Due", "Parameter", "Policy", "Requirement",
           "Rule", "Ruleset", "StagePolicy", "Text", "load_catalog", "load_policy"]
_RULE_ID = r"^(SALES|DELIVERY)-[A-Z0-9]+(-[A-Z0-9]+)*-\d{3}$"


_text = texts
_enum = one_of
_StrictSchema = StrictSchema
_flatten = problem_lines


def _a_date(value: Any) -> None:
    """YAML reads an unquoted date as a date; a quoted one must be YYYY-MM-DD."""
    if value is None or isinstance(value, dt.date):
        return
    try:
        dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise ValidationError([refusal("must_be_iso_date")]) from error


class _DueSchema(_StrictSchema):
    milestone = fields.Raw(required=True)
    lead_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=3650))


class _RuleSchema(_StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(_RULE_ID))
    title = _text()
    category = fields.String(required=True, validate=_enum(Category))
    severity = fields.String(required=True, validate=_enum(Severity))
    blocking = fields.Boolean(required=True)
    owner = fields.String(required=True, validate=_enum(Owner))
    support = fields.List(fields.String(validate=_enum(Owner)), load_default=list)
    due = fields.Nested(_DueSchema, load_default=None)
    source = _text()
    catalogue = fields.Raw(required=True)
    for_each = fields.String(load_default=None)
    subject = fields.String(load_default=None)
    when = fields.Dict(required=True)
    requires = fields.List(fields.Raw(), load_default=list)
    evidence = fields.List(fields.String(), load_default=list)
    effective_on = fields.Raw(load_default=None, validate=_a_date)
    closure = fields.Nested(lambda: _ClosureSchema(), load_default=None)
    message = _text()
    action = _text()


class _ClosureSchema(_StrictSchema):
    evidence = fields.String(load_default="optional",
                             validate=validate.OneOf(["required", "optional"]))


class _ParameterSchema(_StrictSchema):
    value = fields.Raw(required=True, allow_none=False)
    unit = fields.String(load_default="")
    description = _text()


class _CheckSchema(_StrictSchema):
    type = fields.String(required=True, validate=_enum(CheckType))
    description = _text()


class _ClosedSetSchema(_StrictSchema):
    # members are values of a list's kind field, or (`checks: true`) `checks` keys
    list = fields.String(load_default=None)
    checks = fields.Boolean(load_default=False)
    members = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    when = fields.Dict(load_default=None)
    title = _text()


class _RulesetSchema(_StrictSchema):
    ruleset = fields.String(required=True)
    version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+\.\d+$"))
    stage = fields.String(required=True, validate=_enum(Stage))
    title = _text()
    parameters = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]*$")),
                             values=fields.Nested(_ParameterSchema), load_default=dict)
    checks = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]*$")),
                         values=fields.Nested(_CheckSchema), load_default=dict)
    rules = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=200))
    closed_sets = fields.List(fields.Nested(_ClosedSetSchema), load_default=list)


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (str(value),)


def _requirement(raw: Any) -> Requirement:
    if isinstance(raw, str):
        return Requirement(raw)
    if isinstance(raw, Mapping) and set(raw) <= {"field", "when"} and isinstance(
            raw.get("field"), str):
        return Requirement(raw["field"], raw.get("when"))
    raise RuleProblem(refusal("requires_shape", value=repr(raw)))


def _build_rule(data: Mapping[str, Any], ruleset_id: str, stage: StagePolicy) -> Rule:
    due = data["due"]
    milestones = _as_tuple(due["milestone"]) if due else stage.due_milestones
    unknown = [m for m in milestones if m not in MILESTONES]
    if unknown:
        raise RuleProblem(refusal("milestone_unknown", unknown=str(unknown),
                                  allowed=str(MILESTONES)))
    lead = due["lead_days"] if due and due["lead_days"] is not None else stage.default_lead_days
    return Rule(
        id=data["id"], ruleset_id=ruleset_id, title=data["title"],
        category=Category(data["category"]), severity=Severity(data["severity"]),
        blocking=data["blocking"], owner=Owner(data["owner"]),
        support=tuple(Owner(s) for s in data["support"]), due=Due(milestones, lead),
        source=data["source"], catalogue=_as_tuple(data["catalogue"]),
        for_each=data["for_each"], subject=data["subject"], when=data["when"],
        requires=tuple(_requirement(r) for r in data["requires"]),
        evidence=tuple(data["evidence"]), message=data["message"], action=data["action"],
        effective_on=_day(data["effective_on"]),
        closure_evidence=bool(data["closure"]) and data["closure"]["evidence"] == "required")


def _load_rules(raw_rules: list[Any], ruleset_id: str, stage: StagePolicy,
                problems: dict[str, list[Words]], where: str) -> list[Rule]:
    rules: list[Rule] = []
    for index, raw in enumerate(raw_rules):
        rule_id = raw.get("id") if isinstance(raw, Mapping) else None
        key = f"{where}: {rule_id or f'rules[{index}]'}"
        try:
            data = _RuleSchema().load(raw if isinstance(raw, Mapping) else {})
            rule = _build_rule(data, ruleset_id, stage)
        except ValidationError as error:
            problems.setdefault(key, []).extend(_flatten(error.messages))
            continue
        except RuleProblem as error:
            problems.setdefault(key, []).append(error.said)
            continue
        if rule.subject is not None and rule.for_each is not None:
            problems.setdefault(key, []).append(refusal("subject_checklist_only"))
        if rule.severity is Severity.CRITICAL and not rule.blocking:
            problems.setdefault(key, []).append(refusal("critical_blocking"))
        rules.append(rule)
    return rules


def load_ruleset(path: Path, policy: Policy, problems: dict[str, list[Words]]) -> Ruleset | None:
    """Load one ruleset file, adding every problem found to `problems` keyed by file and rule."""
    where = str(path)
    content = path.read_bytes()
    try:
        raw = yaml.safe_load(content)
        data = _RulesetSchema().load(raw if isinstance(raw, Mapping) else {})
    except yaml.YAMLError as error:
        problems.setdefault(where, []).append(yaml_problem(error))
        return None
    except ValidationError as error:
        problems.setdefault(where, []).extend(_flatten(error.messages))
        return None
    stage = Stage(data["stage"])
    expected = f"{path.parent.name}.{path.stem}"
    if data["ruleset"] != expected or path.parent.name != stage.value:
        problems.setdefault(where, []).append(refusal(
            "ruleset_path_mismatch", id=repr(data["ruleset"]), stage_value=repr(stage.value),
            expected=repr(expected)))
    rules = _load_rules(data["rules"], data["ruleset"], policy.stages[stage], problems, where)
    closed = tuple(c for index, raw in enumerate(data["closed_sets"])
                   if (c := _closed_set(raw, index, rules, data["checks"], policy,
                                        problems, where)) is not None)
    return Ruleset(
        id=data["ruleset"], version=data["version"], stage=stage, title=data["title"],
        parameters={k: Parameter(**v) for k, v in data["parameters"].items()},
        checks={k: CheckSpec(CheckType(v["type"]), v["description"])
                for k, v in data["checks"].items()},
        rules=tuple(rules), path=path, content_hash=hashlib.sha256(content).hexdigest()[:16],
        closed_sets=closed)


def _closed_set(raw: Mapping[str, Any], index: int, rules: list[Rule],
                checks: Mapping[str, Any], policy: Policy, problems: dict[str, list[Words]],
                where: str) -> ClosedSet | None:
    """Build a closed set; each member's severity comes from the most severe rule about it."""
    key = f"{where}: closed_sets[{index}]"
    name, members = raw["list"], tuple(raw["members"])
    found = _set_problems(name, members, raw["checks"], checks)
    chosen = [] if found else _rules_about(name, members, rules, policy)
    if not found and None in chosen:
        found = [refusal("closed_set_no_rule")]
    if found:
        problems.setdefault(key, []).extend(found)
        return None
    return ClosedSet(name, members, raw["when"], tuple(str(c) for c in chosen), raw["title"])


def _set_problems(name: str | None, members: tuple[str, ...], of_checks: bool,
                  checks: Mapping[str, Any]) -> list[Words]:
    if (name is None) != of_checks:
        return [refusal("closed_set_name")]
    if name is None:
        allowed: tuple[str, ...] = tuple(checks)
    else:
        spec = LISTS.get(name)
        if spec is None or spec.kind_field is None:
            return [refusal("closed_set_list", name=repr(name),
                            lists=str(sorted(n for n, s in LISTS.items() if s.kind_field)))]
        allowed = spec.fields[spec.kind_field].choices
    wrong = [m for m in members if m not in allowed]
    return [refusal("closed_set_members", wrong=str(wrong), allowed=str(sorted(allowed)))
            ] if wrong else []


def _rules_about(name: str | None, members: tuple[str, ...], rules: list[Rule],
                 policy: Policy) -> list[str | None]:
    """The most severe rule about each member: for a list, the rules over it or counting it;
    for a `checks` key, the rules reading it."""
    def reads(rule: Rule) -> set[str]:
        found = set(operands([rule.when, *(q.when for q in rule.requires if q.when)]))
        return found | {q.path for q in rule.requires}

    def most_severe(about: list[Rule]) -> str | None:
        top = max(about, key=lambda r: (policy.rank[r.severity], r.blocking), default=None)
        return top.id if top else None

    if name is None:
        return [most_severe([r for r in rules if f"checks.{m}" in reads(r)]) for m in members]
    about = [r for r in rules if name in (r.for_each, r.subject) or any(
        p == f"count.{name}" or p.startswith(f"count_by.{name}.") for p in reads(r))]
    return [most_severe(about)] * len(members)


class _SeveritySchema(_StrictSchema):
    rank = fields.Integer(required=True, strict=True)
    escalation = fields.String(required=True, validate=validate.Length(min=1))
    label = _text()


class _StageSchema(_StrictSchema):
    label = _text()
    due_milestones = fields.List(fields.String(validate=validate.OneOf(MILESTONES)),
                                 required=True, validate=validate.Length(min=1))
    default_lead_days = fields.Integer(required=True, strict=True,
                                       validate=validate.Range(min=0, max=3650))


class _IncompleteSchema(_StrictSchema):
    title = _text()
    message = _text()
    action = _text()


class _GateSchema(_StrictSchema):
    conditional_severities = fields.List(fields.String(validate=_enum(Severity)),
                                         load_default=lambda: [Severity.HIGH.value])


class _WorkflowSchema(_StrictSchema):
    sla_days = fields.Dict(keys=fields.String(validate=_enum(Severity)),
                           values=fields.Integer(strict=True,
                                                 validate=validate.Range(min=1, max=3650)),
                           load_default=lambda: {s.value: d for s, d in default_sla_days().items()},
                           validate=lambda v: _every(Severity)(v))
    waiver_reminder_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=366)),
        load_default=lambda: [14, 3])
    verifier_departments = fields.List(fields.String(validate=_enum(Owner)),
                                       load_default=lambda: [Owner.CRM.value])


class _FindingsSchema(_StrictSchema):
    max_waiver_days = fields.Integer(strict=True, load_default=366,
                                     validate=validate.Range(min=1, max=3650))


def _every(enum: Any) -> Any:
    def check(value: Mapping[str, Any]) -> None:
        missing = [e.value for e in enum if e.value not in value]
        if missing:
            raise ValidationError([refusal("missing_entries", missing=str(missing))])
    return check


# Every value of these vocabularies is shown to people, so each must have its words.
_LABELLED = {"gate": GateDecision, "status": FindingStatus, "owner": Owner, "category": Category}


def _labelled(value: Mapping[str, Any]) -> None:
    missing = {group: [e.value for e in enum if e.value not in value.get(group, {})]
               for group, enum in _LABELLED.items()}
    missing = {group: values for group, values in missing.items() if values}
    if missing:
        raise ValidationError([refusal("labels_missing", missing=str(missing))])


class _PolicySchema(_StrictSchema):
    severities = fields.Dict(keys=fields.String(validate=_enum(Severity)),
                             values=fields.Nested(_SeveritySchema), required=True,
                             validate=_every(Severity))
    stages = fields.Dict(keys=fields.String(validate=_enum(Stage)),
                         values=fields.Nested(_StageSchema), required=True, validate=_every(Stage))
    incomplete = fields.Nested(_IncompleteSchema, required=True)
    gate = fields.Nested(_GateSchema, load_default=lambda: _GateSchema().load({}))
    findings = fields.Nested(_FindingsSchema, load_default=lambda: _FindingsSchema().load({}))
    workflow = fields.Nested(_WorkflowSchema, load_default=lambda: _WorkflowSchema().load({}))
    labels = fields.Dict(keys=fields.String(), values=fields.Dict(
        keys=fields.String(), values=_text()), required=True, validate=_labelled)


def load_policy(path: Path) -> Policy:
    """Load policy.yaml: escalation by severity, stage due-date defaults, the gate's and the
    findings' limits, labels, texts; a bad file is refused with every problem at its path."""
    data, _ = read_rule_file(path, _PolicySchema())
    severities = {Severity(k): v for k, v in data["severities"].items()}
    return Policy(
        escalation={k: v["escalation"] for k, v in severities.items()},
        rank={k: v["rank"] for k, v in severities.items()},
        stages={Stage(k): StagePolicy(v["label"], tuple(v["due_milestones"]),
                                      v["default_lead_days"])
                for k, v in data["stages"].items()},
        incomplete=data["incomplete"],
        labels={**data["labels"],
                "severity": {k: v["label"] for k, v in data["severities"].items()}},
        gate=GatePolicy(frozenset(Severity(s) for s in data["gate"]["conditional_severities"])),
        findings=FindingPolicy(data["findings"]["max_waiver_days"]),
        workflow=WorkflowPolicy(
            {Severity(k): v for k, v in data["workflow"]["sla_days"].items()},
            tuple(sorted(set(data["workflow"]["waiver_reminder_days"]), reverse=True)),
            frozenset(Owner(o) for o in data["workflow"]["verifier_departments"])))


@functools.cache
def bundled_policy() -> Policy:
    """The policy of the rulesets the service runs (`RISKENGINE_RULESETS` or the bundled ones),
    whose labels every output uses for its words."""
    return load_policy(DEFAULT_ROOT / "policy.yaml")


def load_catalog(root: Path = DEFAULT_ROOT) -> Catalog:
    """Load every ruleset under `root`; raise RulesetInvalid listing every problem of every file."""
    policy = load_policy(root / "policy.yaml")
    problems: dict[str, list[Words]] = {}
    rulesets: list[Ruleset] = []
    for stage in Stage:
        for path in sorted((root / stage.value).glob("*.yaml")):
            if path.name.startswith("_") or path.name.endswith(".test.yaml"):
                continue
            ruleset = load_ruleset(path, policy, problems)
            if ruleset is not None:
                rulesets.append(ruleset)
    compiled = _compile(Catalog(policy, tuple(rulesets)), problems)
    stages = _compile_stages(rulesets, compiled, problems)
    _check_declared_checks(rulesets, problems)
    seen: dict[str, str] = {}
    for ruleset in rulesets:
        for rule in ruleset.rules:
            if rule.id in seen:
                problems.setdefault(f"{ruleset.path}: {rule.id}", []).append(
                    refusal("duplicate_rule_id", path=seen[rule.id]))
            seen[rule.id] = str(ruleset.path)
    if problems:
        raise RulesetInvalid(refusal("rule_files_invalid", count=len(problems)), problems)
    return Catalog(policy, tuple(rulesets), compiled, stages)


def _compile(catalog: Catalog, problems: dict[str, list[Words]]) -> dict[str, Any]:
    """Compile each ruleset once; a ruleset that does not compile is compiled rule by rule,
    to name every rule that does not fit the language."""
    compiled: dict[str, Any] = {}
    for ruleset in catalog.rulesets:
        checks = {k: v.type for k, v in catalog.checks(ruleset.stage).items()}
        try:
            compiled[ruleset.id] = compile_ruleset(ruleset, checks)
        except RuleProblem:
            for rule in ruleset.rules:
                for problem in check_rule(rule, ruleset, checks):
                    problems.setdefault(f"{ruleset.path}: {rule.id}", []).append(problem)
            for index, problem in check_closed_sets(ruleset, checks):
                problems.setdefault(f"{ruleset.path}: closed_sets[{index}]", []).append(problem)
    return compiled


def _compile_stages(rulesets: list[Ruleset], compiled: Mapping[str, Any],
                    problems: dict[str, list[Words]]) -> dict[Stage, Any]:
    """Join each stage's compiled rulesets into the one durable ruleset the engine loads,
    refusing a stage whose rules together overflow the engine's tables."""
    out: dict[Stage, Any] = {}
    for stage in Stage:
        parts = [compiled[r.id] for r in rulesets if r.stage == stage and r.id in compiled]
        if len(parts) < sum(1 for r in rulesets if r.stage == stage):
            continue  # a ruleset of the stage did not compile; its problems are listed
        try:
            out[stage] = compile_stage(stage.value, parts)
        except RuleProblem as problem:
            problems.setdefault(f"rulesets/{stage.value}", []).append(problem.said)
    return out


def _check_declared_checks(rulesets: list[Ruleset], problems: dict[str, list[Words]]) -> None:
    """A `checks` key is declared once per stage, so its type and meaning are unambiguous."""
    declared: dict[tuple[Stage, str], str] = {}
    for ruleset in rulesets:
        for key in ruleset.checks:
            other = declared.setdefault((ruleset.stage, key), str(ruleset.path))
            if other != str(ruleset.path):
                problems.setdefault(str(ruleset.path), []).append(
                    refusal("check_declared", check=key, path=other))
