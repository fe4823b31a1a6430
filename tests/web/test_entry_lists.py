"""The checklist form lists the stage's closed sets (permits for sales; acceptances and the
mock-acceptance phases for delivery) as rows to fill, read from the contract and the rulesets;
a row is removed by its own button, and switching stage does not carry another stage's rows."""

from __future__ import annotations

import re
from collections.abc import Callable

from riskengine.checklist.contract import LISTS
from tests.web.conftest import Visitor, assessment_id, unique

Make = Callable[..., Visitor]


def kinds(contract_list: str) -> tuple[str, ...]:
    spec = LISTS[contract_list]
    assert spec.kind_field is not None
    return spec.fields[spec.kind_field].choices


def chosen(page: str, contract_list: str) -> list[str]:
    """The kind each row of a list has selected, in row order."""
    field = LISTS[contract_list].kind_field
    found = []
    for row in range(200):
        select = re.search(rf'<select id="i-{contract_list}-{row}-{field}"[^>]*>(.*?)</select>',
                           page, re.DOTALL)
        if select is None:
            break
        value = re.search(r'<option value="([^"]*)" selected', select.group(1))
        found.append(value.group(1) if value else "")
    return found


def test_each_stage_lists_its_closed_sets(visitor: Make) -> None:
    pm = visitor("submitter")
    sales = pm.get("/checklists/new?stage=sales").text
    assert chosen(sales, "permits") == list(kinds("permits"))
    assert chosen(sales, "acceptances") == [""]  # another stage's list: one empty row
    delivery = pm.get("/checklists/new?stage=delivery").text
    assert chosen(delivery, "acceptances") == list(kinds("acceptances"))
    assert chosen(delivery, "inspections") == list(kinds("inspections"))
    assert chosen(delivery, "permits") == [""]
    assert "completion_filing" in kinds("acceptances") and len(kinds("inspections")) == 3


def form_of(page: str) -> dict[str, str]:
    """What the browser would post back: every input's and select's value."""
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)" value="([^"]*)"', page))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page,
                                 re.DOTALL):
        value = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = value.group(1) if value else ""
    fields.pop("csrf_token", None)
    return fields


def test_a_row_is_removed_and_the_rows_after_it_move_up(visitor: Make) -> None:
    pm = visitor("submitter")
    fields = form_of(pm.get("/checklists/new?stage=sales").text)
    fields["permits.1.status"] = "obtained"
    removed = pm.post("/checklists/new", {**fields, "remove": "permits.0"})
    assert removed.status_code == 200
    assert chosen(removed.text, "permits") == list(kinds("permits")[1:])
    assert form_of(removed.text)["permits.0.status"] == "obtained"
    assert 'name="rows.permits" value="5"' in removed.text


def test_switching_stage_lists_the_new_stage_and_drops_the_old_lists(visitor: Make) -> None:
    pm = visitor("submitter")
    fields = form_of(pm.get("/checklists/new?stage=sales").text)
    switched = pm.post("/checklists/new", {**fields, "stage": "delivery", "switch": "1"})
    assert chosen(switched.text, "permits") == [""]
    assert chosen(switched.text, "acceptances") == list(kinds("acceptances"))
    typed = {**fields, "permits.0.status": "obtained", "stage": "delivery", "switch": "1"}
    kept = pm.post("/checklists/new", typed)  # something typed is the person's: it stays
    assert chosen(kept.text, "permits") == list(kinds("permits"))


def test_a_listed_row_left_unfilled_never_improves_the_gate(visitor: Make) -> None:
    code = unique("SZ")
    pm = visitor("submitter", projects=[code])
    fields = form_of(pm.get("/checklists/new?stage=sales").text)
    fields.update({"project.code": code, "as_of": "2026-11-20",
                   "milestones.launch_date": "2026-12-20"})
    response = pm.post("/checklists/new", fields)
    page = pm.get(f"/assessments/{assessment_id(response)}").text
    assert "SALES-PERMITS-001" in page  # the pre-sale permit listed, its status not given
