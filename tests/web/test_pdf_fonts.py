"""The PDF carries its own font: every font embedded, every character drawn has a real glyph in
it, and a machine without any font renders the page exactly as one with Chinese fonts does."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from riskengine.assessment.assessor import Assessor
from riskengine.output.reports import render_pdf, word
from riskengine.vocabulary import Lang
from tests.web.test_reports import report

KINDS = [(lang, review) for lang in Lang for review in (False, True)]
IDS = [f"{lang.value}-{'gate-review' if review else 'assessment'}" for lang, review in KINDS]


@pytest.fixture(scope="module")
def pdfs(assessor: Assessor) -> dict[tuple[Lang, bool], bytes]:
    return {(lang, review): render_pdf(report(assessor, "delivery-risky", lang, review),
                                       assessor.catalog, lang) for lang, review in KINDS}


def fonts(content: bytes) -> list[DictionaryObject]:
    """Every font dictionary the pages use (a Type0 font's descendants in its place)."""
    found: dict[int, DictionaryObject] = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        resources = page.get("/Resources")
        for ref in (resources.get_object().get("/Font", {}) if resources else {}).values():
            font = ref.get_object()
            for each in ([d.get_object() for d in font["/DescendantFonts"]]
                         if "/DescendantFonts" in font else [font]):
                found[id(each)] = each
    return list(found.values())


def to_unicode(font: DictionaryObject) -> dict[int, str]:
    """Code -> character, from the font's ToUnicode CMap (bfchar entries, as reportlab writes)."""
    text = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    return {int(code, 16): chr(int(char, 16)) for code, char in
            re.findall(r"<([0-9A-Fa-f]{2,4})>\s*<([0-9A-Fa-f]{4})>", text.split("beginbfchar")[-1])}


def glyphs(program: bytes) -> tuple[dict[int, int], list[int]]:
    """Parse an embedded TrueType program: its cmap (code -> glyph, formats 0 and 6) and the
    outline length of each glyph (from loca), so a code is seen to draw something."""
    tables = {program[12 + 16 * i:16 + 16 * i].decode("latin-1"):
              struct.unpack(">II", program[20 + 16 * i:28 + 16 * i])
              for i in range(struct.unpack(">H", program[4:6])[0])}
    start = tables["cmap"][0]
    cmap: dict[int, int] = {}
    for i in range(struct.unpack(">H", program[start + 2:start + 4])[0]):
        offset = start + struct.unpack(">I", program[start + 8 + 8 * i:start + 12 + 8 * i])[0]
        fmt = struct.unpack(">H", program[offset:offset + 2])[0]
        if fmt == 0:
            cmap.update(enumerate(program[offset + 6:offset + 262]))
        elif fmt == 6:
            first, count = struct.unpack(">HH", program[offset + 6:offset + 10])
            ids = struct.unpack(f">{count}H", program[offset + 10:offset + 10 + 2 * count])
            cmap.update({first + n: g for n, g in enumerate(ids)})
    assert cmap, "the embedded font has no cmap of format 0 or 6"
    long_offsets = struct.unpack(">h", program[tables["head"][0] + 50:tables["head"][0] + 52])[0]
    count = struct.unpack(">H", program[tables["maxp"][0] + 4:tables["maxp"][0] + 6])[0]
    loca = tables["loca"][0]
    if long_offsets:
        offsets = list(struct.unpack(f">{count + 1}I", program[loca:loca + 4 * (count + 1)]))
    else:
        offsets = [2 * o for o in struct.unpack(f">{count + 1}H",
                                                program[loca:loca + 2 * (count + 1)])]
    return cmap, [b - a for a, b in zip(offsets, offsets[1:], strict=False)]


@pytest.mark.parametrize(("lang", "review"), KINDS, ids=IDS)
def test_every_font_in_the_pdf_is_embedded(pdfs: dict[tuple[Lang, bool], bytes], lang: Lang,
                                          review: bool) -> None:
    used = fonts(pdfs[lang, review])
    assert used
    for font in used:
        descriptor = font.get("/FontDescriptor")
        assert descriptor is not None, f"{font['/BaseFont']} has no font descriptor"
        embedded = {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.get_object())
        assert embedded, f"{font['/BaseFont']} is not embedded"


@pytest.mark.parametrize(("lang", "review"), KINDS, ids=IDS)
def test_every_character_drawn_has_a_glyph(pdfs: dict[tuple[Lang, bool], bytes], lang: Lang,
                                           review: bool) -> None:
    drawn: set[str] = set()
    for font in fonts(pdfs[lang, review]):
        descriptor = font.get("/FontDescriptor")
        assert descriptor and "/FontFile2" in descriptor.get_object(), (
            f"{font['/BaseFont']} embeds no TrueType program")
        program = descriptor.get_object()["/FontFile2"].get_object().get_data()
        cmap, lengths = glyphs(program)
        for code, char in to_unicode(font).items():
            if char.isspace() or not char.isprintable():  # reportlab keeps code 0 for NUL
                continue
            glyph = cmap.get(code, 0)
            assert glyph != 0 and lengths[glyph] > 0, f"{char!r} (U+{ord(char):04X}) has no glyph"
            drawn.add(char)
    # and those glyphs include the report's own words: title, footer, the sign-off block
    keys = ["review_title" if review else "title", "content_hash", "findings"]
    keys += ["signoff", "countersign", "name", "department", "signature", "date"] if review else []
    expected = "".join(word(k, lang) for k in keys) + word("page_of", lang).format(page=1, pages=2)
    missing = {c for c in expected if not c.isspace()} - drawn
    assert not missing, sorted(missing)


def _render(content: bytes, tmp: Path, env: dict[str, str], name: str) -> tuple[bytes, str]:
    pdf = tmp / f"{name}.pdf"
    pdf.write_bytes(content)
    done = subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf),
                           str(tmp / name)], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return next(tmp.glob(f"{name}*.ppm")).read_bytes(), done.stderr


@pytest.mark.parametrize(("lang", "review"), KINDS, ids=IDS)
def test_a_machine_without_fonts_renders_the_same_page(
        pdfs: dict[tuple[Lang, bool], bytes], lang: Lang, review: bool, tmp_path: Path) -> None:
    assert shutil.which("pdftoppm"), "pdftoppm is missing: `make fonts` installs poppler-utils"
    (tmp_path / "fonts").mkdir()
    bare = tmp_path / "fonts.conf"  # fontconfig that knows no font at all
    bare.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig><dir>{tmp_path / 'fonts'}</dir>"
                    f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    env: dict[str, Any] = {k: v for k, v in os.environ.items() if not k.startswith("FONTCONFIG")}
    content = pdfs[lang, review]
    without, warnings = _render(content, tmp_path, {**env, "FONTCONFIG_FILE": str(bare)}, "bare")
    assert "font" not in warnings.lower(), warnings
    _, pixels = without.split(b"\n255\n", 1)
    assert pixels.count(b"\xff") < len(pixels) * 0.99, "the page rendered blank"
    with_fonts, _ = _render(content, tmp_path, env, "system")
    assert without == with_fonts, "the page depends on the fonts of the machine that renders it"
