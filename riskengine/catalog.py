"""Load and validate the ruleset files into an immutable catalogue."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from riskengine.errors import RulesetInvalid
from riskengine.vocabulary import MILESTONES, Category, CheckType, Lang, Owner, Severity, Stage

Text = Mapping[str, str]
# An installed package has no rulesets beside it: deployments point RISKENGINE_RULESETS at them.
DEFAULT_ROOT = Path(os.environ.get("RISKENGINE_RULESETS")
                    or Path(__file__).resolve().parent.parent / "rulesets")
_RULE_ID = r"^(SALES|DELIVERY)-[A-Z0-9]+(-[A-Z0-9]+)*-\d{3}$"


@dataclass(frozen=True)
class Requirement:
    """A fact a rule cannot decide without; `when` limits it to some cases."""

    path: str
    when: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Due:
    milestones: tuple[str, ...]
    lead_days: int


@dataclass(frozen=True)
class Rule:
    id: str
    ruleset_id: str
    title: Text
    category: Category
    severity: Severity
    blocking: bool
    owner: Owner
    support: tuple[Owner, ...]
    due: Due
    source: Text
    catalogue: tuple[str, ...]
    for_each: str | None
    subject: str | None
    when: Mapping[str, Any]
    requires: tuple[Requirement, ...]
    evidence: tuple[str, ...]
    message: Text
    action: Text


@dataclass(frozen=True)
class Parameter:
    value: Any
    unit: str
    description: Text


@dataclass(frozen=True)
class CheckSpec:
    type: CheckType
    description: Text


@dataclass(frozen=True)
class Ruleset:
    id: str
    version: str
    stage: Stage
    title: Text
    parameters: Mapping[str, Parameter]
    checks: Mapping[str, CheckSpec]
    rules: tuple[Rule, ...]
    path: Path
    content_hash: str

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[1]


@dataclass(frozen=True)
class StagePolicy:
    label: Text
    due_milestones: tuple[str, ...]
    default_lead_days: int


@dataclass(frozen=True)
class Policy:
    escalation: Mapping[Severity, str]
    rank: Mapping[Severity, int]
    stages: Mapping[Stage, StagePolicy]
    incomplete: Mapping[str, Text]
    labels: Mapping[str, Mapping[str, Text]]

    def label(self, group: str, value: str, lang: Lang) -> str:
        """Return the label of a vocabulary value, or the value itself when none is defined."""
        text = self.labels.get(group, {}).get(value)
        return text[lang] if text else value


@dataclass(frozen=True)
class Catalog:
    policy: Policy
    rulesets: tuple[Ruleset, ...]

    def for_stage(self, stage: Stage) -> tuple[Ruleset, ...]:
        return tuple(r for r in self.rulesets if r.stage == stage)

    def rules(self, stage: Stage | None = None) -> Iterator[Rule]:
        for ruleset in self.rulesets:
            if stage is None or ruleset.stage == stage:
                yield from ruleset.rules

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules() if r.id == rule_id), None)

    def ruleset(self, ruleset_id: str) -> Ruleset | None:
        return next((r for r in self.rulesets if r.id == ruleset_id), None)

    def checks(self, stage: Stage) -> dict[str, CheckSpec]:
        """Return every `checks` key the rulesets of a stage declare."""
        out: dict[str, CheckSpec] = {}
        for ruleset in self.for_stage(stage):
            out.update(ruleset.checks)
        return out


def _text() -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=validate.OneOf([lang.value for lang in Lang])),
                       values=fields.String(validate=validate.Length(min=1)), required=True,
                       validate=validate.Length(equal=len(Lang)))


def _enum(values: Any) -> validate.OneOf:
    return validate.OneOf([v.value for v in values])


class _StrictSchema(Schema):
    class Meta:
        unknown = RAISE


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
    message = _text()
    action = _text()


class _ParameterSchema(_StrictSchema):
    value = fields.Raw(required=True, allow_none=False)
    unit = fields.String(load_default="")
    description = _text()


class _CheckSchema(_StrictSchema):
    type = fields.String(required=True, validate=_enum(CheckType))
    description = _text()


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


def _flatten(messages: Any, prefix: str = "") -> Iterator[str]:
    """Yield marshmallow's nested error messages as `path: message` lines."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield from (f"{prefix}: {m}" if prefix else m for m in messages)
    elif isinstance(messages, list):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield f"{prefix}: {messages}"


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (str(value),)


def _requirement(raw: Any) -> Requirement:
    if isinstance(raw, str):
        return Requirement(raw)
    if isinstance(raw, Mapping) and set(raw) <= {"field", "when"} and isinstance(
            raw.get("field"), str):
        return Requirement(raw["field"], raw.get("when"))
    raise ValueError(f"requires: {raw!r} is neither a path nor {{field: PATH, when: condition}}")


def _build_rule(data: Mapping[str, Any], ruleset_id: str, stage: StagePolicy) -> Rule:
    due = data["due"]
    milestones = _as_tuple(due["milestone"]) if due else stage.due_milestones
    unknown = [m for m in milestones if m not in MILESTONES]
    if unknown:
        raise ValueError(f"due.milestone: unknown milestone(s) {unknown}; allowed: {MILESTONES}")
    lead = due["lead_days"] if due and due["lead_days"] is not None else stage.default_lead_days
    return Rule(
        id=data["id"], ruleset_id=ruleset_id, title=data["title"],
        category=Category(data["category"]), severity=Severity(data["severity"]),
        blocking=data["blocking"], owner=Owner(data["owner"]),
        support=tuple(Owner(s) for s in data["support"]), due=Due(milestones, lead),
        source=data["source"], catalogue=_as_tuple(data["catalogue"]),
        for_each=data["for_each"], subject=data["subject"], when=data["when"],
        requires=tuple(_requirement(r) for r in data["requires"]),
        evidence=tuple(data["evidence"]), message=data["message"], action=data["action"])


