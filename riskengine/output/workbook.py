"""Excel in and out: the checklist template of a stage, and a filled template read back.

The sheets are generated from the contract (`riskengine.checklist.contract`) and the stage's
`checks`, so a new list field or check key appears in the template without code changes.
Reading maps every problem, ours and the validator's, back to the cell it came from
(`offsite_factors!C4`).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from riskengine.checklist.contract import EVIDENCE_LISTS, ItemField
from riskengine.checklist.tables import (
    CHECKS,
    EMPTY_LIST,
    PROJECT,
    TABLES,
    Assembler,
    Reading,
    Table,
    flat_project,
    items_of,
    project_rows,
    refused,
    validated,
)
from riskengine.checklist.validation import ChecklistValidator
from riskengine.checklist.wording import choice_label
from riskengine.errors import WorkbookInvalid
from riskengine.rules.catalog import Catalog, Policy
from riskengine.vocabulary import CheckType, Lang, Stage

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_ROW = 4  # row 1: field keys (read back), row 2: Chinese, row 3: English headers
TEMPLATE_ROWS = 200  # empty rows that get dropdowns and formats
MAX_ROWS = 2000  # per sheet, as the validator allows per list
MAX_UNPACKED = 20 * 1024 * 1024  # an .xlsx of a checklist unpacks to well under 1 MB
VOCAB, README = "_vocab", "readme"
_HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")
_KEY_FONT = Font(color="7F7F7F", size=8)
_DATE_FORMAT = "yyyy-mm-dd"


# --- writing -----------------------------------------------------------------------------------


class _Writer:
    """Builds the template of one stage, optionally filled with a checklist."""

    def __init__(self, catalog: Catalog, stage: Stage, lang: Lang = Lang.ZH) -> None:
        self.catalog, self.stage, self.lang = catalog, stage, lang
        self.book = Workbook()
        self.vocab: dict[tuple[str, ...], str] = {}
        self.cells = CellWriter(catalog.policy, lang)

    def label(self, name: str, lang: Lang) -> str:
        return self.catalog.policy.label("field", name, lang)

    def build(self, checklist: Mapping[str, Any] | None) -> bytes:
        data = checklist or {}
        self.readme()
        self.project(data)
        for sheet in TABLES:
            self.list_sheet(sheet, data)
        self.checks(data.get("checks") or {})
        for page in self.book.worksheets:  # rows 2-3: the Chinese and English headers
            print_setup(page, None if page.title in (README, VOCAB) else "2:3")
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
            ("类型、状态、是/否从下拉列表选择（也接受 有/无、Y/N、√/× 等写法）；日期为日期单元格"
             "（YYYY-MM-DD）；空单元格表示“未说明”（规则会视为信息缺失）。", False),
            ("Kinds, statuses and yes/no: pick from the dropdown (Y/N, √/× and the like are read "
             "too); dates are date cells (YYYY-MM-DD); an empty cell means “not stated”, "
             "which rules count as missing information.", False),
            ("多选字段（如 mentions）用逗号或顿号分隔；明确为空时填写“无”。", False),
            ("Multi-value fields (such as mentions) take comma-separated values; write "
             f"{EMPTY_LIST} when there are none.", False),
            *self.evidence_lines(),
            ("defects 工作表的每行通过 phase 列归属于 inspections 工作表中同一阶段的检查。", False),
            ("Each row of the defects sheet belongs to the inspection of the same phase.", False),
        ]
        for row, (text, bold) in enumerate(lines, start=1):
            cell = sheet.cell(row=row, column=1, value=text)
            cell.font = Font(bold=bold, size=12 if bold else 11)
        sheet.column_dimensions["A"].width = 110

    def evidence_lines(self) -> list[tuple[str, bool]]:
        """The readme's words on the evidence file ids column of the lists that have one."""
        policy = self.catalog.policy
        sheets = {lang: ("、" if lang is Lang.ZH else ", ").join(
            policy.label("section", name, lang) for name in EVIDENCE_LISTS) for lang in Lang}
        return [(f"{self.label('attachments', Lang.ZH)}（{sheets[Lang.ZH]}）："
                 f"{policy.label('hint', 'attachments', Lang.ZH)}。", False),
                (f"{self.label('attachments', Lang.EN)} ({sheets[Lang.EN]}): "
                 f"{policy.label('hint', 'attachments', Lang.EN)}.", False)]

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
            put(cell, self.cells.value(values.get(path), spec))
            self.validate(sheet, spec, f"D{row}")

    def list_sheet(self, spec: Table, data: Mapping[str, Any]) -> None:
        sheet = self.book.create_sheet(spec.name)
        keys = [c.key for c in spec.columns]
        self.heads(sheet, keys, [self.label(k, Lang.ZH) for k in keys],
                   [self.label(k, Lang.EN) for k in keys], [max(14, len(k) + 4) for k in keys])
        for column, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(column)
            last = FIRST_ROW + TEMPLATE_ROWS
            self.validate(sheet, col.spec, f"{letter}{FIRST_ROW}:{letter}{last}")
            self.hint(sheet, col.key, f"{letter}{FIRST_ROW}:{letter}{last}")
            if col.spec.choices:
                sheet.cell(row=1, column=column).comment = Comment(
                    "\n".join(f"{c} = {self.catalog.policy.label('kind', c, Lang.ZH)}"
                              for c in col.spec.choices), "riskengine", width=260, height=200)
        for row, item in enumerate(items_of(spec, data), start=FIRST_ROW):
            for column, col in enumerate(spec.columns, start=1):
                put(sheet.cell(row=row, column=column),
                    self.cells.value(item.get(col.key), col.spec))

    def hint(self, sheet: Worksheet, key: str, cells: str) -> None:
        """What to type into a field (policy.yaml `labels.hint`), shown when a cell of its
        column is selected and as a note on its headers."""
        zh, en = (self.catalog.policy.label("hint", key, lang) for lang in (Lang.ZH, Lang.EN))
        if zh == key:
            return
        rule = DataValidation(allow_blank=True, showInputMessage=True,
                              promptTitle=self.label(key, Lang.ZH)[:32],
                              prompt=f"{zh}\n{en}"[:255])
        sheet.add_data_validation(rule)
        rule.add(cells)
        column = cells.split(":", 1)[0].rstrip("0123456789")
        for row, text in ((2, zh), (3, en)):
            sheet[f"{column}{row}"].comment = Comment(text, "riskengine", width=300, height=120)

    def checks(self, values: Mapping[str, Any]) -> None:
        sheet = self.book.create_sheet(CHECKS)
        self.heads(sheet, ["key", "type", "description_zh", "description_en", "value"],
                   ["键", "类型", "说明", "说明（英文）", "值"],
                   ["Key", "Type", "Description (Chinese)", "Description", "Value"],
                   [34, 8, 44, 52, 16])
        for row, (key, declared) in enumerate(sorted(self.catalog.checks(self.stage).items()),
                                           start=FIRST_ROW):
            spec = ItemField(declared.type)
            sheet.cell(row=row, column=1, value=key).font = Font(bold=True)
            sheet.cell(row=row, column=2,
                       value=self.catalog.policy.label("type", declared.type.value, self.lang))
            sheet.cell(row=row, column=3, value=declared.description[Lang.ZH])
            sheet.cell(row=row, column=4, value=declared.description[Lang.EN])
            put(sheet.cell(row=row, column=5), self.cells.value(values.get(key), spec))
            self.validate(sheet, spec, f"E{row}")

    def validate(self, sheet: Worksheet, spec: ItemField, cells: str) -> None:
        """Give cells a dropdown (enums, booleans), a number check or a date format."""
        rule: DataValidation | None = None
        if spec.choices and spec.type != "list":
            rule = DataValidation(type="list", formula1=self.vocabulary(spec.choices),
                                  allow_blank=True)
        elif spec.type == CheckType.BOOL:
            rule = DataValidation(type="list", formula1=f'"{self.cells.yes},{self.cells.no}"',
                                  allow_blank=True)
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
        # Dates as dates; free text lists (file ids) as text, so Excel never reads one as a
        # number (`12e45…`).
        shown = _DATE_FORMAT if spec.type == CheckType.DATE else "@" \
            if spec.type == "list" and not spec.choices else None
        if shown is not None:
            for row in sheet[cells] if ":" in cells else ((sheet[cells],),):
                for cell in row:
                    cell.number_format = shown

    def vocabulary(self, choices: tuple[str, ...]) -> str:
        """Return a reference to the choices on the hidden vocabulary sheet (no length limit)."""
        if choices not in self.vocab:
            sheet = (self.book[VOCAB] if VOCAB in self.book.sheetnames
                     else self.book.create_sheet(VOCAB))
            sheet.sheet_state = "hidden"
            column = get_column_letter(len(self.vocab) + 1)
            for row, choice in enumerate(choices, start=1):
                sheet[f"{column}{row}"] = self.cells.choice(choice)
            self.vocab[choices] = f"{VOCAB}!${column}$1:${column}${len(choices)}"
        return self.vocab[choices]


