"""Evidence attachments (issue 11, item 1) through the API, on SQLite and PostgreSQL: types
sniffed from the bytes, photos re-encoded upright without metadata (the capture time kept),
thumbnails, limits, bytes stored once, removal as an event, project scope and roles, and
attachment ids as the evidence of a resolution."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from riskengine.attachments.evidence import Storage
from riskengine.store import models as m
from tests.api.support import Caller, checklist, photo, send_file, unique_code

TODAY = dt.date(2026, 11, 23)
LATER = {"launch_date": "2027-06-01", "subscription_start": "2027-05-01",
         "contract_delivery_date": "2028-06-30", "forecast_completion_date": "2028-06-20"}
ORIENTATION, ARTIST, MAKE = 0x0112, 0x013B, 0x010F
EXIF_IFD, GPS_IFD, DATE_TAKEN, OFFSET_TAKEN, SERIAL = 0x8769, 0x8825, 36867, 36881, 0xA431


@pytest.fixture
def project(admin: Caller, today: Callable[[dt.date], None]) -> dict[str, Any]:
    today(TODAY)
    code = unique_code("AT")
    answer = admin.submit(checklist("sales-risky", code, milestones=LATER))
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def blocking(assessment: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in assessment["findings"] if f["blocking"])


def attach(caller: Caller, finding: dict[str, Any], data: bytes, name: str = "photo.jpg",
           content_type: str = "image/jpeg", lang: str = "") -> Any:
    suffix = f"?lang={lang}" if lang else ""
    return send_file(caller, f"/api/v1/findings/{finding['id']}/attachments{suffix}", data,
                     name, content_type)


def phone_photo() -> bytes:
    """A photo as a phone writes it: stored sideways (EXIF orientation 6: turn it 90° clockwise
    to show it), left half red and right half blue, with GPS, camera make and serial, the
    owner's name and the time it was taken."""
    image = Image.new("RGB", (60, 40), "blue")
    image.paste(Image.new("RGB", (30, 40), "red"), (0, 0))
    exif = Image.Exif()
    exif[ORIENTATION], exif[ARTIST], exif[MAKE] = 6, "Wang Xiaoming", "PhoneMaker"
    exif.get_ifd(EXIF_IFD).update({DATE_TAKEN: "2026:11:21 09:30:15", OFFSET_TAKEN: "+08:00",
                                   SERIAL: "SN-0042-7781"})
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (30.0, 34.0, 12.5), 3: "E", 4: (104.0, 3.0, 55.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def test_a_phone_photo_is_kept_upright_without_metadata_and_dated(
        project: dict[str, Any], admin: Caller) -> None:
    sent = phone_photo()
    source = Image.open(io.BytesIO(sent))
    assert source.getexif().get_ifd(GPS_IFD) and b"SN-0042-7781" in sent  # the test's premise
    answer = attach(admin, blocking(project), sent, "IMG_0001.JPG")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["media_type"] == "image/jpeg" and body["file_name"] == "IMG_0001.JPG"
    assert body["captured_at"] == "2026-11-21T09:30:15+08:00"
    assert body["uploaded_at"].startswith(dt.datetime.now(dt.UTC).date().isoformat()[:4])
    assert (body["width"], body["height"]) == (40, 60)  # turned upright
    stored = admin.get(body["download"])
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    kept = Image.open(io.BytesIO(stored.data))
    assert kept.size == (40, 60)
    red, blue = kept.getpixel((20, 5)), kept.getpixel((20, 55))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60
    assert not kept.getexif() and "icc_profile" not in kept.info and "xmp" not in kept.info
    for secret in (b"SN-0042-7781", b"Wang Xiaoming", b"PhoneMaker", b"Exif"):
        assert secret not in stored.data
    thumbnail = admin.get(body["thumbnail"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) <= 320


def test_thumbnails_are_320_pixels_on_the_longer_side(project: dict[str, Any],
                                                      admin: Caller) -> None:
    body = attach(admin, blocking(project), photo((1000, 500), "green")).get_json()
    assert (body["width"], body["height"]) == (1000, 500)
    small = Image.open(io.BytesIO(admin.get(body["thumbnail"]).data))
    assert small.size == (320, 160)


def test_png_and_webp_are_kept_in_their_type_without_their_metadata(
        project: dict[str, Any], admin: Caller) -> None:
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Li Lei")
    png = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 128, 0, 128)).save(png, "PNG", pnginfo=info)
    exif = Image.Exif()
    exif[ARTIST] = "Han Meimei"
    webp = photo((30, 20), "yellow", "WEBP", exif=exif)
    assert b"Han Meimei" in webp
    finding = blocking(project)
    for data, kind, secret in ((png.getvalue(), "image/png", b"Li Lei"),
                               (webp, "image/webp", b"Han Meimei")):
        # the client's name and type say JPEG: the bytes decide
        answer = attach(admin, finding, data, "photo.jpg", "image/jpeg")
        assert answer.status_code == 201, answer.get_json()
        body = answer.get_json()
        assert body["media_type"] == kind and (body["width"], body["height"]) == (30, 20)
        stored = admin.get(body["download"])
        assert stored.mimetype == kind and secret not in stored.data
        assert Image.open(io.BytesIO(stored.data)).format == kind.split("/")[1].upper()


