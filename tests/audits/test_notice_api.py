"""The subscription API's robot channels: each target's shape and secret checked, keys never
listed, routing fields kept, a subscription's deliveries of every event visible."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from riskengine.audits.clock import ManualClock
from riskengine.audits.runner import run_due
from tests.api.support import Caller, make_app, new_token
from tests.audits.robots import SECRETS, robot, text_of
from tests.audits.support import at

D = dt.date
Make = Callable[..., dict[str, Any]]
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=50cb6e954c89afa14fb9"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07"
LARK = "https://open.larksuite.com/open-apis/bot/v2/hook/5e3d587e-d78e-4a07"


@pytest.fixture
def app(db_url: str, clock: ManualClock) -> Iterator[Flask]:
    app = make_app(db_url, AUDIT_CLOCK=clock, AUDIT_SCHEDULER=False)
    yield app
    app.extensions["riskengine"].database.engine.dispose()


@pytest.fixture
def admin(app: Flask) -> Caller:
    return Caller(app, new_token(app, "admin", None))


@pytest.mark.parametrize(("body", "field", "says"), [
    pytest.param({"channel": "wecom", "target": "https://qyapi.weixin.qq.com/cgi-bin/webhook/"
                  "send"}, "target", "key", id="wecom_without_key"),
    pytest.param({"channel": "wecom", "target": WECOM, "secret": "s" * 20}, "secret",
                  "not signed", id="wecom_with_secret"),
    pytest.param({"channel": "dingtalk", "target": DINGTALK}, "secret", "secret",
                  id="dingtalk_without_secret"),
    pytest.param({"channel": "dingtalk", "target": "https://oapi.dingtalk.com/robot/send",
                  "secret": SECRETS["dingtalk"]}, "target", "access_token",
                 id="dingtalk_without_token"),
    pytest.param({"channel": "dingtalk", "target": DINGTALK + "&timestamp=1&sign=x",
                  "secret": SECRETS["dingtalk"]}, "target", "afresh", id="dingtalk_pre_signed"),
    pytest.param({"channel": "feishu", "target": "https://open.feishu.cn/open-apis/bot/v2/",
                  "secret": SECRETS["feishu"]}, "target", "hook", id="feishu_without_hook_id"),
    pytest.param({"channel": "feishu", "target": "ftp://open.feishu.cn/open-apis/bot/v2/hook/x",
                  "secret": SECRETS["feishu"]}, "target", "http", id="feishu_not_http"),
    pytest.param({"channel": "feishu", "target": FEISHU}, "secret", "secret",
                 id="feishu_without_secret"),
    pytest.param({"channel": "wecom", "target": WECOM, "departments": ["sales"]},
                 "departments", "", id="unknown_department"),
    pytest.param({"channel": "wecom", "target": WECOM, "events": ["finding.created"]},
                 "events", "", id="unknown_event"),
    pytest.param({"channel": "wecom", "target": WECOM, "lang": "en"}, "lang", "",
                 id="unknown_lang"),
    pytest.param({"channel": "slack", "target": WECOM}, "channel", "", id="unknown_channel"),
])
def test_bad_robot_subscriptions_are_refused_with_the_field(
        admin: Caller, body: dict[str, Any], field: str, says: str) -> None:
    answer = admin.post("/api/v1/audit-subscriptions", body, query_string={"lang": "en"})
    assert answer.status_code == 422, answer.json
    problems = answer.json["error"]["details"]
    assert any(key.startswith(field) for key in problems), problems
    assert says in str(problems)
    chinese = admin.post("/api/v1/audit-subscriptions", body).json["error"]["details"]
    assert chinese.keys() == problems.keys()
    assert all(re.search(r"[\u4e00-\u9fff]", line) for lines in chinese.values() for line in lines)
    assert admin.get("/api/v1/audit-subscriptions").json["items"] == []


@pytest.mark.parametrize(("body", "shown"), [
    pytest.param({"channel": "wecom", "target": WECOM},
                 "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…", id="wecom"),
    pytest.param({"channel": "dingtalk", "target": DINGTALK, "secret": SECRETS["dingtalk"]},
                 "https://oapi.dingtalk.com/robot/send?access_token=50cb…", id="dingtalk"),
    pytest.param({"channel": "feishu", "target": LARK, "secret": SECRETS["feishu"]},
                 "https://open.larksuite.com/open-apis/bot/v2/hook/5e3d…", id="lark_host"),
])
def test_robot_subscriptions_are_stored_with_their_routing_and_listed_without_keys(
        admin: Caller, body: dict[str, Any], shown: str) -> None:
    routing = {"departments": ["engineering", "crm"], "projects": ["NJ-JY-01"],
               "events": ["finding.blocking", "audit.digest"], "lang": "zh-en"}
    created = admin.post("/api/v1/audit-subscriptions", body | routing)
    assert created.status_code == 201, created.json
    (listed,) = admin.get("/api/v1/audit-subscriptions").json["items"]
    assert listed["target"] == shown and "secret" not in listed
    assert listed["departments"] == ["crm", "engineering"]
    assert listed["events"] == ["audit.digest", "finding.blocking"]
    assert listed["lang"] == "zh-en" and listed["projects"] == ["NJ-JY-01"]
    spec = admin.get("/api/v1/openapi.json").json
    channel = spec["components"]["schemas"]["SubscriptionIn"]["properties"]["channel"]
    assert {"wecom", "dingtalk", "feishu"} <= set(channel["enum"])


def test_a_subscriptions_deliveries_show_every_event(
        app: Flask, admin: Caller, delivery_checklist: Make) -> None:
    with robot("dingtalk", secret=SECRETS["dingtalk"]) as served:
        made = admin.post("/api/v1/audit-subscriptions", {
            "channel": "dingtalk", "target": served.url, "secret": SECRETS["dingtalk"],
            "departments": ["engineering"]})
        assert made.status_code == 201
        assert admin.submit(delivery_checklist(as_of=D(2027, 3, 30), risky=True)
                            ).status_code == 201
        admin.post("/api/v1/projects/NJ-JY-01/audit-schedules", {})
        run_due(app.extensions["riskengine.audits"].scheduler.auditor, now=at("2027-04-01"))
    subscription = made.json["id"]
    listed = admin.get(f"/api/v1/audit-subscriptions/{subscription}/deliveries").json["items"]
    assert [(d["event"], d["status"], d["attempts"]) for d in listed] == [
        ("audit.digest", "delivered", 1), ("finding.blocking", "delivered", 1)]
    assert all(served.token not in d["target"] for d in listed)
    assert "新增阻断项" in text_of("dingtalk", served.messages[0])
    auditor = Caller(app, new_token(app, "auditor", None))
    assert auditor.get(f"/api/v1/audit-subscriptions/{subscription}/deliveries"
                       ).status_code == 200
    # A token scoped to some projects does not see a subscription that covers every project.
    outsider = Caller(app, new_token(app, "auditor", ["SZ-NS-02"]))
    answer = outsider.get(f"/api/v1/audit-subscriptions/{subscription}/deliveries")
    assert answer.status_code == 404
    assert admin.get("/api/v1/audit-subscriptions/999/deliveries").status_code == 404
    reviewer = Caller(app, new_token(app, "reviewer", None))
    assert reviewer.get(f"/api/v1/audit-subscriptions/{subscription}/deliveries"
                        ).status_code == 403
