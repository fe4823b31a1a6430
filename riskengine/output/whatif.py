"""A what-if report for people: a terminal table and an Excel workbook, Chinese by default."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from riskengine.output.dashboard import stage_label
from riskengine.output.reports import term
from riskengine.output.workbook import print_setup, put
from riskengine.rules.model import Policy
from riskengine.vocabulary import Lang
from riskengine.whatif import REFUSED, WhatIf

_WORDS: dict[str, dict[Lang, str]] = {
    "title": {Lang.ZH: "规则变更影响预演", Lang.EN: "What-if of a rule change"},
    "projects": {Lang.ZH: "项目清单数", Lang.EN: "Checklists judged"},
    "gate_changed": {Lang.ZH: "闸口结论改变", Lang.EN: "Gate changes"},
    "worse": {Lang.ZH: "变严", Lang.EN: "Worse"},
    "better": {Lang.ZH: "变宽", Lang.EN: "Better"},
    "refused_by_draft": {Lang.ZH: "草案拒收的清单", Lang.EN: "Refused by the draft"},
    "project": {Lang.ZH: "项目", Lang.EN: "Project"},
    "stage": {Lang.ZH: "阶段", Lang.EN: "Stage"},
    "before": {Lang.ZH: "现行规则", Lang.EN: "Current rules"},
    "after": {Lang.ZH: "草案规则", Lang.EN: "Draft rules"},
    "change": {Lang.ZH: "变化", Lang.EN: "Change"},
    "rule": {Lang.ZH: "规则", Lang.EN: "Rule"},
    "finding": {Lang.ZH: "风险发现", Lang.EN: "Finding"},
    "subject": {Lang.ZH: "对象", Lang.EN: "Subject"},
    "severity": {Lang.ZH: "严重度", Lang.EN: "Severity"},
    "blocking": {Lang.ZH: "阻断", Lang.EN: "Blocking"},
    "owner": {Lang.ZH: "责任部门", Lang.EN: "Owner"},
    "due_date": {Lang.ZH: "整改期限", Lang.EN: "Due date"},
    "in_force": {Lang.ZH: "已生效", Lang.EN: "In force"},
    "gates_moved": {Lang.ZH: "改变闸口的项目数", Lang.EN: "Gates it moves"},
    "projects_changed": {Lang.ZH: "影响的项目数", Lang.EN: "Checklists it changes"},
    "added": {Lang.ZH: "新增", Lang.EN: "added"},
    "removed": {Lang.ZH: "消除", Lang.EN: "removed"},
    "changed": {Lang.ZH: "变更", Lang.EN: "changed"},
    REFUSED: {Lang.ZH: "拒收", Lang.EN: "refused"},
    "yes": {Lang.ZH: "是", Lang.EN: "yes"},
    "no": {Lang.ZH: "否", Lang.EN: "no"},
    "summary": {Lang.ZH: "概要", Lang.EN: "Summary"},
    "rules": {Lang.ZH: "规则", Lang.EN: "Rules"},
    "changes": {Lang.ZH: "变化明细", Lang.EN: "Changes"},
}


def _w(key: str, lang: Lang) -> str:
    return _WORDS[key][lang]


def _gate(value: str, lang: Lang) -> str:
    return _w(REFUSED, lang) if value == REFUSED else term("gate", value, lang)


def _side(side: Mapping[str, Any] | None, lang: Lang, policy: Policy) -> str:
    if side is None:
        return "—"
    flags = [term("severity", side["severity"], lang)]
    if side["blocking"]:
        flags.append(_w("blocking", lang))
    if not side["in_force"]:
        flags.append("未生效" if lang is Lang.ZH else "not in force")
    return f"{'·'.join(flags)} {policy.label('owner', side['owner'], lang)} {side['due_date']}"


def render_whatif_table(report: WhatIf, lang: Lang, policy: Policy) -> str:
    """The summary, then each project whose findings or gate change."""
    summary = report.summary()
    lines = [_w("title", lang)]
    lines += [f"  {_w(k, lang)}: {summary[k]}"
              for k in ("projects", "gate_changed", "worse", "better", "refused_by_draft")]
    for rule in summary["rules"]:
        lines.append(f"  {rule['rule_id']}: {_w('gates_moved', lang)} {rule['gates_moved']}, "
                     f"{_w('projects_changed', lang)} {rule['projects_changed']}")
    for outcome in report.projects:
        if not outcome.changes and not outcome.gate_changed:
            continue
        stage = stage_label(policy, outcome.stage, lang)
        lines.append(f"{outcome.code} {outcome.name or ''} · {stage}: "
                     f"{_gate(outcome.gate_before, lang)} → {_gate(outcome.gate_after, lang)}")
        for change in outcome.changes:
            lines.append(f"  [{_w(change.change, lang)}] {change.rule_id} "
                         f"{change.title.get(lang.value, '')} · "
                         f"{_side(change.before, lang, policy)} → "
                         f"{_side(change.after, lang, policy)}")
    return "\n".join(lines)


def _append(sheet: Worksheet, values: list[Any]) -> None:
    """Append a row; a project's name or code from a checklist is never a formula."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        put(cell, cell.value)


def _header(sheet: Worksheet, keys: list[str], lang: Lang) -> None:
    sheet.append([_w(k, lang) for k in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    print_setup(sheet, "1:1")


def render_whatif_xlsx(report: WhatIf, lang: Lang, policy: Policy) -> bytes:
    """Summary, the rules that move gates, and every change, one row each."""
    book = Workbook()
    summary = report.summary()
    first = book.active
    assert first is not None
    first.title = _w("summary", lang)
    print_setup(first, None)
    first.append([_w("title", lang)])
    for key in ("projects", "gate_changed", "worse", "better", "refused_by_draft"):
        first.append([_w(key, lang), summary[key]])
    rules = book.create_sheet(_w("rules", lang))
    _header(rules, ["rule", "gates_moved", "projects_changed"], lang)
    for rule in summary["rules"]:
        _append(rules, [rule["rule_id"], rule["gates_moved"], rule["projects_changed"]])
    changes = book.create_sheet(_w("changes", lang))
    _header(changes, ["project", "stage", "before", "after", "change", "rule", "finding",
                      "subject", "severity", "blocking", "owner", "due_date", "in_force"], lang)
    for outcome in report.projects:
        gates = [outcome.code, stage_label(policy, outcome.stage, lang),
                 _gate(outcome.gate_before, lang),
                 _gate(outcome.gate_after, lang)]
        if not outcome.changes:
            _append(changes, gates)
        for change in outcome.changes:
            side = change.after or change.before or {}
            _append(changes, [*gates, _w(change.change, lang), change.rule_id,
                              change.title.get(lang.value, ""), change.subject,
                              term("severity", str(side.get("severity")), lang),
                              _w("yes" if side.get("blocking") else "no", lang),
                              policy.label("owner", str(side.get("owner")), lang),
                              side.get("due_date"),
                              _w("yes" if side.get("in_force", True) else "no", lang)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
