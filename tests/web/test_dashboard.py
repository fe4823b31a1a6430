"""The dashboard page: charts drawn on the server, no outside request, each number a link to
the list it counts, and that list shows as many findings."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.web.conftest import Visitor, checklist, unique


def _submit(visitor: Visitor, code: str) -> None:
    from tests.api.support import Caller
    Caller(visitor.app, visitor.token).submit(checklist("sales-risky", code))


def test_the_page_draws_its_charts_and_its_numbers_open_their_lists(
        visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    codes = [unique("D"), unique("D")]
    for code in codes:
        _submit(admin, code)
    reader = visitor("auditor", projects=codes)
    page = reader.get("/dashboard").get_data(as_text=True)
    assert page.count("<svg") == 2 and "http" not in re.sub(r'xmlns="[^"]+"', "", page.split(
        "<main", 1)[1].split("</main>", 1)[0].replace("http-equiv", ""))
    total = int(re.search(r'id="total-open">(\d+)<', page).group(1))  # type: ignore[union-attr]
    assert total > 0
    cells = re.findall(r'data-owner="(\w+)" data-severity="(\w+)"><a href="([^"]+)">(\d+)<',
                       page)
    assert cells and sum(int(n) for *_, n in cells) == total
    for _, _, link, count in cells[:6]:
        listed = reader.get(link.replace("&amp;", "&")).get_data(as_text=True)
        found = re.search(r'data-total="(\d+)"', listed)
        assert found and int(found.group(1)) == int(count), link


def test_the_export_is_a_workbook(visitor: Callable[..., Visitor]) -> None:
    answer = visitor("auditor").get("/dashboard?format=xlsx")
    assert answer.status_code == 200
    assert answer.data[:2] == b"PK"


def test_a_project_shows_its_findings_over_time_toward_its_milestone(
        visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    code = unique("B")
    _submit(admin, code)
    _submit(admin, code)
    page = admin.get(f"/projects/{code}").get_data(as_text=True)
    burn = page.split('id="burn-sales"', 1)[1].split("</figure>", 1)[0]
    assert burn.count("<rect") >= 2 and "#1 " in burn and "#2 " in burn
    assert "T-8" in burn and "2026-11-28" in burn  # subscription starts 8 days after as_of


def test_an_assessment_page_links_the_rule_versions_it_was_judged_by(
        visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    code = unique("V")
    from tests.api.support import Caller
    body = Caller(admin.app, admin.token).submit(checklist("sales-risky", code)).get_json()
    page = admin.get(f"/assessments/{body['id']}").get_data(as_text=True)
    for ruleset in body["rulesets"]:
        assert f"/rulesets/{ruleset['id']}/releases#v-{ruleset['hash']}" in page