def test_a_heic_photo_is_kept_as_jpeg(project: dict[str, Any], admin: Caller) -> None:
    import pillow_heif
    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (48, 32), "purple").save(heic, "HEIF")
    answer = attach(admin, blocking(project), heic.getvalue(), "IMG_0002.HEIC", "image/heic")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["media_type"] == "image/jpeg" and (body["width"], body["height"]) == (48, 32)
    assert Image.open(io.BytesIO(admin.get(body["download"]).data)).format == "JPEG"


def pdf(pages: int = 2) -> bytes:
    from pypdf import PdfWriter
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_is_kept_byte_for_byte_with_its_pages_and_no_thumbnail(
        project: dict[str, Any], admin: Caller) -> None:
    data = pdf(3)
    answer = attach(admin, blocking(project), data, "permit.pdf", "application/octet-stream")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["media_type"] == "application/pdf" and body["pages"] == 3
    assert body["thumbnail"] is None and body["size"] == len(data)
    download = admin.get(body["download"])
    assert download.data == data and download.mimetype == "application/pdf"
    assert admin.get(f"/api/v1/attachments/{body['id']}/thumbnail").status_code == 404


@pytest.mark.parametrize(("data", "code", "zh", "en"), [
    pytest.param(b"just some text, not a photo", "unsupported_type", "文件类型不受支持",
                 "the file's type is not accepted", id="text-named-jpg"),
    pytest.param(b"", "invalid", "文件为空", "the file is empty", id="empty"),
    pytest.param(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 20, "corrupt_file", "照片无法读取",
                 "the photo cannot be read", id="corrupt-jpeg"),
    pytest.param(b"%PDF-1.7\nnot really a pdf", "corrupt_file", "PDF 文件无法读取",
                 "the PDF cannot be read", id="corrupt-pdf"),
])
def test_what_is_not_a_readable_photo_or_pdf_is_refused_in_both_languages(
        project: dict[str, Any], admin: Caller, data: bytes, code: str, zh: str,
        en: str) -> None:
    finding = blocking(project)
    answer = attach(admin, finding, data, "photo.jpg")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert (error["code"], error["message"]) == (code, zh) and "file" in error["details"]
    english = attach(admin, finding, data, "photo.jpg", lang="en").get_json()["error"]
    assert english["message"] == en
    assert admin.get(f"/api/v1/findings/{finding['id']}/attachments").get_json()["items"] == []


