"""What a person reads in a notice: Chinese first (English after it when the subscription asks
for `zh-en`), labels instead of internal codes (no rule id, fingerprint, owner or severity
code), in each robot's own message format and within its published size limit."""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.audits.robots import (
    DINGTALK,
    DINGTALK_MARKDOWN_BYTES,
    FEISHU,
    FEISHU_BODY_BYTES,
    WECOM,
    WECOM_MARKDOWN_BYTES,
)
from riskengine.output.reports import TERMS
from riskengine.rules.catalog import DEFAULT_ROOT, load_policy
from riskengine.rules.model import Policy
from riskengine.vocabulary import Lang

ZH, EN = Lang.ZH, Lang.EN
_MORE = {ZH: "……（内容过长，其余请在系统中查看）", EN: "… (more in the service)"}
_SECTIONS = (("escalated", "已升级给您", "Escalated to you"), ("overdue", "已逾期", "Overdue"),
             ("due_soon", "即将到期", "Due soon"), ("new", "新增", "New"))
_EVENT_TITLES = {
    "finding.blocking": ("新增阻断项", "New blocking finding"),
    "finding.sla_breached": ("整改已超期", "Past its deadline"),
    "finding.verification_requested": ("待验证关闭", "Verification requested"),
    "waiver.requested": ("豁免待审批", "Waiver awaiting approval"),
    "waiver.expiring": ("豁免即将到期", "Waiver expiring"),
    "waiver.expired": ("豁免已到期，风险重新计入闸口", "Waiver expired: the risk counts again"),
    "comment.mention": ("评论中提到了您", "You were mentioned in a comment"),
}


@dataclass(frozen=True)
class Labels:
    """The vocabulary's words for people (rulesets/policy.yaml `labels`)."""

    policy: Policy

    @classmethod
    def default(cls) -> Labels:
        return _default_labels()

    def who(self, value: str, lang: Lang) -> str:
        """An owner department or an escalation contact by name; anything else (a person) as is."""
        for group in ("owner", "escalation"):
            if value in self.policy.labels.get(group, {}):
                return self.policy.label(group, value, lang)
        return value

    @staticmethod
    def term(group: str, value: str, lang: Lang) -> str:
        text = TERMS[group].get(value)
        return text[lang] if text else value


@functools.cache
def _default_labels() -> Labels:
    return Labels(load_policy(DEFAULT_ROOT / "policy.yaml"))


@dataclass(frozen=True)
class Text:
    """A notice in one language: a title and its lines (list items start with "- ")."""

    title: str
    lines: tuple[str, ...]


def _item(item: Mapping[str, Any], lang: Lang, labels: Labels) -> str:
    severity = labels.term("severity", item["severity"], lang)
    mark = (f"{severity}·阻断" if lang is ZH else f"{severity}, blocking") if item.get(
        "blocking") else severity
    title = item["title"].get(lang.value) or item["title"].get(ZH.value, "")
    owner = labels.who(item["owner"], lang)
    due = item["due_date"]
    due = f"（{owner}，{due} 前）" if lang is ZH else f" ({owner}, due {due})"
    return f"- 【{mark}】{title}{due}" if lang is ZH else f"- [{mark}] {title}{due}"


def _digest(body: Mapping[str, Any], lang: Lang, labels: Labels) -> Text:
    who = labels.who(body["recipient"], lang)
    gate = labels.term("gate", body["gate"]["decision"], lang)
    change = body.get("gate_change") or {}
    before = change.get("before")
    if lang is ZH:
        title = f"交付前审计 · {body['project']} · {body['slot_date']}"
        lines = [f"致：{who}", f"闸口结论：{gate}" + (
            f"（上次：{labels.term('gate', before, lang)}）" if change.get("changed") and before
            else "")]
        if body.get("days_to_delivery") is not None:
            lines.append(f"距合同交付（{body['delivery_date']}）{body['days_to_delivery']} 天")
    else:
        title = f"Pre-delivery audit · {body['project']} · {body['slot_date']}"
        lines = [f"To: {who}", f"Gate: {gate}" + (
            f" (was {labels.term('gate', before, lang)})" if change.get("changed") and before
            else "")]
        if body.get("days_to_delivery") is not None:
            lines.append(f"{body['days_to_delivery']} days to contract delivery "
                         f"({body['delivery_date']})")
    for key, zh, en in _SECTIONS:
        items = body.get(key) or []
        if items:
            lines.append(f"{zh}（{len(items)}）：" if lang is ZH else f"{en} ({len(items)}):")
            lines.extend(_item(i, lang, labels) for i in items)
    return Text(title, tuple(lines))


def _details(details: Mapping[str, Any], lang: Lang) -> list[str]:
    zh = lang is ZH
    words = {  # each detail an event may carry, with what a person calls it
        "actor": ("提出人", "By"), "author": ("评论人", "By"), "due_date": ("整改期限", "Due"),
        "days_overdue": ("已超期天数", "Days overdue"), "expires_on": ("豁免到期日", "Waiver ends"),
        "days_left": ("剩余天数", "Days left"), "reason": ("理由", "Reason"),
        "excerpt": ("评论", "Comment"),
    }
    return [f"{words[k][0]}：{v}" if zh else f"{words[k][1]}: {v}"
            for k, v in details.items() if k in words and v not in (None, "")]


