"""The pages' own words in Chinese and English. Vocabulary labels (severities, gates, statuses,
owners, categories, kinds, fields) come from rulesets/policy.yaml's `labels`."""

from __future__ import annotations

from typing import Any

from riskengine.vocabulary import Lang

MESSAGES: dict[str, tuple[str, str]] = {
    # layout
    "skip": ("跳到正文", "Skip to content"),
    "nav": ("主导航", "Main navigation"),
    "portfolio": ("项目组合", "Portfolio"),
    "entry": ("填写检查清单", "Checklist entry"),
    "rules": ("规则目录", "Rules catalogue"),
    "api_docs": ("API 文档", "API docs"),
    "switch_lang": ("English", "中文"),
    "logout": ("退出", "Log out"),
    # login and errors
    "login": ("登录", "Log in"),
    "login_help": ("使用管理员发放的 API 令牌登录（riskengine tokens create）。"
                   "令牌决定您的角色和可见项目。",
                   "Log in with the API token you were given (riskengine tokens create); it "
                   "decides your role and the projects you see."),
    "login_failed": ("令牌无效或已被撤销。", "The token is unknown or revoked."),
    "login_throttled": ("登录失败次数过多，请在 {seconds} 秒后重试。",
                        "Too many failed log-ins; try again in {seconds} seconds."),
    "token": ("API 令牌", "API token"),
    "error": ("出错了", "Something went wrong"),
    "error_400": ("请求无效", "Bad request"),
    "error_csrf": ("表单已过期，请返回并重试", "The form expired; go back and try again"),
    "error_403": ("没有权限", "Not allowed"),
    "error_404": ("未找到", "Not found"),
    "error_405": ("不支持的操作", "Not supported"),
    "error_409": ("与当前状态冲突", "Conflict with the current state"),
    "error_413": ("文件太大", "The file is too large"),
    "error_422": ("数据无效", "Invalid data"),
    "back_to_portfolio": ("返回项目组合", "Back to the portfolio"),
    # common words
    "yes": ("是", "yes"), "no": ("否", "no"), "none": ("无", "None"),
    "not_stated": ("未说明", "not stated"), "all": ("全部", "All"), "open": ("查看", "Open"),
    "project": ("项目", "Project"), "city": ("城市", "City"), "stage": ("阶段", "Stage"),
    "stage_sales": ("销售阶段", "Sales"), "stage_delivery": ("交付阶段", "Delivery"),
    "gate": ("闸口", "Gate"), "as_of": ("评估日", "As of"), "links": ("链接", "Links"),
    "owner": ("责任部门", "Owner"), "severity": ("严重度", "Severity"),
    "status": ("状态", "Status"), "due": ("整改期限", "Due"), "finding": ("风险发现", "Finding"),
    "findings": ("发现数", "Findings"), "report": ("报告", "Report"),
    "assessment": ("评估", "Assessment"), "blocking": ("阻断", "Blocking"),
    "overdue": ("已逾期", "Overdue"), "download": ("下载", "Download"),
    "print": ("打印", "Print"), "value": ("值", "Value"), "check": ("检查项", "Check"),
    "checks": ("是/否及数值类事实（checks）", "Yes/no and numeric facts (checks)"),
    "rulesets": ("规则集版本", "Rulesets"),
    # portfolio
    "filter": ("筛选", "Filter"),
    "latest_gate": ("最新闸口", "Latest gate"),
    "open_findings": ("未关闭发现", "Open findings"),
    "unresolved_findings": ("未解决发现（含已豁免）", "Not resolved (waived included)"),
    "next_audit": ("下次审计", "Next audit"),
    "latest_assessment": ("最新评估", "Latest assessment"),
    "no_projects": ("暂无项目。提交第一份检查清单：", "No projects yet. Submit a first checklist:"),
    "projects_count": ("共 {count} 个项目", "{count} projects"),
    "pages": ("分页", "Pages"), "previous": ("上一页", "Previous"), "next": ("下一页", "Next"),
    # project
    "gate_review": ("闸口评审", "Gate review"),
    "resubmit": ("以最新清单为底稿重新填写", "New checklist from the latest"),
    "gate_trend": ("闸口趋势", "Gate trend"),
    "history": ("检查清单与评估", "Checklists and assessments"),
    "no_assessments": ("尚未提交检查清单。", "No checklist submitted yet."),
    "submitted": ("提交时间 / 提交人", "Submitted / by"),
    "gate_at_submission": ("提交时闸口", "Gate at submission"),
    "checklist_xlsx": ("清单 Excel", "Checklist (Excel)"),
    "reviews": ("评审记录", "Gate reviews"),
    "no_reviews": ("暂无评审记录。", "No gate review recorded."),
    "recorded": ("记录时间", "Recorded"), "decision": ("评审决定", "Decision"),
    "computed_gate": ("计算闸口", "Computed gate"), "reviewer": ("评审人", "Reviewer"),
    "review_status": ("评审状态", "Review status"),
    "audit_runs": ("审计运行", "Audit runs"),
    "no_audit_runs": ("暂无审计运行。", "No audit run yet."),
    "slot_date": ("计划日期", "Slot"), "ran_at": ("运行时间", "Ran at"),
    # assessment
    "assessment_title": ("{code} 评估 #{number}", "{code} assessment #{number}"),
    "superseded_note": ("该评估已被更新的检查清单取代；状态操作请在最新评估中进行。",
                        "A newer checklist superseded this assessment; work the findings on the "
                        "latest one."),
    "gate_today": ("闸口（按今日状态）", "Gate (today)"),
    "printable_report": ("可打印报告", "Printable report"),
    "project_page": ("项目页", "Project page"),
    "blocking_findings": ("阻断闸口的发现", "Blocking findings"),
    "no_findings": ("没有风险发现。", "No findings."),
    "severity_group": ("{severity}风险", "{severity} severity"),
    "change_new": ("新发现", "new"), "change_persisting": ("持续存在", "persisting"),
    "subject": ("对象", "Subject"), "evidence": ("证据", "Evidence"),
    "action": ("整改措施", "Action"), "escalation": ("督办人", "Escalation"),
    "support": ("协同", "Support"), "source": ("来源", "Source"),
    "waiver": ("豁免", "Waiver"), "approver": ("批准人", "Approver"),
    "expires": ("到期日", "Expires"), "waiver_lapsed": ("豁免已过期", "waiver lapsed"),
    "notes": ("备注", "Notes"),
    "do_start": ("开始处理", "Start"), "do_resolve": ("标记已解决", "Resolve"),
    "do_reopen": ("重新打开", "Reopen"), "do_waive": ("豁免…", "Waive…"),
    "justification": ("豁免理由", "Justification"),
    "confirm_waive": ("确认豁免", "Waive"),
    "auto_resolved": ("本次清单自动解决的发现", "Resolved by this checklist"),
    "status_changed": ("状态已更新。", "Status updated."),
    "status_not_changed": ("状态未更新", "Status not changed"),
    "waiver_expiry_invalid": ("豁免到期日无效", "The waiver's expiry date is invalid"),
    "date_format": ("日期格式为 YYYY-MM-DD", "a date YYYY-MM-DD"),
    # gate review
    "review_title": ("{code} 闸口评审", "{code} gate review"),
    "no_stage_assessment": ("该阶段还没有评估，请先提交检查清单。",
                            "No assessment for this stage yet: submit a checklist first."),
    "computed_decision": ("计算结论", "Computed decision"),
    "decision_explained_fail": ("存在未豁免的阻断性发现。", "An open, unwaived blocking finding."),
    "decision_explained_conditional": ("存在高风险发现或已豁免的阻断性发现。",
                                       "An open high finding, or a waived blocking one."),
    "decision_explained_pass": ("无阻断或高风险的未关闭发现。",
                                "No open blocking or high finding."),
    "content_hash": ("内容哈希", "Content hash"),
    "waivers": ("豁免", "Waivers"), "in_force": ("有效", "In force"),
    "record_decision": ("记录评审决定", "Record the decision"),
    "comments": ("评审意见", "Comments"),
    "override_justification": ("否决计算结论的书面理由（仅管理员）",
                               "Written justification to override the computed gate (admin)"),
    "override_help": ("计算结论（或交付阶段最近一次审计结论）为“不通过”时记录“通过”必须填写。",
                      "Needed to record pass while the computed gate (or, for delivery, the "
                      "latest audit run's gate) is fail."),
    "record": ("记录决定", "Record decision"),
    "reviewers_only": ("只有评审人或管理员可以记录评审决定。",
                       "Only reviewers and admins record gate decisions."),
    "decision_required": ("请选择评审决定", "Choose a decision"),
    "pass_over_fail": ("计算结论为“不通过”时，记录“通过”或“有条件通过”需要管理员的书面否决理由",
                       "The computed gate is fail: pass or conditional needs an admin's "
                       "written override"),
    "pass_over_audit_fail": ("最近一次交付前审计的结论为“不通过”，"
                             "记录“通过”或“有条件通过”需要管理员的书面否决理由",
                             "The latest audit run's gate is fail: pass or conditional needs "
                             "an admin's written override"),
    "lenient_over_gate": ("评审决定比计算结论更宽松（如在“不通过”时记录“有条件通过”，或在"
                          "“有条件通过”时记录“通过”），需要管理员的书面否决理由",
                          "The decision is more lenient than the computed gate: it needs an "
                          "admin's written override"),
    "lenient_over_audit": ("评审决定比最近一次交付前审计的结论更宽松，需要管理员的书面否决理由",
                           "The decision is more lenient than the latest audit run's gate: it "
                           "needs an admin's written override"),
    "review_recorded": ("评审决定已记录。", "Gate review recorded."),
    "latest_audit_run": ("最近一次交付前审计", "Latest pre-delivery audit run"),
    "audit_run_explained": ("交付前评审同时读取最近一次审计运行的结论；"
                            "其为“不通过”时，记录“通过”需要管理员否决。",
                            "The pre-delivery review also reads the latest audit run's gate: "
                            "while it is fail, pass needs an admin override."),
    "audit_run_slot": ("审计时点 {slot}（第 {number} 次）", "Slot {slot} (run {number})"),
    "no_audit_run_yet": ("尚无审计运行。", "No audit run yet."),
    "audit_run_slot_of": ("审计时点 {slot}", "slot {slot}"),
    # rules
    "rules_count": ("共 {count} 条规则", "{count} rules"),
    "applies_to": ("适用对象", "Applies to"),
    "each_item_of": ("{list}的每一项", "each item of {list}"),
    "whole_checklist": ("整份检查清单", "the whole checklist"),
    "condition": ("触发条件", "Fires when"), "requires": ("必须提供", "Needs"),
    "parameters": ("参数", "Parameters"),
    "due_rule": ("{milestones}前 {days} 天", "{days} days before {milestones}"),
    "examples": ("规则示例（{count}）", "Examples ({count})"),
    "fires": ("触发", "fires"), "silent": ("不触发", "silent"),
    "promise_ledger": ("承诺台账（跨阶段）", "Promise ledger (across stages)"),
    "ledger_condition": ("销售阶段清单中记录的承诺，在交付阶段清单中缺失且未结束。",
                         "A promise recorded in a sales-stage checklist is missing, and not "
                         "ended, in the delivery checklist."),
    # entry
    "entry_problems": ("有 {count} 处需要更正：", "{count} places need correcting:"),
    "excel": ("Excel 模板", "Excel template"),
    "excel_help": ("下载模板，在 Excel 中填写后上传；错误会标明工作表、行与列。",
                   "Download the template, fill it in Excel and upload it; problems are shown "
                   "by sheet, row and column."),
    "template_for": ("下载{stage}模板", "{stage} template"),
    "filled_template": ("已填写的模板（.xlsx）", "Filled template (.xlsx)"),
    "upload_submit": ("上传并提交", "Upload and submit"),
    "choose_file": ("请选择文件", "Choose a file"),
    "dashboard": ("看板", "Dashboard"), "whatif": ("规则预演", "Rule what-if"),
    "rule_versions": ("评估所用规则版本", "Rule versions judged by"),
    "burn_down": ("风险发现随时间的变化（距里程碑）", "Findings over time (toward the milestone)"),
    "milestone": ("里程碑", "Milestone"),
    "web_form": ("网页表单", "Web form"),
    "switch_stage": ("切换阶段", "Switch stage"),
    "add_row": ("添加一行", "Add a row"),
    "remove_row": ("删除此行", "Remove this row"),
    "prelisted_help": ("本阶段须逐项填写的事项已列出；不适用的一行可删除。",
                       "The items this stage asks for are listed; remove a row that does not "
                       "apply."),
    "submit_checklist": ("提交检查清单", "Submit checklist"),
    # reports
    "report_title": ("{code} 风险评估报告", "{code} risk assessment report"),
    "review_report_title": ("{code} 闸口评审报告", "{code} gate review report"),
}


def message(key: str, lang: Lang, **values: Any) -> str:
    """Return a text in `lang`, its `{placeholders}` filled; the key itself when unknown."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[0] if lang is Lang.ZH else pair[1]
    return text.format(**values) if values else text
