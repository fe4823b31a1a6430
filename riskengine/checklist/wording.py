"""Checklist problems in the person's language: where (the part's label, its row, its cell) and
what is wrong, every name a label.

Validation words each problem once, in plain English (`must be one of: landfill, other`); this
module says it in Chinese or English, with the labels of `rulesets/policy.yaml` (fields, list
sections, vocabulary values) and the rulesets' check descriptions, so pages, Excel, the command
line and the API name things alike. A problem it has no wording for is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from riskengine.checklist.contract import LISTS, NESTED_LISTS
from riskengine.errors import RiskEngineError
from riskengine.refusals import MARSHMALLOW, json_words
from riskengine.rules.catalog import Catalog, CheckSpec, Policy
from riskengine.vocabulary import Lang, Stage

Locate = Callable[[str], str]  # a checklist path -> how this surface names its place


@dataclass(frozen=True)
class Said:
    """One wording: the English problem it matches and what it says in each language."""

    pattern: re.Pattern[str]
    zh: str
    en: str


def _said(pattern: str, zh: str, en: str | None = None) -> Said:
    return Said(re.compile(pattern + r"\Z"), zh, en if en is not None else pattern)


# Named groups are shown as labels: choices (vocabulary codes), field/fields (field names),
# row (a checklist path), sheet (a list or part); other groups as they are.
SAYINGS = (
    _said(r"must be a number", "须为数字"),
    _said(r"must be between (?P<low>\S+) and (?P<high>\S+)", "须在 {low} 与 {high} 之间",
          "must be between {low} and {high}"),
    _said(r"must be true or false", "须为是或否", "must be yes or no"),
    _said(r"must be a date YYYY-MM-DD", "须为日期（YYYY-MM-DD）"),
    _said(r"must be one of: (?P<choices>.*)", "须为以下之一：{choices}",
          "must be one of: {choices}"),
    _said(r"must be a string", "须为文字"),
    _said(r"must be at most (?P<n>\d+) characters", "最多 {n} 个字符",
          "must be at most {n} characters"),
    _said(r"must be a whole number from (?P<low>\d+) to (?P<high>\d+)",
          "须为 {low} 至 {high} 的整数",
          "must be a whole number from {low} to {high}"),
    _said(r"must be a list", "须为列表"),
    _said(r"must have at most (?P<n>\d+) items", "最多 {n} 项", "must have at most {n} items"),
    _said(r"must be an object", "须为对象"),
    _said(r"Not a valid mapping type\.", "须为对象", "must be an object"),
    _said(r"Not a valid string\.", "须为文字", "must be a string"),
    _said(r"Field may not be null\.", "必填，不得为空", "is required, not null"),
    _said(r"is required", "必填"),
    _said(r"must be at least (?P<n>\S+)", "不得小于 {n}", "must be at least {n}"),
    _said(r"must be more than (?P<n>\S+)", "须大于 {n}", "must be more than {n}"),
    _said(r"must not be more than (?P<field>\w+) \((?P<n>[^)]*)\)", "不得大于“{field}”（{n}）",
          "must not be more than “{field}” ({n})"),
    _said(r"must not be later than (?P<field>\w+) \((?P<date>[^)]*)\)",
          "记录已发生的事，不得晚于“{field}”（{date}）",
          "records what happened, so it cannot be later than “{field}” ({date})"),
    _said(r"duplicates (?P<row>\S+) \(the same (?P<fields>[\w, ]+)\)",
          "与{row}重复（{fields}相同）",
          "duplicates {row} (the same {fields})"),
    _said(r"must be 1-40 letters, digits, '_' or '-'", "须为 1-40 位字母、数字、_ 或 -"),
    _said(r"unknown check key '(?P<key>[^']*)' for stage (?P<stage>\w+); allowed: (?P<keys>.*)",
          "“{stage}”阶段没有检查项“{key}”；可填写：{keys}",
          "the {stage} stage has no check “{key}”; allowed: {keys}"),
    _said(r"unknown check key '(?P<key>[^']*)'", "没有检查项“{key}”", "no check “{key}”"),
    _said(r"unknown field '(?P<key>[^']*)'; the contract does not define it here",
          "清单格式在此处没有字段“{key}”", "the checklist has no field “{key}” here"),
    _said(r"unknown field '(?P<key>[^']*)'", "没有字段“{key}”", "no field “{key}”"),
    _said(r"got (?P<type>\w+)", "收到的是 {type}"),
    _said(r"no row of '(?P<sheet>\w+)' has (?P<field>\w+) '(?P<value>[^']*)'",
          "“{sheet}”中没有“{field}”为“{value}”的行",
          "no row of “{sheet}” has “{field}” {value}"),
    _said(r"more than one row of '(?P<sheet>\w+)' has (?P<field>\w+) '(?P<value>[^']*)'",
          "“{sheet}”中有多行“{field}”为“{value}”",
          "more than one row of “{sheet}” has “{field}” {value}"),
    _said(r"unknown column '(?P<key>[^']*)'; the template's row 1 names the fields",
          "没有列“{key}”；模板第 1 行为字段键，请勿修改",
          "no column “{key}”; row 1 of the template holds the field keys, keep it as is"),
    _said(r"column '(?P<key>\w+)' is missing from row 1", "第 1 行缺少字段键“{key}”",
          "row 1 lacks the field key “{key}”"),
    _said(r"sheet '(?P<key>\w+)' is missing", "缺少工作表“{key}”", "sheet “{key}” is missing"),
    _said(r"at most (?P<n>\d+) rows of data", "最多 {n} 行数据", "at most {n} rows of data"),
    _said(r"unpacks to more than (?P<n>\d+) bytes", "解压后超过 {n} 字节",
          "unpacks to more than {n} bytes"),
    _said(r"objects and arrays nest at most (?P<n>\d+) levels", "对象与数组最多嵌套 {n} 层",
          "objects and arrays nest at most {n} levels"),
    _said(r"(?P<what>[^:]+): line (?P<line>\d+) column (?P<column>\d+) \(char \d+\)",
          "第 {line} 行第 {column} 列不是有效的 JSON{what}",
          "not valid JSON at line {line}, column {column}{what}"),
    _said(r"must not contain NUL characters", "不得包含 NUL 字符"),
    # marshmallow's own words, as the API's request schemas say them
    *(_said(pattern, zh, en) for pattern, zh, en in MARSHMALLOW),
    _said(r"must be valid Unicode text", "须为有效的 Unicode 文字"),
)

# The summaries of an invalid checklist or workbook (an error's `message`).
SUMMARIES = {
    "the checklist is invalid": {Lang.ZH: "清单有误", Lang.EN: "the checklist is invalid"},
    "the checklist must be a JSON object": {Lang.ZH: "清单须为 JSON 对象",
                                            Lang.EN: "the checklist must be a JSON object"},
    "the workbook has invalid values": {Lang.ZH: "工作簿中有错误的值",
                                        Lang.EN: "the workbook has invalid values"},
    "this is not a riskengine checklist template": {
        Lang.ZH: "这不是 riskengine 清单模板",
        Lang.EN: "this is not a riskengine checklist template"},
    "the workbook has too many rows": {Lang.ZH: "工作簿行数过多",
                                       Lang.EN: "the workbook has too many rows"},
    "the workbook is too large": {Lang.ZH: "工作簿过大", Lang.EN: "the workbook is too large"},
    "the body is not valid UTF-8 JSON": {Lang.ZH: "请求正文不是有效的 UTF-8 JSON",
                                         Lang.EN: "the body is not valid UTF-8 JSON"},
    "the body is nested too deeply": {Lang.ZH: "请求正文嵌套过深",
                                      Lang.EN: "the body is nested too deeply"},
    "the body holds text that cannot be stored": {
        Lang.ZH: "请求正文含有无法保存的文字",
        Lang.EN: "the body holds text that cannot be stored"},
    "the file is not an Excel workbook (.xlsx)": {
        Lang.ZH: "文件不是 Excel 工作簿（.xlsx）",
        Lang.EN: "the file is not an Excel workbook (.xlsx)"},
}
_COLON = {Lang.ZH: "：", Lang.EN: ": "}
_AND = {Lang.ZH: "、", Lang.EN: ", "}
_CELL = re.compile(r"(?P<sheet>\w+)!(?P<cell>[A-Z]{1,3}\d*)\Z")


class Wording:
    """Says checklist problems in a language, with one catalogue's labels."""

    def __init__(self, policy: Policy, checks: Mapping[str, CheckSpec]) -> None:
        self.policy, self.checks = policy, checks

    # --- names ---------------------------------------------------------------------------

    @classmethod
    def of(cls, catalog: Catalog) -> Wording:
        return cls(catalog.policy, {k: v for stage in Stage
                                    for k, v in catalog.checks(stage).items()})

    def choice(self, code: str, lang: Lang) -> str:
        shown = choice_label(self.policy, code, lang)
        for group in ("status", "owner", "role", "gate"):  # the API's closed sets, labelled too
            if shown == code:
                shown = self.policy.label(group, code, lang)
        return shown

    def field(self, name: str, lang: Lang) -> str:
        if name in self.policy.labels.get("section", {}):  # as_of: its short name
            return self.section(name, lang)
        check = self.checks.get(name)
        if check is not None and name not in self.policy.labels.get("field", {}):
            return check.description[lang]
        return self.policy.label("field", name, lang)

    def section(self, name: str, lang: Lang) -> str:
        return self.policy.label("section", name, lang)

    def row(self, index: str, lang: Lang) -> str:
        number = int(index) + 1
        return f"第 {number} 行" if lang is Lang.ZH else f"row {number}"

    def place(self, path: str, lang: Lang) -> list[str]:
        """The parts of a checklist path as a person names them: section and row, then field."""
        parts = [p for p in re.split(r"[.\[\]]+", path) if p and p != "_schema"]
        if not parts:
            return [self.section("checklist", lang)]
        head, rest = parts[0], parts[1:]
        if head in LISTS:
            return self._in_list(head, rest, lang)
        if head == "checks" and rest:
            check = self.checks.get(rest[0])
            return [self.section(head, lang),
                    check.description[lang] if check else rest[0], *rest[1:]]
        if head in ("project", "milestones") and rest:
            return [self.section(head, lang), *(self.field(p, lang) for p in rest)]
        return [self.section(head, lang), *rest]

    def _in_list(self, name: str, rest: list[str], lang: Lang) -> list[str]:
        out = [self.section(name, lang)]
        nested = set(LISTS[name].nested) | set(NESTED_LISTS)
        for part in rest:
            if part.isdigit():
                out[-1] = f"{out[-1]} {self.row(part, lang)}"
            elif part in nested:
                out.append(self.section(part, lang))
            else:
                out.append(self.field(part, lang))
        return out

    def sheet_cell(self, where: str, lang: Lang) -> str:
        """A cell (`offsite_factors!C4`) with its sheet's label: `场外不利因素!C4`."""
        found = _CELL.match(where)
        if found is None:
            return self.section(where, lang)
        return f"{self.section(found['sheet'], lang)}!{found['cell']}"

    # --- problems ------------------------------------------------------------------------

    def text(self, problem: str, lang: Lang, locate: Locate | None = None) -> str:
        """What is wrong, in a language; `locate` names another row (a duplicate's twin)."""
        for said in SAYINGS:
            found = said.pattern.match(problem)
            if found:
                values = {k: self._value(k, v, lang, locate) for k, v in found.groupdict().items()}
                return (said.zh if lang is Lang.ZH else said.en).format(**values)
        return problem

    def _value(self, group: str, value: str, lang: Lang, locate: Locate | None) -> str:
        if group == "choices":
            return _AND[lang].join(self.choice(c, lang) for c in value.split(", "))
        if group == "field":
            return self.field(value, lang)
        if group == "fields":
            return _AND[lang].join(self.field(f, lang) for f in value.split(", "))
        if group == "row":
            return locate(value) if locate else " ".join(self.place(value, lang))
        if group == "sheet":
            return self.section(value, lang)
        if group == "stage":
            return self.choice(value, lang)
        if group == "what":  # json's complaint, in words (or left out)
            words = json_words(value, lang)
            return f"（{words}）" if words and lang is Lang.ZH else f" ({words})" if words else ""
        return value

    def line(self, where: str, path: str | None, problem: str, lang: Lang,
             locate: Locate | None = None) -> str:
        """One problem as a person reads it: `场外不利因素 第 1 行 · 距离（米）：须为数字`.

        `where` is the cell (`sheet!C4`) or the checklist path the problem is shown at; `path`
        the checklist path it concerns, when known (a cell's field label comes from it).
        """
        if "!" in where:
            head = [self.sheet_cell(where, lang)]
            if path is not None and _has_field(path):
                head += self.place(path, lang)[-1:]
        else:
            head = self.place(path or where, lang)
        return f"{' · '.join(head)}{_COLON[lang]}{self.text(problem, lang, locate)}"

    def summary(self, message: str, lang: Lang) -> str:
        return SUMMARIES.get(message, {}).get(lang, message)

    def worded(self, message: str, problems: Iterable[tuple[str, str | None, str]],
               locate: Callable[[Lang], Locate] | None = None
               ) -> dict[str, tuple[str, dict[str, list[str]]]]:
        """An error's message and details in every language, from (where, path, problem)."""
        problems = list(problems)
        out: dict[str, tuple[str, dict[str, list[str]]]] = {}
        for lang in Lang:
            details: dict[str, list[str]] = {}
            rows = locate(lang) if locate else None
            for where, path, problem in problems:
                details.setdefault(where, []).append(self.line(where, path, problem, lang, rows))
            out[lang.value] = (self.summary(message, lang), details)
        return out


def choice_label(policy: Policy, code: str, lang: Lang) -> str:
    """The label of a vocabulary value (a kind, a status, a stage, yes/no)."""
    if code in policy.labels.get("choice", {}):
        return policy.label("choice", code, lang)
    return policy.label("kind", code, lang)


def worded_error(error: RiskEngineError, wording: Wording) -> RiskEngineError:
    """The error worded in every language, its details keyed by where they are (cells); a
    refusal of riskengine.refusals is said in every language already."""
    if error.refused:
        return error
    error.worded = wording.worded(
        error.message, ((where, None, p) for where, problems in error.details.items()
                        for p in problems))
    error.message, error.details = error.worded[Lang.ZH.value]
    return error


def _has_field(path: str) -> bool:
    last = re.split(r"[.\[\]]+", path.strip("]"))[-1]
    return not last.isdigit() and last not in LISTS and last not in NESTED_LISTS
