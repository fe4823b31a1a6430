"""No identifier in what a person reads: the findings of checklists that raise every kind
(rule findings, missing facts, closed-set members, the ledger's and the audit's texts aside)
rendered in Chinese through the CLI table, the assessment page, the printable report and the
PDF carry no `checks.` / `count_by.` path, no snake_case key and no English vocabulary code."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable

from pypdf import PdfReader

from riskengine.assessment.assessor import Assessor
from riskengine.output.formats import render_table
from riskengine.output.reports import Report, render_pdf
from riskengine.vocabulary import Lang, Owner, Severity
from tests.api.support import Caller
from tests.web.conftest import Visitor, checklist, unique

# a key or code as the machine writes it: dotted paths and snake_case words
LEAKS = re.compile(r"\b(?:checks|count_by|milestones)\.|\b[a-z]+_[a-z0-9_]+\b")
CODES = {o.value for o in Owner} | {s.value for s in Severity} | {
    "open", "in_progress", "resolved", "waived", "fail", "pass", "conditional"}


def _thin(name: str) -> dict[str, object]:
    """An example with its `checks` and a permit left out: missing facts and closed sets too."""
    data = copy.deepcopy(checklist(name, unique("N")))
    data["checks"] = {}
    if data.get("permits"):
        data["permits"] = data["permits"][1:]
    return data


def _leaks(text: str) -> set[str]:
    found = set(LEAKS.findall(text))
    words = set(re.findall(r"\b[a-z_]+\b", text))
    return found | (words & CODES)


def test_the_cli_table_and_the_pdf_speak_without_keys(assessor: Assessor) -> None:
    for name in ("sales-risky", "delivery-risky"):
        data = _thin(name)
        assessment = assessor.assess(data)
        assert assessment.findings
        table = render_table(assessment, assessor.catalog, Lang.ZH)
        assert not _leaks(table), (name, sorted(_leaks(table))[:10])
        report = Report(assessment.to_dict(Lang.ZH), data["project"])  # type: ignore[arg-type]
        pdf = render_pdf(report, assessor.catalog, Lang.ZH)
        text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
        # the footer's content hash and ids are hexadecimal, the rule ids upper case
        assert not _leaks(text), (name, sorted(_leaks(text))[:10])


def test_the_pages_speak_without_keys(visitor: Callable[..., Visitor]) -> None:
    admin = visitor("admin")
    for name in ("sales-risky", "delivery-risky"):
        body = Caller(admin.app, admin.token).submit(_thin(name)).get_json()
        for path in (f"/assessments/{body['id']}", f"/assessments/{body['id']}/report"):
            html = admin.get(path).get_data(as_text=True)
            main = html.split("<main", 1)[1].split("</main>", 1)[0]
            shown = re.sub(r"<[^>]+>", " ", main)  # what is read, not the markup
            assert not _leaks(shown), (name, path, sorted(_leaks(shown))[:10])


# The XLSX keeps a few columns for machines on purpose (codes and ids to filter and join on).
MACHINE_COLUMNS = {"owner_code", "rule_id", "subject", "fingerprint"}


def test_the_xlsx_speaks_without_keys_outside_its_machine_columns(assessor: Assessor) -> None:
    from openpyxl import load_workbook

    from riskengine.output.reports import _COLUMNS, render_xlsx
    for name in ("sales-risky", "delivery-risky"):
        data = _thin(name)
        report = Report(assessor.assess(data).to_dict(Lang.ZH), data["project"])  # type: ignore[arg-type]
        book = load_workbook(io.BytesIO(render_xlsx(report, assessor.catalog, Lang.ZH)))
        sheet = book.worksheets[1]
        human = [i for i, key in enumerate(_COLUMNS) if key not in MACHINE_COLUMNS]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert len(rows) > 5, sheet.title
        for row in rows:
            text = " ".join(str(row[i]) for i in human if i < len(row) and row[i] is not None)
            assert not _leaks(text), (name, sorted(_leaks(text))[:10])
