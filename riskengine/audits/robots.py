"""The chat robots teams act on: 企业微信 (WeCom) group robots, 钉钉 (DingTalk) and 飞书/Lark
custom bots. Each request is built, signed and judged exactly as its vendor publishes:

- WeCom group robot (developer.work.weixin.qq.com/document/path/91770 「群机器人配置说明」):
  POST JSON to the webhook URL, whose `key` query parameter is the credential; `{"msgtype":
  "markdown", "markdown": {"content": …}}`, content at most 4096 bytes of UTF-8 (text: 2048);
  at most 20 messages a minute per robot. Answer `{"errcode": 0, "errmsg": "ok"}`.
- DingTalk custom robot (open.dingtalk.com/document/robots/custom-robot-access, 「加签」):
  `&timestamp=<ms>&sign=<URL-encoded Base64(HmacSHA256(secret, timestamp + "\\n" + secret))>`
  added to the webhook URL (`access_token`); the timestamp may differ from DingTalk's clock by
  at most one hour. `{"msgtype": "markdown", "markdown": {"title", "text"}}`; 20 a minute.
  Answer `{"errcode": 0, "errmsg": "ok"}`.
- Feishu/Lark custom bot (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, 「签名校验」):
  `timestamp` (seconds, within one hour) and `sign` = Base64(HmacSHA256(key = timestamp + "\\n"
  + secret, message = empty)) in the JSON body beside `msg_type` and `content`; a request body
  of at most 20 KB. Answer `{"code": 0, "msg": "success", "data": {}}` (older bots:
  `{"StatusCode": 0, "StatusMessage": "success"}`).

The three answer HTTP 200 for most refusals and put the reason in the body's code: a non-zero
code is a failed try. Codes that no retry can fix (a wrong key, a signature or keyword the bot's
security settings refuse, a malformed message) fail the notice at once; rate limits, "busy" and
any code not listed are retried with the outbox's backoff, so nothing is dropped on a guess.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.audits.delivery import OPENER, Attempt, transport_failure
from riskengine.audits.signing import dingtalk_sign, feishu_sign

WECOM, DINGTALK, FEISHU = "wecom", "dingtalk", "feishu"
ROBOTS = (WECOM, DINGTALK, FEISHU)
SIGNED = (DINGTALK, FEISHU)  # their webhooks refuse unsigned requests once 加签/签名校验 is on

WECOM_MARKDOWN_BYTES = 4096
# DingTalk publishes no byte limit for markdown; its robots are read on phones, and the same
# budget as WeCom keeps a digest readable there.
DINGTALK_MARKDOWN_BYTES = 4096
FEISHU_BODY_BYTES = 20 * 1024


@dataclass(frozen=True)
class Vendor:
    name: str
    code_field: str  # where the answer's code is
    permanent: Mapping[int, str]  # codes no retry can fix, and what they mean


# The vendors' published codes that retrying cannot fix (the rest are retried).
VENDORS = {
    WECOM: Vendor(WECOM, "errcode", {
        93000: "企业微信：webhook 地址无效（key 错误或机器人已删除）",
        40008: "企业微信：消息类型不合法",
        40058: "企业微信：参数不合法",
        44004: "企业微信：消息内容为空",
    }),
    DINGTALK: Vendor(DINGTALK, "errcode", {
        310000: "钉钉：安全设置校验失败（签名不匹配、关键词不符或 IP 不在白名单）",
        300001: "钉钉：access_token 无效",
        400102: "钉钉：机器人已停用",
    }),
    FEISHU: Vendor(FEISHU, "code", {
        19021: "飞书：签名校验失败或时间戳不在一小时内",
        19022: "飞书：IP 不在白名单",
        19024: "飞书：消息不含自定义关键词",
        9499: "飞书：请求格式错误",
    }),
}


def webhook_token(channel: str, url: str) -> str | None:
    """Return the credential a robot's webhook URL carries, or None when the URL lacks it:
    WeCom's `key`, DingTalk's `access_token`, Feishu's hook id (…/bot/v2/hook/<id>)."""
    parts = urllib.parse.urlsplit(url)
    if channel == FEISHU:
        head, _, token = parts.path.rstrip("/").rpartition("/")
        return token if head.endswith("/bot/v2/hook") and token else None
    query = urllib.parse.parse_qs(parts.query)
    values = query.get("key" if channel == WECOM else "access_token") or [""]
    return values[0] or None


def shown_target(channel: str, url: str) -> str:
    """The URL with its credential cut to 4 characters: safe to list and to store per try."""
    token = webhook_token(channel, url)
    if channel not in ROBOTS or not token or len(token) <= 4:
        return url
    return url.replace(token, token[:4] + "…", 1)


def signed_url(channel: str, url: str, secret: str | None, now_s: int) -> str:
    """DingTalk signs in the query string; the others' URLs go as they are."""
    if channel != DINGTALK or not secret:
        return url
    stamp = now_s * 1000
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(
        {"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)})


def signed_body(channel: str, message: Mapping[str, Any], secret: str | None, now_s: int
                ) -> bytes:
    """Feishu signs inside the body; every try signs afresh (the vendors allow an hour)."""
    body = dict(message)
    if channel == FEISHU and secret:
        body = {"timestamp": str(now_s), "sign": feishu_sign(secret, now_s), **body}
    return json.dumps(body, ensure_ascii=False).encode()


def judge_answer(channel: str, status: int, text: bytes) -> Attempt:
    """Read a vendor's answer: code 0 is a delivery; otherwise a failed try, final or not."""
    vendor = VENDORS[channel]
    try:
        answer = json.loads(text)
    except ValueError:
        return Attempt(False, status, f"HTTP {status}: the answer is not JSON")
    if not isinstance(answer, dict):
        return Attempt(False, status, f"HTTP {status}: unexpected answer")
    code = answer.get(vendor.code_field, answer.get("StatusCode"))
    message = str(answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or "")
    if code == 0 and 200 <= status < 300:
        return Attempt(True, status)
    if not isinstance(code, int):
        return Attempt(False, status, f"HTTP {status}: the answer has no {vendor.code_field}")
    meaning = vendor.permanent.get(code)
    error = f"{vendor.code_field} {code}: {meaning or message}"[:500]
    return Attempt(False, status, error, retry=meaning is None)


def post_robot(channel: str, url: str, secret: str | None, message: Mapping[str, Any],
               now_s: int, timeout: float) -> Attempt:
    """Send one message to a robot's webhook, signed as its vendor asks, and judge the answer."""
    request = urllib.request.Request(
        signed_url(channel, url, secret, now_s), method="POST",
        data=signed_body(channel, message, secret, now_s),
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "riskengine-notices/1"})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return judge_answer(channel, int(response.status), response.read())
    except urllib.error.HTTPError as error:
        return judge_answer(channel, error.code, error.read())
    except (OSError, ValueError, http.client.HTTPException) as error:
        return transport_failure(error)  # refused, timed out, unknown host, not HTTP

