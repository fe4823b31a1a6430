"""Evidence files a checklist names: an item's `attachments` (ids the upload routes answered)
must be files of the checklist's own project, not removed. The submission use case checks
them before judging; the item's files are then read from the stored checklist, so a reference
needs no row of its own and a removal (an event) takes the file out wherever it is shown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from riskengine.assessment.facts import identity
from riskengine.checklist.contract import LISTS
from riskengine.checklist.tables import Reading
from riskengine.checklist.wording import Wording
from riskengine.errors import ChecklistInvalid, RiskEngineError, WorkbookInvalid
from riskengine.refusals import Refusal, refusal
from riskengine.store import attachments as stored
from riskengine.store import models as m
from riskengine.store.findings import findings_by_id
from riskengine.vocabulary import Lang

FIELD = "attachments"
MAX_ID = 32  # attachment ids are 32 characters: a longer text names no file

# The problems, worded here: an unknown id and another project's read alike, so a refusal never
# tells whether an id exists elsewhere.


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
    problems: list[tuple[str, Refusal]] = []
    for path, given in named:
        held = found.get(given)
        if held is None or held.code != code:
            problems.append((path, refusal("named_file_unknown", id=given)))
        elif held.removed_by is not None:
            problems.append((path, refusal("named_file_removed", id=given, name=held.removed_by)))
    if problems:
        raise _refusal(problems, wording, reading)


def _refusal(problems: list[tuple[str, Refusal]], wording: Wording,
             reading: Reading | None) -> RiskEngineError:
    worded: dict[str, tuple[str, dict[str, list[str]]]] = {}
    summary = "the workbook has invalid values" if reading is not None \
        else "the checklist is invalid"
    for lang in Lang:
        details: dict[str, list[str]] = {}
        for path, said in problems:
            where = reading.locate(path) if reading is not None else path
            text = said.say(lang)
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


_ROW = re.compile(r"(\w+)\[(\d+)\]\Z")


def item_in(subject: str, checklist: Mapping[str, Any]) -> str | None:
    """The checklist item a finding's subject names, as item attachments name it (None: the
    checklist as a whole, a `checks` key or a milestone)."""
    if "/" in subject and subject.split("/", 1)[0] in LISTS:
        return subject  # a closed-set member named by its identity already
    found = _ROW.match(subject)
    if found is None or found.group(1) not in LISTS:
        return None
    items = checklist.get(found.group(1)) or []
    index = int(found.group(2))
    if index >= len(items) or not isinstance(items[index], dict):
        return None
    return identity(found.group(1), items[index], index)


def files_on_items(session: Session, finding_ids: set[str]) -> dict[str, list[stored.Held]]:
    """For each finding raised on a checklist item, that item's live files (uploaded to it or
    named by the latest checklist), read per project and stage, not per finding."""
    rows = findings_by_id(session, finding_ids)
    groups: dict[tuple[int, str], list[m.Finding]] = {}
    for row in rows.values():
        groups.setdefault((row.project_id, row.stage), []).append(row)
    out: dict[str, list[stored.Held]] = {}
    for (project_id, stage), findings in groups.items():
        latest = stored.latest_checklist(session, project_id, stage)
        data: dict[str, Any] = json.loads(latest.raw_text) if latest else {}
        on: dict[str, str] = {}
        for row in findings:
            item = item_in(str((row.record or {}).get("subject", "")), data)
            if item is not None:
                on[row.id] = item
        if not on:
            continue
        by_item: dict[str, list[stored.Held]] = {}
        for held in stored.of_items(session, project_id, stage, None):
            by_item.setdefault(str(held.row.item), []).append(held)
        named = _named_by_items(data, set(on.values()))
        found = stored.by_ids(session, sorted({i for ids in named.values() for i in ids}))
        for item, ids in named.items():
            seen = {h.row.id for h in by_item.get(item, [])}
            by_item.setdefault(item, []).extend(
                found[i] for i in ids if i in found and i not in seen
                and found[i].row.project_id == project_id and found[i].removal is None)
        for finding_id, item in on.items():
            if by_item.get(item):
                out[finding_id] = by_item[item]
    return out


def _named_by_items(checklist: Mapping[str, Any], items: set[str]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for name, spec in LISTS.items():
        if FIELD not in spec.fields:
            continue
        for index, each in enumerate(checklist.get(name) or []):
            if not isinstance(each, dict):
                continue
            item = identity(name, each, index)
            if item in items:
                ids = named.setdefault(item, [])
                ids += [i for i in each.get(FIELD) or [] if isinstance(i, str) and i not in ids]
    return named
