"""Excel in and out: the checklist template of a stage, and a filled template read back.

The sheets are generated from the contract (`riskengine.contract`) and the stage's `checks`, so a
new list field or check key appears in the template without code changes. Reading maps every
problem, ours and the validator's, back to the cell it came from (`offsite_factors!C4`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from riskengine.catalog import Catalog, CheckSpec
from riskengine.checklist import ChecklistValidator
from riskengine.contract import LISTS, ItemField
from riskengine.errors import ChecklistInvalid, RiskEngineError
from riskengine.vocabulary import MILESTONES, CheckType, Lang, Stage

FIRST_ROW = 4  # row 1: field keys (read back), row 2: Chinese, row 3: English headers
TEMPLATE_ROWS = 200  # empty rows that get dropdowns and formats
MAX_ROWS = 2000  # per sheet, as the validator allows per list
MAX_UNPACKED = 20 * 1024 * 1024  # an .xlsx of a checklist unpacks to well under 1 MB
PROJECT, CHECKS, VOCAB, README = "project", "checks", "_vocab", "readme"
EMPTY_LIST = "none"  # a list field stated empty; an empty cell is "not stated"
_EMPTY_WORDS = {EMPTY_LIST, "无", "-", "—", "[]"}
_TRUE = {"true", "yes", "y", "1", "是", "真"}
_FALSE = {"false", "no", "n", "0", "否", "假"}
_SPLIT = re.compile(r"[,，;；、\s]+")
_HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
_KEY_FONT = Font(color="7F7F7F", size=8)
_DATE_FORMAT = "yyyy-mm-dd"


class WorkbookInvalid(RiskEngineError):
    """An uploaded workbook is unreadable or its values break the contract; details are keyed
    by cell (`offsite_factors!C4`) or by sheet."""

    code = "invalid_workbook"


@dataclass(frozen=True)
class Column:
    key: str
    spec: ItemField


@dataclass(frozen=True)
class Sheet:
    """One list sheet: its columns; `parent` names the list whose items hold its rows."""

    name: str
    columns: tuple[Column, ...]
    parent: str | None = None
    link: str | None = None  # the parent's field a row names to say which item it belongs to


def list_sheets() -> tuple[Sheet, ...]:
    """Return a sheet per contract list, a nested list (defects) after its parent."""
    sheets: list[Sheet] = []
    for name, spec in LISTS.items():
        sheets.append(Sheet(name, tuple(Column(k, f) for k, f in spec.fields.items())))
        for child, child_spec in spec.nested.items():
            link = spec.kind_field or spec.identity[0]
            columns = (Column(link, spec.fields[link]),) + tuple(
                Column(k, f) for k, f in child_spec.fields.items())
            sheets.append(Sheet(child, columns, parent=name, link=link))
    return tuple(sheets)


SHEETS = list_sheets()


def project_rows() -> tuple[tuple[str, ItemField], ...]:
    """Return the rows of the project sheet: a checklist path and its type."""
    text, date = ItemField(CheckType.STRING), ItemField(CheckType.DATE)
    return (("project.code", ItemField(CheckType.STRING, (), True)), ("project.name", text),
            ("project.city", text),
            ("stage", ItemField(CheckType.STRING, tuple(s.value for s in Stage), True)),
            ("as_of", ItemField(CheckType.DATE, (), True)), ("submitted_by", text),
            *((f"milestones.{m}", date) for m in MILESTONES))


# --- writing -----------------------------------------------------------------------------------


class _Writer:
    """Builds the template of one stage, optionally filled with a checklist."""

    def __init__(self, catalog: Catalog, stage: Stage) -> None:
        self.catalog, self.stage = catalog, stage
        self.book = Workbook()
        self.vocab: dict[tuple[str, ...], str] = {}

    def label(self, name: str, lang: Lang) -> str:
        return self.catalog.policy.label("field", name, lang)

    def build(self, checklist: Mapping[str, Any] | None) -> bytes:
        data = checklist or {}
        self.readme()
        self.project(data)
        for sheet in SHEETS:
            self.list_sheet(sheet, data)
        self.checks(data.get("checks") or {})
        self.book.properties.title = f"riskengine checklist template ({self.stage.value})"
        self.book.properties.keywords = f"riskengine-template;stage={self.stage.value}"
        out = io.BytesIO()
        self.book.save(out)
        return out.getvalue()

    def readme(self) -> None:
        sheet = self.book.active
        assert sheet is not None
        sheet.title = README
        stage = self.catalog.policy.stages[self.stage].label
        lines = [
            (f"riskengine — {stage['zh']} / {stage['en']}", True),
            ("每个列表一张工作表：从第 4 行起每行填写一项；第 1 行为字段键，请勿修改。", False),
            ("One sheet per list: one item per row from row 4; row 1 holds the field keys, "
             "keep it as is.", False),
            ("是/否填写 TRUE 或 FALSE；日期格式 YYYY-MM-DD；"
             "空单元格表示“未说明”（规则会视为信息缺失）。", False),
            ("Yes/no: TRUE or FALSE; dates YYYY-MM-DD; an empty cell means “not stated”, "
             "which rules count as missing information.", False),
            (f"多选字段（如 mentions）用逗号分隔；明确为空时填写 {EMPTY_LIST}。", False),
            (f"Multi-value fields (such as mentions) take comma-separated values; write "
             f"{EMPTY_LIST} when there are none.", False),
            ("defects 工作表的每行通过 phase 列归属于 inspections 工作表中同一阶段的检查。", False),
            ("Each row of the defects sheet belongs to the inspection of the same phase.", False),
        ]
        for row, (text, bold) in enumerate(lines, start=1):
            cell = sheet.cell(row=row, column=1, value=text)
            cell.font = Font(bold=bold, size=12 if bold else 11)
        sheet.column_dimensions["A"].width = 110

    def heads(self, sheet: Worksheet, keys: list[str], zh: list[str], en: list[str],
              widths: list[int]) -> None:
        for column, (key, zh_text, en_text, width) in enumerate(zip(keys, zh, en, widths,
                                                                    strict=True), start=1):
            sheet.cell(row=1, column=column, value=key).font = _KEY_FONT
            for row, text in ((2, zh_text), (3, en_text)):
                cell = sheet.cell(row=row, column=column, value=text)
                cell.font, cell.fill = Font(bold=True), _HEAD_FILL
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.freeze_panes = f"A{FIRST_ROW}"

    def project(self, data: Mapping[str, Any]) -> None:
        sheet = self.book.create_sheet(PROJECT)
        self.heads(sheet, ["key", "label_zh", "label_en", "value"],
                   ["字段", "说明", "说明（英文）", "值"],
                   ["Field", "Meaning (Chinese)", "Meaning", "Value"], [28, 30, 40, 36])
        values = {"stage": self.stage.value, **flat_project(data)}
        for row, (path, spec) in enumerate(project_rows(), start=FIRST_ROW):
            name = path.rsplit(".", 1)[-1]
            sheet.cell(row=row, column=1, value=path).font = _KEY_FONT
            sheet.cell(row=row, column=2, value=self.label(name, Lang.ZH))
            sheet.cell(row=row, column=3, value=self.label(name, Lang.EN))
            cell = sheet.cell(row=row, column=4)
            put(cell, to_cell(values.get(path), spec))
            self.validate(sheet, spec, f"D{row}")

    def list_sheet(self, spec: Sheet, data: Mapping[str, Any]) -> None:
        sheet = self.book.create_sheet(spec.name)
        keys = [c.key for c in spec.columns]
        self.heads(sheet, keys, [self.label(k, Lang.ZH) for k in keys],
                   [self.label(k, Lang.EN) for k in keys], [max(14, len(k) + 4) for k in keys])
        for column, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(column)
            last = FIRST_ROW + TEMPLATE_ROWS
            self.validate(sheet, col.spec, f"{letter}{FIRST_ROW}:{letter}{last}")
            if col.spec.choices:
                sheet.cell(row=1, column=column).comment = Comment(
                    "\n".join(f"{c} = {self.catalog.policy.label('kind', c, Lang.ZH)}"
                              for c in col.spec.choices), "riskengine", width=260, height=200)
        for row, item in enumerate(items_of(spec, data), start=FIRST_ROW):
            for column, col in enumerate(spec.columns, start=1):
                put(sheet.cell(row=row, column=column), to_cell(item.get(col.key), col.spec))

    def checks(self, values: Mapping[str, Any]) -> None:
        sheet = self.book.create_sheet(CHECKS)
        self.heads(sheet, ["key", "type", "description_zh", "description_en", "value"],
                   ["键", "类型", "说明", "说明（英文）", "值"],
                   ["Key", "Type", "Description (Chinese)", "Description", "Value"],
                   [34, 8, 44, 52, 16])
        for row, (key, check) in enumerate(sorted(self.catalog.checks(self.stage).items()),
                                           start=FIRST_ROW):
            spec = ItemField(check.type)
            sheet.cell(row=row, column=1, value=key).font = Font(bold=True)
            sheet.cell(row=row, column=2, value=check.type.value)
            sheet.cell(row=row, column=3, value=check.description[Lang.ZH])
            sheet.cell(row=row, column=4, value=check.description[Lang.EN])
            put(sheet.cell(row=row, column=5), to_cell(values.get(key), spec))
            self.validate(sheet, spec, f"E{row}")

    def validate(self, sheet: Worksheet, spec: ItemField, cells: str) -> None:
        """Give cells a dropdown (enums, booleans), a number check or a date format."""
        rule: DataValidation | None = None
        if spec.choices and spec.type != "list":
            rule = DataValidation(type="list", formula1=self.vocabulary(spec.choices),
                                  allow_blank=True)
        elif spec.type == CheckType.BOOL:
            rule = DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True)
        elif spec.type == CheckType.INT:
            rule = DataValidation(type="whole", operator="between", formula1="0",
                                  formula2="1000000000", allow_blank=True)
        elif spec.type == CheckType.NUMBER:
            rule = DataValidation(type="decimal", operator="between", formula1="-1000000000000",
                                  formula2="1000000000000", allow_blank=True)
        if rule is not None:
            rule.error, rule.errorTitle, rule.showErrorMessage = (
                "不在允许的取值内 / not an allowed value", "riskengine", True)
            sheet.add_data_validation(rule)
            rule.add(cells)
        if spec.type == CheckType.DATE:
            for row in sheet[cells] if ":" in cells else ((sheet[cells],),):
                for cell in row:
                    cell.number_format = _DATE_FORMAT

    def vocabulary(self, choices: tuple[str, ...]) -> str:
        """Return a reference to the choices on the hidden vocabulary sheet (no length limit)."""
        if choices not in self.vocab:
            sheet = (self.book[VOCAB] if VOCAB in self.book.sheetnames
                     else self.book.create_sheet(VOCAB))
            sheet.sheet_state = "hidden"
            column = get_column_letter(len(self.vocab) + 1)
            for row, choice in enumerate(choices, start=1):
                sheet[f"{column}{row}"] = choice
            self.vocab[choices] = f"{VOCAB}!${column}$1:${column}${len(choices)}"
        return self.vocab[choices]


def put(cell: Cell, value: Any) -> None:
    """Set a cell; text starting with `=` stays text (never a formula from submitted data)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def to_cell(value: Any, spec: ItemField) -> Any:
    """Return a checklist value as a cell value: dates as dates, lists as comma-separated."""
    if value is None:
        return None
    if spec.type == "list":
        return ", ".join(value) if value else EMPTY_LIST
    if spec.type == CheckType.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def flat_project(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {f"project.{k}": v for k, v in (data.get("project") or {}).items()}
    out.update({f"milestones.{k}": v for k, v in (data.get("milestones") or {}).items()})
    out.update({k: data[k] for k in ("stage", "as_of", "submitted_by") if k in data})
    return out


def items_of(spec: Sheet, data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield a sheet's rows from a checklist: a nested item carries its parent's link field."""
    if spec.parent is None:
        yield from data.get(spec.name) or []
        return
    assert spec.link is not None
    for parent in data.get(spec.parent) or []:
        for child in parent.get(spec.name) or []:
            yield {spec.link: parent.get(spec.link), **child}


def write_template(catalog: Catalog, stage: Stage,
                   checklist: Mapping[str, Any] | None = None) -> bytes:
    """Return the .xlsx template of a stage; filled with `checklist` when given."""
    return _Writer(catalog, stage).build(checklist)


# --- reading -----------------------------------------------------------------------------------


@dataclass
class Reading:
    """A checklist read from a workbook, with the cell each of its paths came from."""

    checklist: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)
    rows: dict[str, str] = field(default_factory=dict)  # item path -> first cell of its row
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, where: str, message: str) -> None:
        self.problems.setdefault(where, []).append(message)

    def locate(self, path: str) -> str:
        """Return the cell (or row, or sheet) a validator path points to."""
        if path in self.cells:
            return self.cells[path]
        parts = path.split(".")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.rows:
                return self.rows[prefix]
        return parts[0] if parts[0] in {s.name for s in SHEETS} | {CHECKS} else PROJECT


class _Reader:
    """Reads the sheets of a filled template into a checklist."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.out = Reading()
        self.codes: dict[tuple[str, ...], dict[str, str]] = {}

    def code(self, value: str, choices: tuple[str, ...]) -> str:
        """Return the vocabulary value a cell names by its value or its zh/en label."""
        if choices not in self.codes:
            label = self.catalog.policy.label
            table = {c.lower(): c for c in choices}
            for choice in choices:
                for lang in Lang:
                    table.setdefault(label("kind", choice, lang).lower(), choice)
            self.codes[choices] = table
        return self.codes[choices].get(value.strip().lower(), value.strip())

    def value(self, raw: Any, spec: ItemField) -> Any:
        """Return a cell's value as the contract's JSON type (as given when it cannot be)."""
        if isinstance(raw, str) and spec.type != CheckType.STRING:
            raw = raw.strip()
        if raw is None or raw == "":
            return None
        if spec.type == "list":
            if str(raw).strip().lower() in _EMPTY_WORDS:
                return []
            return [self.code(part, spec.choices) for part in _SPLIT.split(str(raw)) if part]
        return {CheckType.BOOL: _bool, CheckType.INT: _int, CheckType.NUMBER: _number,
                CheckType.DATE: _date}.get(CheckType(spec.type), lambda v: self.text(v, spec))(raw)

    def text(self, raw: Any, spec: ItemField) -> Any:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, (dt.date, dt.datetime)):
            raw = raw.isoformat()[:10]
        text = str(raw).strip()
        return self.code(text, spec.choices) if spec.choices else text

    def read(self, content: bytes) -> Reading:
        book = open_workbook(content)
        missing = [s for s in (PROJECT, CHECKS, *(s.name for s in SHEETS))
                   if s not in book.sheetnames]
        if missing:
            raise WorkbookInvalid("this is not a riskengine checklist template",
                                  {"workbook": [f"sheet {name!r} is missing" for name in missing]})
        self.project(book[PROJECT])
        for spec in SHEETS:
            self.list_sheet(book[spec.name], spec)
        self.checks(book[CHECKS])
        book.close()
        return self.out

    def project(self, sheet: Worksheet) -> None:
        types = dict(project_rows())
        out = self.out.checklist
        for row, cells in _rows(sheet):
            path = str(cells[0] or "").strip()
            if not path:
                continue
            if path not in types:
                self.out.problem(f"{PROJECT}!A{row}", f"unknown field {path!r}")
                continue
            value = self.value(cells[3] if len(cells) > 3 else None, types[path])
            self.out.cells[path] = f"{PROJECT}!D{row}"
            if value is None:
                continue
            head, _, tail = path.partition(".")
            if tail:
                out.setdefault(head, {})[tail] = value
            else:
                out[head] = value
        out.setdefault("milestones", {})

    def header(self, sheet: Worksheet, spec: Sheet) -> dict[int, Column]:
        known = {c.key: c for c in spec.columns}
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        columns: dict[int, Column] = {}
        for index, key in enumerate(first):
            name = str(key or "").strip()
            if name in known:
                columns[index] = known[name]
            elif name:
                self.out.problem(f"{spec.name}!{get_column_letter(index + 1)}1",
                                 f"unknown column {name!r}; the template's row 1 names the fields")
        present = {c.key for c in columns.values()}
        for col in spec.columns:
            if (col.spec.required or col.key == spec.link) and col.key not in present:
                self.out.problem(f"{spec.name}!A1", f"column {col.key!r} is missing from row 1")
        return columns

    def list_sheet(self, sheet: Worksheet, spec: Sheet) -> None:
        columns = self.header(sheet, spec)
        items: list[dict[str, Any]] | None = [] if spec.parent is None else None
        if items is not None:
            self.out.checklist[spec.name] = items
        for row, cells in _rows(sheet):
            path: str | None
            item: dict[str, Any] = {}
            where: dict[str, str] = {}
            for index, col in columns.items():
                value = self.value(cells[index] if index < len(cells) else None, col.spec)
                where[col.key] = f"{spec.name}!{get_column_letter(index + 1)}{row}"
                if value is not None:
                    item[col.key] = value
            if not item:
                continue
            if items is not None:
                path = f"{spec.name}.{len(items)}"
                items.append(item)
            else:
                path = self.attach(spec, item, where, row)
                if path is None:
                    continue
            self.out.rows[path] = f"{spec.name}!A{row}"
            self.out.cells.update({f"{path}.{k}": v for k, v in where.items()})

    def attach(self, spec: Sheet, item: dict[str, Any], where: dict[str, str], row: int
               ) -> str | None:
        """Put a nested row into the parent item it names; return its path."""
        assert spec.parent is not None and spec.link is not None
        link = item.pop(spec.link, None)
        parents = [i for i, p in enumerate(self.out.checklist.get(spec.parent, []))
                   if p.get(spec.link) == link]
        if len(parents) != 1:
            reason = "no" if not parents else "more than one"
            self.out.problem(where[spec.link], f"{reason} row of sheet {spec.parent!r} has "
                                               f"{spec.link} {link!r}")
            return None
        children = self.out.checklist[spec.parent][parents[0]].setdefault(spec.name, [])
        children.append(item)
        return f"{spec.parent}.{parents[0]}.{spec.name}.{len(children) - 1}"

    def checks(self, sheet: Worksheet) -> None:
        declared: Mapping[str, CheckSpec] = {
            k: v for stage in Stage for k, v in self.catalog.checks(stage).items()}
        values: dict[str, Any] = {}
        for row, cells in _rows(sheet):
            key = str(cells[0] or "").strip()
            if not key:
                continue
            given = cells[4] if len(cells) > 4 else None
            check = declared.get(key)
            value = self.value(given, ItemField(check.type if check else CheckType.STRING))
            self.out.cells[f"checks.{key}"] = f"{CHECKS}!{'E' if check else 'A'}{row}"
            if value is not None:
                values[key] = value
        self.out.checklist["checks"] = values


def _bool(raw: Any) -> Any:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if isinstance(raw, (int, float)):
        text = str(int(raw)) if raw in (0, 1) else text
    return True if text in _TRUE else False if text in _FALSE else raw


def _int(raw: Any) -> Any:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    return raw


def _number(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw else number
    return raw


def _date(raw: Any) -> Any:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 0 < raw < 2958466:
        serial = from_excel(raw)  # a date typed into a cell without a date format
        return serial.date().isoformat() if isinstance(serial, dt.datetime) else raw
    return raw


def _rows(sheet: Worksheet) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for row, cells in enumerate(sheet.iter_rows(min_row=FIRST_ROW, values_only=True),
                                start=FIRST_ROW):
        if row >= FIRST_ROW + MAX_ROWS:
            if any(c not in (None, "") for c in cells):
                raise WorkbookInvalid("the workbook has too many rows",
                                      {sheet.title: [f"at most {MAX_ROWS} rows of data"]})
            continue
        yield row, tuple(cells)


def open_workbook(content: bytes) -> Any:
    """Open an uploaded .xlsx read-only, refusing what is not one or unpacks too large."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise WorkbookInvalid("the workbook is too large",
                                  {"workbook": [f"unpacks to more than {MAX_UNPACKED} bytes"]})
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except WorkbookInvalid:
        raise
    except Exception as error:  # openpyxl raises many kinds on a damaged or foreign file
        raise WorkbookInvalid("the file is not an Excel workbook (.xlsx)",
                              {"workbook": [type(error).__name__]}) from error


def read_workbook(content: bytes, catalog: Catalog) -> Reading:
    """Read a filled template; problems of the sheets themselves are in `problems`."""
    return _Reader(catalog).read(content)


def locate(error: ChecklistInvalid, reading: Reading) -> dict[str, list[str]]:
    """Return a validation error's problems keyed by the cells their paths came from."""
    details: dict[str, list[str]] = {}
    for path, problems in error.details.items():
        details.setdefault(reading.locate(path), []).extend(problems)
    return details


def load_checklist(content: bytes, catalog: Catalog, validator: ChecklistValidator
                   ) -> dict[str, Any]:
    """Return the checklist a filled template holds (JSON values, dates as YYYY-MM-DD), checked
    against the contract; raise WorkbookInvalid with every problem at its cell."""
    reading = read_workbook(content, catalog)
    details = {k: list(v) for k, v in reading.problems.items()}
    try:
        validator.validate(reading.checklist)
    except ChecklistInvalid as error:
        for where, problems in locate(error, reading).items():
            details.setdefault(where, []).extend(problems)
    if details:
        raise WorkbookInvalid("the workbook has invalid values", details)
    return reading.checklist
