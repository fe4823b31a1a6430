"""Every kind of refusal a person meets through the API is said in Chinese, with no code or key
in it, and in English on request (`?lang=en`); the code and the details keys stay as they are.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from api.auth import Role
from api.resources import bulk
from riskengine.vocabulary import FindingStatus, GateDecision, Owner, Stage
from tests.api.support import Caller, checklist, unique_code

CJK = re.compile(r"[\u4e00-\u9fff]")
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
VOCABULARY = sorted({*FindingStatus, *Role, *Owner, *GateDecision, *Stage}, key=len, reverse=True)
CODES = re.compile(r"\b(?:" + "|".join(VOCABULARY) + r")\b")
# Details that carry machine values (codes, ids), not lines for a person.
MACHINE = {"allowed", "blocking", "audit_run", "ruleset_id", "retry_after"}
Send = Callable[[dict[str, Any]], TestResponse]


def said(send: Send, status: int, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The error in Chinese (the default) and in English (`?lang=en`), checked alike."""
    zh, en = send({}), send({"query_string": {"lang": "en"}})
    for answer in (zh, en):
        assert answer.status_code == status, answer.get_data(as_text=True)
        assert answer.get_json()["error"]["code"] == code
    chinese, english = zh.get_json()["error"], en.get_json()["error"]
    assert chinese["details"].keys() == english["details"].keys()  # machine paths, as they were
    for text in _texts(chinese):
        assert CJK.search(text), text
        assert not SNAKE.search(text), text
        assert not CODES.search(text), text
    for text in _texts(english):
        assert not CJK.search(text), text
    return chinese, english


def _texts(error: dict[str, Any]) -> list[str]:
    lines = [v for k, values in error["details"].items() if k not in MACHINE
             for v in (values if isinstance(values, list) else [values]) if isinstance(v, str)]
    return [error["message"], *lines]


@pytest.fixture
def project(admin: Caller, today: Callable[[dt.date], None]) -> dict[str, Any]:
    today(dt.date(2026, 11, 23))
    answer = admin.submit(checklist("sales-risky", unique_code()))
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def _finding(project: dict[str, Any], owner: str | None = None) -> dict[str, Any]:
    return next(f for f in project["findings"] if owner is None or f["owner"] == owner)


def test_a_refused_transition(project: dict[str, Any], admin: Caller) -> None:
    finding = _finding(project)
    zh, en = said(lambda lang: admin.patch(f"/api/v1/findings/{finding['id']}",
                                           {"status": "verified"}, **lang),
                  409, "invalid_transition")
    assert zh["message"] == "风险发现不能从“待处理”变为“已核实关闭”"
    assert zh["details"]["status"] == ["“待处理”可变为：处理中、已豁免"]
    assert zh["details"]["allowed"] == ["in_progress", "waived"]  # for machines, unchanged
    assert en["message"] == "a finding cannot go from Open to Verified"


def test_self_verification(project: dict[str, Any], caller: Callable[..., Caller]) -> None:
    admin = caller("admin", name="wang.lei")  # a person's name is shown as it is
    finding = _finding(project)
    where = f"/api/v1/findings/{finding['id']}"
    assert admin.patch(where, {"status": "in_progress"}).status_code == 200
    assert admin.patch(where, {"status": "resolved"}).status_code == 200
    zh, en = said(lambda lang: admin.patch(where, {"status": "verified"}, **lang),
                  403, "self_verification")
    assert zh["message"] == "整改结果须由整改人以外的人核实"
    assert zh["details"]["status"] == ["此风险发现由 wang.lei 整改"]
    assert en["message"] == "a resolution is verified by someone other than its resolver"


def test_stale_versions(project: dict[str, Any], admin: Caller) -> None:
    where = f"/api/v1/findings/{_finding(project)['id']}"
    zh, en = said(lambda lang: admin.patch(where, {"notes": "x", "version": 99}, **lang),
                  409, "version_mismatch")
    assert zh["message"] == "该风险发现在您读取后已被修改"
    assert zh["details"]["version"] == ["当前版本为 1"]
    assert en["details"]["version"] == ["current version is 1"]
    zh, en = said(lambda lang: admin.patch(where, {"notes": "x"}, headers={"If-Match": '"v9"'},
                                           **lang), 412, "precondition_failed")
    assert zh["details"]["If-Match"] == ['当前 ETag 为 "v1"']
    assert en["message"] == "the finding changed since you read it"


def test_an_idempotency_key_reused(admin: Caller) -> None:
    body = checklist("sales-risky", unique_code())
    key = {"Idempotency-Key": f"words-{uuid.uuid4().hex}"}
    assert admin.submit(body, headers=key).status_code == 201
    changed = {**body, "as_of": "2026-11-21"}
    zh, en = said(lambda lang: admin.submit(changed, headers=key, **lang), 409,
                  "idempotency_key_reused")
    assert zh["message"] == "此 Idempotency-Key 已用于另一个请求"
    assert en["message"] == "this Idempotency-Key was used with a different request"


def test_throttled(app: Flask, caller: Callable[..., Caller]) -> None:
    address = {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}"}
    client = app.test_client()
    for _ in range(int(app.config["AUTH_THROTTLE_ADDRESS_FAILURES"])):
        client.get("/api/v1/rulesets", environ_base=address,
                   headers={"Authorization": f"Bearer rk_{uuid.uuid4().hex}"})
    zh, en = said(lambda lang: client.get(
        "/api/v1/rulesets", environ_base=address,
        headers={"Authorization": f"Bearer rk_{uuid.uuid4().hex}"}, **lang),
        429, "too_many_requests")
    assert re.fullmatch(r"来自此地址的认证失败次数过多，请在 \d+ 秒后重试", zh["message"])
    assert re.fullmatch(r"too many failed authentications from this address; retry after \d+ "
                        r"seconds", en["message"])


