"""The checklist entry form, generated from the contract's tables and the stage's `checks`.

Inputs are named by checklist path (`project.code`, `offsite_factors.0.distance_m`, `checks.KEY`),
read back with the same converter as Excel cells, and validation problems come back to the
input they concern. A list grows by a row with a submit button, so it works without script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from riskengine.checklist.contract import ItemField
from riskengine.checklist.tables import (
    TABLES,
    Assembler,
    Reading,
    Table,
    as_text,
    check,
    flat_project,
    invalid,
    items_of,
    project_rows,
)
from riskengine.checklist.validation import ChecklistValidator
from riskengine.errors import WorkbookInvalid
from riskengine.rules.catalog import Catalog
from riskengine.submission import Received, Submissions
from riskengine.vocabulary import CheckType, Lang, Stage

MAX_FORM_ROWS = 200  # rows per list in the form (the Excel template takes more)


@dataclass
class Form:
    """What the form shows: a value per input, rows per list, problems per input."""

    stage: Stage
    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def count(self, table: Table) -> int:
        return self.rows.get(table.name, 1)


def input_kind(spec: ItemField) -> str:
    """Return how a field is entered: select, yesno, number, integer, date, or text."""
    if spec.choices and spec.type != "list":
        return "select"
    kinds = {CheckType.BOOL.value: "yesno", CheckType.INT.value: "integer",
             CheckType.NUMBER.value: "number", CheckType.DATE.value: "date"}
    return kinds.get(str(spec.type), "text")


def blank(stage: Stage, submitted_by: str = "") -> Form:
    form = Form(stage, {"stage": stage.value, "submitted_by": submitted_by})
    form.rows = {t.name: 1 for t in TABLES}
    return form


def from_checklist(checklist: Mapping[str, Any], catalog: Catalog) -> Form:
    """Return the form filled with a checklist (to correct and submit again)."""
    stage = Stage(checklist.get("stage", Stage.SALES.value))
    form = Form(stage)
    types = dict(project_rows())
    for path, value in flat_project(checklist).items():
        if path in types:
            form.values[path] = as_text(value, types[path])
    for table in TABLES:
        items = list(items_of(table, checklist))
        form.rows[table.name] = max(1, len(items))
        for index, item in enumerate(items):
            for column in table.columns:
                form.values[f"{table.name}.{index}.{column.key}"] = as_text(
                    item.get(column.key), column.spec)
    declared = catalog.checks(stage)
    for key, value in (checklist.get("checks") or {}).items():
        spec = ItemField(declared[key].type if key in declared else CheckType.STRING)
        form.values[f"checks.{key}"] = as_text(value, spec)
    return form


def from_request(data: MultiDict[str, str]) -> Form:
    """Return the form as posted; `add` names a list that gets one more row."""
    stage = data.get("stage", Stage.SALES.value)
    form = Form(Stage(stage) if stage in set(Stage) else Stage.SALES)
    form.values = {k: v for k, v in data.items() if k not in ("csrf_token", "add")}
    form.values["stage"] = form.stage.value
    for table in TABLES:
        try:
            given = int(data.get(f"rows.{table.name}", "1"))
        except ValueError:
            given = 1
        form.rows[table.name] = min(max(1, given), MAX_FORM_ROWS)
    added = data.get("add")
    if added in form.rows:
        form.rows[added] = min(form.rows[added] + 1, MAX_FORM_ROWS)
    return form


def read(form: Form, catalog: Catalog) -> Reading:
    """Return the checklist the form holds, with the input each path came from."""
    assembler = Assembler(catalog)
    assembler.project((path, form.value(path), path) for path, _ in project_rows())
    for table in TABLES:
        assembler.items(table, (
            (f"{table.name}.{row}.{table.columns[0].key}",
             {c.key: (form.value(f"{table.name}.{row}.{c.key}"),
                      f"{table.name}.{row}.{c.key}") for c in table.columns})
            for row in range(form.count(table))))
    assembler.checks((key, form.value(f"checks.{key}"), f"checks.{key}", f"checks.{key}")
                     for key in sorted(catalog.checks(form.stage)))
    reading = assembler.out
    reading.fallback = "project.code"
    return reading


def checklist_of(form: Form, catalog: Catalog, validator: ChecklistValidator,
                 lang: Lang = Lang.ZH) -> dict[str, Any] | None:
    """Return the form's checklist when valid; else None, with `form.errors` by input, in
    the page's language."""
    reading = read(form, catalog)
    valid, located = check(reading, validator)
    if valid is None:
        form.errors = invalid(reading, located, validator.wording).in_lang(lang)[1]
    return None if valid is None else reading.checklist


def received_of(form: Form, submissions: Submissions, lang: Lang = Lang.ZH
                ) -> Received | None:
    """Return the form's checklist as received (validated once) when valid; else None, with
    `form.errors` by input."""
    try:
        return submissions.receive_reading(read(form, submissions.assessor.catalog))
    except WorkbookInvalid as error:
        form.errors = error.in_lang(lang)[1]
        return None
