"""The Excel template: generated from the contract, read back exactly, problems at their cells."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from riskengine.assessment.assessor import Assessor
from riskengine.checklist.contract import LISTS
from riskengine.output import workbook
from riskengine.output.workbook import WorkbookInvalid, load_checklist, write_template
from riskengine.vocabulary import Lang, Stage
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


def problems(assessor: Assessor, content: bytes, lang: str = "en") -> dict[str, list[str]]:
    with pytest.raises(WorkbookInvalid) as caught:
        load_checklist(content, assessor.catalog, assessor.validator)
    details: dict[str, list[str]] = caught.value.in_lang(lang)[1]
    return details


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
    assert rules["D4"].formula1 == '"是,否"'  # planned: yes/no by label, as the template's language
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
    (_set("offsite_factors", "C4", "far"), "offsite_factors!C4",
     "Off-site factors!C4 · Distance (m): must be a number"),
    (_set("offsite_factors", "A4", "volcano"), "offsite_factors!A4", "must be one of"),
    (_set("sales_materials", "C4", "maybe"), "sales_materials!C4", "must be yes or no"),
    (_set("permits", "C5", "2025-02-30"), "permits!C5", "must be a date"),
    (_set("project", "D4", "bad code!"), "project!D4", "letters, digits"),
    (_set("project", "D8", None), "project!D8", "Project!D8 · As-of date: is required"),
    (_set("checks", "E4", "soon"), "checks!E4", "must be yes or no"),
    (_set("checks", "A30", "made_up_key"), "checks!A30", "no check “made_up_key”"),
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
    assert details["defects!A6"] == [
        "Defects!A6: no row of “Inspections” has “Phase” nowhere"]


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
    assert details == {"workbook": ["Workbook: sheet “checks” is missing"]}


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


# --- Excel for people: labels in, labels and synonyms back -----------------------------------

def test_dropdowns_and_values_show_labels_in_the_templates_language(assessor: Assessor) -> None:
    for lang, landfill, yes_no in (("zh", "垃圾场", '"是,否"'), ("en", "landfill", '"Yes,No"')):
        data = checklist("sales-risky")
        book = load_workbook(io.BytesIO(write_template(
            assessor.catalog, Stage.SALES, data, lang=Lang(lang))))
        vocabulary = {cell.value for column in book["_vocab"].iter_cols() for cell in column}
        assert landfill in vocabulary and "landfill" not in vocabulary - {landfill}
        rules = {str(v.sqref).split(":")[0]: v
                 for v in book["offsite_factors"].data_validations.dataValidation}
        assert rules["D4"].formula1 == yes_no
        offsite = book["offsite_factors"]
        assert offsite["A4"].value == assessor.catalog.policy.label(
            "kind", data["offsite_factors"][0]["kind"], Lang(lang))
        assert offsite["E4"].value in yes_no.strip('"').split(",")  # disclosed_publicly
    permits = load_workbook(io.BytesIO(write_template(
        assessor.catalog, Stage.SALES, checklist("sales-ready"))))["permits"]
    dated = [c for c in permits["C"][3:] if c.value is not None]
    assert dated and all(isinstance(c.value, dt.datetime) for c in dated)  # real date cells
    assert permits["B4"].value == "已取得"


@pytest.mark.parametrize(("typed", "meant"), [
    ("有", True), ("无", False), ("Y", True), ("n", False), ("√", True), ("×", False),
    ("已", True), ("未", False), ("是", True), ("否", False), ("Yes", True), ("TRUE", True),
    (True, True), (False, False), (" 否 ", False),
])
def test_yes_no_synonyms_are_read(assessor: Assessor, typed: Any, meant: bool) -> None:
    content = filled(assessor, "sales-risky", _set("offsite_factors", "D4", typed))
    data = load_checklist(content, assessor.catalog, assessor.validator)
    assert data["offsite_factors"][0]["planned"] is meant


def test_a_template_written_with_codes_is_still_read(assessor: Assessor) -> None:
    # what this project wrote before: codes in the cells, TRUE/FALSE, mentions comma-separated
    data = checklist("sales-risky")
    def codes(book: Workbook) -> None:
        offsite, materials = book["offsite_factors"], book["sales_materials"]
        offsite["A4"], offsite["D4"] = data["offsite_factors"][0]["kind"], "FALSE"
        offsite["E4"] = data["offsite_factors"][0]["disclosed_publicly"]
        materials["B4"] = data["sales_materials"][0]["kind"]
        materials["G4"] = ", ".join(data["sales_materials"][0]["mentions"]) or "none"
        book["project"]["D7"] = data["stage"]
    back = load_checklist(filled(assessor, "sales-risky", codes), assessor.catalog,
                          assessor.validator)
    assert back["offsite_factors"][0]["kind"] == data["offsite_factors"][0]["kind"]
    assert back["offsite_factors"][0]["planned"] is False
    assert back["sales_materials"][0]["mentions"] == data["sales_materials"][0]["mentions"]
    assert back["stage"] == "sales"


def test_problems_name_the_sheet_label_the_cell_and_the_allowed_labels(
        assessor: Assessor) -> None:
    def edit(book: Workbook) -> None:
        book["offsite_factors"]["A4"] = "火山"
        book["offsite_factors"]["C4"] = -5
        book["project"]["D8"] = None
    details = problems(assessor, filled(assessor, "sales-risky", edit), "zh")
    assert details["project!D8"] == ["项目信息!D8 · 基准日期：必填"]
    assert details["offsite_factors!C4"] == ["场外不利因素!C4 · 距离（米）：不得小于 0"]
    assert details["offsite_factors!A4"][0].startswith(
        "场外不利因素!A4 · 类型：须为以下之一：垃圾场、垃圾站、变电站")


def test_duplicate_rows_are_named_by_their_cells(assessor: Assessor) -> None:
    data = checklist("sales-risky")
    data["promises"] = [{"id": "P-2", "kind": "other"}, {"id": "P-2", "kind": "park"}]
    content = write_template(assessor.catalog, Stage.SALES, data)
    details = problems(assessor, content, "zh")
    assert details == {"promises!A4": ["销售承诺!A4 · 编号：与销售承诺!A5重复（编号相同）"],
                       "promises!A5": ["销售承诺!A5 · 编号：与销售承诺!A4重复（编号相同）"]}