def print_setup(sheet: Worksheet, title_rows: str | None) -> None:
    """Print a sheet on A4 landscape, all columns on the page width (as many pages down as it
    takes), `title_rows` (such as "1:1") repeated at the top of every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    properties = sheet.sheet_properties
    if properties.pageSetUpPr is None:
        properties.pageSetUpPr = PageSetupProperties()
    properties.pageSetUpPr.fitToPage = True
    if title_rows:
        sheet.print_title_rows = title_rows


def put(cell: Cell | MergedCell, value: Any) -> None:
    """Set a cell; text starting with `=` stays text (never a formula from submitted data)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


class CellWriter:
    """Checklist values as a person reads them in a cell: vocabulary values and yes/no by
    their labels in the template's language (read back as the codes), dates as dates."""

    def __init__(self, policy: Policy, lang: Lang) -> None:
        self.policy, self.lang = policy, lang
        self.yes, self.no = self.choice("true"), self.choice("false")

    def choice(self, code: str) -> str:
        return choice_label(self.policy, code, self.lang)

    def value(self, value: Any, spec: ItemField) -> Any:
        if isinstance(value, bool) and spec.type == CheckType.BOOL:
            return self.yes if value else self.no
        if spec.choices and isinstance(value, str) and value in spec.choices:
            return self.choice(value)
        if spec.type == "list" and isinstance(value, list) and value:
            if all(isinstance(v, str) and v in spec.choices for v in value):
                return ("、" if self.lang is Lang.ZH else ", ").join(
                    self.choice(v) for v in value)
        if spec.type == "list" and value == [] and self.lang is Lang.ZH:
            return "无"
        return to_cell(value, spec)


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


