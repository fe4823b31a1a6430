"""A checklist as tables, for people who fill in grids (Excel, a web form): one table per list,
a project table, a checks table; text typed into cells read back into the contract's types,
and where each value came from, so every problem can be shown at its cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openpyxl.utils.datetime import from_excel

from riskengine.checklist.contract import LISTS, ItemField
from riskengine.checklist.validation import ChecklistValidator
from riskengine.checklist.wording import Locate, Wording, choice_label, worded_error
from riskengine.errors import WorkbookInvalid
from riskengine.rules.catalog import DEFAULT_ROOT, Catalog, CheckSpec
from riskengine.vocabulary import MILESTONES, CheckType, Lang, Stage

PROJECT, CHECKS = "project", "checks"
EMPTY_LIST = "none"  # a multi-value field stated empty; an empty cell is "not stated"
SYNONYMS = DEFAULT_ROOT / "synonyms.yaml"
_SPLIT = re.compile(r"[,，;；、]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Synonyms:
    """Words typed into cells for yes, no and "none" (rulesets/synonyms.yaml), lower case."""

    true: frozenset[str]
    false: frozenset[str]
    empty: frozenset[str]


@cache
def synonyms(path: Path = SYNONYMS) -> Synonyms:
    """The synonym table; the codes themselves (true, false, none) whatever the file says."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    words = data.get("boolean") or {}

    def lowered(values: Iterable[Any], *codes: str) -> frozenset[str]:
        return frozenset({str(v).strip().lower() for v in values} | set(codes))
    return Synonyms(lowered(words.get("true") or (), "true"),
                    lowered(words.get("false") or (), "false"),
                    lowered(data.get("empty_list") or (), EMPTY_LIST))


@dataclass(frozen=True)
class Column:
    key: str
    spec: ItemField


@dataclass(frozen=True)
class Table:
    """One list as a table; a nested list (defects) names its parent item by `link`."""

    name: str
    columns: tuple[Column, ...]
    parent: str | None = None
    link: str | None = None  # the parent's field a row names to say which item it belongs to


def list_tables() -> tuple[Table, ...]:
    """Return a table per contract list, a nested list right after its parent."""
    tables: list[Table] = []
    for name, spec in LISTS.items():
        tables.append(Table(name, tuple(Column(k, f) for k, f in spec.fields.items())))
        for child, child_spec in spec.nested.items():
            link = spec.kind_field or spec.identity[0]
            columns = (Column(link, spec.fields[link]),) + tuple(
                Column(k, f) for k, f in child_spec.fields.items())
            tables.append(Table(child, columns, parent=name, link=link))
    return tuple(tables)


TABLES = list_tables()


def project_rows() -> tuple[tuple[str, ItemField], ...]:
    """Return the rows of the project table: a checklist path and its type."""
    text, date = ItemField(CheckType.STRING), ItemField(CheckType.DATE)
    return (("project.code", ItemField(CheckType.STRING, (), True)), ("project.name", text),
            ("project.city", text),
            ("stage", ItemField(CheckType.STRING, tuple(s.value for s in Stage), True)),
            ("as_of", ItemField(CheckType.DATE, (), True)), ("submitted_by", text),
            *((f"milestones.{m}", date) for m in MILESTONES))


