"""Benchmark inputs: the contract's examples and two large checklists built from them.

Shared by bench/engine.py and bench/api.py so both measure the same realistic load.
"""

from __future__ import annotations

import json
from typing import Any

from tests.shared import EXAMPLES

SMALL = ("sales-ready", "sales-risky", "delivery-risky")


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def large_sales() -> dict[str, Any]:
    """A sales checklist with 330 list items, about a third of them risky."""
    checklist = example("sales-risky")
    kinds = ["landfill", "substation", "highway", "railway", "cemetery", "gas_station", "factory"]
    checklist["offsite_factors"] = [
        {"kind": kinds[i % 7], "name": f"因素{i}", "distance_m": 150 + 37 * i,
         "planned": i % 5 == 0, "disclosed_publicly": i % 3 != 0,
         "in_contract_appendix": i % 4 != 0} for i in range(90)]
    checklist["onsite_factors"] = [
        {"kind": "transformer_room", "location": f"{i}#楼", "adjacent_to_homes": i % 2 == 0,
         "disclosed_publicly": i % 3 != 0} for i in range(60)]
    checklist["sales_materials"] = [
        {"id": f"M-{i}", "kind": "brochure", "crm_reviewed": i % 6 != 0,
         "changed_after_review": i % 7 == 0, "matches_approved_plan": i % 9 != 0,
         "promises_return": i == 13, "mentions": ["school"] if i % 4 == 0 else [],
         "disclaimer": i % 8 != 0} for i in range(90)]
    checklist["promises"] = [
        {"id": f"P-{i}", "kind": "shuttle_bus", "channel": "brochure", "in_contract": False,
         "agreement_signed": i % 3 != 0, "terms_disclosed": True, "funded": i % 5 != 0,
         "status": "planned", "due_date": "2028-06-30", "evidence": "合同"} for i in range(60)]
    checklist["planning_changes"] = [
        {"id": f"PC-{i}", "description": "变更", "major": i % 2 == 0,
         "buyers_notified": i % 3 != 0} for i in range(30)]
    return checklist


def large_delivery() -> dict[str, Any]:
    """A delivery checklist with 330 list items across promises, areas, defects, complaints."""
    checklist = example("delivery-risky")
    checklist["promises"] = [
        {"id": f"P-{i}", "kind": "clubhouse", "channel": "brochure", "in_contract": i % 4 == 0,
         "agreement_signed": True, "terms_disclosed": True, "funded": True,
         "status": ["fulfilled", "at_risk", "in_progress"][i % 3], "due_date": "2027-06-30",
         "evidence": "验收记录" if i % 5 else ""} for i in range(100)]
    checklist["area_survey"] = [
        {"unit_type": f"T{i}", "contract_area_m2": 90.0 + i, "measured_area_m2": 90.0 + i * 1.02}
        for i in range(120)]
    defects = ["hollow_plaster", "crack", "leak", "electrical", "colour_difference"]
    checklist["inspections"] = [
        {"phase": phase, "done": True, "date": "2027-03-01", "units_inspected": 200,
         "defects": [{"kind": defects[j % 5], "found": 10 + j * 7, "rectified": 8 + j * 7}
                     for j in range(10)]} for phase in ("civil", "installation", "pre_delivery")]
    checklist["complaints"] = [{"topic": f"主题{i}", "open_count": i % 14} for i in range(80)]
    return checklist


def inputs() -> dict[str, dict[str, Any]]:
    """Every benchmark input by name: the small examples, then the two large checklists."""
    named = {name: example(name) for name in SMALL}
    named["large-sales"] = large_sales()
    named["large-delivery"] = large_delivery()
    return named