def write_template(catalog: Catalog, stage: Stage,
                   checklist: Mapping[str, Any] | None = None, lang: Lang = Lang.ZH) -> bytes:
    """Return the .xlsx template of a stage, its dropdowns and values in `lang`; filled with
    `checklist` when given."""
    return _Writer(catalog, stage, lang).build(checklist)


# --- reading -----------------------------------------------------------------------------------


def _rows(sheet: Worksheet) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for row, cells in enumerate(sheet.iter_rows(min_row=FIRST_ROW, values_only=True),
                                start=FIRST_ROW):
        if row >= FIRST_ROW + MAX_ROWS:
            if any(c not in (None, "") for c in cells):
                raise WorkbookInvalid("the workbook has too many rows",
                                      {sheet.title: [f"at most {MAX_ROWS} rows of data"]})
            continue
        yield row, tuple(cells)


def _cell(cells: tuple[Any, ...], index: int) -> Any:
    return cells[index] if index < len(cells) else None


class _Reader:
    """Feeds the sheets of a filled template to the tables' assembler."""

    def __init__(self, catalog: Catalog) -> None:
        self.assembler = Assembler(catalog)
        self.out = self.assembler.out

    def read(self, content: bytes) -> Reading:
        book = open_workbook(content)
        missing = [s for s in (PROJECT, CHECKS, *(t.name for t in TABLES))
                   if s not in book.sheetnames]
        if missing:
            raise WorkbookInvalid("this is not a riskengine checklist template",
                                  {"workbook": [f"sheet {name!r} is missing" for name in missing]})
        self.assembler.project(
            (str(cells[0]).strip(), _cell(cells, 3), f"{PROJECT}!D{row}")
            for row, cells in _rows(book[PROJECT]) if str(cells[0] or "").strip())
        for table in TABLES:
            self.list_sheet(book[table.name], table)
        self.assembler.checks(
            (str(cells[0]).strip(), _cell(cells, 4), f"{CHECKS}!E{row}", f"{CHECKS}!A{row}")
            for row, cells in _rows(book[CHECKS]) if str(cells[0] or "").strip())
        book.close()
        return self.out

    def header(self, sheet: Worksheet, table: Table) -> dict[int, str]:
        known = {c.key for c in table.columns}
        first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        columns: dict[int, str] = {}
        for index, key in enumerate(first):
            name = str(key or "").strip()
            if name in known:
                columns[index] = name
            elif name:
                self.out.problem(f"{table.name}!{get_column_letter(index + 1)}1",
                                 f"unknown column {name!r}; the template's row 1 names the fields")
        present = set(columns.values())
        for col in table.columns:
            if (col.spec.required or col.key == table.link) and col.key not in present:
                self.out.problem(f"{table.name}!A1", f"column {col.key!r} is missing from row 1")
        return columns

    def list_sheet(self, sheet: Worksheet, table: Table) -> None:
        columns = self.header(sheet, table)
        letters = {i: get_column_letter(i + 1) for i in columns}
        self.assembler.items(table, (
            (f"{table.name}!A{row}",
             {key: (_cell(cells, i), f"{table.name}!{letters[i]}{row}")
              for i, key in columns.items()})
            for row, cells in _rows(sheet)))


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
    """Read a filled template; problems of the sheets themselves are in `problems`. A file
    that is no template at all is refused (WorkbookInvalid, worded in every language)."""
    try:
        return _Reader(catalog).read(content)
    except WorkbookInvalid as error:
        raise refused(error, catalog) from None


def load_checklist(content: bytes, catalog: Catalog, validator: ChecklistValidator
                   ) -> dict[str, Any]:
    """Return the checklist a filled template holds (JSON values, dates as YYYY-MM-DD), checked
    against the contract; raise WorkbookInvalid with every problem at its cell."""
    reading = read_workbook(content, catalog)
    validated(reading, validator)
    return reading.checklist
