"""The promise ledger: sales promises must be accounted for in delivery."""

from __future__ import annotations

from typing import Any

from tests.api.support import Caller, checklist, unique_code

LEDGER_RULE = "DELIVERY-LEDGER-001"


def promise(pid: str, status: str, kind: str = "shuttle_bus", **extra: Any) -> dict[str, Any]:
    return {"id": pid, "kind": kind, "channel": "brochure", "in_contract": False,
            "agreement_signed": True, "terms_disclosed": True, "funded": True,
            "status": status, "due_date": "2027-06-30", "evidence": f"{pid} 证据", **extra}


def ledger_findings(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in assessment["findings"] if f["rule_id"] == LEDGER_RULE]


def submit_history(admin: Caller) -> tuple[str, dict[str, Any]]:
    code = unique_code()
    sales = checklist("sales-ready", code)
    sales["promises"] = [promise("P-1", "in_progress"), promise("P-2", "planned"),
                         promise("P-4", "planned"), promise("P-5", "planned")]
    admin.submit(sales)
    sales["promises"][1] = promise("P-2", "fulfilled")
    sales["promises"][3] = promise("P-5", "cancelled")
    assert admin.submit(sales).status_code == 201
    delivery = checklist("delivery-risky", code)
    delivery["promises"] = [promise("P-1", "fulfilled", evidence="班车合同已签")]
    answer = admin.submit(delivery)
    assert answer.status_code == 201, answer.get_json()
    return code, answer.get_json()


def test_a_live_sales_promise_left_out_of_delivery_raises_a_finding(admin: Caller) -> None:
    code, assessment = submit_history(admin)
    gaps = ledger_findings(assessment)
    assert [f["evidence"]["id"] for f in gaps] == ["P-4"]
    gap = gaps[0]
    assert (gap["category"], gap["severity"], gap["owner"]) == ("promises", "high", "marketing")
    assert gap["support"] == ["crm"] and gap["status"] == "open"
    assert "P-4" in gap["message"]
    assert any(r["id"] == "delivery.ledger" for r in assessment["rulesets"])
    rule = admin.get(f"/api/v1/rules/{LEDGER_RULE}?lang=en").get_json()
    assert rule["title"] == admin.get(f"/api/v1/findings/{gap['id']}?lang=en").get_json()["title"]


def test_the_ledger_shows_each_promise_from_first_mention(admin: Caller) -> None:
    code, assessment = submit_history(admin)
    ledger = admin.get(f"/api/v1/projects/{code}/promises").get_json()
    lines = {p["id"]: p for p in ledger["promises"]}
    assert set(lines) >= {"P-1", "P-2", "P-4", "P-5"}
    p1 = lines["P-1"]
    assert [h["status"] for h in p1["history"]] == ["in_progress", "in_progress", "fulfilled"]
    assert p1["first_mentioned"]["stage"] == "sales" and p1["latest"]["stage"] == "delivery"
    assert (p1["status"], p1["evidence"], p1["ended"], p1["in_delivery"]) == (
        "fulfilled", "班车合同已签", True, True)
    assert lines["P-2"]["ended"] and lines["P-5"]["ended"]
    assert lines["P-4"]["finding"]["id"] == ledger_findings(assessment)[0]["id"]
    assert lines["P-1"]["finding"] is None


def test_carrying_the_promise_resolves_the_gap(admin: Caller) -> None:
    code, assessment = submit_history(admin)
    delivery = checklist("delivery-risky", code)
    delivery["promises"] = [promise("P-1", "fulfilled"), promise("P-4", "at_risk")]
    later = admin.submit(delivery).get_json()
    assert ledger_findings(later) == []
    assert ledger_findings(assessment)[0]["id"] in later["changes"]["resolved"]
