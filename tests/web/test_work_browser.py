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


def test_a_photo_is_uploaded_from_a_phone_and_shown(
        chromium: Any, live: tuple[Flask, str]) -> None:  # noqa: F811
    """The finding page with its evidence files (a photo's thumbnail, a PDF's label): axe-clean
    and no wider than a phone; the file input takes a photo as a phone's camera gives it."""
    from tests.api.support import photo, send_file
    from tests.api.test_attachments import pdf
    app, base = live
    admin = Caller(app, new_token(app, "admin", name="admin.phone.photo"))
    assessment = admin.submit(checklist("sales-risky", unique())).get_json()
    finding = next(f for f in assessment["findings"] if f["owner"] == "marketing")
    sent = send_file(admin, f"/api/v1/findings/{finding['id']}/attachments", pdf(2),
                     "验收报告-很长很长的文件名-第二版-最终版-确认无误.pdf", "application/pdf")
    assert sent.status_code == 201, sent.get_json()
    token = new_token(app, "owner", None, "marketing", "head.marketing.photo")
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, base, token)
        page.goto(f"{base}/work/findings/{finding['id']}")
        file_input = page.locator('input[type="file"]')
        assert file_input.get_attribute("capture") == "environment"
        file_input.set_input_files({"name": "IMG_0001.JPG", "mimeType": "image/jpeg",
                                    "buffer": photo((1200, 900), "red")})
        page.get_by_role("button", name="上传", exact=True).click()
        page.wait_for_selector("text=附件已上传。")
        assert page.locator("img[src$='/thumbnail']").count() == 1
        assert page.locator(".files .pdf").count() == 1
        accessible(page)
        assert page.evaluate(FITS)
        page.get_by_role("button", name="开始处理").click()
        page.locator("summary", has_text="标记已解决").click()
        accessible(page)
        assert page.evaluate(FITS)
        page.get_by_role("button", name="标记已解决").click()
        page.wait_for_selector("text=已解决（待核实）")
    finally:
        context.close()
