"""The dashboard's figures as an Excel workbook (the portfolio export), Chinese by default."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from riskengine.output.reports import term
from riskengine.output.workbook import print_setup, put
from riskengine.rules.model import Policy
from riskengine.vocabulary import Lang, Severity, Stage

_WORDS: dict[str, dict[Lang, str]] = {
    "open": {Lang.ZH: "未关闭风险（按责任部门×严重度）",
             Lang.EN: "Open findings by owner × severity"},
    "age": {Lang.ZH: "账龄与逾期", Lang.EN: "Age and overdue"},
    "resolve": {Lang.ZH: "整改用时", Lang.EN: "Time to resolve"},
    "gates": {Lang.ZH: "闸口（按城市×阶段）", Lang.EN: "Gates by city × stage"},
    "owner": {Lang.ZH: "责任部门", Lang.EN: "Owner"},
    "total": {Lang.ZH: "合计", Lang.EN: "Total"},
    "overdue": {Lang.ZH: "逾期", Lang.EN: "Overdue"},
    "month": {Lang.ZH: "月份", Lang.EN: "Month"},
    "severity": {Lang.ZH: "严重度", Lang.EN: "Severity"},
    "resolved": {Lang.ZH: "已整改数", Lang.EN: "Resolved"},
    "mean_days": {Lang.ZH: "平均天数", Lang.EN: "Mean days"},
    "p90_days": {Lang.ZH: "P90 天数", Lang.EN: "p90 days"},
    "city": {Lang.ZH: "城市", Lang.EN: "City"},
    "stage": {Lang.ZH: "阶段", Lang.EN: "Stage"},
    "days": {Lang.ZH: "天", Lang.EN: "days"},
    "dashboard": {Lang.ZH: "项目组合看板", Lang.EN: "Portfolio dashboard"},
    "headline": {Lang.ZH: "要点", Lang.EN: "Headlines"},
}


def stage_label(policy: Policy, stage: str | None, lang: Lang) -> str:
    """A stage's name for people (policy.yaml `stages`), empty when there is none."""
    if stage not in set(Stage):
        return stage or ""
    return policy.stages[Stage(stage)].label[lang]


def word(key: str, lang: Lang) -> str:
    return _WORDS[key][lang]


def _sheet(book: Workbook, title: str, header: list[str]) -> Worksheet:
    sheet: Worksheet = book.create_sheet(title[:31].replace("/", "-").replace("×", "x"))
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    print_setup(sheet, "1:1")
    return sheet


def _row(sheet: Worksheet, values: list[Any]) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        put(cell, cell.value)


def render_dashboard_xlsx(figures: Mapping[str, Any], lang: Lang, policy: Policy) -> bytes:
    """One sheet per figure, the same numbers as the page and the API."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    severities = [s.value for s in Severity]
    sheet = _sheet(book, word("open", lang), [word("owner", lang), *(
        term("severity", s, lang) for s in severities), word("total", lang)])
    for entry in figures["open_by_owner"]:
        counts = {c["severity"]: c["count"] for c in entry["by_severity"]}
        _row(sheet, [policy.label("owner", entry["owner"], lang),
                     *(counts[s] for s in severities), entry["total"]])
    buckets = [b for entry in figures["age_by_owner"][:1] for b in entry["buckets"]]
    sheet = _sheet(book, word("age", lang), [word("owner", lang), *(
        f"{b} {word('days', lang)}" for b in buckets), word("overdue", lang)])
    for entry in figures["age_by_owner"]:
        _row(sheet, [policy.label("owner", entry["owner"], lang),
                     *(entry["buckets"][b] for b in buckets), entry["overdue"]])
    sheet = _sheet(book, word("resolve", lang), [word(k, lang) for k in (
        "month", "severity", "resolved", "mean_days", "p90_days")])
    for entry in figures["time_to_resolve"]:
        _row(sheet, [entry["month"], term("severity", entry["severity"], lang),
                     entry["resolved"], entry["mean_days"], entry["p90_days"]])
    gates = ["fail", "conditional", "pass"]
    sheet = _sheet(book, word("gates", lang), [word("city", lang), word("stage", lang), *(
        term("gate", g, lang) for g in gates)])
    for entry in figures["gates"]:
        stage = stage_label(policy, entry["stage"], lang)
        _row(sheet, [entry["city"] or "", stage, *(entry["gates"][g] for g in gates)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
