"""Evidence files named on the checklist form and in the stored checklist's workbook (issue
11, item 1): the form's text input per row, labelled, with its hint; a refusal at the input;
a named file on the finding page of the item; the ids back in the downloaded workbook. On
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from riskengine.checklist.contract import LISTS
from tests.api.support import Caller, new_token, photo, send_file
from tests.web.conftest import Visitor, checklist, unique

Make = Callable[..., Visitor]
PRESALE = 4  # sales-risky's presale permit, still pending: a finding is raised on it
ITEM = "permits/presale_permit"


@pytest.fixture
def project(web_app: Flask) -> dict[str, Any]:
    admin = Caller(web_app, new_token(web_app, "admin", name="admin.references"))
    data = checklist("sales-risky", unique("WR"))
    answer = admin.submit(data)
    assert answer.status_code == 201, answer.get_json()
    code = data["project"]["code"]
    sent = send_file(admin, f"/api/v1/projects/{code}/items/attachments", photo(colour="teal"),
                     "permit-scan.jpg", stage="sales", item="permits/construction_permit")
    assert sent.status_code == 201, sent.get_json()
    on_presale = next(f for f in answer.get_json()["findings"]
                      if f["subject"] == f"permits[{PRESALE}]" and f["blocking"])
    return {"code": code, "data": data, "file": sent.get_json()["id"], "admin": admin,
            "finding": on_presale["id"]}


def form_of(data: dict[str, Any], named: str) -> dict[str, str]:
    """The form's fields for a checklist, the presale permit's row naming `named`."""
    fields = {"stage": data["stage"], "as_of": data["as_of"],
              "project.code": data["project"]["code"], "project.name": data["project"]["name"]}
    fields.update({f"milestones.{k}": v for k, v in data["milestones"].items() if v})
    for name in LISTS:
        items = data.get(name) or []
        fields[f"rows.{name}"] = str(max(1, len(items)))
        for index, item in enumerate(items):
            for key, value in item.items():
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    fields[f"{name}.{index}.{key}"] = str(value)
                elif isinstance(value, bool):
                    fields[f"{name}.{index}.{key}"] = "true" if value else "false"
                elif isinstance(value, list):
                    fields[f"{name}.{index}.{key}"] = ", ".join(value) if value else "none"
    for key, value in (data.get("checks") or {}).items():
        fields[f"checks.{key}"] = ("true" if value else "false") if isinstance(value, bool) \
            else str(value)
    fields[f"permits.{PRESALE}.attachments"] = named
    return fields


def test_the_form_has_a_labelled_input_with_its_hint(visitor: Make) -> None:
    page = visitor("submitter").get("/checklists/new?stage=delivery").get_data(as_text=True)
    for name in ("permits", "promises", "acceptances", "inspections"):
        assert f'<label for="i-{name}-0-attachments">证据附件编号</label>' in page, name
        assert f'aria-describedby="i-{name}-0-attachments-h"' in page
    assert "先上传照片或 PDF（网页或 API），再把返回的附件编号粘贴到这里" in page
    english = visitor("submitter").get("/checklists/new?stage=delivery&lang=en")
    assert ">Evidence file ids</label>" in english.get_data(as_text=True)


def test_an_unknown_file_is_refused_at_its_input(project: dict[str, Any],
                                                 visitor: Make) -> None:
    pm = visitor("submitter", projects=[project["code"]])
    answer = pm.post("/checklists/new", form_of(project["data"], f"{project['file']}、nosuch"))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'id="i-permits-{PRESALE}-attachments-e"' in page
    assert "本项目没有编号为“nosuch”的附件" in page
    assert f'value="{project["file"]}、nosuch"' in page  # what was typed stays to correct


def test_a_named_file_shows_on_the_finding_and_comes_back_in_the_workbook(
        project: dict[str, Any], visitor: Make) -> None:
    pm = visitor("submitter", projects=[project["code"]])
    before = pm.get(f"/work/findings/{project['finding']}").get_data(as_text=True)
    assert "permit-scan.jpg" not in before
    answer = pm.post("/checklists/new", form_of(project["data"], project["file"]))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:3000]
    shown = pm.get(f"/work/findings/{project['finding']}").get_data(as_text=True)
    assert "permit-scan.jpg" in shown and "清单条目的附件" in shown
    listed = project["admin"].get(f"/api/v1/projects/{project['code']}/checklists").get_json()
    latest = listed["items"][-1]["id"]  # oldest first
    book = pm.get(f"/projects/{project['code']}/checklists/{latest}.xlsx")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.data))["permits"]
    column = "ABCDEFGH"[list(LISTS["permits"].fields).index("attachments")]
    assert sheet[f"{column}2"].value == "证据附件编号"
    assert sheet[f"{column}{4 + PRESALE}"].value == project["file"]


def test_the_reports_show_the_files_an_item_names(project: dict[str, Any],
                                                  visitor: Make) -> None:
    from pypdf import PdfReader
    pm = visitor("submitter", projects=[project["code"]])
    answer = pm.post("/checklists/new", form_of(project["data"], project["file"]))
    assert answer.status_code == 302
    report = answer.headers["Location"].split("?")[0]
    book = load_workbook(io.BytesIO(pm.get(f"{report}/report.xlsx").data)).worksheets[1]
    column = [c.value for c in book[1]].index("证据附件") + 1
    linked = [book.cell(row=r, column=column).value for r in range(2, book.max_row + 1)]
    # Two findings are raised on the presale permit (pending; its date): both show its file.
    assert [v for v in linked if v] == 2 * [
        f"permit-scan.jpg http://localhost/api/v1/attachments/{project['file']}"]
    pdf = PdfReader(io.BytesIO(pm.get(f"{report}/report.pdf").data))
    images = sum(1 for page in pdf.pages for o in (page["/Resources"].get("/XObject") or {})
                 .values() if o.get_object()["/Subtype"] == "/Image")
    assert images == 2  # the named photo's thumbnail, under each of the two
