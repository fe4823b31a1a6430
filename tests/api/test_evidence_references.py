"""Evidence files named by checklist items (issue 11, item 1: "referenced from the Excel
template"), on SQLite and PostgreSQL: an item's `attachments` are ids of the project's live
files, checked by the submission use case whatever the entry (JSON, workbook), refused at
their path or cell in Chinese and English; a named file shows on its item; the template's
column carries the ids both ways."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook

from riskengine.checklist.contract import EVIDENCE_LISTS, LISTS
from riskengine.output.workbook import write_template
from riskengine.vocabulary import Lang, Stage
from tests.api.support import (
    Caller,
    checklist,
    photo,
    send_file,
    shared_assessor,
    unique_code,
    workbook,
)

TODAY = dt.date(2026, 11, 23)
LATER = {"launch_date": "2027-06-01", "subscription_start": "2027-05-01",
         "contract_delivery_date": "2028-06-30", "forecast_completion_date": "2028-06-20"}
PRESALE = 4  # sales-risky's permits: the presale permit is the fifth, still pending
ITEM = "permits/presale_permit"


@pytest.fixture
def project(admin: Caller, today: Callable[[dt.date], None]) -> dict[str, Any]:
    """A project whose sales checklist is stored, with two photos: one on a finding, one on
    the presale permit."""
    today(TODAY)
    code = unique_code("EV")
    data = checklist("sales-risky", code, milestones=LATER)
    answer = admin.submit(data)
    assert answer.status_code == 201, answer.get_json()
    finding = answer.get_json()["findings"][0]
    on_finding = send_file(admin, f"/api/v1/findings/{finding['id']}/attachments",
                           photo(colour="green"), "crack.jpg")
    on_item = send_file(admin, f"/api/v1/projects/{code}/items/attachments",
                        photo(colour="navy"), "permit.jpg", stage="sales", item=ITEM)
    assert on_finding.status_code == 201 and on_item.status_code == 201
    return {"code": code, "data": data, "finding": on_finding.get_json()["id"],
            "item": on_item.get_json()["id"]}


def naming(data: dict[str, Any], ids: list[Any], index: int = PRESALE) -> dict[str, Any]:
    changed = json.loads(json.dumps(data))
    changed["permits"][index]["attachments"] = ids
    return changed


def stored(admin: Caller, code: str, answer: Any) -> dict[str, Any]:
    body = answer.get_json()
    kept = admin.get(f"/api/v1/projects/{code}/checklists/{body['checklist_id']}")
    assert kept.status_code == 200
    data: dict[str, Any] = kept.get_json()
    return data


def item_files(admin: Caller, code: str, item: str = ITEM) -> list[str]:
    listed = admin.get(f"/api/v1/projects/{code}/items/attachments",
                       query_string={"stage": "sales", "item": item})
    assert listed.status_code == 200, listed.get_json()
    return [a["id"] for a in listed.get_json()["items"]]


def column(sheet: str) -> str:
    """The letter of the evidence file ids column of a list's sheet."""
    keys = list(LISTS[sheet].fields)
    return "ABCDEFGHIJKLMNOP"[keys.index("attachments")]


def test_the_lists_backed_by_documents_and_photos_take_file_ids() -> None:
    assert set(EVIDENCE_LISTS) == {"permits", "promises", "acceptances", "inspections"}
    for name, spec in LISTS.items():
        assert ("attachments" in spec.fields) is (name in EVIDENCE_LISTS)
        if name in EVIDENCE_LISTS:
            assert spec.fields["attachments"].type == "list"
            assert not spec.fields["attachments"].required  # optional: old checklists hold


def test_named_files_are_stored_and_shown_on_their_item(project: dict[str, Any],
                                                        admin: Caller) -> None:
    code, ids = project["code"], [project["finding"], project["item"]]
    assert item_files(admin, code) == [project["item"]]  # before: only the upload to it
    answer = admin.submit(naming(project["data"], ids))
    assert answer.status_code == 201, answer.get_json()
    assert stored(admin, code, answer)["permits"][PRESALE]["attachments"] == ids
    # Uploaded to the item first, then named by it; the finding's photo is named here too.
    assert item_files(admin, code) == [project["item"], project["finding"]]
    # Another item of the same checklist names nothing, so shows nothing extra.
    assert item_files(admin, code, "permits/construction_permit") == []


def test_the_same_id_twice_is_shown_once(project: dict[str, Any], admin: Caller) -> None:
    ids = [project["finding"], project["finding"]]
    answer = admin.submit(naming(project["data"], ids))
    assert answer.status_code == 201, answer.get_json()
    assert item_files(admin, project["code"]).count(project["finding"]) == 1


