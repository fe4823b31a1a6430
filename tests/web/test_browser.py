"""Headless Chromium against the real app on a loopback port: the Excel round trip a project
manager makes, a reviewer's waiver and decision, the language switch, an accessibility smoke."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from riskengine.assessment.assessor import Assessor
from riskengine.output.workbook import write_template
from riskengine.vocabulary import Stage
from tests.api.support import database_url, make_app, missing, new_token
from tests.web.conftest import TODAY, checklist

pytestmark = pytest.mark.browser
CHROMIUM = Path(os.environ.get("RISKENGINE_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.environ.get("RISKENGINE_SCREENSHOTS")  # a folder: save the main pages there


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing(f"Chromium not found at {CHROMIUM}",
                "`make browser` installs Debian's chromium (or set RISKENGINE_CHROMIUM)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app served by a real HTTP server on a free loopback port."""
    with database_url("sqlite", tmp_path_factory.mktemp("browser")) as url:
        app = make_app(url, SECRET_KEY=uuid.uuid4().hex * 2, TODAY=TODAY)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield app, f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        thread.join(5)
        app.extensions["riskengine"].database.engine.dispose()


def login(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.get_by_label("API 令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")


def logout(page: Any) -> None:
    page.get_by_role("button", name="退出").click()


A11Y = """() => {
  const problems = [];
  const controls = document.querySelectorAll('input:not([type=hidden]), select, textarea');
  for (const c of controls) {
    const labelled = (c.id && document.querySelector(`label[for="${c.id}"]`)) ||
      c.closest('label') || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
    if (!labelled) problems.push('unlabelled ' + (c.name || c.id || c.outerHTML.slice(0, 60)));
  }
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map(h => Number(h.tagName[1]));
  if (headings.filter(l => l === 1).length !== 1) problems.push('h1 count ' + headings.join());
  if (headings[0] !== 1) problems.push('first heading is not h1');
  for (let i = 1; i < headings.length; i++)
    if (headings[i] > headings[i - 1] + 1)
      problems.push(`heading h${headings[i - 1]} -> h${headings[i]}`);
  for (const b of document.querySelectorAll('button, a[href]'))
    if (!b.textContent.trim() && !b.getAttribute('aria-label'))
      problems.push('empty ' + b.outerHTML.slice(0, 60));
  return problems;
}"""


def accessible(page: Any) -> None:
    problems = page.evaluate(A11Y)
    assert problems == [], (page.url, problems)


KEY = """e => e.type === 'radio' ? 'radio:' + e.name : e.outerHTML"""  # Tab enters a group once


def tab_reaches(page: Any, selector: str, limit: int = 80) -> None:
    """Every visible control of the form is reached by pressing Tab from the top of the page."""
    wanted = set(page.evaluate(f"""s => [...document.querySelectorAll(
        s + ' input:not([type=hidden]),' + s + ' select,' + s + ' textarea,' + s + ' button')]
        .filter(e => e.offsetParent && e.tabIndex >= 0).map({KEY})""", selector))
    assert wanted, selector
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); "
                  "window.scrollTo(0, 0); }")
    seen = set()
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.add(page.evaluate(f"() => ({KEY})(document.activeElement)"))
        if wanted <= seen:
            return
    pytest.fail(f"{page.url}: not reached by Tab: {sorted(wanted - seen)[:3]}")


def shoot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_excel_upload_waiver_review_and_language(chromium: Any, live: tuple[Flask, str],
                                                  assessor: Assessor,
                                                  tmp_path: Path) -> None:
    app, base = live
    data = checklist("sales-risky")
    code = data["project"]["code"]
    workbook = tmp_path / "sales-risky.xlsx"
    workbook.write_bytes(write_template(assessor.catalog, Stage.SALES, data))
    expected = [f.rule_id for f in assessor.assess(data).findings]
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()

    login(page, base, new_token(app, "submitter", name="pm.li"))
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="填写检查清单").click()
    accessible(page)
    page.get_by_label("已填写的模板（.xlsx）").set_input_files(str(workbook))
    page.get_by_role("button", name="上传并提交").click()
    page.wait_for_url(f"{base}/assessments/*")
    for rule_id in expected:
        assert page.locator(f"text={rule_id}").count() >= 1, rule_id
    assert page.locator(".facts .gate-fail").count() == 2  # today and at submission
    accessible(page)
    logout(page)

    login(page, base, new_token(app, "reviewer", name="rev.wang"))
    page.get_by_role("link", name=code).click()
    accessible(page)
    page.get_by_role("link", name="#1").first.click()
    finding = page.locator("article.finding").filter(has_text="SALES-OFFSITE-001")
    finding.locator("summary").click()
    finding.get_by_label("豁免理由").fill("已在售楼处补充公示，区域总经理批准")
    finding.get_by_label("到期日").fill("2026-12-31")
    finding.get_by_role("button", name="确认豁免").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").filter(has_text="状态已更新").count() == 1
    assert page.locator("article.finding").filter(has_text="SALES-OFFSITE-001").locator(
        ".status-waived").count() == 1
    shoot(page, "assessment")

    page.get_by_role("link", name="闸口评审").first.click()
    accessible(page)
    tab_reaches(page, "form.card")
    page.get_by_label("不通过").check()
    page.get_by_label("评审意见").fill("预售证取得前不得开盘")
    page.get_by_role("button", name="记录决定").click()
    assert page.get_by_role("status").filter(has_text="评审决定已记录").count() == 1
    assert page.locator("td", has_text="预售证取得前不得开盘").count() == 1
    shoot(page, "gate-review")

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == f"{code} gate review"
    page.get_by_role("navigation").get_by_role("link", name="Portfolio").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Portfolio"
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", level=1).inner_text() == "项目组合"
    context.close()


@pytest.mark.parametrize("path", ["/", "/rules", "/checklists/new", "/rules?stage=delivery"])
def test_pages_pass_the_accessibility_smoke(chromium: Any, live: tuple[Flask, str],
                                            path: str) -> None:
    app, base = live
    page = chromium.new_page()
    page.goto(f"{base}/login")
    accessible(page)
    tab_reaches(page, "main form")
    login(page, base, new_token(app, "admin"))
    page.goto(f"{base}{path}")
    accessible(page)
    if path == "/":
        tab_reaches(page, "form.filters")
    page.close()