def _load_rules(raw_rules: list[Any], ruleset_id: str, stage: StagePolicy,
                problems: dict[str, list[str]], where: str) -> list[Rule]:
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
        except ValueError as error:
            problems.setdefault(key, []).append(str(error))
            continue
        if rule.subject is not None and rule.for_each is not None:
            problems.setdefault(key, []).append(
                "subject: only a checklist rule names its subject; for_each rules use the item")
        if rule.severity is Severity.CRITICAL and not rule.blocking:
            problems.setdefault(key, []).append("blocking: every critical rule must be blocking")
        rules.append(rule)
    return rules


def load_ruleset(path: Path, policy: Policy, problems: dict[str, list[str]]) -> Ruleset | None:
    """Load one ruleset file, adding every problem found to `problems` keyed by file and rule."""
    where = str(path)
    content = path.read_bytes()
    try:
        raw = yaml.safe_load(content)
        data = _RulesetSchema().load(raw if isinstance(raw, Mapping) else {})
    except yaml.YAMLError as error:
        problems.setdefault(where, []).append(f"not valid YAML: {error}")
        return None
    except ValidationError as error:
        problems.setdefault(where, []).extend(_flatten(error.messages))
        return None
    stage = Stage(data["stage"])
    expected = f"{path.parent.name}.{path.stem}"
    if data["ruleset"] != expected or path.parent.name != stage.value:
        problems.setdefault(where, []).append(
            f"ruleset: id {data['ruleset']!r} and stage {stage.value!r} must match the path "
            f"(expected {expected!r} under rulesets/{stage.value}/)")
    rules = _load_rules(data["rules"], data["ruleset"], policy.stages[stage], problems, where)
    return Ruleset(
        id=data["ruleset"], version=data["version"], stage=stage, title=data["title"],
        parameters={k: Parameter(**v) for k, v in data["parameters"].items()},
        checks={k: CheckSpec(CheckType(v["type"]), v["description"])
                for k, v in data["checks"].items()},
        rules=tuple(rules), path=path, content_hash=hashlib.sha256(content).hexdigest()[:16])


def load_policy(path: Path) -> Policy:
    """Load policy.yaml: escalation by severity, stage due-date defaults, labels, texts."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        severities = {Severity(k): v for k, v in raw["severities"].items()}
        stages = {Stage(k): StagePolicy(v["label"], tuple(v["due_milestones"]),
                                        int(v["default_lead_days"]))
                  for k, v in raw["stages"].items()}
        missing = [s.value for s in Severity if s not in severities] + [
            s.value for s in Stage if s not in stages]
        if missing:
            raise KeyError(f"missing entries: {missing}")
        return Policy(
            escalation={k: str(v["escalation"]) for k, v in severities.items()},
            rank={k: int(v["rank"]) for k, v in severities.items()},
            stages=stages, incomplete=raw["incomplete"], labels=raw["labels"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise RulesetInvalid("policy file is invalid", {str(path): [repr(error)]}) from error


def load_catalog(root: Path = DEFAULT_ROOT) -> Catalog:
    """Load every ruleset under `root`; raise RulesetInvalid listing every problem of every file."""
    from riskengine.compiler import check_rule  # the compiler validates conditions

    policy = load_policy(root / "policy.yaml")
    problems: dict[str, list[str]] = {}
    rulesets: list[Ruleset] = []
    for stage in Stage:
        for path in sorted((root / stage.value).glob("*.yaml")):
            if path.name.startswith("_") or path.name.endswith(".test.yaml"):
                continue
            ruleset = load_ruleset(path, policy, problems)
            if ruleset is not None:
                rulesets.append(ruleset)
    catalog = Catalog(policy, tuple(rulesets))
    for ruleset in rulesets:
        checks = {k: v.type for k, v in catalog.checks(ruleset.stage).items()}
        for rule in ruleset.rules:
            for problem in check_rule(rule, ruleset, checks):
                problems.setdefault(f"{ruleset.path}: {rule.id}", []).append(problem)
    _check_declared_checks(rulesets, problems)
    seen: dict[str, str] = {}
    for ruleset in rulesets:
        for rule in ruleset.rules:
            if rule.id in seen:
                problems.setdefault(f"{ruleset.path}: {rule.id}", []).append(
                    f"id: duplicate rule id (also in {seen[rule.id]})")
            seen[rule.id] = str(ruleset.path)
    if problems:
        raise RulesetInvalid(f"{len(problems)} ruleset location(s) have problems", problems)
    return catalog


def _check_declared_checks(rulesets: list[Ruleset], problems: dict[str, list[str]]) -> None:
    """A `checks` key is declared once per stage, so its type and meaning are unambiguous."""
    declared: dict[tuple[Stage, str], str] = {}
    for ruleset in rulesets:
        for key in ruleset.checks:
            other = declared.setdefault((ruleset.stage, key), str(ruleset.path))
            if other != str(ruleset.path):
                problems.setdefault(str(ruleset.path), []).append(
                    f"checks.{key}: already declared in {other}")
