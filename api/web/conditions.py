"""A rule's condition in words, for the rules catalogue (the language: rulesets/README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskengine.rules.catalog import Catalog, Rule, Ruleset
from riskengine.vocabulary import Lang

_OPS = {
    "eq": ("=", "="), "ne": ("≠", "≠"), "lt": ("<", "<"), "lte": ("≤", "≤"), "gt": (">", ">"),
    "gte": ("≥", "≥"), "in": ("属于", "is one of"), "not_in": ("不属于", "is not one of"),
    "contains": ("包含", "contains"),
}
_JOIN = {"all": ("同时满足", "all of"), "any": ("满足任一", "any of")}


class Words:
    """Renders conditions of one ruleset in one language."""

    def __init__(self, catalog: Catalog, ruleset: Ruleset | None, lang: Lang) -> None:
        self.catalog, self.ruleset, self.lang = catalog, ruleset, lang
        self.zh = lang is Lang.ZH
        self.checks = {k: c for stage in (ruleset.stage,) for k, c in
                       catalog.checks(stage).items()} if ruleset else {}

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[0] if self.zh else pair[1]

    def field(self, path: str) -> str:
        """Return the words for a field path of a fact."""
        label = self.catalog.policy.label
        head, _, rest = path.partition(".")
        if head == "checks" and rest in self.checks:
            return f"“{self.checks[rest].description[self.lang]}”"
        if head == "count_by" and rest.startswith("inspections_done."):
            phase = label("kind", rest.split(".", 1)[1], self.lang)
            return f"已完成的“{phase}”检查数" if self.zh else f"number of {phase} inspections done"
        if head == "count_by":
            name, _, value = rest.partition(".")
            kind, items = label("kind", value, self.lang), name
            return f"{items} 中“{kind}”的数量" if self.zh else f"number of {items} of kind {kind}"
        if head == "count":
            return f"{rest} 的数量" if self.zh else f"number of {rest}"
        if head == "inspection":
            inner = label("field", rest, self.lang)
            return f"所属检查的{inner}" if self.zh else f"its inspection's {inner.lower()}"
        if head in ("milestones", "project"):
            return label("field", rest, self.lang)
        return label("field", path, self.lang) if "." not in path else path

    def param(self, name: str) -> str:
        parameter = self.ruleset.parameters.get(name) if self.ruleset else None
        if parameter is None:
            return name
        unit = f" {parameter.unit}" if parameter.unit else ""
        if isinstance(parameter.value, list):
            shown = self.value(parameter.value)
        else:
            shown = "" if isinstance(parameter.value, Mapping) else f"{parameter.value}{unit}"
        return f"{name}（{shown}）" if shown and self.zh else (
            f"{name} ({shown})" if shown else name)

    def value(self, value: Any) -> str:
        """Return the words for the right-hand side of a leaf."""
        if isinstance(value, bool):
            return ("是" if value else "否") if self.zh else ("yes" if value else "no")
        if isinstance(value, list):
            return ", ".join(self.value(v) for v in value)
        if isinstance(value, str):
            return self.catalog.policy.label("kind", value, self.lang) if value else "“”"
        if not isinstance(value, Mapping):
            return str(value)
        if "date" in value:
            return str(value["date"])
        if "param" in value:
            text = self.param(str(value["param"]))
            if "by" in value:
                by = self.field(str(value["by"]))
                text += f"（按{by}）" if self.zh else f" (by {by})"
            return self.arithmetic(text, value)
        if "field" in value:
            text = self.field(str(value["field"]))
            if "offset_days" in value:
                days = value["offset_days"]
                shown = self.value(days) if isinstance(days, Mapping) else str(days)
                return f"{text} + {shown} {'天' if self.zh else 'days'}"
            return self.arithmetic(text, value)
        return str(dict(value))

    def arithmetic(self, text: str, value: Mapping[str, Any]) -> str:
        if "times" in value:
            times = value["times"]
            text += f" × {self.value(times) if isinstance(times, Mapping) else times}"
        if "plus" in value:
            text += f" + {value['plus']}"
        return text

    def leaf(self, leaf: Mapping[str, Any]) -> str:
        if "list" in leaf:  # another list of the checklist holds (or lacks) a matching item
            name = self.catalog.policy.label("field", str(leaf["list"]), self.lang)
            where = self.condition(leaf["where"], 1)
            if self.zh:
                return f"{name}中{'有' if leaf['exists'] else '没有'}满足{where}的条目"
            return f"{name} {'has an' if leaf['exists'] else 'has no'} item where {where}"
        if "ratio" in leaf:
            numerator, denominator = leaf["ratio"]
            subject = f"{self.field(numerator)} ÷ {self.field(denominator)}"
        else:
            subject = self.field(str(leaf.get("field", "")))
        for op, value in leaf.items():
            if op in ("field", "ratio"):
                continue
            if op == "exists":
                stated = ("已填写", "is stated") if value else ("未填写", "is not stated")
                return f"{subject} {self.pick(stated)}"
            if op in _OPS:
                return f"{subject} {self.pick(_OPS[op])} {self.value(value)}"
        return subject

    def condition(self, condition: Mapping[str, Any], depth: int = 0) -> str:
        """Return a condition as one line of words; nested groups in brackets."""
        for join in ("all", "any"):
            if join in condition:
                parts = [self.condition(c, depth + 1) for c in condition[join]]
                text = f"{self.pick(_JOIN[join])}：" if self.zh else f"{_JOIN[join][1]}: "
                text += ("；" if self.zh else "; ").join(parts)
                return f"（{text}）" if depth and self.zh else (f"({text})" if depth else text)
        return self.leaf(condition)

    def requires(self, rule: Rule) -> list[str]:
        """Return what the rule cannot decide without, each with when it is needed."""
        out = []
        for requirement in rule.requires:
            text = self.field(requirement.path)
            if requirement.when:
                when = self.condition(requirement.when, 1)
                text += f"，当{when}" if self.zh else f", when {when}"
            out.append(text)
        return out


def describe(catalog: Catalog, rule: Rule, lang: Lang) -> dict[str, Any]:
    """Return a rule's condition, its requirements and its scope, in words."""
    ruleset = catalog.ruleset(rule.ruleset_id)
    words = Words(catalog, ruleset, lang)
    scope = rule.for_each or ""
    return {"when": words.condition(rule.when), "requires": words.requires(rule),
            "for_each": scope}