def refusal(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 422, answer.get_json()
    error: dict[str, Any] = answer.get_json()["error"]
    return error


def test_an_unknown_id_is_refused_at_its_path_in_both_languages(
        project: dict[str, Any], admin: Caller) -> None:
    body = naming(project["data"], [project["item"], "0" * 32])
    error = refusal(admin.submit(body))
    assert error["code"] == "invalid_checklist" and error["message"] == "清单有误"
    assert error["details"] == {f"permits.{PRESALE}.attachments.1": [
        f"证照 第 {PRESALE + 1} 行 · 证据附件编号：本项目没有编号为“{'0' * 32}”的附件；"
        "请先上传（页面或 API），再填写返回的附件编号"]}
    english = refusal(admin.submit(body, query_string={"lang": "en"}))
    assert english["message"] == "the checklist is invalid"
    assert english["details"][f"permits.{PRESALE}.attachments.1"] == [
        f"Permits row {PRESALE + 1} · Evidence file ids: this project has no file "
        f"“{'0' * 32}”; upload it first (page or API), then give the attachment id it answers"]
    # Refused whole: nothing stored, the item still shows only its own upload.
    assert item_files(admin, project["code"]) == [project["item"]]


def test_a_removed_file_is_refused(project: dict[str, Any], admin: Caller) -> None:
    removed = admin.request("DELETE", f"/api/v1/attachments/{project['finding']}",
                            query_string={"reason": "wrong photo"})
    assert removed.status_code == 200, removed.get_json()
    error = refusal(admin.submit(naming(project["data"], [project["finding"]])))
    assert error["details"][f"permits.{PRESALE}.attachments.0"] == [
        f"证照 第 {PRESALE + 1} 行 · 证据附件编号：附件“{project['finding']}”已被 "
        f"{removed.get_json()['removed']['removed_by']} 移除，不能作为证据"]


def test_a_file_named_then_removed_leaves_the_item(project: dict[str, Any],
                                                  admin: Caller) -> None:
    answer = admin.submit(naming(project["data"], [project["finding"]]))
    assert answer.status_code == 201
    assert project["finding"] in item_files(admin, project["code"])
    assert admin.request("DELETE", f"/api/v1/attachments/{project['finding']}",
                         query_string={"reason": "blurred"}).status_code == 200
    assert project["finding"] not in item_files(admin, project["code"])


def test_another_projects_file_reads_as_unknown_even_to_an_admin(
        project: dict[str, Any], admin: Caller, caller: Callable[..., Caller]) -> None:
    other = checklist("sales-risky", unique_code("EW"), milestones=LATER)
    assert admin.submit(other).status_code == 201
    theirs = send_file(admin, f"/api/v1/projects/{other['project']['code']}/items/attachments",
                       photo(colour="olive"), "theirs.jpg", stage="sales", item=ITEM)
    assert theirs.status_code == 201
    theirs_id, missing = theirs.get_json()["id"], "f" * 32
    pm = caller("submitter", projects=[project["code"]])
    for who in (admin, pm):
        error = refusal(who.submit(naming(project["data"], [theirs_id, missing])))
        said = error["details"]
        first, second = (said[f"permits.{PRESALE}.attachments.{n}"][0] for n in (0, 1))
        # The same words as an id that exists nowhere: nothing tells the file exists.
        assert first.replace(theirs_id, "ID") == second.replace(missing, "ID")


def test_an_id_too_long_to_be_one_is_unknown(project: dict[str, Any], admin: Caller) -> None:
    error = refusal(admin.submit(naming(project["data"], ["x" * 300])))
    assert "本项目没有编号为" in error["details"][f"permits.{PRESALE}.attachments.0"][0]


def test_ids_must_be_text(project: dict[str, Any], admin: Caller) -> None:
    # The validator's own words, as for any multi-value field (mentions).
    error = refusal(admin.submit(naming(project["data"], ["ok", 42])))
    assert error["details"] == {f"permits.{PRESALE}.attachments.1": [
        f"证照 第 {PRESALE + 1} 行 · 证据附件编号 第 2 行：须为文字"]}


def test_a_workbook_names_files_with_any_usual_separator(project: dict[str, Any],
                                                         admin: Caller) -> None:
    code, row = project["code"], 4 + PRESALE
    cell = f"permits__{column('permits')}{row}"
    typed = f" {project['item']}、{project['finding']} ；{project['item']}"
    answer = admin.upload(code, workbook(project["data"], **{cell: typed}))
    assert answer.status_code == 201, answer.get_json()
    assert stored(admin, code, answer)["permits"][PRESALE]["attachments"] == [
        project["item"], project["finding"], project["item"]]
    for typed in (f"{project['item']},{project['finding']}",
                  f"{project['item']}，{project['finding']}",
                  f"{project['item']};{project['finding']}",
                  f"{project['item']}\n{project['finding']}"):
        again = admin.upload(code, workbook(project["data"], **{cell: typed}))
        assert again.status_code == 201, (typed, again.get_json())
        assert stored(admin, code, again)["permits"][PRESALE]["attachments"] == [
            project["item"], project["finding"]]


def test_a_workbook_naming_an_unknown_file_is_refused_at_its_cell(
        project: dict[str, Any], admin: Caller) -> None:
    letter, row = column("permits"), 4 + PRESALE
    content = workbook(project["data"], **{f"permits__{letter}{row}":
                                           f"{project['item']}、nosuchfile"})
    error = refusal(admin.upload(project["code"], content))
    assert error["code"] == "invalid_workbook" and error["message"] == "工作簿中有错误的值"
    assert error["details"] == {f"permits!{letter}{row}": [
        f"证照!{letter}{row} · 证据附件编号：本项目没有编号为“nosuchfile”的附件；"
        "请先上传（页面或 API），再填写返回的附件编号"]}
    english = refusal(admin.upload(project["code"], content, query_string={"lang": "en"}))
    assert english["details"][f"permits!{letter}{row}"] == [
        f"Permits!{letter}{row} · Evidence file ids: this project has no file “nosuchfile”; "
        "upload it first (page or API), then give the attachment id it answers"]


def test_the_template_has_the_column_its_label_and_hint() -> None:
    catalog = shared_assessor().catalog
    for stage in Stage:
        book = load_workbook(io.BytesIO(write_template(catalog, stage)))
        for name in EVIDENCE_LISTS:
            sheet, letter = book[name], column(name)
            assert [sheet[f"{letter}{r}"].value for r in (1, 2, 3)] == [
                "attachments", "证据附件编号", "Evidence file ids"]
            prompts = [v.prompt for v in sheet.data_validations.dataValidation
                       if str(v.sqref) == f"{letter}4:{letter}204"]
            assert prompts and prompts[0].startswith("先上传照片或 PDF（网页或 API）")
            assert "paste the attachment ids" in prompts[0]
            assert "附件编号粘贴" in sheet[f"{letter}2"].comment.text
            assert sheet[f"{letter}4"].number_format == "@"  # text: never read as a number
    readme = [c.value for c in book["readme"]["A"]]
    assert any(str(line).startswith("证据附件编号（证照、销售承诺、验收、内部模拟验收）")
               for line in readme)


def test_a_stored_checklist_comes_back_as_a_workbook_with_its_ids(
        project: dict[str, Any], admin: Caller) -> None:
    code, ids = project["code"], [project["finding"], project["item"]]
    first = admin.submit(naming(project["data"], ids))
    assert first.status_code == 201
    kept = stored(admin, code, first)
    for lang in Lang:
        content = write_template(shared_assessor().catalog, Stage.SALES, kept, lang)
        cell = load_workbook(io.BytesIO(content))["permits"][f"{column('permits')}{4 + PRESALE}"]
        assert cell.value == ", ".join(ids)
        again = admin.upload(code, content)
        assert again.status_code == 201, again.get_json()
        assert stored(admin, code, again)["permits"][PRESALE]["attachments"] == ids


def test_evaluate_takes_ids_as_text_it_cannot_verify(admin: Caller) -> None:
    data = checklist("sales-risky", unique_code("EE"), milestones=LATER)
    plain = admin.post("/api/v1/evaluate", data)
    named = admin.post("/api/v1/evaluate", naming(data, ["not-checked-here"]))
    assert plain.status_code == named.status_code == 200, named.get_json()
    assert [f["fingerprint"] for f in named.get_json()["findings"]] == [
        f["fingerprint"] for f in plain.get_json()["findings"]]
    wrong = admin.post("/api/v1/evaluate", naming(data, [7]))
    assert wrong.status_code == 422


def test_the_openapi_document_declares_the_field(admin: Caller) -> None:
    schemas = admin.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in EVIDENCE_LISTS:
        field = schemas["Checklist"]["properties"][name]["items"]["properties"]["attachments"]
        assert field["type"] == "array" and field["items"] == {"type": "string",
                                                               "maxLength": 4000}
        assert "evidence files" in field["description"]
    sales = schemas["Checklist"]["properties"]["sales_materials"]["items"]["properties"]
    assert "attachments" not in sales and sales["mentions"]["items"]["enum"]
