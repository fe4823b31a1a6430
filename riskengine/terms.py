"""The words for the closed sets a person reads but no rule file labels: severities, gate
decisions, finding and review statuses, API roles. Reports, pages, notices and refusals share them
(the rule files' own vocabulary, owners, kinds, stages, is labelled in rulesets/policy.yaml)."""

from __future__ import annotations

from riskengine.vocabulary import Lang

TERMS: dict[str, dict[str, dict[Lang, str]]] = {
    "severity": {"critical": {Lang.ZH: "严重", Lang.EN: "Critical"},
                 "high": {Lang.ZH: "高", Lang.EN: "High"},
                 "medium": {Lang.ZH: "中", Lang.EN: "Medium"},
                 "low": {Lang.ZH: "低", Lang.EN: "Low"}},
    "gate": {"fail": {Lang.ZH: "不通过", Lang.EN: "Fail"},
             "conditional": {Lang.ZH: "有条件通过", Lang.EN: "Conditional"},
             "pass": {Lang.ZH: "通过", Lang.EN: "Pass"}},
    "status": {"open": {Lang.ZH: "待处理", Lang.EN: "Open"},
               "in_progress": {Lang.ZH: "处理中", Lang.EN: "In progress"},
               "resolved": {Lang.ZH: "已解决（待核实）", Lang.EN: "Resolved (to verify)"},
               "verified": {Lang.ZH: "已核实关闭", Lang.EN: "Verified"},
               "waived": {Lang.ZH: "已豁免", Lang.EN: "Waived"}},
    "review": {"active": {Lang.ZH: "有效", Lang.EN: "Active"},
               "superseded": {Lang.ZH: "已被新清单取代", Lang.EN: "Superseded"}},
    "role": {"submitter": {Lang.ZH: "项目经理", Lang.EN: "project manager"},
             "owner": {Lang.ZH: "责任部门", Lang.EN: "department"},
             "reviewer": {Lang.ZH: "评审人", Lang.EN: "reviewer"},
             "auditor": {Lang.ZH: "审计", Lang.EN: "auditor"},
             "admin": {Lang.ZH: "管理员", Lang.EN: "admin"}},
}


def term(group: str, value: str, lang: Lang) -> str:
    """Return the word for a severity, gate decision, finding or review status."""
    return TERMS.get(group, {}).get(value, {}).get(lang, value)
