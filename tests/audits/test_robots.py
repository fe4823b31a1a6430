"""Notices to WeCom, DingTalk and Feishu robots: signed and shaped as each vendor's server
checks them (tests/audits/robots.py), retried on the vendor's rate-limit codes, failed at once
on codes no retry fixes, in Chinese (English after it on request) without internal codes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from riskengine.audits.models import AuditOutbox
from riskengine.audits.notice_text import Labels, render_robot
from riskengine.audits.outbox import DIGEST, create_subscription
from riskengine.audits.robots import post_robot, shown_target
from riskengine.audits.runner import run_due
from riskengine.audits.signing import dingtalk_sign, feishu_sign
from tests.audits.robots import (
    BAD_SIGNATURE,
    RATE_LIMITED,
    SECRETS,
    Robot,
    robot,
    text_of,
)
from tests.audits.support import World, at

D = dt.date
Make = Callable[..., dict[str, Any]]
VENDORS = ("wecom", "dingtalk", "feishu")
# What a person must never read: rule ids, fingerprints, owner and severity codes, API paths.
INTERNAL = re.compile(r"DELIVERY-|[0-9a-f]{16}|\bengineering\b|\bcritical\b|\bmedium\b|/api/")


def test_dingtalk_signature_matches_the_published_example() -> None:
    # DingTalk publishes the algorithm (and a Python sample) but no worked example; this vector
    # is the one the `dingding` crate tests against (docs.rs/crate/dingding, signature.rs).
    assert urllib.parse.quote_plus(dingtalk_sign("secret", 1700000000000)) == (
        "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D")


def test_feishu_signature_macs_an_empty_message_under_timestamp_and_secret() -> None:
    # Feishu publishes no worked example either; the value was computed independently with
    # `openssl dgst -sha256 -mac HMAC -macopt key:"1599360473\nsecret"` over empty input.
    assert feishu_sign("secret", 1599360473) == "q4jswNiMy51J5JuQV566yJat0/lQ/c+22kINzUgKsGU="
    key = b"1599360473\nsecret"
    assert feishu_sign("secret", 1599360473) == base64.b64encode(
        hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _subscribe(world: World, vendor: str, served: Robot, secret: str | None = None,
               **filters: Any) -> int:
    with world.database.write() as session:
        row = create_subscription(session, vendor, served.url,
                                  secret if secret is not None else SECRETS[vendor], None, None,
                                  "admin", world.clock.now(), **filters)
        return row.id


def _outbox(world: World) -> list[AuditOutbox]:
    with world.database.read() as session:
        return list(session.scalars(select(AuditOutbox).order_by(AuditOutbox.id)))


@pytest.mark.parametrize("vendor", VENDORS)
def test_blocking_finding_and_digest_reach_the_robot_in_chinese(
        world: World, delivery_checklist: Make, vendor: str) -> None:
    with robot(vendor, secret=SECRETS[vendor]) as served:
        _subscribe(world, vendor, served)
        world.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True))
        world.schedule("NJ-JY-01")
        report = run_due(world.auditor(), now=at("2027-04-01"))
    assert report.deliveries == {"delivered": 2, "pending": 0, "failed": 0}
    assert served.refusals == []
    blocking, digest = (text_of(vendor, m) for m in served.messages)
    assert "新增阻断项 · NJ-JY-01" in blocking and "【严重·阻断】" in blocking
    assert "工程" in blocking
    assert "交付前审计 · NJ-JY-01 · 2027-04-01" in digest and "闸口结论：不通过" in digest
    assert "新增（2）" in digest and "距合同交付（2027-06-30）90 天" in digest
    for text in (blocking, digest):
        assert not INTERNAL.search(text), text
        assert "Gate" not in text  # Chinese only unless asked for English
    entries = _outbox(world)
    assert [e.event for e in entries] == ["finding.blocking", DIGEST]
    assert {e.status for e in entries} == {"delivered"}
    assert all(served.token not in e.target for e in entries)  # the key is not listed


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_rate_limit_code_is_retried_and_delivers_once(
        world: World, delivery_checklist: Make, policy: Any, vendor: str) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 1)))   # only stale: one digest, to crm
    world.schedule("NJ-JY-01")
    world.clock.set(at("2027-04-01"))
    with robot(vendor, secret=SECRETS[vendor]) as served:
        _subscribe(world, vendor, served)
        served.answers.append(RATE_LIMITED[vendor])
        assert run_due(world.auditor()).deliveries == {"delivered": 0, "pending": 1, "failed": 0}
        (entry,) = _outbox(world)
        assert entry.attempts == 1 and str(RATE_LIMITED[vendor].get(
            "errcode", RATE_LIMITED[vendor].get("code"))) in (entry.last_error or "")
        world.clock.advance(dt.timedelta(seconds=policy.retry.first_seconds))
        assert run_due(world.auditor()).deliveries["delivered"] == 1
        world.clock.advance(dt.timedelta(days=1))
        assert run_due(world.auditor()).deliveries == {"delivered": 0, "pending": 0,
                                                       "failed": 0}
    assert len(served.messages) == 1
    (entry,) = _outbox(world)
    assert (entry.status, entry.attempts, entry.last_error) == ("delivered", 2, None)


@pytest.mark.parametrize("vendor", ["dingtalk", "feishu"])
def test_a_wrong_secret_is_refused_by_the_vendor_and_fails_at_once(
        world: World, delivery_checklist: Make, vendor: str) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 1)))
    world.schedule("NJ-JY-01")
    with robot(vendor, secret=SECRETS[vendor]) as served:
        _subscribe(world, vendor, served, secret="not-the-robots-secret-0123")
        report = run_due(world.auditor(), now=at("2027-04-01"))
    assert report.deliveries == {"delivered": 0, "pending": 0, "failed": 1}
    assert served.refusals == [BAD_SIGNATURE[vendor]] and served.messages == []
    (entry,) = _outbox(world)
    assert entry.attempts == 1 and entry.next_attempt_at is None
    assert "签名" in (entry.last_error or "")


def test_a_wrong_wecom_key_fails_at_once(world: World, delivery_checklist: Make) -> None:
    world.submit(delivery_checklist(as_of=D(2027, 3, 1)))
    world.schedule("NJ-JY-01")
    with robot("wecom") as served:
        good = served.url
        with world.database.write() as session:
            create_subscription(session, "wecom", good.replace(served.token, "other-key-00"),
                                None, None, None, "admin", world.clock.now())
        report = run_due(world.auditor(), now=at("2027-04-01"))
    assert report.deliveries["failed"] == 1
    (entry,) = _outbox(world)
    assert "errcode 93000" in (entry.last_error or "") and entry.attempts == 1


@pytest.mark.parametrize("vendor", ["dingtalk", "feishu"])
def test_a_timestamp_over_an_hour_old_is_refused(vendor: str) -> None:
    message = render_robot(vendor, _event_body(), "zh", Labels.default(), "")
    with robot(vendor, secret=SECRETS[vendor]) as served:
        late = post_robot(vendor, served.url, SECRETS[vendor], message,
                          int(time.time()) - 3700, 5)
        fresh = post_robot(vendor, served.url, SECRETS[vendor], message, int(time.time()), 5)
    assert not late.ok and not late.retry and late.status == 200
    assert fresh.ok and len(served.messages) == 1


def _event_body() -> dict[str, Any]:
    return {"event": "waiver.expiring", "project": "NJ-JY-01", "recipient": "engineering",
            "finding": {"id": "f1", "rule_id": "DELIVERY-QUALITY-001", "fingerprint": "ab" * 8,
                        "severity": "high", "blocking": False, "owner": "engineering",
                        "title": {"zh": "分户验收未完成", "en": "Unit acceptance not done"},
                        "due_date": "2027-05-01", "status": "waived"},
            "details": {"expires_on": "2027-05-03", "days_left": 2},
            "link": "/api/v1/findings/f1"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_english_follows_chinese_when_the_subscription_asks(vendor: str) -> None:
    message = render_robot(vendor, _event_body(), "zh-en", Labels.default(),
                           "https://risk.example.test")
    text = text_of(vendor, message)
    assert text.index("豁免即将到期 · NJ-JY-01") < text.index("Waiver expiring · NJ-JY-01")
    assert "【高】分户验收未完成（工程，2027-05-01 前）" in text
    assert "[High] Unit acceptance not done (Engineering, due 2027-05-01)" in text
    assert "剩余天数：2" in text and "Days left: 2" in text
    assert "engineering" not in text and "DELIVERY-" not in text
    if vendor == "feishu":
        post = message["content"]["post"]
        assert set(post) == {"zh_cn", "en_us"}
        assert post["zh_cn"]["content"][-1] == [
            {"tag": "a", "text": "查看详情", "href": "https://risk.example.test/projects/NJ-JY-01"}]
    else:
        assert "(https://risk.example.test/projects/NJ-JY-01)" in text


@pytest.mark.parametrize(("vendor", "limit"), [("wecom", 4096), ("dingtalk", 4096),
                                               ("feishu", 20 * 1024)])
def test_a_long_digest_is_cut_to_the_vendors_limit_and_says_so(vendor: str, limit: int) -> None:
    item = _event_body()["finding"] | {"title": {"zh": "很长的风险标题" * 5, "en": "long"}}
    body = {"event": DIGEST, "project": "NJ-JY-01", "slot_date": "2027-04-01",
            "delivery_date": "2027-06-30", "days_to_delivery": 90,
            "gate": {"decision": "fail"}, "gate_change": {"changed": False},
            "recipient": "engineering", "new": [item] * 300, "due_soon": [], "overdue": [],
            "escalated": [], "link": "/api/v1/audit-runs/r1"}
    message = render_robot(vendor, body, "zh-en", Labels.default(), "")
    size = len(json.dumps(message, ensure_ascii=False).encode()) + 80 if vendor == "feishu" \
        else len(text_of(vendor, message).encode())  # 80: Feishu's timestamp and sign
    assert size <= limit
    assert "内容过长" in text_of(vendor, message)


def test_a_robot_key_is_cut_when_shown() -> None:
    assert shown_target("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
                        "693a91f6-7xxx") == (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…")
    assert shown_target("feishu", "https://open.larksuite.com/open-apis/bot/v2/hook/"
                        "5e3d587e-d78e") == "https://open.larksuite.com/open-apis/bot/v2/hook/5e3d…"
    assert shown_target("webhook", "https://x.test/h?key=abcdef") == "https://x.test/h?key=abcdef"
