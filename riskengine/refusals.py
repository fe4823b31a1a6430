"""Refusals in the reader's language: every "no" the service says to a person, by stable key.

An error carries a `Refusal` (a key of `WORDS` and its parameters) as its message and as each
line of its details; it is said in Chinese unless English is asked for (the API's `?lang=`,
Accept-Language, the command line's `--lang`). The error's `code` and its details keys (machine
paths) never change with the language. A parameter named after a closed set (`status`,
`role`, `owner`, `stage`, `decision` and their plurals, see `LABELLED`) is shown by its label
of rulesets/policy.yaml. Checklist and workbook problems have their own wording
(riskengine.checklist.wording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from riskengine.errors import RiskEngineError, Words
from riskengine.rules.labels import bundled_labels
from riskengine.vocabulary import Lang

# key -> (Chinese, English); `{name}` is a parameter, the same names in both.
WORDS: dict[str, tuple[str, str]] = {
    # --- working a finding (riskengine.lifecycle) ------------------------------------------
    "nothing_to_change": ("没有要修改的内容", "nothing to change"),
    "give_a_change": ("请至少给出状态、备注、整改期限、改派部门或豁免中的一项",
                      "give status, notes, due_date, assign_to or waiver"),
    "waiver_goes_with": ("豁免只能随状态“{status}”一同提交", "a waiver goes with status {status}"),
    "evidence_goes_with": ("整改证据只能随状态“{status}”一同提交",
                           "evidence goes with status {status}"),
    "must_be_status": ("须为“{status}”", "must be {status}"),
    "transition_refused": ("风险发现不能从“{current}”变为“{target}”",
                           "a finding cannot go from {current} to {target}"),
    "allowed_from": ("“{current}”可变为：{statuses}", "allowed from {current}: {statuses}"),
    "already_waived": ("该风险发现已豁免", "the finding is already waived"),
    "give_new_waiver": ("如需续期，请提交新的豁免", "give a new waiver to renew"),
    "evidence_required": ("该风险发现的规则要求先提供整改证据，才能标记为已解决",
                          "this finding's rule asks for evidence before it is resolved"),
    "give_evidence": ("请填写整改说明、列出证明材料（文件、许可证号等）或附上照片/文件，"
                      "说明风险已消除",
                      "give evidence.note, evidence.references or evidence.attachments: what "
                      "shows the risk is fixed (document, photo, permit number)"),
    "self_verification": ("整改结果须由整改人以外的人核实",
                          "a resolution is verified by someone other than its resolver"),
    "resolved_by": ("此风险发现由 {name} 整改", "{name} resolved this finding"),
    "rejection_needs_reason": ("退回整改须说明理由", "a rejected resolution needs a reason"),
    "say_what_is_missing": ("请说明还缺少什么", "say what is still missing"),
    "waiver_incomplete": ("豁免须有理由、批准人和到期日",
                          "a waiver needs a justification, an approver and an expiry date"),
    "required_with_status": ("状态为“{status}”时必填", "is required with status {status}"),
    "waiver_invalid": ("豁免有误", "the waiver is invalid"),
    "must_be_written": ("须写明", "must be written out"),
    "must_be_after_today": ("须晚于今天（{today}）", "must be after today ({today})"),
    "must_be_within_days": ("须在 {days} 天以内", "must be within {days} days"),
    # --- waiver requests (riskengine.waivers) ----------------------------------------------
    "cannot_be_waived": ("“{status}”的风险发现不能申请豁免", "a {status} finding cannot be waived"),
    "waivable_statuses": ("只有{statuses}的风险发现可以申请豁免",
                          "waivers are requested for {statuses} findings"),
    "request_pending": ("该风险发现已有一项待审批的豁免申请",
                        "a waiver request for this finding is already pending"),
    "wait_for_decision": ("请等待审批结果", "wait for its decision"),
    "request_decided": ("该申请已被处理（{outcome}）", "this request was already {outcome}"),
    "decided_by": ("处理人：{name}", "decided by {name}"),
    "self_approval": ("豁免申请须由申请人以外的人批准或驳回",
                      "a waiver is approved or denied by someone other than its requester"),
    "requested_by": ("此豁免由 {name} 申请", "{name} asked for this waiver"),
    "denial_needs_reason": ("驳回豁免须说明理由", "a denied waiver needs a reason"),
    "say_why": ("请说明理由", "say why"),
    "no_longer_waivable": ("该风险发现现为“{status}”，不能豁免",
                           "the finding is {status} now and cannot be waived"),
    "status_now": ("当前状态：{status}", "now {status}"),
    "approved": ("已批准", "approved"),
    "denied": ("已驳回", "denied"),
    # --- comments (riskengine.comments) ----------------------------------------------------
    "unknown_mention": ("评论中提到的部门不存在", "the comment mentions no known department"),
    "mention_by_label": ("@{word}：请用部门名称或代码提及部门，例如 @{owner}",
                         "@{word}: mention a department by its code or label, e.g. @{owner}"),
    "comment_empty": ("评论内容为空", "the comment is empty"),
    "write_something": ("请填写内容", "write something"),
    # --- checklists, reviews, what-if ------------------------------------------------------
    "checklist_other_project": ("清单属于另一个项目", "the checklist is for another project"),
    "must_be_project": ("须为 {code}（路径中的项目）", "must be {code}, the project in the path"),
    "rules_date_in_force": ("规则集把已生效的规则定在将来生效",
                            "the rulesets date rules that are already in force"),
    "no_assessment": ("项目 {code} 没有可评审的“{stage}”阶段评估",
                      "project {code} has no {stage} assessment to review"),
    "submit_first": ("请先提交该阶段的检查清单", "submit a checklist for this stage first"),
    "assessment_not_in_stage": ("本项目该阶段没有评估 {id}",
                                "assessment {id} not found for this project and stage"),
    "superseded": ("该评估已被更新的清单取代", "a newer checklist superseded this assessment"),
    "latest_is": ("最新的评估是 {id}", "the latest is {id}"),
    "gate_more_lenient": ("计算得出的闸口结论为“{gate}”：评审为“{decision}”须由管理员否决",
                          "the computed gate is {gate}: {decision} needs an admin override"),
    "decision_refused": ("闸口结论为“{gate}”时不能评审为“{decision}”",
                         "{decision} refused while the gate is {gate}"),
    "audit_gate_more_lenient": ("最近一次审计运行的闸口结论为“{gate}”："
                                "评审为“{decision}”须由管理员否决",
                                "the latest audit run's gate is {gate}: {decision} needs an "
                                "admin override"),
    "audit_decision_refused": ("最近一次审计运行的闸口结论为“{gate}”时不能评审为“{decision}”",
                               "{decision} refused while the latest audit run's gate is {gate}"),
    "admin_override_only": ("只有管理员可以否决计算得出的闸口结论",
                            "only an admin may override the computed gate"),
    "admin_only": ("仅限管理员", "admin only"),
    "draft_outside_layout": ("草稿中有文件不在规则集目录结构内",
                             "the draft names files outside the ruleset layout"),
    "draft_file_names": ("文件名须为 <阶段>/<主题>.yaml（或 .test.yaml）、policy.yaml 或 "
                         "ledger.yaml",
                         "must be <stage>/<topic>.yaml (or .test.yaml), policy.yaml or "
                         "ledger.yaml"),
    "draft_does_not_load": ("草稿规则集无法加载", "the draft rulesets do not load"),
    "dated_in_force": ("生效日期：该规则在 {release} 中已经生效；日期只能用于宣布新规则，"
                       "不能暂停已生效的规则",
                       "effective_on: the rule was already in force in {release}; a date may "
                       "announce a new rule, not suspend one"),
    "ledger_invalid": ("承诺台账文件有误", "the promise ledger file is invalid"),
    "rule_file_invalid": ("规则文件 {name} 有误", "{name} is invalid"),
    "draft_suspends_rules": ("草稿暂停了已生效的规则",
                             "the draft suspends rules that are in force"),
    # --- the store -------------------------------------------------------------------------
    "finding_changed": ("该风险发现在您读取后已被修改", "the finding changed since you read it"),
    "current_version": ("当前版本为 {version}", "current version is {version}"),
    "current_etag": ("当前 ETag 为 {etag}", "current ETag is {etag}"),
    "key_reused": ("此 Idempotency-Key 已用于另一个请求",
                   "this Idempotency-Key was used with a different request"),
    "key_used_for_other": ("已用于内容不同的请求", "already used for another request body"),
    "key_in_progress": ("使用此 Idempotency-Key 的请求仍在处理中",
                        "a request with this Idempotency-Key is still in progress"),
    "retry_later": ("请稍后重试", "retry later"),
    "key_malformed": ("Idempotency-Key 请求头格式有误", "the Idempotency-Key header is malformed"),
    "key_shape": ("1 至 255 个可见 ASCII 字符", "1 to 255 visible ASCII characters"),
    "project_exists": ("项目 {code} 已存在", "project {code} already exists"),
    "already_taken": ("已被占用", "already taken"),
    "database_unavailable": ("数据库暂时不可用，请稍后重试",
                             "the database is unavailable; retry shortly"),
    "unreachable": ("无法连接", "unreachable"),
    # --- not found -------------------------------------------------------------------------
    "finding_not_found": ("没有找到风险发现 {id}", "finding {id} not found"),
    "project_not_found": ("没有找到项目 {code}", "project {code} not found"),
    "assessment_not_found": ("没有找到评估 {id}", "assessment {id} not found"),
    "checklist_not_found": ("没有找到清单 {id}", "checklist {id} not found"),
    "review_not_found": ("没有找到闸口评审 {id}", "gate review {id} not found"),
    "waiver_request_not_found": ("没有找到豁免申请 {id}", "waiver request {id} not found"),
    "rule_not_found": ("没有找到规则 {id}", "rule {id} not found"),
    "ruleset_not_found": ("没有找到规则集 {id}", "ruleset {id} not found"),
    "ruleset_version_not_found": ("规则集 {id} 没有版本 {hash}",
                                  "ruleset {id} has no version {hash}"),
    "not_a_named_version": ("不是评估中使用过的该规则集版本",
                            "not a version of this ruleset assessments named"),
    "stage_not_found": ("没有阶段“{name}”", "stage {name} not found"),
    "stage_choices": ("可选：{stages}", "one of: {stages}"),
    "audit_run_not_found": ("没有找到审计运行 {id}", "audit run {id} not found"),
    "schedule_not_found": ("没有找到审计计划 {id}", "audit schedule {id} not found"),
    "subscription_not_found": ("没有找到订阅 {id}", "subscription {id} not found"),
    "format_not_found": ("没有格式“{name}”", "format {name} not found"),
    "not_an_id": ("不是有效的编号", "not an id"),
    "route_not_found": ("没有这个地址", "no such address"),
    # --- who may do what (api.auth, api.permissions, api.resources) -------------------------
    "token_required": ("需要 Bearer 令牌", "a bearer token is required"),
    "token_unknown": ("令牌无效或已被撤销", "the token is unknown or revoked"),
    "role_may_not": ("“{role}”角色不能执行此操作", "the {role} role may not do this"),
    "needs_roles": ("需要以下角色之一：{roles}", "needs one of: {roles}"),
    "needs_roles_or_owner": ("需要以下角色之一：{roles}，或{owners}部门",
                             "needs one of: {roles}, an owner of {owners}"),
    "needs_not_auditor": ("审计以外的任何角色", "needs any role but auditor"),
    "reviewers_schedule": ("整改期限和改派由评审人设定",
                           "due dates and reassignments are set by reviewers"),
    "reviewers_waive": ("豁免由评审人授予和撤销", "waivers are granted and revoked by reviewers"),
    "verified_by": ("整改结果由评审人、管理员或核实部门（{owners}）核实",
                    "a resolution is verified by a reviewer, an admin or a verifier department "
                    "({owners})"),
    "owned_by": ("此风险发现属于{owner}部门", "this finding is owned by {owner}"),
    "owner_or_admin": ("只有{owner}部门或管理员可以修改", "only the {owner} department or an admin "
                                                          "may change it"),
    "auditors_read": ("审计只能查看，不能评论", "auditors read; they do not comment"),
    "waiver_requesters": ("豁免由负责部门或项目经理申请",
                          "waivers are requested by the owning department or a PM"),
    "waiver_deciders": ("豁免申请由评审人审批", "waiver requests are decided by reviewers"),
    "token_not_covering": ("您的令牌不包含项目 {code}", "your token does not cover project {code}"),
    "outside_token": ("超出您令牌的项目范围", "outside your token's projects"),
    "scoped_token_all": ("限定项目的令牌不能订阅所有项目",
                         "a token scoped to projects cannot subscribe to every project"),
    "name_projects": ("请列出项目，且每个项目都在令牌范围内",
                      "name the projects, each within the token's scope"),
    "throttled": ("来自{source}的认证失败次数过多，请在 {seconds} 秒后重试",
                  "too many failed authentications from {source}; retry after {seconds} seconds"),
    "this_address": ("此地址", "this address"),
    "this_token_prefix": ("此令牌前缀", "this token prefix"),
    # --- bulk actions ----------------------------------------------------------------------
    "bulk_needs": ("“{action}”须给出{field}", "{action} needs {field}"),
    "required_for_action": ("此操作必填", "is required for this action"),
    "bulk_ids_or_filter": ("请按编号列表或按筛选条件指定风险发现",
                           "give the findings by ids or by filter"),
    "ids_or_filter_once": ("编号列表与筛选条件只能给出其一", "give exactly one of ids, filter"),
    "bulk_too_many": ("筛选条件匹配 {total} 项风险发现；批量操作最多 {limit} 项",
                      "the filter matches {total} findings; a bulk action takes at most {limit}"),
    "narrow_filter": ("请缩小筛选范围（项目、负责部门、严重度……）",
                      "narrow it (project, owner, severity, …)"),
    "bulk_assign": ("改派", "assign"),
    "bulk_set_due_date": ("设定整改期限", "set_due_date"),
    "field_assign_to": ("改派部门", "assign_to"),
    "field_due_date": ("整改期限", "due_date"),
    # --- audits ----------------------------------------------------------------------------
    "offsets_invalid": ("提前天数有误", "the offsets are invalid"),
    "give_an_offset": ("请至少给出一个提前天数", "give at least one offset"),
    "offset_beyond": ("{offset}：超出 ±{days} 天", "{offset}: beyond ±{days} days"),
    "required_recurring": ("重复计划必填", "required for a recurring schedule"),
    "not_before_start": ("不得早于开始日期", "must not be before start"),
    "at_least": ("不得小于 {n}", "must be at least {n}"),
    "too_many_slots": ("超过 {n} 次审计；请缩短时间范围", "more than {n} slots; shorten the range"),
    "recurrence_invalid": ("重复规则有误", "the recurrence is invalid"),
    "delivery_date_unknown": ("项目没有合同交付日期，无法倒推审计时间",
                              "the project has no contract delivery date to count the slots "
                              "back from"),
    "set_delivery_date": ("请在项目中设置，或提交含合同交付日期的交付阶段清单",
                          "set it on the project, or submit a delivery checklist with "
                          "milestones.contract_delivery_date"),
    "slots_all_past": ("该计划的所有审计时间都已过去",
                       "every slot of this schedule is already past"),
    "email_target": ("邮件通知的目标须为电子邮件地址", "an email target is an e-mail address"),
    "http_target": ("{channel}通知的目标须为带主机名的 http:// 或 https:// 地址",
                    "a {channel} target is an http:// or https:// URL with a host"),
    "wecom_target": ("企业微信的目标须为群机器人的 Webhook 地址，含其 key"
                     "（…/cgi-bin/webhook/send?key=…）",
                     "a wecom target is the group robot's webhook URL with its key "
                     "(…/cgi-bin/webhook/send?key=…)"),
    "dingtalk_target": ("钉钉的目标须为机器人的 Webhook 地址，含其 access_token"
                        "（…/robot/send?access_token=…）",
                        "a dingtalk target is the robot's webhook URL with its access_token "
                        "(…/robot/send?access_token=…)"),
    "feishu_target": ("飞书的目标须为机器人的 Webhook 地址（…/open-apis/bot/v2/hook/<id>）",
                      "a feishu target is the bot's webhook URL (…/open-apis/bot/v2/hook/<id>)"),
    "leave_out_signature": ("请去掉 timestamp 和 sign 参数：每次请求都会重新签名",
                            "leave timestamp and sign out: every request is signed afresh"),
    "needs_secret": ("开启签名的{channel}机器人需要其安全设置中显示的密钥",
                     "a {channel} robot with signing on needs the secret its security settings "
                     "show"),
    "no_secret": ("{channel}请求不签名：无需密钥", "{channel} requests are not signed: no secret"),
    "channel_webhook": ("Webhook 回调", "webhook"),
    "channel_email": ("邮件", "email"),
    "channel_wecom": ("企业微信", "wecom"),
    "channel_dingtalk": ("钉钉", "dingtalk"),
    "channel_feishu": ("飞书", "feishu"),
    "no_slot_after": ("{time} 之后没有审计时间", "no slot falls due after {time}"),
    # --- the body and the request (api.bodies, api.errors) ---------------------------------
    "body_repeats_key": ("请求正文重复了键 {name}", "the body repeats the key {name}"),
    "key_appears_twice": ("键 {name} 在同一对象中出现了两次；每个键只能出现一次",
                          "the key {name} appears twice in one object; each key may appear once"),
    "query_unstorable": ("查询参数含有无法保存的文字",
                         "the query holds text that cannot be stored"),
    "form_unstorable": ("表单含有无法保存的文字", "the form holds text that cannot be stored"),
    "no_nul": ("不得包含 NUL 字符", "must not contain NUL characters"),
    "at_most_bytes": ("最多 {limit} 字节", "at most {limit} bytes"),
    "body_too_large": ("请求正文超过 {limit} 字节", "the body is larger than {limit} bytes"),
    "media_type_refused": ("此处不接受 Content-Type 为 {type} 的请求正文",
                           "the body's Content-Type {type} is not accepted here"),
    "send_one_of": ("请使用以下之一：{types}", "send one of: {types}"),
    "body_not_object": ("请求正文须为 JSON 对象", "the body must be a JSON object"),
    "got_type": ("收到的是 {type}", "got {type}"),
    "form_key_malformed": ("表单的键格式有误", "the form's key is malformed"),
    "form_key_shape": ("32 位十六进制数字，由页面写入",
                       "32 hexadecimal digits, as the page wrote it"),
    "request_invalid": ("请求有误", "the request is invalid"),
    "server_owned": ("由服务设置，不能提交", "is set by the service and cannot be sent"),
    "bad_request": ("请求无效", "the request is not valid"),
    "body_not_json": ("请求正文不是有效的 JSON", "the body is not valid JSON"),
    "method_not_allowed": ("此地址不支持该请求方法", "the method is not allowed here"),
    "not_acceptable": ("无法以请求的格式回答", "no answer in the format asked for"),
    "precondition_required": ("此请求须带 If-Match 请求头",
                              "this request needs an If-Match header"),
    "unsupported_media_type": ("不支持该请求正文格式", "the body's format is not supported"),
    "too_large": ("请求正文过大", "the body is too large"),
    "http_error": ("请求无法完成（HTTP {status}）", "the request failed (HTTP {status})"),
    "service_failed": ("服务出错；日志中可按请求编号查到", "the service failed; the request id "
                                                           "identifies it in the logs"),
    "service_unavailable": ("服务暂时不可用，请稍后重试",
                            "the service is unavailable; retry shortly"),
    # --- the rule engine (a failed evaluation, a 500) --------------------------------------
    "facts_collide": ("两个事实在规则引擎中冲突", "two facts would collide inside the engine"),
    "ruleset_too_wide": ("规则集 {name} 读取同一事实的字段过多，规则引擎无法承载",
                         "ruleset {name} reads too many fields of one fact for the engine"),
    "too_many_properties": ("某个事实的属性过多，规则引擎无法处理",
                            "a fact has too many properties for the rule engine"),
    "properties_at_most": ("{count} 个属性；最多 {limit} 个",
                           "{count} properties; at most {limit}"),
    "ruleset_not_loaded": ("规则引擎中没有加载规则集 {name}",
                           "ruleset {name} is not loaded in this engine"),
    "engine_refused": ("规则引擎拒绝了这些事实（代码 {code}）",
                       "rule engine refused the facts (code {code})"),
    "engine_unfinished": ("规则引擎没有完成评估", "rule engine did not finish the evaluation"),
    "engine_unhealthy": ("规则引擎状态异常，请重启工作进程",
                         "rule engine is unhealthy; restart the worker"),
    "too_many_failures": ("失败的评估过多", "too many failed evaluations"),
    "engine_failed": ("规则引擎在规则集 {ruleset} 上出错",
                      "rule engine failed on ruleset {ruleset}"),
    # --- reports ---------------------------------------------------------------------------
    "font_missing": ("PDF 报告须嵌入字体“文泉驿微米黑”，但它没有安装：请运行 `make fonts`（Debian "
                     "软件包 fonts-wqy-microhei），或把 RISKENGINE_CJK_FONT 设为含中文字形的 "
                     "TrueType 字体文件",
                     "PDF reports embed the font WenQuanYi Micro Hei, which is not installed: run "
                     "`make fonts` (Debian package fonts-wqy-microhei) or set RISKENGINE_CJK_FONT "
                     "to a TrueType font file with Chinese glyphs"),
    "not_found_at": ("未找到：{paths}", "not found: {paths}"),
    # --- evidence files (riskengine.attachments, api.resources.attachments) -----------------
    "file_empty": ("文件为空", "the file is empty"),
    "file_empty_hint": ("上传的文件没有内容", "the uploaded file has no content"),
    "file_too_large": ("文件过大", "the file is too large"),
    "file_too_large_hint": ("文件最大 {mb} MB（{limit} 字节）", "at most {mb} MB ({limit} bytes)"),
    "file_type": ("文件类型不受支持", "the file's type is not accepted"),
    "file_type_hint": ("只接受 JPEG、PNG、WebP 照片或 PDF（按文件内容判断，不看文件名）",
                       "only JPEG, PNG, WebP photos or PDF (judged by the content, not the name)"),
    "file_type_heic": ("文件类型不受支持", "the file's type is not accepted"),
    "file_type_heic_hint": ("只接受 JPEG、PNG、WebP、HEIC 照片或 PDF（按文件内容判断，不看文件名）",
                            "only JPEG, PNG, WebP, HEIC photos or PDF (judged by the content, "
                            "not the name)"),
    "pdf_corrupt": ("PDF 文件无法读取", "the PDF cannot be read"),
    "pdf_corrupt_hint": ("PDF 文件已损坏或不完整，请重新导出后上传",
                         "the PDF is damaged or incomplete: export it again"),
    "photo_corrupt": ("照片无法读取", "the photo cannot be read"),
    "photo_corrupt_hint": ("照片已损坏或不完整，请重新拍摄后上传",
                           "the photo is damaged or incomplete: take it again"),
    "photo_too_many_pixels": ("照片像素过多", "the photo has too many pixels"),
    "photo_too_many_pixels_hint": ("照片最多 {megapixels} 百万像素，请压缩后上传",
                                   "at most {megapixels} megapixels"),
    "storage_unavailable": ("附件存储不可用", "the attachment store is unavailable"),
    "storage_unavailable_hint": ("保存附件的对象存储没有响应，请稍后重试",
                                 "the object store holding attachments did not answer; try "
                                 "again later"),
    "may_not_attach": ("您的角色不能在此附加证据", "this role may not attach evidence here"),
    "may_not_attach_finding_hint": ("须为管理员、评审人、项目经理、该发现责任部门或核实部门的成员",
                                    "needs one of: admin, reviewer, project manager, the "
                                    "finding's department or a verifier department"),
    "may_not_attach_item_hint": ("审计角色只能查看，不能上传", "auditors read; they do not upload"),
    "attachment_not_found": ("没有找到附件 {id}", "attachment {id} not found"),
    "no_thumbnail": ("附件 {id} 没有缩略图", "attachment {id} has no thumbnail"),
    "no_thumbnail_hint": ("只有照片有缩略图", "only photos have one"),
    "may_not_remove_attachment": ("附件只能由上传人、评审人或管理员移除",
                                  "an attachment is removed by its uploader, a reviewer or an "
                                  "admin"),
    "may_not_remove_attachment_hint": ("须为管理员、评审人或上传人",
                                       "needs one of: admin, reviewer, uploader"),
    "attachment_stage": ("阶段无效", "the stage is invalid"),
    "attachment_stage_hint": ("须为销售阶段或交付阶段", "stage is sales or delivery"),
    "attachment_item": ("缺少清单条目", "no checklist item"),
    "attachment_item_hint": ("须指明清单条目，如 promises/P-2",
                             "item names a checklist item, e.g. promises/P-2"),
    "multipart_needed": ("请以表单方式（multipart/form-data）上传文件",
                         "send the file as multipart/form-data"),
    "multipart_needed_hint": ("文件放在表单字段 file 中（如 curl -F file=@photo.jpg）",
                              "the file goes in the form field file (curl -F file=@photo.jpg)"),
    "no_file_sent": ("缺少文件", "no file was sent"),
    "no_file_sent_hint": ("表单字段 file 放要上传的照片或 PDF",
                          "put the photo or PDF in the form field file"),
    "unknown_item": ("清单中没有这一项", "the checklist has no such item"),
    "unknown_item_hint": ("{item}：可附证据的条目为 {items}",
                          "{item}: the items evidence can be attached to are {items}"),
    "no_checklist_of_stage": ("（该阶段尚无清单）", "(no checklist of this stage yet)"),
    "already_removed": ("附件已被移除", "the attachment was removed already"),
    "already_removed_hint": ("{name} 已于 {when} 移除", "removed by {name} at {when} UTC"),
    "removal_reason": ("请说明移除原因", "say why it is removed"),
    "removal_reason_hint": ("移除附件需要写明原因", "a removal needs a reason"),
    "unknown_attachment": ("证据附件不存在", "no such evidence attachment"),
    "unknown_attachment_hint": ("{id}：不是本发现或本项目清单条目的附件，请先上传",
                                "{id}: not an attachment of this finding or of its project's "
                                "checklist items; upload it first"),
    "removed_attachment": ("证据附件已被移除", "the evidence attachment was removed"),
    "removed_attachment_hint": ("{id}：已被 {name} 移除", "{id}: removed by {name}"),
    "named_file_unknown": ("本项目没有编号为“{id}”的附件；"
                           "请先上传（页面或 API），再填写返回的附件编号",
                           "this project has no file “{id}”; upload it first (page or API), then "
                           "give the attachment id it answers"),
    "named_file_removed": ("附件“{id}”已被 {name} 移除，不能作为证据",
                           "file “{id}” was removed by {name} and cannot back an item"),
    # --- rule files (riskengine.rules, the ledger, the audit policy): for their authors; ids,
    # file names and field paths are the author's own and stay as written -----------------
    "rule_files_invalid": ("规则集中有 {count} 处问题",
                           "{count} ruleset location(s) have problems"),
    "file_unreadable": ("无法读取 {name}", "{name} is unreadable"),
    "file_not_yaml": ("{name} 不是有效的 YAML", "{name} is not valid YAML"),
    "not_valid_yaml": ("不是有效的 YAML{error}", "not valid YAML{error}"),
    "yaml_at": ("第 {line} 行第 {column} 列不是有效的 YAML{what}",
                "not valid YAML at line {line}, column {column}{what}"),
    "condition_not_mapping": ("条件须为映射，收到的是 {value}",
                              "a condition must be a mapping, got {value}"),
    "needs_conditions": ("{op}：须为非空的条件列表", "{op}: needs a non-empty list of conditions"),
    "leaf_shape": ("条件须有 `field` 或 `ratio`，并恰好有以下之一：{ops}；实际的键：{keys}",
                   "a leaf needs `field` or `ratio` and exactly one of {ops}; got keys {keys}"),
    "exists_takes_bool": ("exists：只能为 true 或 false，收到的是 {value}",
                          "exists: takes true or false, got {value}"),
    "list_leaf_shape": ("列表条件须有 list、where 和 exists（true 或 false）；实际的键：{keys}",
                        "a list leaf takes list, where and exists (true or false); got keys "
                        "{keys}"),
    "not_a_checklist_list": ("list：{name} 不是清单中的列表；可用的列表：{lists}",
                             "list: {name} is not a list of the checklist; lists: {lists}"),
    "where_one_conjunction": ("list：`where` 须为一个合取条件（不能用 `any`）",
                              "list: `where` must be one conjunction (no `any`)"),
    "field_not_a_fact": ("字段 {path} 不是此规则可读取的事实（{scope}）",
                         "field {path} is not a fact this rule can read ({scope})"),
    "scope_for_each": ("for_each {name} 的条目", "for_each {name}"),
    "scope_checklist": ("整份清单", "checklist"),
    "compares_numbers": ("{op}：只能比较数字或日期，{path} 收到的是 {value}",
                         "{op}: compares numbers or dates, got {value} for {path}"),
    "ratio_shape": ("ratio：须为 [分子, 分母]，并配合 lt、lte、gt、gte 之一",
                    "ratio: takes [NUMERATOR, DENOMINATOR] and one of lt lte gt gte"),
    "by_keys": ("{{param, by}} 只能有这两个键", "{{param, by}} takes exactly those two keys"),
    "by_needs_map": ("参数 {name} 须为映射，才能与 `by` 一起使用",
                     "param {name} must be a map to be used with `by`"),
    "param_unknown": ("参数 {name} 不是此规则集的参数（已定义：{names}）",
                      "param {name} is not a parameter of this ruleset (defined: {names})"),
    "expected_number": ("此处须为数字或数值参数，收到的是 {value}",
                        "expected a number or a numeric parameter, got {value}"),
    "param_value_keys": ("参数值只能有 param、times、plus；实际的键：{keys}",
                         "a parameter value takes param, times, plus; got {keys}"),
    "param_not_number": ("参数 {name} 不是数字；times/plus 需要数字",
                         "param {name} is not a number; times/plus need one"),
    "in_takes_list": ("in/not_in 须为非空列表或列表参数，收到的是 {value}",
                      "in/not_in take a non-empty list or a list parameter, got {value}"),
    "reference_shape": ("字段引用须有 field，以及 offset_days、times 之一：{value}",
                        "a field reference takes field and one of offset_days, times: {value}"),
    "offset_days_dates": ("offset_days 只能比较日期；{left} 或 {ref} 不是日期",
                          "offset_days compares dates; {left} or {ref} is not a date"),
    "date_not_iso": ("date：{value} 不是 YYYY-MM-DD 格式的日期", "date: {value} is not YYYY-MM-DD"),
    "expected_scalar": ("此处须为布尔值、数字或文字，收到的是 {value}",
                        "expected a bool, number or string, got {value}"),
    "too_many_nodes": ("一个合取条件需要 {nodes} 个 and/or 节点；规则引擎最多接受 {limit} 个"
                       "（请在同一分支中少用 `in` 列表）",
                       "a conjunction needs {nodes} and/or nodes; the engine takes {limit} (use "
                       "fewer `in` lists in one branch)"),
    "too_many_alternatives": ("条件展开后有 {count} 种情形；最多 {limit} 种（请拆分规则）",
                              "the condition expands to {count} alternatives; at most {limit} "
                              "(split the rule)"),
    "too_many_unknowns": ("条件无法判定的情形超过 {limit} 种（请拆分规则）",
                          "the condition has more than {limit} ways to be unknown (split the "
                          "rule)"),
    "for_each_not_a_list": ("for_each：{name} 不是列表；可用的列表：{lists}",
                            "for_each: {name} is not a list; lists: {lists}"),
    "rule_key_reused": ("{ruleset} 的规则键 {rule_key} 也被“{stage}”阶段的另一个规则集使用",
                        "rule key {rule_key} of {ruleset} is also used by another ruleset of stage "
                        "{stage}"),
    "network_too_large": ("规则集 {name} 超出规则引擎的容量：{problems}"
                          "（请让该阶段的规则少共用一些测试，或减少规则）",
                          "ruleset {name} does not fit the rule engine: {problems} (split the "
                          "stage's rules across fewer shared tests, or fewer rules)"),
    "network_root": ("根节点", "the root"),
    "node_or": ("{rule} 的 `$or`", "an `$or` of {rule}"),
    "node_of": ("{rule} 的 {test}", "{test} of {rule}"),
    "node_expression": ("{rule} 的 {test}（表达式）", "{test} (expression) of {rule}"),
    "tests_follow": ("{where} 之后有 {count} 个测试（最多 {limit} 个）",
                     "{count} tests follow {where} (at most {limit})"),
    "absences_follow": ("{where} 之后有 {count} 个缺失测试和 `$or` 分支（最多 {limit} 个）",
                        "{count} absence tests and `$or` branches follow {where} (at most "
                        "{limit})"),
    "rules_end_at": ("有 {count} 条规则止于 {where}（最多 {limit} 条；前几条：{first}）",
                     "{count} rules end at {where} (at most {limit}; first {first})"),
    "must_be_iso_date": ("须为日期（YYYY-MM-DD）", "must be a date, YYYY-MM-DD"),
    "requires_shape": ("requires：{value} 既不是字段路径，也不是 {{field: 路径, when: 条件}}",
                       "requires: {value} is neither a path nor {{field: PATH, when: condition}}"),
    "milestone_unknown": ("due.milestone：没有里程碑 {unknown}；可用：{allowed}",
                          "due.milestone: unknown milestone(s) {unknown}; allowed: {allowed}"),
    "subject_checklist_only": ("subject：只有针对整份清单的规则才写 subject；"
                               "for_each 规则以条目为对象",
                               "subject: only a checklist rule names its subject; for_each rules "
                               "use the item"),
    "critical_blocking": ("blocking：severity 为 critical 的规则都须为 blocking",
                          "blocking: every critical rule must be blocking"),
    "ruleset_path_mismatch": ("ruleset：编号 {id} 和阶段 {stage_value} 须与文件路径一致"
                              "（应为 rulesets/{stage_value}/ 下的 {expected}）",
                              "ruleset: id {id} and stage {stage_value} must match the path "
                              "(expected {expected} under rulesets/{stage_value}/)"),
    "closed_set_no_rule": ("此规则集没有关于该集合或其成员的规则（未列出的成员的严重度和负责部门"
                           "取自其中最严重的一条）",
                           "no rule of this ruleset is about the set or one of its members (the "
                           "severity and owner of a member not listed come from the most severe "
                           "one)"),
    "closed_set_name": ("请写 `list: NAME` 或 `checks: true` 之一",
                        "name either `list: NAME` or `checks: true`"),
    "closed_set_list": ("list：{name} 不是带类别的列表；可用的列表：{lists}",
                        "list: {name} is not a list with a kind; lists: {lists}"),
    "closed_set_members": ("members：{wrong} 不在 {allowed} 之中",
                           "members: {wrong} not among {allowed}"),
    "missing_entries": ("缺少条目：{missing}", "missing entries: {missing}"),
    "labels_missing": ("缺少标签：{missing}", "labels missing for: {missing}"),
    "duplicate_rule_id": ("id：规则编号重复（{path} 中也有）",
                          "id: duplicate rule id (also in {path})"),
    "check_declared": ("checks.{check}：已在 {path} 中声明",
                       "checks.{check}: already declared in {path}"),
    "unknown_placeholder": ("rule.message.{lang}：没有占位符 {error}；可用：{allowed}",
                            "rule.message.{lang}: unknown placeholder {error}; allowed: {allowed}"),
    "unknown_time_zone": ("没有时区 {name}", "unknown time zone {name}"),
    "beyond_max_offset": ("超出 max_offset_days", "beyond max_offset_days"),
    "critical_finding_blocking": ("severity 为 critical 的审计发现都须为 blocking",
                                  "every critical finding must be blocking"),
    # --- the command line ------------------------------------------------------------------
    "json_unreadable": ("无法读取 JSON：第 {line} 行第 {column} 列{what}",
                        "cannot read the JSON: line {line}, column {column}{what}"),
    "json_at": ("第 {line} 行第 {column} 列", "line {line}, column {column}"),
    "byte_at": ("第 {position} 个字节", "byte {position}"),
    "text_not_utf8": ("无法读取：文件不是 UTF-8 文字", "cannot read: the file is not UTF-8 text"),
    "error_line": ("错误：{message}", "error: {message}"),
    "schema_not_current": ("数据库结构不是最新的；请运行 `riskengine db upgrade`",
                           "the database schema is not current; run `riskengine db upgrade`"),
    "no_live_token": ("没有匹配的有效令牌", "no live token matches"),
}

# Parameters whose value is a code of a closed set, shown by its label: name -> label group.
LABELLED = {
    "status": "status", "current": "status", "target": "status", "statuses": "status",
    "role": "role", "roles": "role", "owner": "owner", "owners": "owner",
    "stage": "stage", "stages": "stage", "decision": "gate", "gate": "gate",
}
# The words for json's own complaints (the command line names the place of a syntax error).
JSON_PROBLEMS: dict[str, tuple[str, str]] = {
    "Expecting value": ("此处应为一个值", "a value is expected here"),
    "Expecting property name enclosed in double quotes": ("此处应为带双引号的键",
                                                          "a key in double quotes is expected"),
    "Expecting ',' delimiter": ("此处应为逗号", "a comma is expected"),
    "Expecting ':' delimiter": ("此处应为冒号", "a colon is expected"),
    "Extra data": ("JSON 结束后还有多余内容", "extra data after the JSON"),
    "Unterminated string starting at": ("字符串没有结束引号", "a string has no closing quote"),
    "Invalid control character at": ("字符串中有控制字符", "a control character in a string"),
}
# marshmallow's own messages (request schemas, rule files) in words: (pattern, Chinese,
# English); riskengine.checklist.wording says them too, with labels for the choices.
MARSHMALLOW: tuple[tuple[str, str, str], ...] = (
    (r"Missing data for required field\.", "必填", "is required"),
    (r"Unknown field\.", "没有这个字段", "unknown field"),
    (r"Must be one of: (?P<choices>.*)\.", "须为以下之一：{choices}", "must be one of: {choices}"),
    (r"Must be greater than or equal to (?P<low>\S+) and less than or equal to (?P<high>\S+)\.",
     "须在 {low} 与 {high} 之间", "must be between {low} and {high}"),
    (r"Must be greater than or equal to (?P<n>\S+)\.", "不得小于 {n}", "must be at least {n}"),
    (r"Must be less than or equal to (?P<n>\S+)\.", "不得大于 {n}", "must be at most {n}"),
    (r"Not a valid integer\.", "须为整数", "must be a whole number"),
    (r"Not a valid number\.", "须为数字", "must be a number"),
    (r"Not a valid boolean\.", "须为是或否", "must be yes or no"),
    (r"Not a valid date\.", "须为日期（YYYY-MM-DD）", "must be a date YYYY-MM-DD"),
    (r"Not a valid datetime\.", "须为日期时间（ISO 8601）", "must be a date-time (ISO 8601)"),
    (r"Not a valid list\.", "须为列表", "must be a list"),
    (r"Length must be between (?P<low>\d+) and (?P<high>\d+)\.",
     "须有 {low} 至 {high} 项（或字符）", "must have {low} to {high} items (or characters)"),
    (r"Shorter than minimum length (?P<n>\d+)\.", "不得少于 {n} 项（或字符）",
     "must have at least {n} items (or characters)"),
    (r"Longer than maximum length (?P<n>\d+)\.", "最多 {n} 项（或字符）",
     "must have at most {n} items (or characters)"),
    (r"Not a valid mapping type\.", "须为对象", "must be an object"),
    (r"Not a valid string\.", "须为文字", "must be a string"),
    (r"Field may not be null\.", "必填，不得为空", "is required, not null"),
    (r"String does not match expected pattern\.", "格式不符合要求",
     "does not match the expected pattern"),
    (r"Invalid value\.", "取值无效", "invalid value"),
)
_MARSHMALLOW = tuple((re.compile(p + r"\Z"), zh, en) for p, zh, en in MARSHMALLOW)
_AND = {Lang.ZH: "、", Lang.EN: ", "}
_NONE = {Lang.ZH: "无", Lang.EN: "none"}
_COLON = {Lang.ZH: "：", Lang.EN: ": "}


@dataclass(frozen=True)
class Refusal:
    """One refusal: a key of WORDS and its parameters, said in either language."""

    key: str
    params: tuple[tuple[str, Any], ...] = ()

    def say(self, lang: str) -> str:
        language = Lang(lang) if lang in set(Lang) else Lang.ZH
        zh, en = WORDS[self.key]
        text = zh if language is Lang.ZH else en
        return text.format(**{k: shown(k, v, language) for k, v in self.params})

    def __str__(self) -> str:
        return self.say(Lang.ZH)


E = TypeVar("E", bound=RiskEngineError)


def refused(error: type[E], field: str, key: str, code: str | None = None, **params: Any) -> E:
    """An error said by the refusal `key`, its detail at `field` by `key`_hint."""
    return error(refusal(key, **params), {field: [refusal(f"{key}_hint", **params)]}, code)


def refusal(key: str, **params: Any) -> Refusal:
    """Return the refusal `key` with its parameters (a key not in WORDS fails here, at once)."""
    if key not in WORDS:
        raise KeyError(f"no refusal {key!r} in riskengine.refusals.WORDS")
    return Refusal(key, tuple(params.items()))


@dataclass(frozen=True)
class Marshmallow:
    """A message of marshmallow's in words (the choices as written); one it has no words for
    is shown as it is."""

    message: str

    def say(self, lang: str) -> str:
        language = Lang(lang) if lang in set(Lang) else Lang.ZH
        for pattern, zh, en in _MARSHMALLOW:
            found = pattern.match(self.message)
            if found:
                return (zh if language is Lang.ZH else en).format(**found.groupdict())
        return self.message

    def __str__(self) -> str:
        return self.say(Lang.ZH)


@dataclass(frozen=True)
class Semicolons:
    """Several problems said as one text, each in the language, between semicolons."""

    items: tuple[Words, ...]

    def say(self, lang: str) -> str:
        language = Lang(lang) if lang in set(Lang) else Lang.ZH
        return ("；" if language is Lang.ZH else "; ").join(i.say(language) for i in self.items)


@dataclass(frozen=True)
class Trail:
    """A path through the rule engine's network, node by node (each a test or words)."""

    nodes: tuple[str | Words, ...]

    def say(self, lang: str) -> str:
        return " → ".join(n.say(lang) if isinstance(n, Words) else n for n in self.nodes)