def flat_project(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the project table's values of a checklist, keyed by path."""
    out = {f"project.{k}": v for k, v in (data.get("project") or {}).items()}
    out.update({f"milestones.{k}": v for k, v in (data.get("milestones") or {}).items()})
    out.update({k: data[k] for k in ("stage", "as_of", "submitted_by") if k in data})
    return out


def items_of(table: Table, data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield a table's rows from a checklist: a nested item carries its parent's link field."""
    if table.parent is None:
        yield from data.get(table.name) or []
        return
    assert table.link is not None
    for parent in data.get(table.parent) or []:
        for child in parent.get(table.name) or []:
            yield {table.link: parent.get(table.link), **child}


def as_text(value: Any, spec: ItemField) -> str:
    """Return a checklist value as the text a person would type into its cell."""
    if value is None:
        return ""
    if spec.type == "list":
        return ", ".join(value) if value else EMPTY_LIST
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Converter:
    """Reads what people type into cells as the contract's JSON values: a vocabulary value by
    its code or its zh/en label, yes/no words and their synonyms, numbers and dates typed as
    text. A value it cannot read is returned as given, for the validator to name the problem."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.codes: dict[tuple[str, ...], dict[str, str]] = {}
        words = synonyms()
        labels = {code: {choice_label(catalog.policy, code, lang).lower() for lang in Lang}
                  for code in ("true", "false")}
        self.words = Synonyms(words.true | labels["true"], words.false | labels["false"],
                              words.empty)

    def code(self, value: str, choices: tuple[str, ...]) -> str:
        if choices not in self.codes:
            table = {c.lower(): c for c in choices}
            for choice in choices:
                for lang in Lang:
                    table.setdefault(choice_label(self.catalog.policy, choice, lang).lower(),
                                     choice)
            self.codes[choices] = table
        return self.codes[choices].get(value.strip().lower(), value.strip())

    def value(self, raw: Any, spec: ItemField) -> Any:
        """Return a cell's value as the contract's type; None when the cell is empty."""
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            return None
        if spec.type == "list":
            if str(raw).lower() in self.words.empty:
                return []
            return [code for part in _SPLIT.split(str(raw)) if part.strip()
                    for code in self.codes_in(part, spec.choices)]
        reader = {CheckType.BOOL: self.yes_no, CheckType.INT: _int, CheckType.NUMBER: _number,
                  CheckType.DATE: _date}.get(CheckType(spec.type))
        return reader(raw) if reader else self.text(raw, spec)

    def codes_in(self, part: str, choices: tuple[str, ...]) -> list[str]:
        """The codes one part of a multi-value cell names: a label (which may hold spaces),
        else values separated by spaces (`school metro`)."""
        code = self.code(part, choices)
        if code in choices or not _SPACES.search(part.strip()):
            return [code]
        return [self.code(word, choices) for word in _SPACES.split(part.strip()) if word]

    def yes_no(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if isinstance(raw, (int, float)):
            text = str(int(raw)) if raw in (0, 1) else text
        return True if text in self.words.true else False if text in self.words.false else raw

    def text(self, raw: Any, spec: ItemField) -> str:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, (dt.date, dt.datetime)):
            raw = raw.isoformat()[:10]
        text = str(raw)
        return self.code(text, spec.choices) if spec.choices else text


def _int(raw: Any) -> Any:
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    # Bounded: int() refuses text of more than 4300 digits; far fewer already fail validation.
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,30}", raw):
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


@dataclass
class Reading:
    """A checklist read from tables, with where each of its paths came from."""

    checklist: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)  # path -> cell
    rows: dict[str, str] = field(default_factory=dict)  # item path -> its row's first cell
    problems: dict[str, list[str]] = field(default_factory=dict)
    fallback: str = PROJECT

    def problem(self, where: str, message: str) -> None:
        self.problems.setdefault(where, []).append(message)

    def locate(self, path: str) -> str:
        """Return the cell (or row, or table) a validator path points to."""
        if path in self.cells:
            return self.cells[path]
        parts = path.split(".")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.cells:  # an element of a multi-value cell (mentions.1)
                return self.cells[prefix]
            if prefix in self.rows:
                return self.rows[prefix]
        return parts[0] if parts[0] in {t.name for t in TABLES} | {CHECKS} else self.fallback


Cells = Mapping[str, tuple[Any, str]]  # a row: column key -> (raw value, where)