def _event(body: Mapping[str, Any], lang: Lang, labels: Labels) -> Text:
    zh, en = _EVENT_TITLES.get(body["event"], ("风险提醒", "Risk notice"))
    title = f"{zh if lang is ZH else en} · {body['project']}"
    lines = []
    finding = body.get("finding")
    if finding:
        lines.append(_item(finding, lang, labels))
    lines.extend(_details(body.get("details") or {}, lang))
    return Text(title, tuple(lines))


def texts(body: Mapping[str, Any], langs: str, labels: Labels) -> list[tuple[Lang, Text]]:
    """The notice in Chinese, and then English when `langs` is zh-en."""
    build = _digest if body["event"] == "audit.digest" else _event
    wanted = [ZH, EN] if langs == "zh-en" else [ZH]
    return [(lang, build(body, lang, labels)) for lang in wanted]


def link(body: Mapping[str, Any], base_url: str) -> str | None:
    """Where a person follows up: the project's page in the web app (a webhook's `link` is
    the API path, for programs)."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/projects/{urllib.parse.quote(str(body['project']))}"


def _fit(parts: Sequence[str], limit: int, more: str, sep: str) -> str:
    """Join parts if they fit in `limit` UTF-8 bytes; else as many as fit, and say so."""
    whole = sep.join(parts)
    if len(whole.encode()) <= limit:
        return whole
    out: list[str] = []
    for part in parts:
        if len(sep.join([*out, part, more]).encode()) > limit:
            break
        out.append(part)
    return sep.join([*out, more])


def _markdown(body: Mapping[str, Any], langs: str, labels: Labels, base_url: str,
              limit: int, sep: str) -> tuple[str, str]:
    parts: list[str] = []
    shown = texts(body, langs, labels)
    for _, text in shown:
        parts.append(f"### {text.title}")
        parts.extend(text.lines)
    url = link(body, base_url)
    if url:
        parts.append(f"[查看详情 / Details]({url})" if langs == "zh-en" else f"[查看详情]({url})")
    return shown[0][1].title, _fit(parts, limit, _MORE[ZH], sep)


def render_robot(channel: str, body: Mapping[str, Any], langs: str, labels: Labels,
                 base_url: str) -> dict[str, Any]:
    """The message a robot's webhook takes (without its signature), as its vendor defines it."""
    if channel == WECOM:
        _, content = _markdown(body, langs, labels, base_url, WECOM_MARKDOWN_BYTES, "\n")
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if channel == DINGTALK:
        # DingTalk's markdown needs a blank line between paragraphs; `title` is what the
        # notification banner shows.
        title, text = _markdown(body, langs, labels, base_url, DINGTALK_MARKDOWN_BYTES, "\n\n")
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    if channel == FEISHU:
        return {"msg_type": "post", "content": {"post": _feishu_post(body, langs, labels,
                                                                     base_url)}}
    raise ValueError(f"not a robot channel: {channel}")


def _paragraph(line: str) -> list[dict[str, str]]:
    return [{"tag": "text", "text": line}]


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _feishu_post(body: Mapping[str, Any], langs: str, labels: Labels, base_url: str
                 ) -> dict[str, Any]:
    """Feishu's rich text ("post") carries each language under its locale (zh_cn, en_us); the
    client shows the reader's. Lines are dropped from the end to keep the body under 20 KB
    (as sent: JSON, with room for the signature and the message type)."""
    url = link(body, base_url)
    shown = texts(body, langs, labels)
    budget = (FEISHU_BODY_BYTES - 512) // len(shown)
    post: dict[str, Any] = {}
    for lang, text in shown:
        tail = ([[{"tag": "a", "text": "查看详情" if lang is ZH else "Details", "href": url}]]
                if url else [])
        content: list[list[dict[str, str]]] = []
        used = _json_size({"title": text.title, "content": tail}) + _json_size(
            _paragraph(_MORE[lang])) + 8
        for line in text.lines:
            size = _json_size(_paragraph(line)) + 1
            if used + size > budget:
                content.append(_paragraph(_MORE[lang]))
                break
            used += size
            content.append(_paragraph(line))
        post["zh_cn" if lang is ZH else "en_us"] = {"title": text.title,
                                                    "content": content + tail}
    return post


def render_email_notice(body: Mapping[str, Any], langs: str, labels: Labels, base_url: str
                        ) -> tuple[str, str]:
    """The subject and plain text of an e-mail for an event other than a digest."""
    shown = texts(body, langs, labels)
    lines: list[str] = []
    for _, text in shown:
        lines.extend([text.title, "", *text.lines, ""])
    url = link(body, base_url)
    if url:
        lines.append(url)
    return f"[风险提醒] {shown[0][1].title}", "\n".join(lines)