def test_a_truncated_photo_is_refused_never_a_500(project: dict[str, Any],
                                                  admin: Caller) -> None:
    whole = photo((400, 300), "orange", quality=95)
    answer = attach(admin, blocking(project), whole[: len(whole) // 2])
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "corrupt_file"


def test_no_file_part_is_refused(project: dict[str, Any], admin: Caller) -> None:
    answer = admin.client.post(f"/api/v1/findings/{blocking(project)['id']}/attachments",
                               data={"other": "x"}, headers=admin.headers(None),
                               content_type="multipart/form-data")
    assert answer.status_code == 422 and answer.get_json()["error"]["message"] == "缺少文件"
    as_json = admin.post(f"/api/v1/findings/{blocking(project)['id']}/attachments", {"a": 1})
    assert as_json.status_code == 415


@pytest.fixture
def small_limit(app: Flask) -> Iterator[int]:
    state, saved, limit = app.extensions["riskengine"], app.config["ATTACHMENT_MAX_BYTES"], 4000
    kept = state.storage
    app.config["ATTACHMENT_MAX_BYTES"] = limit
    state.storage = dataclasses.replace(kept, limit=limit)
    yield limit
    app.config["ATTACHMENT_MAX_BYTES"], state.storage = saved, kept


def test_a_file_over_the_limit_is_refused_with_413(project: dict[str, Any], admin: Caller,
                                                   small_limit: int) -> None:
    big = photo((600, 600), "white") + b"\x00" * small_limit  # JPEG ignores what trails it
    assert small_limit < len(big) < small_limit + 64 * 1024
    answer = attach(admin, blocking(project), big)
    assert answer.status_code == 413, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["message"] == "文件过大"
    far_over = attach(admin, blocking(project), big + b"\x00" * (128 * 1024))
    assert far_over.status_code == 413  # over the upload route's body limit itself
    assert attach(admin, blocking(project), photo((20, 20))).status_code == 201


def test_the_same_bytes_are_one_blob_and_a_retry_is_the_first_attachment(
        app: Flask, project: dict[str, Any], admin: Caller) -> None:
    first, second = (f for f in project["findings"][:2])
    data = photo((50, 50), "teal")
    one = attach(admin, first, data)
    again = attach(admin, first, data)
    other = attach(admin, second, data)
    assert one.status_code == again.status_code == other.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == one.get_json()["id"]
    assert other.get_json()["id"] != one.get_json()["id"]
    assert other.get_json()["sha256"] == one.get_json()["sha256"]
    with app.extensions["riskengine"].database.read() as session:
        blobs = session.scalar(select(func.count()).select_from(m.Blob).where(
            m.Blob.id == one.get_json()["sha256"]))
        rows = session.scalar(select(func.count()).select_from(m.Attachment).where(
            m.Attachment.blob_id == one.get_json()["sha256"]))
    assert (blobs, rows) == (1, 2)
    events = admin.get(f"/api/v1/findings/{first['id']}").get_json()["events"]
    assert [e["action"] for e in events].count("attachment_added") == 1


def test_removal_is_an_event_and_the_attachment_stays_auditable(
        app: Flask, project: dict[str, Any], admin: Caller,
        caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    owner = caller("owner", department=finding["owner"], name="head.attach")
    body = attach(owner, finding, photo((30, 30), "navy")).get_json()
    listing = f"/api/v1/findings/{finding['id']}/attachments"
    gone = f"/api/v1/attachments/{body['id']}"
    no_reason = owner.request("DELETE", gone)
    assert no_reason.status_code == 422
    assert no_reason.get_json()["error"]["message"] == "请说明移除原因"
    stranger = caller("submitter", name="pm.other")
    assert stranger.request("DELETE", gone + "?reason=x").status_code == 403
    removed = owner.request("DELETE", gone + "?reason=拍错了")
    assert removed.status_code == 200, removed.get_json()
    assert removed.get_json()["removed"]["reason"] == "拍错了"
    assert removed.get_json()["removed"]["removed_by"] == "head.attach"
    assert admin.get(listing).get_json()["items"] == []
    kept = admin.get(listing + "?removed=true").get_json()["items"]
    assert [i["id"] for i in kept] == [body["id"]] and kept[0]["removed"]["reason"] == "拍错了"
    assert admin.get(gone).status_code == 200  # the bytes stay
    again = admin.request("DELETE", gone + "?reason=again")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_removed"
    events = admin.get(f"/api/v1/findings/{finding['id']}").get_json()["events"]
    assert [e["action"] for e in events][-2:] == ["attachment_added", "attachment_removed"]
    assert events[-1]["reason"] == "拍错了"
    with app.extensions["riskengine"].database.read() as session:
        assert session.get(m.Attachment, body["id"]) is not None


def test_roles_auditors_read_and_never_upload(project: dict[str, Any], admin: Caller,
                                              caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    body = attach(admin, finding, photo((30, 30), "maroon")).get_json()
    auditor = caller("auditor")
    assert auditor.get(f"/api/v1/findings/{finding['id']}/attachments").status_code == 200
    assert auditor.get(body["download"]).status_code == 200
    assert attach(auditor, finding, photo((31, 30))).status_code == 403
    another = "legal" if finding["owner"] != "legal" else "marketing"
    assert attach(caller("owner", department=another), finding, photo((32, 30))).status_code \
        == 403
    assert attach(caller("owner", department="crm"), finding, photo((33, 30))).status_code \
        == 201  # a verifier department: re-inspection photos
    assert attach(caller("submitter"), finding, photo((34, 30))).status_code == 201
    assert attach(caller("reviewer"), finding, photo((35, 30))).status_code == 201


def test_a_scoped_token_never_reaches_another_project_s_attachments(
        admin: Caller, caller: Callable[..., Caller], project: dict[str, Any]) -> None:
    other_code = unique_code("AO")
    other = admin.submit(checklist("sales-risky", other_code)).get_json()
    theirs = attach(admin, blocking(other), photo((30, 30), "olive")).get_json()
    mine = attach(admin, blocking(project), photo((30, 31), "olive")).get_json()
    scoped = caller("admin", projects=[project["project_code"]])
    for path in (f"/api/v1/findings/{blocking(other)['id']}/attachments", theirs["download"],
                 theirs["thumbnail"], f"/api/v1/projects/{other_code}/items/attachments"):
        assert scoped.get(path).status_code == 404, path
    assert attach(scoped, blocking(other), photo((36, 30))).status_code == 404
    assert scoped.request("DELETE", theirs["download"] + "?reason=x").status_code == 404
    item = send_file(scoped, f"/api/v1/projects/{other_code}/items/attachments",
                     photo((37, 30)), stage="sales", item="permits/presale")
    assert item.status_code == 404
    assert scoped.get(mine["download"]).status_code == 200
    # nor can it name another project's attachment as the evidence of its own finding
    own = blocking(project)
    owner = caller("admin", projects=[project["project_code"]])
    assert owner.patch(f"/api/v1/findings/{own['id']}", {"status": "in_progress"}) \
        .status_code == 200
    refused = owner.patch(f"/api/v1/findings/{own['id']}", {
        "status": "resolved", "evidence": {"attachments": [theirs["id"]]}})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "unknown_attachment"


def test_item_attachments_name_an_item_of_the_latest_checklist(
        project: dict[str, Any], admin: Caller) -> None:
    code = project["project_code"]
    route = f"/api/v1/projects/{code}/items/attachments"
    submitted = checklist("sales-risky", code)
    kind = submitted["permits"][0]["kind"]
    answer = send_file(admin, route, pdf(1), "permit.pdf", stage="sales",
                       item=f"permits/{kind}")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["stage"], body["item"], body["finding_id"]) == ("sales", f"permits/{kind}",
                                                                  None)
    unknown = send_file(admin, route, pdf(1), stage="sales", item="permits/nonexistent")
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "unknown_item"
    assert f"permits/{kind}" in unknown.get_json()["error"]["details"]["item"][0]
    no_stage = send_file(admin, route, pdf(1), stage="delivery", item=f"permits/{kind}")
    assert no_stage.status_code == 422  # no delivery checklist yet
    assert send_file(admin, route, pdf(1), stage="moon", item="x").status_code == 422
    listed = admin.get(f"{route}?stage=sales&item=permits/{kind}").get_json()["items"]
    assert [i["id"] for i in listed] == [body["id"]]
    assert admin.get(f"{route}?item=permits/other").get_json()["items"] == []


def _start(caller: Caller, finding: dict[str, Any]) -> None:
    assert caller.patch(f"/api/v1/findings/{finding['id']}",
                        {"status": "in_progress"}).status_code == 200


def _resolve(caller: Caller, finding: dict[str, Any], ids: list[str]) -> Any:
    return caller.patch(f"/api/v1/findings/{finding['id']}", {
        "status": "resolved", "evidence": {"attachments": ids}})


def test_a_resolution_names_attachments_that_exist_are_its_own_and_stay(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    finding = blocking(project)
    sibling = next(f for f in project["findings"] if f["id"] != finding["id"])
    owner = caller("owner", department=finding["owner"], name="head.evidence")
    own = attach(owner, finding, photo((40, 40), "silver")).get_json()
    theirs = attach(admin, sibling, photo((41, 40), "silver")).get_json()
    dropped = attach(owner, finding, photo((42, 40), "silver")).get_json()
    assert owner.request("DELETE", dropped["download"] + "?reason=blurred").status_code == 200
    _start(owner, finding)
    for ids, code in (([unique_code("no")], "unknown_attachment"),
                      ([theirs["id"]], "unknown_attachment"),
                      ([dropped["id"]], "removed_attachment")):
        refused = _resolve(owner, finding, ids)
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == code and "evidence.attachments" in error["details"]
        assert ids[0] in error["details"]["evidence.attachments"][0]
        english = owner.patch(f"/api/v1/findings/{finding['id']}?lang=en", {
            "status": "resolved", "evidence": {"attachments": ids}}).get_json()["error"]
        assert english["message"].startswith(("no such", "the evidence attachment"))
    item = send_file(admin, f"/api/v1/projects/{project['project_code']}/items/attachments",
                     pdf(1), stage="sales", item=_an_item(project)).get_json()
    done = _resolve(owner, finding, [own["id"], item["id"]])
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["events"][-1]["details"]["evidence"]["attachments"] == [
        own["id"], item["id"]]


def _an_item(project: dict[str, Any]) -> str:
    kind = checklist("sales-risky", project["project_code"])["permits"][0]["kind"]
    return f"permits/{kind}"


def test_the_full_loop_a_phone_photo_verified_by_another_turns_the_gate(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller],
        evidence_required: set[str]) -> None:
    """submission → blocking finding → photo from a phone → resolved with it → verified by
    another → the gate turns, only then."""
    blockers = [f for f in project["findings"] if f["blocking"]]
    for finding in blockers:
        evidence_required.add(finding["rule_id"])
    reviewer = caller("reviewer", name="reviewer.photo")
    code = project["project_code"]
    for finding in blockers:
        owner = caller("owner", department=finding["owner"], name=f"head.{finding['owner']}")
        _start(owner, finding)
        bare = owner.patch(f"/api/v1/findings/{finding['id']}", {"status": "resolved"})
        assert bare.status_code == 422  # the rule asks for evidence
        shot = attach(owner, finding, phone_photo(), "IMG_2041.JPG")
        assert shot.status_code == 201, shot.get_json()
        done = _resolve(owner, finding, [shot.get_json()["id"]])
        assert done.status_code == 200 and done.get_json()["status"] == "resolved"
        assert admin.get(f"/api/v1/projects/{code}").get_json()["gate"] == "fail"
    for finding in blockers:
        verified = reviewer.patch(f"/api/v1/findings/{finding['id']}", {"status": "verified"})
        assert verified.status_code == 200, verified.get_json()
    assert admin.get(f"/api/v1/projects/{code}").get_json()["gate"] != "fail"


def test_uploads_are_documented_as_multipart(admin: Caller) -> None:
    spec = admin.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/findings/{finding_id}/attachments"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"413", "422", "403", "404"} <= set(post["responses"])
    download = spec["paths"]["/api/v1/attachments/{attachment_id}"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]


def test_storage_default_keeps_bytes_in_the_database(app: Flask) -> None:
    assert app.extensions["riskengine"].storage == Storage(None, 20 * 1024 * 1024)


@pytest.mark.parametrize("body", [
    b"", b"--x\r\n", b"not multipart at all", b"--b\r\nContent-Disposition: form-data\r\n\r\n",
    b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8",
], ids=["empty", "cut", "plain", "no-name", "unterminated"])
def test_broken_multipart_bodies_are_refused_never_a_500(project: dict[str, Any],
                                                         admin: Caller, body: bytes) -> None:
    answer = admin.client.post(f"/api/v1/findings/{blocking(project)['id']}/attachments",
                               data=body, headers={**admin.headers(None), "Content-Type":
                                                   "multipart/form-data; boundary=b"})
    assert answer.status_code in (400, 413, 422), answer.get_data(as_text=True)
    assert answer.is_json


def test_a_decompression_bomb_is_refused(project: dict[str, Any], admin: Caller) -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 8_000)).save(out, "PNG")  # 96 megapixels in a few kilobytes
    answer = attach(admin, blocking(project), out.getvalue(), "bomb.png", "image/png")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "too_many_pixels"


def test_the_same_bytes_sent_at_once_to_two_projects_are_one_blob(
        app: Flask, admin: Caller) -> None:
    """Two projects (two project locks, no queue between them) store the same photo at once:
    one blob, two attachments, both answered 201."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    findings = [blocking(admin.submit(checklist("sales-risky", unique_code("RACE"))).get_json())
                for _ in range(4)]
    data = photo((77, 55), "indigo")
    start = threading.Barrier(len(findings))

    def send(finding: dict[str, Any]) -> Any:
        start.wait()
        return attach(Caller(app, admin.token), finding, data)

    with ThreadPoolExecutor(max_workers=len(findings)) as pool:
        answers = list(pool.map(send, findings))
    assert [a.status_code for a in answers] == [201] * len(findings), [
        a.get_data(as_text=True)[:200] for a in answers]
    shas = {a.get_json()["sha256"] for a in answers}
    assert len(shas) == 1 and len({a.get_json()["id"] for a in answers}) == len(findings)
    with app.extensions["riskengine"].database.read() as session:
        assert session.scalar(select(func.count()).select_from(m.Blob).where(
            m.Blob.id == shas.pop())) == 1
