"""The portfolio dashboard over HTTP: every figure equals what the findings API's filters
return for the link it gives, within the caller's projects; the XLSX export holds the same."""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import urlsplit

from openpyxl import load_workbook

from tests.api.support import Caller, checklist, unique_code


def _projects(admin: Caller) -> list[str]:
    codes = [unique_code("DA"), unique_code("DB")]
    for code in codes:
        assert admin.submit(checklist("sales-risky", code)).status_code == 201
    return codes


def _count(caller: Caller, link: str) -> int:
    parts = urlsplit(link)
    answer = caller.get(f"{parts.path}?{parts.query}&per_page=100")
    assert answer.status_code == 200, answer.get_json()
    return int(answer.get_json()["total"])


def test_every_count_equals_the_listing_it_links(caller: Callable[..., Caller],
                                                 admin: Caller) -> None:
    codes = _projects(admin)
    auditor = caller("auditor", projects=codes)
    figures = auditor.get("/api/v1/dashboard").get_json()
    assert figures["open_by_owner"], figures
    total = 0
    for entry in figures["open_by_owner"]:
        assert _count(auditor, entry["link"]) == entry["total"]
        for cell in entry["by_severity"]:
            assert _count(auditor, cell["link"]) == cell["count"]
        total += entry["total"]
    everything = auditor.get("/api/v1/findings?status=open&status=in_progress&per_page=1")
    assert everything.get_json()["total"] == total  # nothing counted twice, nothing left out
    for entry in figures["age_by_owner"]:
        assert _count(auditor, entry["overdue_link"]) == entry["overdue"]
        assert sum(entry["buckets"].values()) == next(
            o["total"] for o in figures["open_by_owner"] if o["owner"] == entry["owner"])
    [gates] = figures["gates"]
    assert gates["gates"]["fail"] == 2 and gates["stage"] == "sales"


def test_a_scoped_caller_sees_only_its_projects(caller: Callable[..., Caller],
                                                admin: Caller) -> None:
    mine, _ = _projects(admin)
    one = caller("auditor", projects=[mine]).get("/api/v1/dashboard").get_json()
    both = caller("auditor", projects=[mine, _]).get("/api/v1/dashboard").get_json()
    mine_open = sum(o["total"] for o in one["open_by_owner"])
    assert 0 < mine_open and 2 * mine_open == sum(o["total"] for o in both["open_by_owner"])


def test_filters_by_owner_and_stage(caller: Callable[..., Caller], admin: Caller) -> None:
    codes = _projects(admin)
    auditor = caller("auditor", projects=codes)
    marketing = auditor.get("/api/v1/dashboard?owner=marketing").get_json()
    assert [o["owner"] for o in marketing["open_by_owner"]] == ["marketing"]
    assert auditor.get("/api/v1/dashboard?stage=delivery").get_json()["open_by_owner"] == []
    refused = auditor.get("/api/v1/dashboard?owner=nobody")
    assert refused.status_code == 422


def test_the_export_holds_the_same_numbers(caller: Callable[..., Caller],
                                           admin: Caller) -> None:
    codes = _projects(admin)
    auditor = caller("auditor", projects=codes)
    figures = auditor.get("/api/v1/dashboard").get_json()
    book = load_workbook(io.BytesIO(auditor.get("/api/v1/dashboard?format=xlsx").data))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[-1] for row in rows] == [o["total"] for o in figures["open_by_owner"]]
