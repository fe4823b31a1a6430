"""Evidence files as the reports show them: thumbnails in the PDF (a PDF file by its label),
links in the XLSX (the API's download route, absolute)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph

# At most this many thumbnails per finding in the PDF; the rest are counted ("+3").
SHOWN = 6
SIDE = 22 * mm


@dataclass(frozen=True)
class EvidenceFile:
    file_name: str
    media_type: str
    url: str  # the download, absolute
    thumbnail: bytes | None = None  # a JPEG (photos); None: a PDF
    pages: int | None = None


def link_lines(files: Sequence[EvidenceFile]) -> str:
    """One line per file: its name and its download address."""
    return "\n".join(f"{f.file_name} {f.url}".strip() for f in files)


def _thumbnail(data: bytes) -> Image:
    image = Image(io.BytesIO(data))
    scale = SIDE / max(image.imageWidth, image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def pdf_files(files: Sequence[EvidenceFile], pdf_label: str, style: ParagraphStyle
              ) -> list[Flowable]:
    """The flowables a finding's cell gets: each photo's thumbnail, each PDF by its label."""
    shown: list[Flowable] = []
    for item in files[:SHOWN]:
        if item.thumbnail:
            shown.append(_thumbnail(item.thumbnail))
        else:
            pages = f" ({item.pages})" if item.pages else ""
            name = item.file_name.replace("&", "&amp;").replace("<", "&lt;")
            shown.append(Paragraph(f"[{pdf_label}{pages}] {name}", style))
    if len(files) > SHOWN:
        shown.append(Paragraph(f"+{len(files) - SHOWN}", style))
    return shown
