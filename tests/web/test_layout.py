"""Every page in a real Chromium at a phone's width (390 px) and a desktop's (1280 px), in both
languages: nothing scrolls sideways, no text is squeezed into a column a character wide, axe-core
finds no violation of any impact, and the checklist form is usable with a thumb."""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.api.support import database_url, make_app, missing, new_token
from tests.web.conftest import TODAY, checklist
from tests.web.test_browser import ARGS, chromium  # noqa: F401  (the module's browser fixture)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("RISKENGINE_AXE",
                          ROOT / ".venv/axe/node_modules/axe-core/axe.min.js"))
WIDTHS = (390, 1280)
LANGS = ("zh", "en")
PHONE = 390


def load(app: Flask, token: str) -> dict[str, str]:
    """The contract's examples, a waiver and a gate review: every page has something to show."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    ids: dict[str, str] = {}
    for name in ("sales-ready", "sales-risky", "delivery-risky"):
        data = checklist(name)
        answer = client.post(f"/api/v1/projects/{data['project']['code']}/checklists",
                             json=data, headers=auth)
        assert answer.status_code == 201, answer.get_json()
        ids[name] = answer.get_json()["id"]
        ids[f"{name}-code"] = data["project"]["code"]
    code = ids["delivery-risky-code"]
    review = client.post(f"/api/v1/projects/{code}/gate-reviews", headers=auth, json={
        "stage": "delivery", "decision": "fail", "comments": "开放日前完成公共区域收尾"})
    assert review.status_code == 201, review.get_json()
    ids["review"] = review.get_json()["id"]
    ids["finding-with-evidence"] = _with_evidence(client, auth, ids["sales-risky"])
    return ids


def _with_evidence(client: Any, auth: dict[str, str], assessment: str) -> str:
    """A finding with a photo and a PDF attached: the finding page shows both."""
    from tests.api.support import photo
    from tests.api.test_attachments import pdf
    finding = client.get(f"/api/v1/assessments/{assessment}", headers=auth).get_json()[
        "findings"][0]["id"]
    for data, name in ((photo((1200, 900), "teal"), "IMG_20261121_093015.JPG"),
                       (pdf(2), "竣工验收备案表-扫描件-最终版本-盖章.pdf")):
        answer = client.post(f"/api/v1/findings/{finding}/attachments", headers=auth,
                             data={"file": (io.BytesIO(data), name)},
                             content_type="multipart/form-data")
        assert answer.status_code == 201, answer.get_json()
    return str(finding)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    """The app on a loopback port with data loaded: (base URL, an admin token, ids)."""
    with database_url("sqlite", tmp_path_factory.mktemp("layout")) as url:
        app = make_app(url, SECRET_KEY=uuid.uuid4().hex * 2, TODAY=TODAY)
        token = new_token(app, "admin", name="admin.layout")
        ids = load(app, token)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}", token, ids
        server.shutdown()
        thread.join(5)
        app.extensions["riskengine"].database.engine.dispose()


def pages(ids: dict[str, str]) -> dict[str, str]:
    """Every kind of page a person sees once logged in, by a name for the failure message."""
    delivery, code = ids["delivery-risky"], ids["delivery-risky-code"]
    return {
        "portfolio": "/",
        "project": f"/projects/{code}",
        "assessment (finding controls)": f"/assessments/{ids['sales-risky']}",
        "assessment (delivery)": f"/assessments/{delivery}",
        "checklist form (sales)": "/checklists/new?stage=sales",
        "checklist form (delivery)": "/checklists/new?stage=delivery",
        "gate review": f"/projects/{code}/gate-review?stage=delivery",
        "rules catalogue": "/rules",
        "rules catalogue (delivery)": "/rules?stage=delivery",
        "assessment report": f"/assessments/{delivery}/report",
        "gate review report": f"/projects/{code}/gate-reviews/{ids['review']}/report",
        "not found": "/projects/NO-SUCH-PROJECT",
        "dashboard": "/dashboard",
        "findings list": "/findings?owner=marketing&severity=critical",
        "rule what-if": "/rules/whatif",
        "release log": "/rulesets/sales.permits/releases",
        "finding with evidence files": f"/work/findings/{ids['finding-with-evidence']}",
    }


def open_site(browser: Any, base: str, token: str, width: int, lang: str) -> Any:
    """A logged-in page of a context that lets the test inject axe despite the pages' CSP."""
    context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True,
                                  locale="zh-CN" if lang == "zh" else "en-US")
    page = context.new_page()
    page.goto(f"{base}/login?lang={lang}")
    page.fill("#token", token)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/*")
    return page


def visit(page: Any, base: str, path: str, lang: str) -> None:
    glue = "&" if "?" in path else "?"
    page.goto(f"{base}{path}{glue}lang={lang}")
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")


# Text squeezed into a column narrower than two characters wraps one character per line.
SQUEEZED = """() => [...document.querySelectorAll('th, td, dt, dd, label, button, a, .badge')]
  .filter(e => e.offsetParent && e.innerText.trim().length >= 2)
  .filter(e => {
    const r = e.getBoundingClientRect(), size = parseFloat(getComputedStyle(e).fontSize);
    return r.width < 2.2 * size && r.height > 3 * size;
  })
  .map(e => e.tagName.toLowerCase() + ': ' + e.innerText.trim().slice(0, 20))"""


def sideways(page: Any) -> dict[str, Any]:
    """What makes a page wider than its viewport, or squeezes text: empty when neither."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.evaluate("() => window.innerWidth")
    found: dict[str, Any] = {}
    if width > viewport:
        found["scrollWidth"] = (width, viewport)
    squeezed = page.evaluate(SQUEEZED)
    if squeezed:
        found["squeezed"] = squeezed[:5]
    return found


def axe_violations(page: Any) -> list[str]:
    if not AXE.exists():
        missing(f"axe-core not found at {AXE}",
                "`make browser` installs it from npm (or set RISKENGINE_AXE)")
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate("""async () =>
      (await axe.run(document, {resultTypes: ['violations']})).violations
      .map(v => `${v.id} (${v.impact}): ` +
        v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"""))


def report(problems: dict[str, Any]) -> None:
    bad = {name: found for name, found in problems.items() if found}
    assert not bad, json.dumps(bad, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(chromium: Any, site: tuple[str, str, dict[str, str]],  # noqa: F811
                                  width: int, lang: str) -> None:
    base, token, ids = site
    login = chromium.new_page(viewport={"width": width, "height": 800})
    login.goto(f"{base}/login?lang={lang}")
    problems = {"login": sideways(login)}
    login.close()
    page = open_site(chromium, base, token, width, lang)
    for name, path in pages(ids).items():
        visit(page, base, path, lang)
        problems[name] = sideways(page)
    page.context.close()
    report(problems)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_violation(chromium: Any, site: tuple[str, str, dict[str, str]],  # noqa: F811
                                width: int, lang: str) -> None:
    base, token, ids = site
    login = chromium.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = login.new_page()
    page.goto(f"{base}/login?lang={lang}")
    problems = {"login": axe_violations(page)}
    login.close()
    page = open_site(chromium, base, token, width, lang)
    for name, path in pages(ids).items():
        visit(page, base, path, lang)
        problems[name] = axe_violations(page)
    page.context.close()
    report(problems)


THUMB = 44  # px: the smallest target a thumb hits reliably (WCAG 2.5.5's size)

SMALL_TARGETS = """min => [...document.querySelectorAll(
    'form.checklist input:not([type=hidden]), form.checklist select, form.checklist button')]
  .filter(e => e.offsetParent && e.getAttribute('aria-hidden') !== 'true')
  .filter(e => e.getBoundingClientRect().height < min || e.getBoundingClientRect().width < min)
  .map(e => e.name || e.outerHTML.slice(0, 60))"""

LABELS_BESIDE = """() => [...document.querySelectorAll(
    'form.checklist input:not([type=hidden]), form.checklist select')]
  .filter(e => e.offsetParent && e.id)
  .filter(e => {
    const label = document.querySelector(`label[for="${e.id}"]`);
    if (!label || !label.offsetParent) return true;  // a person must see what to enter
    return label.getBoundingClientRect().bottom > e.getBoundingClientRect().top + 1;
  })
  .map(e => e.name)"""


@pytest.mark.parametrize("stage", ["sales", "delivery"])
def test_checklist_form_fits_a_thumb(chromium: Any, site: tuple[str, str, dict[str, str]],  # noqa: F811
                                     stage: str) -> None:
    base, token, _ = site
    page = open_site(chromium, base, token, PHONE, "zh")
    visit(page, base, f"/checklists/new?stage={stage}", "zh")
    assert page.evaluate(SMALL_TARGETS, THUMB) == []
    assert page.evaluate(LABELS_BESIDE) == []
    dates = page.locator("form.checklist input[type=date]")
    assert dates.count() >= 2  # as_of and the milestones at least: a date picker, not text
    first_list = page.locator("form.checklist fieldset.list").first
    rows = first_list.locator(".row").count()
    first_list.get_by_role("button", name="添加一行").click()
    page.wait_for_load_state()
    first_list = page.locator("form.checklist fieldset.list").first
    assert first_list.locator(".row").count() == rows + 1
    first_list.locator(".row").last.get_by_role("button", name="删除此行").click()
    page.wait_for_load_state()
    assert page.locator("form.checklist fieldset.list").first.locator(".row").count() == rows
    page.context.close()


def test_the_pages_are_registered_by_the_app_not_by_importing_their_modules(
        tmp_path: Path) -> None:
    """Importing a view module attaches nothing; each app gets its own pages' blueprint with
    every view module's routes."""
    import api.web as web
    from api.web.blueprint import pages_blueprint

    bare = Flask("bare")
    bare.register_blueprint(pages_blueprint())
    assert {r.endpoint for r in bare.url_map.iter_rules()} == {"static", "web.static"}
    first = make_app(f"sqlite:///{tmp_path / 'one.db'}")
    second = make_app(f"sqlite:///{tmp_path / 'two.db'}")
    for app in (first, second):
        endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("web.")}
        assert {"web.login", "web.portfolio", "web.work", "web.entry"} <= endpoints
        assert sum(r.endpoint == "web.login" for r in app.url_map.iter_rules()) == 1
        assert app.test_client().get("/login").status_code == 200
    assert len(web.VIEWS) == 9
