"""The Excel template: generated from the contract, read back exactly, problems at their cells."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS
from riskengine.output import workbook
from riskengine.output.workbook import WorkbookInvalid, load_checklist, write_template
from riskengine.vocabulary import Stage
from tests.web.conftest import checklist

EXAMPLES = ["sales-ready", "sales-risky", "delivery-risky"]


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """A checklist as the template gives it back: every list present (empty when not given)."""
    return {**{name: [] for name in LISTS}, **data}


def filled(assessor: Assessor, name: str, edit: Callable[[Workbook], None] | None = None
           ) -> bytes:
    data = checklist(name)
    content = write_template(assessor.catalog, Stage(data["stage"]), data)
    if edit is None:
        return content
    book = load_workbook(io.BytesIO(content))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def problems(assessor: Assessor, content: bytes) -> dict[str, list[str]]:
    with pytest.raises(WorkbookInvalid) as caught:
        load_checklist(content, assessor.catalog, assessor.validator)
    return caught.value.details


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_round_trip(assessor: Assessor, name: str) -> None:
    back = load_checklist(filled(assessor, name), assessor.catalog, assessor.validator)
    assert back == normalised(checklist(name))


@pytest.mark.parametrize("stage", list(Stage), ids=str)
def test_template_has_a_sheet_per_list_and_every_check(assessor: Assessor, stage: Stage) -> None:
    book = load_workbook(io.BytesIO(write_template(assessor.catalog, stage)))
    assert {"project", "checks", *LISTS, "defects"} <= set(book.sheetnames)
    checks = book["checks"]
    keys = {checks.cell(row=r, column=1).value for r in range(4, checks.max_row + 1)}
    assert keys == set(assessor.catalog.checks(stage))
    for row in range(4, checks.max_row + 1):  # every key explained in both languages
        assert checks.cell(row=row, column=3).value and checks.cell(row=row, column=4).value
    offsite = book["offsite_factors"]
    assert [c.value for c in offsite[1]][:3] == ["kind", "name", "distance_m"]
    assert offsite["C2"].value == "距离（米）" and offsite["C3"].value == "Distance (m)"


def test_template_gives_dropdowns_for_enums_and_booleans(assessor: Assessor) -> None:
    book = load_workbook(io.BytesIO(write_template(assessor.catalog, Stage.SALES)))
    validations = book["offsite_factors"].data_validations.dataValidation
    rules = {str(v.sqref).split(":")[0]: v for v in validations}
    assert rules["A4"].type == "list" and rules["A4"].formula1.startswith("_vocab!")
    assert rules["D4"].formula1 == '"TRUE,FALSE"'  # planned
    assert rules["C4"].type == "decimal"  # distance_m
    vocab = book["_vocab"]
    assert vocab.sheet_state == "hidden"
    permits = {str(v.sqref).split(":")[0] for v in book["permits"].data_validations.dataValidation}
    assert {"A4", "B4"} <= permits
    assert book["permits"]["C4"].number_format == "yyyy-mm-dd"


def _set(sheet: str, cell: str, value: Any) -> Callable[[Workbook], None]:
    def edit(book: Workbook) -> None:
        book[sheet][cell] = value
    return edit


@pytest.mark.parametrize(("edit", "where", "says"), [
    (_set("offsite_factors", "C4", "far"), "offsite_factors!C4", "must be a number"),
    (_set("offsite_factors", "A4", "volcano"), "offsite_factors!A4", "must be one of"),
    (_set("sales_materials", "C4", "maybe"), "sales_materials!C4", "must be true or false"),
    (_set("permits", "C5", "2025-02-30"), "permits!C5", "must be a date"),
    (_set("project", "D4", "bad code!"), "project!D4", "letters, digits"),
    (_set("project", "D8", None), "project!D8", "is required"),  # as_of
    (_set("checks", "E4", "soon"), "checks!E4", "must be true or false"),
    (_set("checks", "A30", "made_up_key"), "checks!A30", "unknown check key"),
    (_set("sales_materials", "G4", "metro, moon"), "sales_materials!G4", "must be one of"),
], ids=["number", "enum", "bool", "date", "project-code", "as-of-missing", "check-bool",
        "unknown-check", "mentions"])
def test_errors_point_to_cells(assessor: Assessor, edit: Callable[[Workbook], None],
                               where: str, says: str) -> None:
    details = problems(assessor, filled(assessor, "sales-risky", edit))
    assert where in details, details
    assert any(says in message for message in details[where]), details[where]


def test_nested_defect_errors_point_to_the_defects_sheet(assessor: Assessor) -> None:
    def edit(book: Workbook) -> None:
        book["defects"]["C5"] = "many"  # the second defect row: installation / electrical
        book["defects"]["A6"], book["defects"]["B6"] = "nowhere", "leak"
    details = problems(assessor, filled(assessor, "delivery-risky", edit))
    assert any("whole number" in m for m in details["defects!C5"])
    assert any("no row of 'inspections'" in m for m in details["defects!A6"])


def test_labels_and_words_are_read_as_values(assessor: Assessor) -> None:
    def edit(book: Workbook) -> None:
        book["offsite_factors"]["A4"] = "变电站"   # the Chinese label of substation
        book["offsite_factors"]["D4"] = "是"       # planned: yes
        book["offsite_factors"]["C4"] = "180"      # a number typed as text
        book["sales_materials"]["G4"] = "学校，metro"
    content = filled(assessor, "sales-risky", edit)
    data = load_checklist(content, assessor.catalog, assessor.validator)
    assert data["offsite_factors"][0]["kind"] == "substation"
    assert data["offsite_factors"][0]["planned"] is True
    assert data["offsite_factors"][0]["distance_m"] == 180
    assert data["sales_materials"][0]["mentions"] == ["school", "metro"]


def test_unknown_columns_and_missing_sheets_are_named(assessor: Assessor) -> None:
    details = problems(assessor, filled(assessor, "sales-risky",
                                        _set("permits", "H1", "colour")))
    assert "permits!H1" in details
    def drop(book: Workbook) -> None:
        del book["checks"]
    details = problems(assessor, filled(assessor, "sales-risky", drop))
    assert details == {"workbook": ["sheet 'checks' is missing"]}


def test_a_file_that_is_not_a_workbook_is_refused(assessor: Assessor) -> None:
    assert problems(assessor, b"not a zip")["workbook"]


def test_a_workbook_that_unpacks_too_large_is_refused(assessor: Assessor,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "MAX_UNPACKED", 1000)
    details = problems(assessor, filled(assessor, "sales-ready"))
    assert "unpacks to more than" in details["workbook"][0]


def test_text_that_looks_like_a_formula_stays_text(assessor: Assessor) -> None:
    data = checklist("delivery-risky")
    data["complaints"] = [{"topic": "=HYPERLINK(\"http://x\")", "open_count": 1}]
    book = load_workbook(io.BytesIO(write_template(assessor.catalog, Stage.DELIVERY, data)))
    cell = book["complaints"]["A4"]
    assert cell.data_type == "s" and cell.value.startswith("=")
