"""Charts as inline SVG drawn on the server: no script, no CDN, no outside request. Each bar
links to the listing it counts, and carries its number as text for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

SEVERITY_FILL = {"critical": "#B42318", "high": "#B54708", "medium": "#175CD3", "low": "#475467"}
GATE_FILL = {"fail": "#B42318", "conditional": "#B54708", "pass": "#067647"}


@dataclass(frozen=True)
class Segment:
    label: str
    value: int
    fill: str
    href: str | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[Segment]


def _text_width(text: str) -> int:
    """Roughly how wide a label draws at 12 px: a CJK character about 12, others about 7."""
    return sum(12 if ord(c) > 0x2E80 else 7 for c in text)


def stacked_bars(bars: Sequence[Bar], title: str, span: int = 300) -> str:
    """Horizontal stacked bars, one row per bar, scaled to the largest total; drawn at its
    own size (a page shrinks it to fit a phone, never stretches it)."""
    row, pad = 26, 4
    label_w = min(260, max((_text_width(b.label) for b in bars), default=40) + 10)
    largest = max((sum(s.value for s in b.segments) for b in bars), default=0) or 1
    width = label_w + span + 40
    height = row * max(1, len(bars)) + pad * 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" '
             f'role="group" aria-label="{escape(title)}" class="chart">',
             f"<title>{escape(title)}</title>"]
    for index, bar in enumerate(bars):
        y = pad + index * row
        parts.append(f'<text x="0" y="{y + 17}" font-size="12">{escape(bar.label)}</text>')
        x = float(label_w)
        for segment in bar.segments:
            if not segment.value:
                continue
            w = span * segment.value / largest
            rect = (f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="18" '
                    f'fill="{segment.fill}"><title>{escape(segment.label)}: '
                    f"{segment.value}</title></rect>")
            parts.append(f'<a href="{escape(segment.href)}">{rect}</a>' if segment.href
                         else rect)
            x += w
        total = sum(s.value for s in bar.segments)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 17}" font-size="12">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)
