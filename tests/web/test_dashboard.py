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
