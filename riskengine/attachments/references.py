"""Evidence files a checklist names: an item's `attachments` (ids the upload routes answered)
must be files of the checklist's own project, not removed. The submission use case checks
them before judging; the item's files are then read from the stored checklist, so a reference
needs no row of its own and a removal (an event) takes the file out wherever it is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment.facts import identity
from riskengine.checklist.contract import LISTS
from riskengine.checklist.tables import Reading
from riskengine.checklist.wording import Wording
from riskengine.errors import ChecklistInvalid, RiskEngineError, WorkbookInvalid
from riskengine.store import attachments as stored
from riskengine.vocabulary import Lang

FIELD = "attachments"
MAX_ID = 32  # attachment ids are 32 characters: a longer text names no file

# The problems, worded here: an unknown id and another project's read alike, so a refusal never
# tells whether an id exists elsewhere.
_UNKNOWN = ("本项目没有编号为“{id}”的附件；请先上传（页面或 API），再填写返回的附件编号",
            "this project has no file “{id}”; upload it first (page or API), then give the "
            "attachment id it answers")
_REMOVED = ("附件“{id}”已被 {who} 移除，不能作为证据", "file “{id}” was removed by {who} and "
            "cannot back an item")


def references(checklist: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, id) of every attachment id the checklist's items name, in order."""
    for name, spec in LISTS.items():
        if FIELD not in spec.fields:
            continue
        for index, item in enumerate(checklist.get(name) or []):
            for position, given in enumerate(item.get(FIELD) or []):
                yield f"{name}.{index}.{FIELD}.{position}", given


def check_references(session: Session, checklist: Mapping[str, Any], wording: Wording,
                     reading: Reading | None = None) -> None:
    """Refuse (422) a checklist naming a file that is not a live attachment of its project,
    every problem at its path (a workbook's or a form's: at its cell or input). All ids are
    read in one query."""
    named = list(references(checklist))
    if not named:
        return
    code = str(checklist["project"]["code"])
    found = stored.named(session, sorted({i for _, i in named if len(i) <= MAX_ID}))
    problems: list[tuple[str, tuple[str, str]]] = []
    for path, given in named:
        held = found.get(given)
        if held is None or held.code != code:
            problems.append((path, (_UNKNOWN[0].format(id=given), _UNKNOWN[1].format(id=given))))
        elif held.removed_by is not None:
            who = held.removed_by
            problems.append((path, (_REMOVED[0].format(id=given, who=who),
                                    _REMOVED[1].format(id=given, who=who))))
    if problems:
        raise _refusal(problems, wording, reading)


def _refusal(problems: list[tuple[str, tuple[str, str]]], wording: Wording,
             reading: Reading | None) -> RiskEngineError:
    worded: dict[str, tuple[str, dict[str, list[str]]]] = {}
    summary = "the workbook has invalid values" if reading is not None \
        else "the checklist is invalid"
    for lang in Lang:
        details: dict[str, list[str]] = {}
        for path, said in problems:
            where = reading.locate(path) if reading is not None else path
            text = said[0] if lang is Lang.ZH else said[1]
            # Named by its field, not "row 2" of it: the text names the id.
            field = path.rsplit(".", 1)[0]
            details.setdefault(where, []).append(wording.line(where, field, text, lang))
        worded[lang.value] = (wording.summary(summary, lang), details)
    message, details = worded[Lang.ZH.value]
    error: RiskEngineError = WorkbookInvalid(message, details) if reading is not None \
        else ChecklistInvalid(message, details)
    error.worded = worded
    return error


def item_references(session: Session, project_id: int, stage: str, item: str
                    ) -> list[str]:
    """The attachment ids the project's latest checklist of `stage` names on `item` (its
    contract identity, `permits/presale`), in order."""
    latest = stored.latest_checklist(session, project_id, stage)
    if latest is None:
        return []
    data = json.loads(latest.raw_text)
    name = item.split("/", 1)[0]
    out: list[str] = []
    for index, each in enumerate(data.get(name) or [] if name in LISTS else []):
        if isinstance(each, dict) and identity(name, each, index) == item:
            out += [str(i) for i in each.get(FIELD) or [] if isinstance(i, str)]
    return list(dict.fromkeys(out))


def item_files(session: Session, project_id: int, stage: str, item: str,
               removed: bool = False) -> list[stored.Held]:
    """An item's evidence files: those uploaded to it, then those its latest checklist names
    (the project's own; removed ones only when asked), each once."""
    files = stored.of_items(session, project_id, stage, item, removed)
    seen = {h.row.id for h in files}
    named = [i for i in item_references(session, project_id, stage, item) if i not in seen]
    found = stored.by_ids(session, named)
    files += [found[i] for i in named if i in found and found[i].row.project_id == project_id
              and (removed or found[i].removal is None)]
    return files
