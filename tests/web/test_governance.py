"""The governance pages: a reviewer's what-if of uploaded draft files, and a release log."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from riskengine.rules.catalog import DEFAULT_ROOT
from tests.api.support import Caller
from tests.web.conftest import Visitor, checklist, unique

PARKING = (DEFAULT_ROOT / "sales" / "parking.yaml").read_text(encoding="utf-8")
STRICTER = PARKING.replace("severity: high", "severity: critical", 1).replace(
    "blocking: false", "blocking: true", 1)


def _undisclosed(visitor: Visitor, code: str) -> None:
    body = checklist("sales-ready", code)
    body["checks"]["parking_info_disclosed"] = False
    assert Caller(visitor.app, visitor.token).submit(body).status_code == 201


def _upload(visitor: Visitor, name: str, text: str) -> str:
    answer = visitor.post("/rules/whatif", {"drafts": (io.BytesIO(text.encode()), name)},
                          content_type="multipart/form-data")
    return f"{answer.status_code}\n{answer.get_data(as_text=True)}"


def test_a_reviewer_sees_which_projects_a_draft_would_stop(
        visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    code = unique("G")
    _undisclosed(admin, code)
    page = _upload(visitor("reviewer", projects=[code]), "sales.parking.yaml", STRICTER)
    assert page.startswith("200")
    assert re.search(r'id="whatif-changed">1<', page)
    assert f'data-project="{code}"' in page and "SALES-PARKING-001" in page
    assert "不通过" in page  # the gate after, in words


def test_a_draft_that_does_not_load_lists_its_problems_on_the_page(
        visitor: Callable[..., Visitor]) -> None:
    page = _upload(visitor("reviewer"), "sales.parking.yaml",
                   PARKING.replace("severity: high", "severity: dire", 1))
    assert page.startswith("422") and "sales/parking.yaml" in page
    assert "riskengine-draft-" not in page


def test_owners_may_not_run_it(visitor: Callable[..., Visitor]) -> None:
    answer = visitor("owner", department="crm").get("/rules/whatif")
    assert answer.status_code == 403


def test_the_release_log_lists_the_version_in_use(visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    _undisclosed(admin, unique("G"))
    page = admin.get("/rulesets/sales.parking/releases").get_data(as_text=True)
    current = Caller(admin.app, admin.token).get("/api/v1/rulesets").get_json()["rulesets"]
    version = next(r for r in current if r["id"] == "sales.parking")
    assert f'id="v-{version["hash"]}"' in page
    assert admin.get("/rulesets/no.such/releases").status_code == 404


def test_a_bad_rule_is_listed_in_the_pages_language(visitor: Callable[..., Visitor]) -> None:
    bad = PARKING.replace("eq: false}", "equals: false}", 1).replace(
        "    category: parking\n", "", 1)
    reviewer = visitor("reviewer")
    chinese = _upload(reviewer, "sales.parking.yaml", bad)
    assert chinese.startswith("422") and "sales/parking.yaml" in chinese
    assert "category：必填" in chinese and "is required" not in chinese
    answer = reviewer.post("/rules/whatif?lang=en",
                           {"drafts": (io.BytesIO(bad.encode()), "sales.parking.yaml")},
                           content_type="multipart/form-data")
    english = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "category: is required" in english
    assert "必填" not in english
