"""The work pages (issue 11): the queue with days left and bulk actions, a finding's page
(resolve with evidence, verify or reject, waiver requests and decisions, comments), the
reviewers' queue. On SQLite and PostgreSQL, in Chinese and English."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.api.support import Caller, new_token
from tests.web.conftest import TODAY, Visitor, checklist, unique

Make = Callable[..., Visitor]


@pytest.fixture
def project(web_app: Flask) -> dict[str, Any]:
    admin = Caller(web_app, new_token(web_app, "admin", name="admin.work"))
    code = unique()
    body = checklist("sales-risky", code)
    body["milestones"] = {**body["milestones"], "subscription_start": "2027-05-01",
                          "launch_date": "2027-06-01"}
    answer = admin.submit(body)
    assert answer.status_code == 201, answer.get_json()
    assessment: dict[str, Any] = answer.get_json()
    return assessment


def first(project: dict[str, Any], owner: str) -> dict[str, Any]:
    return next(f for f in project["findings"] if f["owner"] == owner and f["blocking"])


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_the_queue_shows_days_left_in_either_language(project: dict[str, Any],
                                                      visitor: Make) -> None:
    owner = visitor("owner", department="permits", name="head.permits.w")
    page = text(owner.get(f"/work?project={project['project_code']}"))
    permits = [f for f in project["findings"] if f["owner"] == "permits"]
    assert all(f["id"] in page for f in permits)
    others = [f for f in project["findings"] if f["owner"] != "permits"]
    assert not any(f["id"] in page for f in others)  # its own department by default
    assert "剩 7 天" in page and "超出时限" not in page  # critical: 7 days from first sight
    english = text(owner.get(f"/work?project={project['project_code']}&lang=en"))
    assert "7 days left" in english
    later = owner.get(f"/work?project={project['project_code']}&overdue=1")
    assert text(later).count('name="ids"') == 0  # nothing overdue yet on the examples' day


def test_resolve_with_evidence_then_verify_on_the_finding_page(
        project: dict[str, Any], visitor: Make) -> None:
    finding = first(project, "permits")
    url = f"/work/findings/{finding['id']}"
    owner = visitor("owner", department="permits", name="head.permits.v")
    owner.post(url, {"act": "start"})
    done = owner.post(url, {"act": "resolve", "note": "预售证已取得",
                            "references": "证号 2026-118\n"}, follow_redirects=True)
    page = text(done)
    assert "已解决（待核实）" in page and "预售证已取得" in page and "证号 2026-118" in page
    assert 'value="verify"' not in page  # the resolver is not offered to verify
    reviewer = visitor("reviewer", name="reviewer.page")
    shown = text(reviewer.get(url))
    assert 'value="verify"' in shown and 'value="reject"' in shown
    refused = text(reviewer.post(url, {"act": "reject", "reason": ""}, follow_redirects=True))
    assert "未执行" in refused and "reason" in refused
    verified = text(reviewer.post(url, {"act": "verify"}, follow_redirects=True))
    assert "已核实关闭" in verified and "核实通过" in verified


def test_a_waiver_is_requested_on_the_page_and_decided_from_the_queue(
        project: dict[str, Any], visitor: Make) -> None:
    finding = first(project, "marketing")
    url = f"/work/findings/{finding['id']}"
    owner = visitor("owner", department="marketing", name="head.marketing.w")
    asked = text(owner.post(url, {"act": "request_waiver", "justification": "签约前书面告知",
                                  "expires": "2027-01-31"}, follow_redirects=True))
    assert "豁免申请已提交" in asked and "待决定" in asked
    reviewer = visitor("reviewer", name="reviewer.queue")
    queue = text(reviewer.get("/work/waiver-requests"))
    assert "签约前书面告知" in queue
    request_id = re.search(r'/work/waiver-requests/([0-9a-f]{32})"', queue)
    assert request_id
    decided = reviewer.post(f"/work/waiver-requests/{request_id.group(1)}",
                            {"decision": "approve", "reason": "同意"}, follow_redirects=True)
    assert "已记录决定" in text(decided)
    assert "已豁免" in text(owner.get(url))


def test_comments_and_mentions_on_the_page(project: dict[str, Any], visitor: Make) -> None:
    finding = first(project, "marketing")
    url = f"/work/findings/{finding['id']}"
    owner = visitor("owner", department="marketing", name="head.marketing.c")
    page = text(owner.post(url, {"act": "comment", "body": "请 @法务 看合同"},
                           follow_redirects=True))
    assert "评论已发表" in page and "请 @法务 看合同" in page and "@法务" in page
    bad = text(owner.post(url, {"act": "comment", "body": "@财务部 看"}, follow_redirects=True))
    assert "未执行" in bad and "@财务部" in bad
    auditor = visitor("auditor", name="auditor.c")
    assert 'value="comment"' not in text(auditor.get(url))


def test_bulk_start_from_the_queue_reports_each(project: dict[str, Any], visitor: Make) -> None:
    marketing = [f["id"] for f in project["findings"] if f["owner"] == "marketing"]
    permits = first(project, "permits")["id"]
    owner = visitor("owner", department="marketing", name="head.marketing.b")
    answer = owner.client.post("/work/bulk", data={
        "csrf_token": owner.csrf(), "action": "start", "ids": [*marketing, permits]},
        follow_redirects=True)
    page = text(answer)
    assert f"成功 {len(marketing)} 条，未执行 1 条" in page
    assert permits[:8] in page
    assert all("处理中" in text(owner.get(f"/work/findings/{i}")) for i in marketing)


def test_work_forms_need_the_csrf_token(project: dict[str, Any], visitor: Make) -> None:
    finding = first(project, "marketing")
    owner = visitor("owner", department="marketing")
    answer = owner.post(f"/work/findings/{finding['id']}", {"act": "start"}, csrf=False)
    assert answer.status_code == 400


def test_the_portfolio_counts_sla_breaches_as_overdue(
        web_app: Flask, project: dict[str, Any], visitor: Make) -> None:
    pm = visitor("submitter", projects=[project["project_code"]], name="pm.overdue")
    service = web_app.extensions["riskengine"]
    saved = service.pinned_today
    critical = sum(1 for f in project["findings"] if f["severity"] == "critical")
    try:
        service.pinned_today = TODAY + dt.timedelta(days=6)  # within the critical SLA
        assert 'class="badge overdue"' not in text(pm.get("/"))
        service.pinned_today = TODAY + dt.timedelta(days=8)  # past it; milestones far ahead
        assert f'<span class="badge overdue">{critical}</span>' in text(pm.get("/"))
    finally:
        service.pinned_today = saved
