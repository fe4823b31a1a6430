"""Reports for people: an assessment (and the gate review of it) as XLSX and as PDF.

The XLSX is for the departments' follow-up meetings: every finding with its owner and due date,
one sheet for all and one per owner. The PDF is what a gate-review board reads. Both take the
contract's assessment object (as the API answers it), so they never query anything themselves.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from riskengine.assessment.findings import place_of
from riskengine.errors import RiskEngineError
from riskengine.output.evidence import EvidenceFile, link_lines, pdf_files
from riskengine.output.workbook import print_setup, put
from riskengine.refusals import refusal
from riskengine.rules.catalog import Catalog, bundled_policy
from riskengine.vocabulary import Lang, Owner, Severity, Stage

# The PDF embeds (a subset of) a TrueType CJK font, so a printed or forwarded report looks the
# same on a machine without Chinese fonts. WenQuanYi Micro Hei (Debian's fonts-wqy-microhei,
# Apache-2.0 or GPLv3 with the font exception) has TrueType outlines, which reportlab embeds,
# and proportional Latin glyphs; RISKENGINE_CJK_FONT names another TrueType file (.ttf/.ttc).
CJK_FONT = "WenQuanYiMicroHei"
CJK_FONT_ENV = "RISKENGINE_CJK_FONT"
CJK_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian, Ubuntu: fonts-wqy-microhei
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Fedora
    "/usr/share/fonts/wenquanyi/wqy-microhei.ttc",  # Arch
)
SEVERITY_COLOURS = {"critical": "B42318", "high": "B54708", "medium": "175CD3", "low": "475467"}
GATE_COLOURS = {"fail": "B42318", "conditional": "B54708", "pass": "067647"}

_WORDS: dict[str, dict[Lang, str]] = {
    "title": {Lang.ZH: "风险评估报告", Lang.EN: "Risk assessment report"},
    "review_title": {Lang.ZH: "闸口评审报告", Lang.EN: "Gate review report"},
    "project": {Lang.ZH: "项目", Lang.EN: "Project"},
    "stage": {Lang.ZH: "阶段", Lang.EN: "Stage"},
    "as_of": {Lang.ZH: "评估日", Lang.EN: "As of"},
    "gate": {Lang.ZH: "闸口结论（计算）", Lang.EN: "Gate (computed)"},
    "assessment": {Lang.ZH: "评估", Lang.EN: "Assessment"},
    "rulesets": {Lang.ZH: "规则集版本", Lang.EN: "Rulesets evaluated"},
    "counts": {Lang.ZH: "未关闭发现（按严重度）", Lang.EN: "Findings not resolved, by severity"},
    "decision": {Lang.ZH: "评审决定", Lang.EN: "Decision"},
    "reviewer": {Lang.ZH: "评审人", Lang.EN: "Reviewer"},
    "comments": {Lang.ZH: "意见", Lang.EN: "Comments"},
    "override": {Lang.ZH: "否决理由（管理员）", Lang.EN: "Override justification (admin)"},
    "reference": {Lang.ZH: "所评审的评估（内容哈希）", Lang.EN: "Assessment judged (content hash)"},
    "audit_run": {Lang.ZH: "读取的审计运行", Lang.EN: "Audit run read"},
    "recorded": {Lang.ZH: "记录时间", Lang.EN: "Recorded"},
    "review_status": {Lang.ZH: "评审状态", Lang.EN: "Review status"},
    "blocking_findings": {Lang.ZH: "阻断闸口的发现", Lang.EN: "Blocking findings"},
    "waivers": {Lang.ZH: "豁免", Lang.EN: "Waivers"},
    "findings": {Lang.ZH: "风险发现（按责任部门）", Lang.EN: "Findings by owner"},
    "none": {Lang.ZH: "无", Lang.EN: "None"},
    "attachments": {Lang.ZH: "证据附件", Lang.EN: "Evidence files"},
    "pdf_file": {Lang.ZH: "PDF 文件", Lang.EN: "PDF file"},
    "owner": {Lang.ZH: "责任部门", Lang.EN: "Owner"},
    "owner_code": {Lang.ZH: "部门代码", Lang.EN: "Owner code"},
    "severity": {Lang.ZH: "严重度", Lang.EN: "Severity"},
    "blocking": {Lang.ZH: "阻断", Lang.EN: "Blocking"},
    "status": {Lang.ZH: "状态", Lang.EN: "Status"},
    "due_date": {Lang.ZH: "整改期限", Lang.EN: "Due date"},
    "rule_id": {Lang.ZH: "规则", Lang.EN: "Rule"},
    "title_col": {Lang.ZH: "标题", Lang.EN: "Title"},
    "message": {Lang.ZH: "说明", Lang.EN: "Message"},
    "subject": {Lang.ZH: "对象", Lang.EN: "Subject"},
    "evidence": {Lang.ZH: "证据", Lang.EN: "Evidence"},
    "action": {Lang.ZH: "整改措施", Lang.EN: "Action"},
    "support": {Lang.ZH: "协同部门", Lang.EN: "Support"},
    "escalation": {Lang.ZH: "督办人", Lang.EN: "Escalation"},
    "source": {Lang.ZH: "来源", Lang.EN: "Source"},
    "fingerprint": {Lang.ZH: "指纹", Lang.EN: "Fingerprint"},
    "justification": {Lang.ZH: "理由", Lang.EN: "Justification"},
    "approver": {Lang.ZH: "批准人", Lang.EN: "Approver"},
    "expires": {Lang.ZH: "到期日", Lang.EN: "Expires"},
    "holds": {Lang.ZH: "有效", Lang.EN: "In force"},
    "yes": {Lang.ZH: "是", Lang.EN: "yes"},
    "no": {Lang.ZH: "否", Lang.EN: "no"},
    "summary": {Lang.ZH: "概要", Lang.EN: "Summary"},
    "review": {Lang.ZH: "闸口评审", Lang.EN: "Gate review"},
    "signoff": {Lang.ZH: "评审决定与签字", Lang.EN: "Decision and sign-off"},
    "review_date": {Lang.ZH: "评审日期", Lang.EN: "Review date"},
    "reviewer_signature": {Lang.ZH: "评审人签字", Lang.EN: "Reviewer's signature"},
    "countersign": {Lang.ZH: "会签（评审委员会）", Lang.EN: "Countersignatures (review board)"},
    "name": {Lang.ZH: "姓名", Lang.EN: "Name"},
    "department": {Lang.ZH: "部门", Lang.EN: "Department"},
    "signature": {Lang.ZH: "签字", Lang.EN: "Signature"},
    "date": {Lang.ZH: "日期", Lang.EN: "Date"},
    "content_hash": {Lang.ZH: "内容哈希", Lang.EN: "Content hash"},
    "page_of": {Lang.ZH: "第 {page} 页 / 共 {pages} 页", Lang.EN: "Page {page} of {pages}"},
}
PAGE_SIZE = landscape(A4)
COUNTERSIGN_LINES = 6  # blank lines for the board members' countersignatures
_COLUMNS = ("owner", "owner_code", "severity", "blocking", "status", "due_date", "rule_id",
            "title_col", "message", "subject", "evidence", "action", "support", "escalation",
            "source", "fingerprint", "attachments")
_WIDTHS = (16, 12, 8, 7, 9, 11, 22, 30, 50, 24, 36, 50, 16, 14, 40, 26, 60)


def term(group: str, value: str, lang: Lang) -> str:
    """Return the word for a severity, gate decision, finding or review status (policy.yaml's
    labels)."""
    return bundled_policy().label(group, value, lang)


def word(key: str, lang: Lang) -> str:
    return _WORDS[key][lang]


@dataclass(frozen=True)
class Report:
    """What a report shows: an assessment, its project, and the gate review of it if any."""

    assessment: Mapping[str, Any]  # the contract's assessment object, findings with statuses
    project: Mapping[str, Any]  # code, name, city
    review: Mapping[str, Any] | None = None  # the API's gate review object
    # Each finding's evidence files (not removed), by its tracked id.
    evidence: Mapping[str, Sequence[EvidenceFile]] = field(default_factory=dict)

    @property
    def title_key(self) -> str:
        return "review_title" if self.review else "title"

    def filename(self, ext: str) -> str:
        kind = "gate-review" if self.review else "assessment"
        stage = self.assessment.get("stage", "")
        return f"{self.project.get('code', 'project')}-{stage}-{kind}.{ext}"


def by_owner(findings: Iterable[Mapping[str, Any]]
             ) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Group findings by owner (in the vocabulary's order), most severe first within each."""
    rank = {s.value: i for i, s in enumerate(Severity)}
    owners = {o.value: i for i, o in enumerate(Owner)}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(finding["owner"], []).append(finding)
    return [(owner, sorted(groups[owner], key=lambda f: (
        rank.get(f["severity"], 9), not f["blocking"], f["due_date"], f["rule_id"])))
        for owner in sorted(groups, key=lambda o: owners.get(o, 99))]