@dataclass(frozen=True)
class AtPath:
    """A problem at a path of a file (`rules[0].severity: …`): the path as written."""

    path: str
    problem: Words

    def say(self, lang: str) -> str:
        language = Lang(lang) if lang in set(Lang) else Lang.ZH
        said = self.problem.say(language)
        return f"{self.path}{_COLON[language]}{said}" if self.path else said

    def __str__(self) -> str:
        return self.say(Lang.ZH)


def yaml_problem(error: Exception) -> Words:
    """A YAML syntax error at its place; yaml's own words only in English (it has many)."""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return refusal("not_valid_yaml", error=_English(f": {error}"))
    what = getattr(error, "problem", None) or ""
    return refusal("yaml_at", line=mark.line + 1, column=mark.column + 1,
                   what=_English(f": {what}" if what else ""))


@dataclass(frozen=True)
class _English:
    """A library's own English words: said in English, left out of the Chinese."""

    text: str

    def say(self, lang: str) -> str:
        return self.text if lang == Lang.EN.value else ""


def json_problem(what: str, line: int, column: int) -> Refusal:
    """A JSON syntax error at its place, in words rather than json's own."""
    return refusal("json_unreadable", line=line, column=column, what=_JsonWhat(what))


@dataclass(frozen=True)
class _JsonWhat:
    """json's complaint in words; one it has no words for is left out of the Chinese."""

    what: str

    def say(self, lang: str) -> str:
        words = json_words(self.what, Lang(lang))
        return f"{_COLON[Lang(lang)]}{words}" if words else ""


def json_words(what: str, lang: Lang) -> str:
    """json's complaint (`Expecting value`) in words; in Chinese, nothing when it has none."""
    zh, en = JSON_PROBLEMS.get(what, ("", what))
    return zh if lang is Lang.ZH else en


def shown(name: str, value: Any, lang: Lang) -> str:
    """A parameter as the reader reads it: words said, closed-set codes by their labels."""
    if isinstance(value, Words):
        return value.say(lang)
    if isinstance(value, list | tuple | set | frozenset):
        items = [shown(name, v, lang) for v in value]
        return _AND[lang].join(items) if items else _NONE[lang]
    group = LABELLED.get(name)
    return str(value) if group is None else label(group, str(value), lang)


def label(group: str, code: str, lang: Lang) -> str:
    """The label of a code of a closed set (rulesets/policy.yaml `labels`)."""
    text = bundled_labels().get("choice" if group == "stage" else group, {}).get(code)
    return str(text[lang.value]) if isinstance(text, dict) and lang.value in text else code
