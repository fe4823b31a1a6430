"""Screenshots of the main pages for docs/web.md, taken from the real app with the contract's
examples loaded: `python -m tests.web.screenshots docs/screenshots` (needs /usr/bin/chromium and
a CJK font, e.g. Debian's fonts-wqy-microhei, for the Chinese text)."""

from __future__ import annotations

import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from tests.api.support import RULESETS, database_url, make_app, new_token
from tests.web.conftest import TODAY, checklist
from tests.web.test_browser import ARGS, CHROMIUM


def load(app: Any, token: str) -> dict[str, str]:
    """Submit the examples twice over (history), waive one finding, record one review."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    ids: dict[str, str] = {}
    for name in ("sales-ready", "sales-risky", "delivery-risky"):
        data = checklist(name)
        code = data["project"]["code"]
        if name == "delivery-risky":  # an earlier, worse delivery checklist: a gate trend
            earlier = checklist(name)
            earlier["as_of"] = "2027-04-01"
            earlier["checks"]["major_quality_hazards_open"] = 2
            client.post(f"/api/v1/projects/{code}/checklists", json=earlier, headers=auth)
        answer = client.post(f"/api/v1/projects/{code}/checklists", json=data, headers=auth)
        ids[name] = answer.get_json()["id"]
    body = client.get(f"/api/v1/assessments/{ids['delivery-risky']}", headers=auth).get_json()
    first = next(f for f in body["findings"] if f["blocking"])
    waiver = {"justification": "消防验收已排期，区域总经理批准延期交付预案",
              "approver": "区域总经理", "expires": "2027-06-20"}
    client.patch(f"/api/v1/findings/{first['id']}", headers=auth,
                 json={"status": "waived", "waiver": waiver})
    client.post("/api/v1/projects/NJ-JY-02/gate-reviews", headers=auth, json={
        "stage": "delivery", "decision": "conditional", "comments": "开放日前完成公共区域收尾",
        "override_justification": "区域总经理签批：开放日前完成公共区域收尾后复核"})
    ready = checklist("sales-ready")  # a second project whose parking is not disclosed
    ready["project"]["code"], ready["checks"]["parking_info_disclosed"] = "SZ-LH-02", False
    client.post("/api/v1/projects/SZ-LH-02/checklists", json=ready, headers=auth)
    return ids


PHONE = {"width": 390, "height": 844}  # a phone's viewport in CSS pixels
STRICTER_PARKING = (RULESETS / "sales" / "parking.yaml").read_text(encoding="utf-8").replace(
    "severity: high", "severity: critical", 1).replace("blocking: false", "blocking: true", 1)


def phone_pages(ids: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """The pages shot at a phone's width: (path, what to scroll to, or None for the whole page)."""
    return {
        "portfolio-phone": ("/", None),
        "assessment-phone": (f"/assessments/{ids['sales-risky']}", "article.finding"),
        "entry-phone": ("/checklists/new?stage=delivery", "#list-acceptances"),
        "project-phone": ("/projects/NJ-JY-02", "table.grid"),
    }


def shoot(out: Path) -> None:
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, database_url("sqlite", Path(tmp)) as url:
        app = make_app(url, SECRET_KEY=uuid.uuid4().hex * 2, TODAY=TODAY.replace(year=2027,
                                                                                  month=5, day=2))
        token = new_token(app, "admin", name="admin.zhang")
        ids = load(app, token)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        pages = {
            "portfolio": "/", "project": "/projects/NJ-JY-02",
            "assessment": f"/assessments/{ids['sales-risky']}",
            "gate-review": "/projects/NJ-JY-02/gate-review?stage=delivery",
            "rules": "/rules?stage=sales", "entry": "/checklists/new",
            "report": f"/assessments/{ids['delivery-risky']}/report",
            "dashboard": "/dashboard", "portfolio-en": "/?lang=en",
        }
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 860}, locale="zh-CN")
            page.goto(f"{base}/login")
            page.screenshot(path=str(out / "login.png"))
            page.fill("#token", token)
            page.click("button[type=submit]")
            for name, path in pages.items():
                page.goto(f"{base}{path}")
                page.screenshot(path=str(out / f"{name}.png"), full_page=name in (
                    "portfolio", "project", "gate-review", "portfolio-en", "dashboard"))
            # a what-if of a draft that makes undisclosed parking critical and blocking
            draft = Path(tmp) / "sales.parking.yaml"
            draft.write_text(STRICTER_PARKING, encoding="utf-8")
            page.goto(f"{base}/rules/whatif?lang=zh")
            page.set_input_files("#drafts", str(draft))
            page.click("form.stack button[type=submit]")
            page.screenshot(path=str(out / "whatif.png"), full_page=True)
            phone = page.context.browser.new_context(viewport=PHONE, device_scale_factor=2,
                                                     is_mobile=True, has_touch=True,
                                                     locale="zh-CN").new_page()
            phone.goto(f"{base}/login")
            phone.fill("#token", token)
            phone.click("main button[type=submit]")
            phone.wait_for_url(f"{base}/")
            for name, (path, anchor) in phone_pages(ids).items():
                phone.goto(f"{base}{path}")
                if anchor:
                    phone.locator(anchor).first.scroll_into_view_if_needed()
                phone.screenshot(path=str(out / f"{name}.png"), full_page=anchor is None)
            browser.close()
        server.shutdown()
        app.extensions["riskengine"].database.engine.dispose()


if __name__ == "__main__":
    shoot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
