"""The work pages in headless Chromium at a phone's width (390 px): nothing wider than the
screen, every control labelled, and an owner's resolve-with-evidence done by tapping."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.api.support import Caller, new_token
from tests.web.conftest import checklist, unique
from tests.web.test_browser import accessible, chromium, live, login  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_the_work_pages_fit_a_phone(chromium: Any, live: tuple[Flask, str]) -> None:  # noqa: F811
    app, base = live
    code = unique()
    admin = Caller(app, new_token(app, "admin", name="admin.phone"))
    assessment = admin.submit(checklist("sales-risky", code)).get_json()
    finding = next(f for f in assessment["findings"] if f["owner"] == "marketing")
    token = new_token(app, "owner", None, "marketing", "head.marketing.phone")
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, base, token)
        for path in ("/work", f"/work/findings/{finding['id']}", "/work/waiver-requests"):
            page.goto(f"{base}{path}")
            accessible(page)
            assert page.evaluate(FITS), path
        page.goto(f"{base}/work/findings/{finding['id']}")
        page.get_by_role("button", name="开始处理").click()
        page.locator("summary", has_text="标记已解决").click()
        page.get_by_label("整改证据说明").fill("已在售楼处公示")
        page.get_by_role("button", name="标记已解决").click()
        page.wait_for_selector("text=已解决（待核实）")
        assert page.evaluate(FITS)
    finally:
        context.close()