def evidence_text(evidence: Mapping[str, Any], lang: Lang, catalog: Catalog | None = None,
                  stage: str | None = None) -> str:
    """Return evidence as `field: value` pairs for a person: with the catalogue, each field by
    its label (a check by its description) and each vocabulary value by its label; a missing
    fact shows as "—"."""
    policy = catalog.policy if catalog else None

    def show(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return word("yes" if value else "no", lang)
        if isinstance(value, list):
            return ", ".join(show(v) for v in value)
        return policy.label("kind", str(value), lang) if policy and isinstance(value, str) \
            else str(value)

    def name(key: str) -> str:
        if catalog is None or stage not in set(Stage):
            return key
        return place_of(catalog, Stage(stage), key)[lang.value]
    return "; ".join(f"{name(key)}: {show(value)}" for key, value in evidence.items())


def _ruleset_title(catalog: Catalog, ruleset_id: str, lang: Lang) -> str:
    """A ruleset by its title (the promise ledger's and the audit's are not in the catalogue:
    their ids stay)."""
    found = catalog.ruleset(ruleset_id)
    return found.title[lang] if found else ruleset_id


def _stage(finding: Mapping[str, Any]) -> str:
    return str(finding.get("ruleset", "")).split(".", 1)[0]


def _place(finding: Mapping[str, Any], catalog: Catalog, lang: Lang) -> str:
    """Where in the checklist a finding is, as a person reads it."""
    stage = _stage(finding)
    if stage not in set(Stage):
        return str(finding["subject"])
    return place_of(catalog, Stage(stage), str(finding["subject"]))[lang.value]


def waivers(assessment: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Return (finding, waiver) for every finding that carries a waiver."""
    return [(f, f["waiver"]) for f in assessment.get("findings", []) if f.get("waiver")]


def blocking_findings(assessment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the findings the gate names as blocking it."""
    blocking = set(assessment.get("gate", {}).get("blocking", []))
    return [f for f in assessment.get("findings", []) if f.get("fingerprint") in blocking]


def _finding_cells(finding: Mapping[str, Any], catalog: Catalog, lang: Lang,
                   files: Sequence[EvidenceFile] = ()) -> list[Any]:
    label = catalog.policy.label
    return [
        label("owner", finding["owner"], lang), finding["owner"],
        term("severity", finding["severity"], lang),
        word("yes" if finding["blocking"] else "no", lang),
        term("status", finding.get("status", "open"), lang), finding["due_date"],
        finding["rule_id"], finding["title"], finding["message"], finding["subject"],
        evidence_text(finding.get("evidence", {}), lang, catalog, _stage(finding)),
        finding["action"],
        ", ".join(label("owner", s, lang) for s in finding.get("support", [])),
        label("escalation", finding.get("escalation", ""), lang), finding.get("source", ""),
        finding.get("fingerprint", ""), link_lines(files),
    ]


def _summary_rows(report: Report, catalog: Catalog, lang: Lang) -> list[tuple[str, Any]]:
    data, project = report.assessment, report.project
    stage = data.get("stage", "")
    stages = catalog.policy.stages
    rows: list[tuple[str, Any]] = [
        (word("project", lang), " ".join(str(v) for v in (
            project.get("code"), project.get("name"), project.get("city")) if v)),
        (word("stage", lang), stages[stage].label[lang] if stage in stages else stage),
        (word("as_of", lang), data.get("as_of", "")),
        (word("assessment", lang), " #".join(str(v) for v in (data.get("id"), data.get("number"))
                                             if v)),
        (word("gate", lang), term("gate", data["gate"]["decision"], lang)),
        (word("counts", lang), ", ".join(
            f"{term('severity', k, lang)} {v}" for k, v in data["summary"]["by_severity"].items())),
        (word("rulesets", lang), "、".join(f"{_ruleset_title(catalog, r['id'], lang)} "
                                            f"{r['version']}"
                                            for r in data.get("rulesets", []))),
    ]
    review = report.review
    if review:
        rows += [
            (word("decision", lang), term("gate", review["decision"], lang)),
            (word("reviewer", lang), review.get("reviewer", "")),
            (word("recorded", lang), review.get("created_at", "")),
            (word("comments", lang), review.get("comments", "")),
            (word("override", lang), review.get("override_justification") or word("none", lang)),
            (word("reference", lang), "{} #{} {}".format(
                review["assessment"]["id"], review["assessment"]["number"],
                review["assessment"]["content_hash"])),
            (word("review_status", lang), term("review", review.get("status", "active"), lang)),
        ]
        run = review.get("audit_run")
        if run:
            rows.append((word("audit_run", lang), "{} {} {}".format(
                run["id"], run["slot_date"], term("gate", run["gate"], lang))))
    return rows


# --- XLSX --------------------------------------------------------------------------------------


def _sheet_name(text: str, taken: Sequence[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "-", text)[:31] or "sheet"
    return name if name not in taken else f"{name[:28]}-{len(taken)}"


def _findings_sheet(sheet: Worksheet, findings: Sequence[Mapping[str, Any]], catalog: Catalog,
                    lang: Lang, evidence: Mapping[str, Sequence[EvidenceFile]]) -> None:
    for column, (key, width) in enumerate(zip(_COLUMNS, _WIDTHS, strict=True), start=1):
        cell = sheet.cell(row=1, column=column, value=word(key, lang))
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, finding in enumerate(findings, start=2):
        files = evidence.get(str(finding.get("id", "")), ())
        for column, value in enumerate(_finding_cells(finding, catalog, lang, files), start=1):
            put(sheet.cell(row=row, column=column), value)
            sheet.cell(row=row, column=column).alignment = Alignment(wrap_text=True,
                                                                     vertical="top")
        if files:  # the first file opens from the cell; every address is in its text
            sheet.cell(row=row, column=len(_COLUMNS)).hyperlink = files[0].url
        colour = SEVERITY_COLOURS.get(finding["severity"], "000000")
        sheet.cell(row=row, column=3).font = Font(bold=True, color=colour)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(_COLUMNS))}{max(1, len(findings)) + 1}"


def render_xlsx(report: Report, catalog: Catalog, lang: Lang) -> bytes:
    """Return the report as a workbook: summary, all findings, one sheet per owner, waivers."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _sheet_name(word("summary", lang), [])
    gate = word("gate", lang)
    for row, (key, value) in enumerate(_summary_rows(report, catalog, lang), start=1):
        summary.cell(row=row, column=1, value=key).font = Font(bold=True)
        put(summary.cell(row=row, column=2), value)
        if key == gate:
            summary.cell(row=row, column=2).font = Font(bold=True, color=GATE_COLOURS.get(
                report.assessment["gate"]["decision"], "000000"))
    summary.column_dimensions["A"].width, summary.column_dimensions["B"].width = 30, 90
    groups = by_owner(report.assessment.get("findings", []))
    _findings_sheet(book.create_sheet(_sheet_name(word("findings", lang), book.sheetnames)),
                    [f for _, group in groups for f in group], catalog, lang, report.evidence)
    for owner, group in groups:
        name = _sheet_name(catalog.policy.label("owner", owner, lang), book.sheetnames)
        _findings_sheet(book.create_sheet(name), group, catalog, lang, report.evidence)
    granted = waivers(report.assessment)
    if granted:
        sheet = book.create_sheet(_sheet_name(word("waivers", lang), book.sheetnames))
        heads = ("rule_id", "title_col", "justification", "approver", "expires", "holds")
        sheet.append([word(k, lang) for k in heads])
        for finding, waiver in granted:
            sheet.append([finding["rule_id"], finding["title"], None, waiver.get("approver"),
                          waiver.get("expires"), word("yes" if waiver.get("holds") else "no",
                                                      lang)])
            put(sheet.cell(row=sheet.max_row, column=3), waiver.get("justification", ""))
    for sheet in book.worksheets:  # the summary is key/value rows: no header row to repeat
        print_setup(sheet, None if sheet is summary else "1:1")
    book.properties.title = f"{word(report.title_key, lang)} {report.project.get('code', '')}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF ---------------------------------------------------------------------------------------


class ReportFontMissing(RiskEngineError):
    """The CJK TrueType font the PDF embeds is not installed."""

    code = "report_font_missing"


def font_path() -> str:
    """Return the CJK TrueType font file the PDF embeds: RISKENGINE_CJK_FONT, else the first
    installed of CJK_FONT_PATHS."""
    configured = os.environ.get(CJK_FONT_ENV)
    candidates = (configured,) if configured else CJK_FONT_PATHS
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise ReportFontMissing(refusal("font_missing"),
                            {CJK_FONT_ENV: [refusal("not_found_at", paths=candidates)]})


def _font() -> str:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        # subfont 0 of the collection is the proportional face (1 is its monospaced twin)
        pdfmetrics.registerFont(TTFont(CJK_FONT, font_path(), subfontIndex=0))
        for bold in (0, 1):  # one weight only: <b> keeps the face (colour marks severity)
            for italic in (0, 1):
                addMapping(CJK_FONT, bold, italic, CJK_FONT)
    return CJK_FONT


class _Styles:
    def __init__(self) -> None:
        font = _font()
        self.body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11.5,
                                   wordWrap="CJK")
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=10)
        self.head = ParagraphStyle("head", parent=self.body, fontSize=8.5, textColor=colors.white)
        self.h1 = ParagraphStyle("h1", parent=self.body, fontSize=16, leading=22, spaceAfter=6)
        self.decision = ParagraphStyle("decision", parent=self.body, fontSize=12, leading=16)
        self.h2 = ParagraphStyle("h2", parent=self.body, fontSize=12, leading=16, spaceBefore=8,
                                 spaceAfter=4, keepWithNext=1)


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    escaped = (str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;")
               .replace(">", "&gt;").replace("\n", "<br/>"))
    return Paragraph(escaped, style)


def _table(rows: list[list[Any]], widths: list[float], styles: _Styles,
           header: bool = True, heights: list[float | None] | None = None) -> Table:
    table = Table([[c if isinstance(c, (Flowable, list)) else _p(c, styles.body) for c in row]
                   for row in rows], colWidths=widths, rowHeights=heights,
                  repeatRows=1 if header else 0)
    commands: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), _font()),  # a cell's default is Helvetica, not embedded
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#98A2B3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#344054")))
    table.setStyle(TableStyle(commands))
    return table


def _pdf_findings(findings: Sequence[Mapping[str, Any]], catalog: Catalog, lang: Lang,
                  styles: _Styles, evidence: Mapping[str, Sequence[EvidenceFile]]) -> Table:
    heads = ["severity", "rule_id", "message", "evidence", "action", "due_date", "status"]
    rows: list[list[Any]] = [[_p(word(k, lang), styles.head) for k in heads]]
    for f in findings:
        colour = SEVERITY_COLOURS.get(f["severity"], "000000")
        severity = term("severity", f["severity"], lang) + (
            f" / {word('blocking', lang)}" if f["blocking"] else "")
        rows.append([
            Paragraph(f'<font color="#{colour}"><b>{severity}</b></font>', styles.body),
            _p(f["rule_id"], styles.small),
            [_p(f["title"], styles.body), _p(f["message"], styles.small),
             _p(f"{word('source', lang)}: {f.get('source', '')}", styles.small),
             *pdf_files(evidence.get(str(f.get("id", "")), ()), word("pdf_file", lang),
                        styles.small)],
            _p(f"{_place(f, catalog, lang)}\n"
               f"{evidence_text(f.get('evidence', {}), lang, catalog, _stage(f))}", styles.small),
            _p(f["action"], styles.small), f["due_date"],
            term("status", f.get("status", "open"), lang)])
    widths = [22 * mm, 36 * mm, 80 * mm, 48 * mm, 51 * mm, 20 * mm, 17 * mm]
    return _table(rows, widths, styles)


def _signoff(review: Mapping[str, Any], lang: Lang, styles: _Styles) -> Flowable:
    """The block the board signs: the decision, the reviewer's signature, countersignatures."""
    colour = GATE_COLOURS.get(review["decision"], "000000")
    decision = Paragraph(f'<font color="#{colour}">{term("gate", review["decision"], lang)}'
                         "</font>", styles.decision)
    rows: list[list[Any]] = [
        [word("decision", lang), decision],
        [word("reviewer", lang), review.get("reviewer", "")],
        [word("review_date", lang), str(review.get("created_at") or "")[:10]],
    ]
    if review.get("override_justification"):
        rows.append([word("override", lang), review["override_justification"]])
    rows.append([word("reviewer_signature", lang), ""])
    heights: list[float | None] = [None] * (len(rows) - 1) + [16 * mm]
    decided = _table(rows, [60 * mm, 210 * mm], styles, header=False, heights=heights)
    heads = [_p(word(k, lang), styles.head) for k in ("name", "department", "signature", "date")]
    lines: list[list[Any]] = [heads] + [[""] * 4 for _ in range(COUNTERSIGN_LINES)]
    board = _table(lines, [60 * mm, 70 * mm, 90 * mm, 50 * mm], styles,
                   heights=[None] + [12 * mm] * COUNTERSIGN_LINES)
    return KeepTogether([_p(word("signoff", lang), styles.h2), decided, Spacer(1, 3 * mm),
                         _p(word("countersign", lang), styles.h2), board])


def footer_text(report: Report, lang: Lang) -> str:
    """The footer's left part: what the report is and which stored record it prints."""
    data = report.assessment
    judged = (report.review or {}).get("assessment") or {}
    digest = data.get("content_hash") or judged.get("content_hash")
    record = " #".join(str(v) for v in (data.get("id"), data.get("number")) if v)
    parts = [f"{word(report.title_key, lang)} {report.project.get('code', '')}".strip()]
    if record:
        parts.append(f"{word('assessment', lang)} {record}")
    if digest:
        parts.append(f"{word('content_hash', lang)} {digest}")
    return " · ".join(parts)


def _numbered_canvas(footer: str, lang: Lang) -> type[Canvas]:
    """A canvas that holds its pages back until the end, so each footer can say "of y"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset

        def save(self) -> None:
            pages = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                self._footer(pages)
                super().showPage()
            super().save()

        def _footer(self, pages: int) -> None:
            width = PAGE_SIZE[0]
            self.saveState()
            self.setFont(_font(), 7)
            self.setFillColor(colors.HexColor("#475467"))
            self.drawString(12 * mm, 6 * mm, footer)
            self.drawRightString(width - 12 * mm, 6 * mm, word("page_of", lang).format(
                page=self.getPageNumber(), pages=pages))
            self.restoreState()

    return NumberedCanvas


def render_pdf(report: Report, catalog: Catalog, lang: Lang) -> bytes:
    """Return the report as a printable A4 PDF: its font embedded, a footer on every page that
    names the stored record (assessment id, content hash) and says "page x of y"; a gate
    review ends with the block the board signs."""
    styles = _Styles()
    out = io.BytesIO()
    code = str(report.project.get("code", ""))
    doc = SimpleDocTemplate(out, pagesize=PAGE_SIZE, leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"{word(report.title_key, lang)} {code}", author="riskengine",
                            subject=code,
                            initialFontName=_font())  # else each page names Helvetica
    story: list[Flowable] = [_p(f"{word(report.title_key, lang)} — {code}", styles.h1)]
    summary = [[_p(k, styles.body), _p(v, styles.body)]
               for k, v in _summary_rows(report, catalog, lang) if v not in (None, "")]
    story.append(_table(summary, [60 * mm, 210 * mm], styles, header=False))
    blocking = blocking_findings(report.assessment)
    story.append(_p(word("blocking_findings", lang), styles.h2))
    story.append(_pdf_findings(blocking, catalog, lang, styles, report.evidence) if blocking
                 else _p(word("none", lang), styles.body))
    granted = waivers(report.assessment)
    story.append(_p(word("waivers", lang), styles.h2))
    if granted:
        rows: list[list[Any]] = [[_p(word(k, lang), styles.head) for k in (
            "rule_id", "title_col", "justification", "approver", "expires", "holds")]]
        rows += [[f["rule_id"], f["title"], w.get("justification", ""), w.get("approver", ""),
                  w.get("expires", ""), word("yes" if w.get("holds") else "no", lang)]
                 for f, w in granted]
        story.append(_table(rows, [30 * mm, 70 * mm, 90 * mm, 30 * mm, 25 * mm, 20 * mm],
                            styles))
    else:
        story.append(_p(word("none", lang), styles.body))
    story.append(_p(word("findings", lang), styles.h2))
    groups = by_owner(report.assessment.get("findings", []))
    if not groups:
        story.append(_p(word("none", lang), styles.body))
    for owner, group in groups:
        story.append(_p(f"{word('owner', lang)}: {catalog.policy.label('owner', owner, lang)} "
                        f"/ {len(group)}", styles.h2))
        story.append(_pdf_findings(group, catalog, lang, styles, report.evidence))
    story.append(Spacer(1, 4 * mm))
    if report.review:
        story.append(_signoff(report.review, lang, styles))
    doc.build(story, canvasmaker=_numbered_canvas(footer_text(report, lang), lang))
    return out.getvalue()
