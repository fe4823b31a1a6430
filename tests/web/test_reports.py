"""Reports: the PDF opens and says what the board reads; the XLSX has every finding by owner."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from riskengine.assessment.assessor import Assessor
from riskengine.output.reports import COUNTERSIGN_LINES, Report, by_owner, render_pdf, render_xlsx
from riskengine.output.workbook import write_template
from riskengine.vocabulary import Lang, Stage
from tests.shared import NEWER_SALES_FACTS
from tests.web.conftest import checklist

HASH = "c0ffee" * 10 + "0a1b"  # 64 hex digits, as stored
REVIEW = {"id": "r1", "decision": "conditional", "computed_gate": "fail", "reviewer": "rev.wang",
          "comments": "整改后复核", "override_justification": None, "status": "active",
          "assessment": {"id": "a1", "number": 1, "content_hash": HASH},
          "created_at": "2027-05-02T08:00:00Z"}


def report(assessor: Assessor, name: str, lang: Lang, review: bool = False) -> Report:
    data = checklist(name)
    body: dict[str, Any] = assessor.assess(data).to_dict(lang)
    body.update(id="a1", number=1, content_hash=HASH)  # what the API adds to a stored one
    body["findings"][0]["waiver"] = {"justification": "=SUM(A1) 已获批准", "approver": "区域总经理",
                                     "expires": "2027-06-01", "holds": True}
    return Report(body, data["project"], REVIEW if review else None)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_pdf_opens_and_names_the_project_and_findings(assessor: Assessor, lang: Lang) -> None:
    made = report(assessor, "delivery-risky", lang)
    content = render_pdf(made, assessor.catalog, lang)
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert "NJ-JY-02" in reader.metadata.title
    text = pdf_text(content)
    assert "NJ-JY-02" in text
    assert "DELIVERY-REGULATORY-005" in text.replace("\n", "")
    assert ("风险评估报告" if lang is Lang.ZH else "Risk assessment report") in text


def test_gate_review_pdf_shows_the_decision(assessor: Assessor) -> None:
    text = pdf_text(render_pdf(report(assessor, "sales-risky", Lang.ZH, review=True),
                               assessor.catalog, Lang.ZH))
    assert "闸口评审报告" in text and "有条件通过" in text and "整改后复核" in text


@pytest.mark.parametrize(("lang", "page_of"), [(Lang.ZH, "第 {} 页 / 共 {} 页"),
                                               (Lang.EN, "Page {} of {}")], ids=["zh", "en"])
@pytest.mark.parametrize("review", [False, True], ids=["assessment", "gate-review"])
def test_every_page_footer_names_the_record_and_counts_pages(
        assessor: Assessor, lang: Lang, page_of: str, review: bool) -> None:
    pages = page_texts(render_pdf(report(assessor, "delivery-risky", lang, review),
                                  assessor.catalog, lang))
    assert len(pages) > 1
    hash_word = "内容哈希" if lang is Lang.ZH else "Content hash"
    for number, text in enumerate(pages, start=1):
        lines = text.splitlines()
        assert page_of.format(number, len(pages)) in text
        footer = next(line for line in lines if f"{hash_word} {HASH}" in line)
        assert "a1 #1" in footer and "NJ-JY-02" in footer
    assert "riskengine 1" not in "".join(pages)


@pytest.mark.parametrize("lang", list(Lang), ids=str)
def test_gate_review_pdf_ends_with_the_block_the_board_signs(assessor: Assessor,
                                                             lang: Lang) -> None:
    content = render_pdf(report(assessor, "sales-risky", lang, review=True), assessor.catalog,
                         lang)
    last = page_texts(content)[-1]
    words = {Lang.ZH: ("评审决定与签字", "有条件通过", "评审日期", "评审人签字",
                       "会签（评审委员会）", ("姓名", "部门", "签字", "日期")),
             Lang.EN: ("Decision and sign-off", "Conditional", "Review date",
                       "Reviewer's signature", "Countersignatures (review board)",
                       ("Name", "Department", "Signature", "Date"))}[lang]
    *labels, heads = words
    for label in labels:
        assert label in last
    assert "rev.wang" in last and "2027-05-02" in last
    assert "\n".join(heads) in last  # the countersignature table's header row
    assert COUNTERSIGN_LINES >= 4
    assessment_only = pdf_text(render_pdf(report(assessor, "sales-risky", lang),
                                          assessor.catalog, lang))
    assert labels[0] not in assessment_only and labels[4] not in assessment_only


def assert_prints_a4_landscape_fit_to_width(book: Any, title_rows: dict[str, str | None]
                                            ) -> None:
    assert sorted(title_rows) == sorted(book.sheetnames)
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.paperSize, setup.orientation) == (9, "landscape"), sheet.title  # 9: A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True, sheet.title
        assert sheet.print_title_rows == title_rows[sheet.title], sheet.title


def test_xlsx_report_prints_on_a4_landscape_with_its_header_on_every_page(
        assessor: Assessor) -> None:
    made = report(assessor, "sales-risky", Lang.ZH, review=True)
    book = load_workbook(io.BytesIO(render_xlsx(made, assessor.catalog, Lang.ZH)))
    assert len(book.sheetnames) > 3
    assert_prints_a4_landscape_fit_to_width(
        book, {name: None if name == "概要" else "$1:$1" for name in book.sheetnames})


@pytest.mark.parametrize("stage", list(Stage), ids=str)
def test_template_prints_on_a4_landscape_with_its_headers_on_every_page(
        assessor: Assessor, stage: Stage) -> None:
    book = load_workbook(io.BytesIO(write_template(assessor.catalog, stage)))
    assert_prints_a4_landscape_fit_to_width(book, {
        name: None if name in ("readme", "_vocab") else "$2:$3" for name in book.sheetnames})


def test_xlsx_lists_every_finding_with_owner_and_due_date(assessor: Assessor) -> None:
    made = report(assessor, "sales-risky", Lang.EN)
    book = load_workbook(io.BytesIO(render_xlsx(made, assessor.catalog, Lang.EN)))
    sheet = book["Findings by owner"]
    heads = [c.value for c in sheet[1]]
    rows = [dict(zip(heads, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=2)]
    findings = made.assessment["findings"]
    assert sorted(r["Rule"] for r in rows) == sorted(f["rule_id"] for f in findings)
    assert all(r["Owner code"] and r["Due date"] for r in rows)
    owners = [r["Owner code"] for r in rows]
    assert owners == [owner for owner, group in by_owner(findings) for _ in group]  # grouped
    for owner, group in by_owner(findings):  # a sheet per department for its meeting
        label = assessor.catalog.policy.label("owner", owner, Lang.EN)
        assert book[label].max_row == len(group) + 1
    waiver = book["Waivers"]
    assert waiver["C2"].value.startswith("=SUM") and waiver["C2"].data_type == "s"


def test_xlsx_of_a_review_has_its_decision(assessor: Assessor) -> None:
    made = report(assessor, "sales-risky", Lang.ZH, review=True)
    book = load_workbook(io.BytesIO(render_xlsx(made, assessor.catalog, Lang.ZH)))
    values = {row[0].value: row[1].value for row in book["概要"].iter_rows()}
    assert values["评审决定"] == "有条件通过" and values["评审人"] == "rev.wang"


def test_an_assessment_without_findings_reports_none(assessor: Assessor) -> None:
    data = checklist("sales-ready")
    data["checks"].update(NEWER_SALES_FACTS)
    clean = Report(assessor.assess(data).to_dict(Lang.ZH), data["project"])
    assert "SZ-LH-01" in pdf_text(render_pdf(clean, assessor.catalog, Lang.ZH))
    book = load_workbook(io.BytesIO(render_xlsx(clean, assessor.catalog, Lang.ZH)))
    assert book.sheetnames == ["概要", "风险发现（按责任部门）"]


def _images(content: bytes) -> int:
    """How many raster images the PDF's pages draw."""
    count = 0
    for page in PdfReader(io.BytesIO(content)).pages:
        objects = page["/Resources"].get("/XObject") or {}
        count += sum(1 for o in objects.values() if o.get_object()["/Subtype"] == "/Image")
    return count


