"""Evidence files on the finding page: a phone's camera input, thumbnails, upload with the
form token, removal with a reason, resolution with the files ticked as evidence, project scope.
On SQLite and PostgreSQL, in Chinese and English."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from tests.api.support import Caller, new_token, photo
from tests.web.conftest import Visitor, checklist, unique

Make = Callable[..., Visitor]


@pytest.fixture
def project(web_app: Flask) -> dict[str, Any]:
    admin = Caller(web_app, new_token(web_app, "admin", name="admin.evidence"))
    answer = admin.submit(checklist("sales-risky", unique()))
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def permits(project: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in project["findings"] if f["owner"] == "permits" and f["blocking"])


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def send(who: Visitor, finding: dict[str, Any], data: bytes, name: str = "IMG_1.JPG",
         csrf: bool = True) -> Any:
    return who.post(f"/work/findings/{finding['id']}/attachments",
                    {"file": (io.BytesIO(data), name)}, csrf=csrf,
                    content_type="multipart/form-data", follow_redirects=True)


def test_a_phone_uploads_a_photo_and_resolves_with_it(project: dict[str, Any],
                                                      visitor: Make) -> None:
    finding = permits(project)
    url = f"/work/findings/{finding['id']}"
    owner = visitor("owner", department="permits", name="head.permits.photo")
    page = text(owner.get(url))
    assert 'capture="environment"' in page and 'accept="image/*,application/pdf"' in page
    assert 'enctype="multipart/form-data"' in page and "暂无附件。" in page
    shown = text(send(owner, finding, photo((640, 480), "red")))
    assert "附件已上传。" in shown and "IMG_1.JPG" in shown
    thumb = re.search(r'src="(/work/attachments/\w+/thumbnail)"', shown)
    assert thumb is not None
    small = owner.get(thumb.group(1))
    assert small.status_code == 200 and Image.open(io.BytesIO(small.data)).size == (320, 240)
    assert "附件已上传" not in text(send(owner, finding, photo((640, 480), "red")))
    started = text(owner.post(url, {"act": "start"}, follow_redirects=True))
    ids = re.findall(r'name="attachments" value="(\w+)"', started)
    assert len(ids) == 1
    done = text(owner.post(url, {"act": "resolve", "note": "", "references": "",
                                 "attachments": ids}, follow_redirects=True))
    assert "已解决（待核实）" in done and "上传附件" in done


def test_wrong_files_and_missing_tokens_are_refused_in_words(project: dict[str, Any],
                                                             visitor: Make) -> None:
    finding = permits(project)
    owner = visitor("owner", department="permits", name="head.permits.bad")
    refused = text(send(owner, finding, b"plain text", "notes.jpg"))
    assert "文件类型不受支持" in refused and "暂无附件。" in refused
    english = owner.post(f"/work/findings/{finding['id']}/attachments?lang=en",
                         {"file": (io.BytesIO(b"plain text"), "x.jpg")},
                         content_type="multipart/form-data", follow_redirects=True)
    assert "type is not accepted" in text(english)
    assert send(owner, finding, photo(), csrf=False).status_code == 400


def test_auditors_see_files_but_get_no_form_and_may_not_post(
        project: dict[str, Any], visitor: Make) -> None:
    finding = permits(project)
    send(visitor("admin"), finding, photo((50, 40), "blue"))
    auditor = visitor("auditor")
    page = text(auditor.get(f"/work/findings/{finding['id']}"))
    assert "/thumbnail" in page and 'type="file"' not in page
    assert send(auditor, finding, photo((51, 40))).status_code == 403


def test_removal_takes_a_reason_and_keeps_the_record(project: dict[str, Any],
                                                     visitor: Make) -> None:
    finding = permits(project)
    owner = visitor("owner", department="permits", name="head.permits.rm")
    shown = text(send(owner, finding, photo((52, 40), "green")))
    attachment = re.search(r'/work/attachments/(\w+)/remove', shown)
    assert attachment is not None
    gone = text(owner.post(f"/work/attachments/{attachment.group(1)}/remove",
                           {"reason": "拍错了"}, follow_redirects=True))
    assert "附件已移除（记录保留）。" in gone and "暂无附件。" in gone and "移除附件" in gone
    assert owner.get(f"/work/attachments/{attachment.group(1)}").status_code == 200


def test_another_project_s_files_are_not_found(project: dict[str, Any], visitor: Make,
                                               web_app: Flask) -> None:
    finding = permits(project)
    shown = text(send(visitor("admin"), finding, photo((53, 40), "navy")))
    attachment = re.search(r'/work/attachments/(\w+)/thumbnail', shown)
    assert attachment is not None
    elsewhere = visitor("admin", projects=[unique()])
    assert elsewhere.get(f"/work/attachments/{attachment.group(1)}").status_code == 404
    assert send(elsewhere, finding, photo((54, 40))).status_code == 404


def test_the_reports_carry_the_photo_and_a_link_that_downloads_it(
        project: dict[str, Any], visitor: Make, web_app: Flask) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader
    finding = permits(project)
    admin = visitor("admin")
    send(admin, finding, photo((400, 300), "red"), "IMG_9.JPG")
    book = load_workbook(io.BytesIO(admin.get(
        f"/assessments/{project['id']}/report.xlsx").data))
    sheet = book.worksheets[1]
    column = [c.value for c in sheet[1]].index("证据附件") + 1
    links = [sheet.cell(row=r, column=column).hyperlink for r in range(2, sheet.max_row + 1)]
    targets = [h.target for h in links if h is not None]
    assert len(targets) == 1 and targets[0].startswith("http://localhost/api/v1/attachments/")
    api = Caller(web_app, new_token(web_app, "auditor"))
    downloaded = api.get(targets[0].removeprefix("http://localhost"))
    assert downloaded.status_code == 200 and downloaded.mimetype == "image/jpeg"
    pdf = PdfReader(io.BytesIO(admin.get(f"/assessments/{project['id']}/report.pdf").data))
    images = sum(1 for page in pdf.pages
                 for o in (page["/Resources"].get("/XObject") or {}).values()
                 if o.get_object()["/Subtype"] == "/Image")
    assert images >= 1


def test_the_item_a_finding_is_raised_on_shows_its_files_too(
        project: dict[str, Any], visitor: Make, web_app: Flask) -> None:
    from riskengine.assessment.facts import identity
    from tests.api.support import send_file
    from tests.api.test_attachments import pdf
    finding = next(f for f in project["findings"] if re.fullmatch(r"\w+\[\d+\]", f["subject"]))
    found = re.fullmatch(r"(\w+)\[(\d+)\]", finding["subject"])
    assert found is not None
    name, index = found.groups()
    item = checklist("sales-risky", project["project_code"])[name][int(index)]
    admin = Caller(web_app, new_token(web_app, "admin"))
    sent = send_file(admin, f"/api/v1/projects/{project['project_code']}/items/attachments",
                     pdf(1), "条目证据.pdf", stage="sales", item=identity(name, item, int(index)))
    assert sent.status_code == 201, sent.get_json()
    page = text(visitor("admin").get(f"/work/findings/{finding['id']}"))
    assert "条目证据.pdf" in page and "清单条目的附件" in page
    other = next(f for f in project["findings"] if f["subject"] != finding["subject"])
    assert "条目证据.pdf" not in text(visitor("admin").get(f"/work/findings/{other['id']}"))