class Assembler:
    """Builds a checklist from the rows of its tables, remembering where each value was."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.convert = Converter(catalog)
        self.out = Reading()
        self.types = dict(project_rows())
        self.declared: dict[str, CheckSpec] = {
            k: v for stage in Stage for k, v in catalog.checks(stage).items()}

    def project(self, entries: Iterable[tuple[str, Any, str]]) -> None:
        """Take (path, raw, where) of the project table."""
        out = self.out.checklist
        for path, raw, where in entries:
            if path not in self.types:
                self.out.problem(where, f"unknown field {path!r}")
                continue
            value = self.convert.value(raw, self.types[path])
            self.out.cells[path] = where
            if value is None:
                continue
            head, _, tail = path.partition(".")
            if tail:
                out.setdefault(head, {})[tail] = value
            else:
                out[head] = value
        out.setdefault("milestones", {})

    def items(self, table: Table, rows: Iterable[tuple[str, Cells]]) -> None:
        """Take the rows of a list table: (where the row starts, its cells); empty rows skip."""
        columns = {c.key: c for c in table.columns}
        items: list[dict[str, Any]] | None = None
        if table.parent is None:
            items = self.out.checklist.setdefault(table.name, [])
        for row_where, cells in rows:
            item = {key: value for key, (raw, _) in cells.items()
                    if (value := self.convert.value(raw, columns[key].spec)) is not None}
            if not item:
                continue
            path: str | None
            if items is not None:
                path = f"{table.name}.{len(items)}"
                items.append(item)
            else:
                path = self.attach(table, item, cells)
            if path is not None:
                self.out.rows[path] = row_where
                self.out.cells.update({f"{path}.{k}": where for k, (_, where) in cells.items()})

    def attach(self, table: Table, item: dict[str, Any], cells: Cells) -> str | None:
        """Put a nested row into the parent item it names; return its path."""
        assert table.parent is not None and table.link is not None
        link = item.pop(table.link, None)
        parents = [i for i, p in enumerate(self.out.checklist.get(table.parent, []))
                   if p.get(table.link) == link]
        if len(parents) != 1:
            reason = "no" if not parents else "more than one"
            where = cells[table.link][1] if table.link in cells else table.name
            self.out.problem(where, f"{reason} row of {table.parent!r} has "
                                    f"{table.link} {link!r}")
            return None
        children = self.out.checklist[table.parent][parents[0]].setdefault(table.name, [])
        children.append(item)
        return f"{table.parent}.{parents[0]}.{table.name}.{len(children) - 1}"

    def checks(self, entries: Iterable[tuple[str, Any, str, str]]) -> None:
        """Take (key, raw, where the value is, where the key is) of the checks table."""
        values: dict[str, Any] = {}
        for key, raw, where, key_where in entries:
            check = self.declared.get(key)
            value = self.convert.value(raw, ItemField(check.type if check else CheckType.STRING))
            self.out.cells[f"checks.{key}"] = where if check else key_where
            if value is not None:
                values[key] = value
            elif check is None:  # with a value, the validator names it and the allowed keys
                self.out.problem(key_where, f"unknown check key {key!r}")
        self.out.checklist["checks"] = values


Located = list[tuple[str, str | None, str]]  # (where it is shown, checklist path, problem)


def check(reading: Reading, validator: ChecklistValidator
          ) -> tuple[dict[str, Any] | None, Located]:
    """Validate a reading once: return the validated checklist (None when it has problems)
    and every problem, the validator's included, at where it is shown."""
    located: Located = [(where, None, p) for where, problems in reading.problems.items()
                        for p in problems]
    valid, _, problems = validator.problems(reading.checklist)
    located += [(reading.locate(path), path, problem) for path, problem in problems]
    return (None if located else valid), located


def rows_of(reading: Reading, wording: Wording) -> Callable[[Lang], Locate]:
    """How a problem names another row of the reading (a duplicate's twin): by its cell."""
    def in_lang(lang: Lang) -> Locate:
        def locate(path: str) -> str:
            where = reading.rows.get(path) or reading.locate(path)
            if "!" in where:
                return wording.sheet_cell(where, lang)
            return " ".join(wording.place(path, lang))
        return locate
    return in_lang


def invalid(reading: Reading, located: Located, wording: Wording) -> WorkbookInvalid:
    """The reading's problems as one error, worded in every language (Chinese by default)."""
    worded = wording.worded("the workbook has invalid values", located, rows_of(reading, wording))
    message, details = worded[Lang.ZH.value]
    error = WorkbookInvalid(message, details)
    error.worded = worded
    return error


def validated(reading: Reading, validator: ChecklistValidator) -> dict[str, Any]:
    """Return a reading's validated checklist; raise WorkbookInvalid with every problem."""
    valid, located = check(reading, validator)
    if valid is None:
        raise invalid(reading, located, validator.wording)
    return valid


def refused(error: WorkbookInvalid, catalog: Catalog) -> WorkbookInvalid:
    """A workbook refused before its values are read (no sheet, too large), worded."""
    worded_error(error, Wording.of(catalog))
    return error