def _with_evidence(assessor: Assessor) -> tuple[Report, str]:
    from PIL import Image

    from riskengine.output.evidence import EvidenceFile
    made = report(assessor, "sales-risky", Lang.ZH)
    findings = made.assessment["findings"]
    for index, finding in enumerate(findings):
        finding["id"] = f"f{index}"
    thumb = io.BytesIO()
    Image.new("RGB", (320, 240), "red").save(thumb, "JPEG")
    first = str(findings[0]["id"])
    files = [EvidenceFile("IMG_1.JPG", "image/jpeg", "https://rk.example/api/v1/attachments/a1",
                          thumb.getvalue()),
             EvidenceFile("竣工验收报告.pdf", "application/pdf",
                          "https://rk.example/api/v1/attachments/a2", None, 4)]
    return Report(made.assessment, made.project, evidence={first: files}), first


def test_the_pdf_shows_a_finding_s_photos_and_names_its_pdfs(assessor: Assessor) -> None:
    made, _ = _with_evidence(assessor)
    content = render_pdf(made, assessor.catalog, Lang.ZH)
    plain = render_pdf(Report(made.assessment, made.project), assessor.catalog, Lang.ZH)
    assert _images(content) >= 1 and _images(plain) == 0
    text = pdf_text(content).replace("\n", "")
    assert "PDF 文件 (4)" in text and "竣工验收报告.pdf" in text


def test_the_xlsx_links_each_finding_s_files(assessor: Assessor) -> None:
    made, first = _with_evidence(assessor)
    book = load_workbook(io.BytesIO(render_xlsx(made, assessor.catalog, Lang.ZH)))
    sheet = book.worksheets[1]
    heads = [c.value for c in sheet[1]]
    column = heads.index("证据附件") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    linked = [c for c in cells if c.value]
    assert len(linked) == 1
    assert linked[0].value == ("IMG_1.JPG https://rk.example/api/v1/attachments/a1\n"
                               "竣工验收报告.pdf https://rk.example/api/v1/attachments/a2")
    assert linked[0].hyperlink.target == "https://rk.example/api/v1/attachments/a1"