def test_who_may_do_what(app: Flask, caller: Callable[..., Caller]) -> None:
    anonymous = app.test_client()
    zh, en = said(lambda lang: anonymous.get("/api/v1/rulesets", **lang), 401, "unauthorized")
    assert (zh["message"], en["message"]) == ("需要 Bearer 令牌", "a bearer token is required")
    auditor = caller("auditor")
    zh, en = said(lambda lang: auditor.post("/api/v1/projects", {"code": unique_code()}, **lang),
                  403, "forbidden")
    assert zh["message"] == "“审计”角色不能执行此操作"
    assert zh["details"]["role"] == ["需要以下角色之一：管理员、项目经理"]
    assert en["message"] == "the auditor role may not do this"


def test_what_is_not_there(admin: Caller) -> None:
    zh, en = said(lambda lang: admin.get("/api/v1/findings/nope", **lang), 404, "not_found")
    assert (zh["message"], en["message"]) == ("没有找到风险发现 nope", "finding nope not found")
    zh, en = said(lambda lang: admin.get("/api/v1/projects/NO-SUCH-1", **lang), 404, "not_found")
    assert (zh["message"], en["message"]) == ("没有找到项目 NO-SUCH-1",
                                              "project NO-SUCH-1 not found")
    zh, en = said(lambda lang: admin.get("/api/v1/no-such-route", **lang), 404, "not_found")
    assert (zh["message"], en["message"]) == ("没有这个地址", "no such address")


def test_http_refusals(app: Flask, admin: Caller) -> None:
    zh, en = said(lambda lang: admin.request("DELETE", "/api/v1/rulesets", **lang), 405,
                  "method_not_allowed")
    assert (zh["message"], en["message"]) == ("此地址不支持该请求方法",
                                              "the method is not allowed here")
    big = b" " * (int(app.config["MAX_CONTENT_LENGTH"]) + 1)
    zh, en = said(lambda lang: admin.request("POST", "/api/v1/evaluate", data=big, headers={
        "Content-Type": "application/json"}, **lang), 413, "too_large")
    assert zh["message"] == "请求正文过大"
    zh, en = said(lambda lang: admin.request("POST", "/api/v1/evaluate", data="x", headers={
        "Content-Type": "text/plain"}, **lang), 415, "unsupported_media_type")
    assert zh["message"] == "此处不接受 Content-Type 为 text/plain 的请求正文"
    zh, en = said(lambda lang: admin.request("POST", "/api/v1/evaluate", data="{", headers={
        "Content-Type": "application/json"}, **lang), 400, "unreadable")
    assert zh["message"] == "请求正文不是有效的 UTF-8 JSON"
    assert zh["details"]["body"] == [
        "请求正文：第 1 行第 2 列不是有效的 JSON（此处应为带双引号的键）"]
    assert en["details"]["body"] == [
        "Request body: not valid JSON at line 1, column 2 (a key in double quotes is expected)"]


def test_a_bulk_action_on_too_many(project: dict[str, Any], admin: Caller,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "MAX_ITEMS", 1)
    wanted = {"action": "start", "filter": {"project": project["project_code"]}}
    zh, en = said(lambda lang: admin.post("/api/v1/findings/bulk", wanted, **lang), 422,
                  "invalid")
    total = len(project["findings"])
    assert zh["message"] == f"筛选条件匹配 {total} 项风险发现；批量操作最多 1 项"
    assert en["message"] == f"the filter matches {total} findings; a bulk action takes at most 1"


def test_a_bulk_item_refused(project: dict[str, Any], caller: Callable[..., Caller]) -> None:
    crm = _finding(project, "crm")
    owner = caller("owner", department="marketing")
    wanted = {"action": "start", "ids": [crm["id"]]}
    [zh] = owner.post("/api/v1/findings/bulk", wanted).get_json()["items"]
    [en] = owner.post("/api/v1/findings/bulk", wanted,
                      query_string={"lang": "en"}).get_json()["items"]
    assert zh["error"]["code"] == en["error"]["code"] == "forbidden"
    assert zh["error"]["message"] == "此风险发现属于客户关系部门"
    assert zh["error"]["details"]["owner"] == ["只有客户关系部门或管理员可以修改"]
    assert en["error"]["message"] == "this finding is owned by Customer relationship"


def test_a_refused_waiver_request(project: dict[str, Any], caller: Callable[..., Caller]
                                  ) -> None:
    finding = _finding(project)
    owner = caller("owner", department=finding["owner"])
    where = f"/api/v1/findings/{finding['id']}/waiver-requests"
    ask = {"justification": "买方签约前书面告知", "expires": "2026-12-20"}
    assert owner.post(where, ask).status_code == 201
    zh, en = said(lambda lang: owner.post(where, ask, **lang), 409, "request_pending")
    assert zh["message"] == "该风险发现已有一项待审批的豁免申请"
    assert en["details"]["waiver_request"] == ["wait for its decision"]


def test_a_review_over_a_failed_gate(project: dict[str, Any], caller: Callable[..., Caller]
                                     ) -> None:
    reviewer = caller("reviewer")
    where = f"/api/v1/projects/{project['project_code']}/gate-reviews"
    zh, en = said(lambda lang: reviewer.post(where, {"stage": "sales", "decision": "pass"},
                                             **lang), 409, "gate_failed")
    assert zh["message"] == "计算得出的闸口结论为“不通过”：评审为“通过”须由管理员否决"
    assert en["message"] == "the computed gate is Fail: Pass needs an admin override"
