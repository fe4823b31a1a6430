"""The pages through Flask's test client: content, sessions, CSRF, roles, project scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from api.web.messages import MESSAGES
from riskengine.assessment.assessor import Assessor
from riskengine.output.workbook import write_template
from riskengine.vocabulary import Stage
from tests.web.conftest import Visitor, assessment_id, checklist, unique

Make = Callable[..., Visitor]
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "web" / "templates" / "web"


def submitted(assessor: Assessor, pm: Visitor, name: str, code: str) -> str:
    data = checklist(name, code)
    content = write_template(assessor.catalog, Stage(data["stage"]), data)
    return assessment_id(pm.upload(content))


def finding_ids(html: str) -> list[str]:
    return re.findall(r'<article class="finding[^"]*" id="f-([0-9a-f]+)"', html)


def test_pages_need_a_login(web_app: Flask) -> None:
    response = web_app.test_client().get("/rules")
    assert response.status_code == 302 and "/login?next=/rules" in response.headers["Location"]


def test_login_with_a_bad_token_fails_and_a_good_one_sets_a_safe_cookie(web_app: Flask,
                                                                         visitor: Make) -> None:
    anonymous = Visitor(web_app)
    assert anonymous.login("rk_not-a-token").status_code == 401
    admin = visitor("admin")
    cookie = next(c for c in admin.client._cookies.values() if c.key == "riskengine_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    page = admin.get("/")
    assert page.status_code == 200 and "项目组合" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert admin.post("/logout").status_code == 302
    assert admin.get("/").status_code == 302


def test_a_revoked_token_ends_the_session(web_app: Flask, visitor: Make) -> None:
    from riskengine.store.tokens import revoke_token
    auditor = visitor("auditor", name="auditor.revoked")
    assert auditor.get("/").status_code == 200
    with web_app.extensions["riskengine"].database.write() as session:
        revoke_token(session, prefix=auditor.token)
    assert auditor.get("/").status_code == 302


def test_forms_without_the_csrf_token_are_refused(visitor: Make) -> None:
    admin = visitor("admin")
    response = admin.post("/checklists/new", {"stage": "sales"}, csrf=False)
    assert response.status_code == 400 and "表单已过期" in response.text
    assert admin.post("/login", {"token": admin.token}, csrf=False).status_code == 400


def test_upload_assessment_waiver_review_and_reports(assessor: Assessor, visitor: Make) -> None:
    code = unique("CD")
    pm = visitor("submitter", projects=[code])
    aid = submitted(assessor, pm, "sales-risky", code)
    page = pm.get(f"/assessments/{aid}")
    assert page.status_code == 200
    for rule_id in ("SALES-OFFSITE-001", "SALES-PERMITS-001", "SALES-ADVERTISING-001"):
        assert rule_id in page.text
    assert "不通过" in page.text and "营销/销售" in page.text
    assert 'action="/findings/' not in page.text  # a project manager has no status controls
    reviewer = visitor("reviewer", projects=[code], name="rev.li")
    page = reviewer.get(f"/assessments/{aid}")
    first = finding_ids(page.text)[0]
    done = reviewer.post(f"/findings/{first}", {"action": "waive", "justification": "区域批准",
                                                "expires": "2026-12-31", "back": aid})
    assert done.status_code == 302
    page = reviewer.get(f"/assessments/{aid}")
    assert "状态已更新" in page.text and "区域批准" in page.text and "已豁免" in page.text
    refused = reviewer.post(f"/projects/{code}/gate-review", {"decision": "pass", "stage": "sales"})
    assert refused.status_code == 409 and "管理员" in refused.text
    recorded = reviewer.post(f"/projects/{code}/gate-review",
                             {"decision": "fail", "stage": "sales", "comments": "补齐预售证",
                              "assessment_id": aid})
    assert recorded.status_code == 302
    review = reviewer.get(f"/projects/{code}/gate-review?stage=sales")
    assert "评审决定已记录" in review.text and "补齐预售证" in review.text
    review_id = re.search(r"gate-reviews/([0-9a-f]+)/report", review.text).group(1)
    for path in (f"/assessments/{aid}/report", f"/projects/{code}/gate-reviews/{review_id}/report"):
        assert reviewer.get(path).status_code == 200
    pdf = reviewer.get(f"/projects/{code}/gate-reviews/{review_id}/report.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    xlsx = reviewer.get(f"/assessments/{aid}/report.xlsx")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    project = reviewer.get(f"/projects/{code}")
    assert "闸口趋势" in project.text and "补齐预售证" not in project.text  # comments: review page


def test_owners_work_only_their_findings(assessor: Assessor, visitor: Make) -> None:
    code = unique("CD")
    aid = submitted(assessor, visitor("submitter", projects=[code]), "sales-risky", code)
    crm = visitor("owner", projects=[code], department="crm")
    page = crm.get(f"/assessments/{aid}").text
    controls = re.findall(r'action="/findings/([0-9a-f]+)"', page)
    assert controls and "开始处理" in page and "豁免…" not in page  # owners do not waive
    permits_finding = next(i for i in finding_ids(page) if i not in controls)
    refused = crm.post(f"/findings/{permits_finding}", {"action": "start", "back": aid})
    assert refused.status_code == 302
    shown = crm.get(f"/assessments/{aid}").text
    assert re.search(r"状态未更新: 此风险发现属于[^ (]+部门 "
                     r"\(owner: 只有[^ )]+部门或管理员可以修改\)", shown)
    assert "only the" not in shown and "department or an admin" not in shown
    english = crm.post(f"/findings/{permits_finding}?lang=en", {"action": "start", "back": aid})
    assert english.status_code == 302
    assert re.search(r"Status not changed: this finding is owned by [A-Z][^(<]+ \(owner: only the "
                     r"[A-Z][^)<]+ department or an admin may change it\)",
                     crm.get(f"/assessments/{aid}?lang=en").text)
    crm.get("/?lang=zh")  # back to Chinese for the rest
    started = crm.post(f"/findings/{controls[0]}", {"action": "start", "back": aid})
    assert started.status_code == 302
    assert "处理中" in crm.get(f"/assessments/{aid}").text


def test_a_project_outside_the_token_is_not_found(assessor: Assessor, visitor: Make) -> None:
    code = unique("CD")
    aid = submitted(assessor, visitor("submitter", projects=[code]), "sales-risky", code)
    other = visitor("auditor", projects=[unique("XX")])
    assert other.get(f"/projects/{code}").status_code == 404
    assert other.get(f"/assessments/{aid}").status_code == 404
    assert other.get(f"/assessments/{aid}/report.pdf").status_code == 404
    assert code not in other.get("/").text


def test_roles_limit_the_forms(assessor: Assessor, visitor: Make) -> None:
    code = unique("CD")
    submitted(assessor, visitor("submitter", projects=[code]), "sales-risky", code)
    auditor = visitor("auditor")
    assert auditor.get("/checklists/new").status_code == 403
    review = auditor.get(f"/projects/{code}/gate-review?stage=sales")
    assert review.status_code == 200 and "只有评审人" in review.text
    denied = auditor.post(f"/projects/{code}/gate-review", {"decision": "fail", "stage": "sales"})
    assert denied.status_code == 403


def test_portfolio_filters_and_counts(assessor: Assessor, visitor: Make) -> None:
    code = unique("NJ")
    submitted(assessor, visitor("submitter", projects=[code]), "delivery-risky", code)
    admin = visitor("admin")
    page = admin.get("/?stage=delivery&gate=fail&city=南京").text
    # the structural crack, and the three special acceptances the example does not list
    # (the completion filing and five special acceptances are a closed set)
    assert code in page and "严重 4" in page
    assert code not in admin.get("/?stage=sales").text


def test_form_errors_show_at_their_inputs(visitor: Make) -> None:
    pm = visitor("submitter")
    response = pm.post("/checklists/new", {"stage": "sales", "project.code": "bad code!",
                                           "offsite_factors.0.kind": "landfill",
                                           "offsite_factors.0.distance_m": "near"})
    assert response.status_code == 422
    assert 'id="i-offsite_factors-0-distance_m-e"' in response.text
    assert "场外不利因素 第 1 行 · 距离（米）：须为数字" in response.text
    assert "as_of" in response.text
    grown = pm.post("/checklists/new", {"stage": "sales", "add": "permits", "rows.permits": "1"})
    assert 'name="permits.1.kind"' in grown.text


def test_form_submission_stores_and_assesses(visitor: Make) -> None:
    code = unique("SZ")
    pm = visitor("submitter", projects=[code])
    fields = {"stage": "sales", "project.code": code, "as_of": "2026-11-20",
              "milestones.launch_date": "2026-12-20", "checks.five_certificates_displayed": "false"}
    response = pm.post("/checklists/new", fields)
    page = pm.get(f"/assessments/{assessment_id(response)}").text
    assert "SALES-PERMITS-009" in page  # five certificates not displayed


def test_upload_errors_point_to_cells(assessor: Assessor, visitor: Make) -> None:
    import io

    from openpyxl import load_workbook
    data = checklist("sales-risky", unique("CD"))
    book = load_workbook(io.BytesIO(write_template(assessor.catalog, Stage.SALES, data)))
    book["offsite_factors"]["C4"] = "far"
    out = io.BytesIO()
    book.save(out)
    response = visitor("submitter").upload(out.getvalue())
    assert response.status_code == 422
    assert "场外不利因素!C4 · 距离（米）：须为数字" in response.text


def test_language_switch_is_remembered(visitor: Make) -> None:
    admin = visitor("admin")
    english = admin.get("/rules?lang=en")
    assert '<html lang="en">' in english.text and "Rules catalogue" in english.text
    assert "lang=en" in english.headers["Set-Cookie"]
    assert "Rules catalogue" in admin.get("/rules?stage=delivery").text
    assert "规则目录" in admin.get("/rules?lang=zh").text


def test_rules_catalogue_shows_words_and_examples(visitor: Make) -> None:
    page = visitor("auditor").get("/rules?stage=sales").text
    assert 'id="SALES-OFFSITE-001"' in page and "影响半径内的不利因素未公示" in page
    assert "同时满足：已公示 = 否" in page and "influence_radius_m" in page
    assert "landfill_400m_undisclosed_fires" in page


def test_template_download_via_the_api_and_the_pages(web_app: Flask, visitor: Make) -> None:
    from tests.api.support import new_token
    client = web_app.test_client()
    token = new_token(web_app, "auditor")
    api = client.get("/api/v1/templates/delivery.xlsx",
                     headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.mimetype.endswith("spreadsheetml.sheet")
    assert client.get("/api/v1/templates/delivery.xlsx").status_code == 401
    assert client.get("/api/v1/templates/other.xlsx",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert visitor("submitter").get("/templates/sales.xlsx").status_code == 200


def test_every_text_the_templates_use_exists_in_both_languages() -> None:
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_0-9]+)'\)", path.read_text(encoding="utf-8")))
        used |= {f"stage_{o}" for o in Stage}
    missing = sorted(used - set(MESSAGES))
    assert not missing
    assert all(zh and en for zh, en in MESSAGES.values())


@pytest.mark.parametrize("path", ["/", "/rules", "/checklists/new", "/login"])
def test_one_h1_per_page(visitor: Make, path: str) -> None:
    assert visitor("admin").get(path).text.count("<h1") == 1


def test_the_delivery_review_reads_the_latest_audit_run(web_app: Flask, visitor: Make) -> None:
    import json

    from riskengine.audits import store
    from riskengine.audits.runner import run_due
    from riskengine.audits.schedule import make_rule
    from riskengine.rules.cases import base_checklist
    from riskengine.rules.catalog import DEFAULT_ROOT
    from riskengine.store.projects import get_project
    from tests.api.support import Caller, new_token
    from tests.audits.support import at

    code = unique("NJ")
    api = Caller(web_app, new_token(web_app, "admin"))
    assert api.submit(checklist("delivery-risky", code)).status_code == 201
    auditor = web_app.extensions["riskengine.audits"].scheduler.auditor
    with auditor.database.write() as session:
        project = get_project(session, code, None)
        assert project is not None
        store.create_schedule(session, store.lock_project(session, project.id),
                              make_rule({"offsets_days": [60]}, auditor.policy), auditor.policy,
                              "test", at("2026-11-20"))
    (run_id,) = run_due(auditor, now=at("2027-05-01", 1), deliver=False).runs
    clean = json.loads(json.dumps(base_checklist(DEFAULT_ROOT, Stage.DELIVERY), default=str))
    clean["project"]["code"] = code
    assert api.submit(clean).status_code == 201  # the assessment's own gate no longer fails
    reviewer = visitor("reviewer", projects=[code])
    page = reviewer.get(f"/projects/{code}/gate-review?stage=delivery").text
    assert "最近一次交付前审计" in page and f'data-run="{run_id}"' in page
    assert "审计时点 2027-05-01" in page
    sales = reviewer.get(f"/projects/{code}/gate-review?stage=sales").text
    assert "最近一次交付前审计" not in sales
    refused = reviewer.post(f"/projects/{code}/gate-review", {"decision": "pass",
                                                             "stage": "delivery"})
    assert refused.status_code == 409 and "最近一次交付前审计的结论为“不通过”" in refused.text
    admin = visitor("admin")
    done = admin.post(f"/projects/{code}/gate-review", {
        "decision": "pass", "stage": "delivery", "override_justification": "集团批准"})
    assert done.status_code == 302
    reviews = api.get(f"/api/v1/projects/{code}/gate-reviews?stage=delivery").get_json()
    assert [r["audit_run"]["id"] for r in reviews["items"]] == [run_id]
    report = admin.get(f"/projects/{code}/gate-reviews/{reviews['items'][0]['id']}/report")
    assert "审计时点 2027-05-01" in report.text
    pdf = admin.get(f"/projects/{code}/gate-reviews/{reviews['items'][0]['id']}/report.pdf")
    assert pdf.status_code == 200
