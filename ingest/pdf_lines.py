"""A PDF page's text as styled lines (PyMuPDF's layout ``dict``), and listing-page detection.

A listing page is a table of contents, an index or a list of figures: most of its rows
end in a page number (after dot leaders, in a right-aligned column, or as the comma list
of an index entry). Such pages stay in the page render but give no passages: their rows
repeat every heading of the document and would win searches for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

from mmrag.domain import BBox

_BOLD_FLAG = 16
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|-bo\b|-bd\b|cmbx", re.IGNORECASE)
_LEADERS = re.compile(r"(?:\.\s*){4,}|(?:…\s*){2,}")
_PAGE_NUMBER = re.compile(r"(?:^|\s|\.)(\d{1,4}|[ivxlcdm]{1,7})\s*$", re.IGNORECASE)
_PAGES = r"\d{1,4}(?:\s*[-\u2013]\s*\d{1,4})?"  # 12 or a range 12-14 (hyphen or en dash)
_INDEX_ENTRY = re.compile(rf"\D,\s*{_PAGES}(?:,\s*{_PAGES})*\s*$")
MIN_LISTING_ROWS = 5
LISTING_SHARE = 0.6


@dataclass(frozen=True)
class Line:
    """One line of text on a page with its box, block number and dominant font."""

    page: int
    block: int
    text: str
    bbox: BBox
    size: float
    bold: bool
    font: str


def page_lines(page: pymupdf.Page) -> list[Line]:
    """Return the page's non-empty text lines in content order, with their styles."""
    lines: list[Line] = []
    layout = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT)
    for number, block in enumerate(layout["blocks"]):
        for raw in block.get("lines", ()):
            line = _line(page.number + 1, number, raw["spans"], raw["bbox"])
            if line is not None:
                lines.append(line)
    return lines


def _line(page: int, block: int, spans: Sequence[dict], bbox: Sequence[float]) -> Line | None:
    """Return a line built from its spans, styled by the spans that hold most characters."""
    text = "".join(s["text"] for s in spans).strip()
    if not text:
        return None
    inked = [s for s in spans if s["text"].strip()]
    main = max(inked, key=lambda s: len(s["text"].strip()))
    bold = all(s["flags"] & _BOLD_FLAG or _BOLD_NAME.search(s["font"]) for s in inked)
    box = (round(bbox[0], 2), round(bbox[1], 2), round(bbox[2], 2), round(bbox[3], 2))
    return Line(page, block, text, box, round(main["size"], 1), bool(bold), main["font"])


def rows(lines: Sequence[Line]) -> list[list[Line]]:
    """Return the lines grouped into visual rows (same vertical middle), left to right."""
    grouped: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (_middle(ln), ln.bbox[0])):
        if grouped and abs(_middle(grouped[-1][0]) - _middle(line)) <= 3:
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return [sorted(row, key=lambda ln: ln.bbox[0]) for row in grouped]


def is_listing_page(lines: Sequence[Line]) -> bool:
    """Return whether most rows of the page are listing rows (contents, index, figures)."""
    page_rows = rows(lines)
    if len(page_rows) < MIN_LISTING_ROWS:
        return False
    listed = sum(_is_listing_row(row) for row in page_rows)
    return listed >= LISTING_SHARE * len(page_rows)


def _is_listing_row(row: Sequence[Line]) -> bool:
    """A row that ends in a page number after leaders or a gap, or an index entry."""
    text = " ".join(line.text for line in row)
    if _LEADERS.search(text) or _INDEX_ENTRY.search(text):
        return True
    # A page-number column: the number is its own line, right of the entry's text.
    last = row[-1]
    return len(row) > 1 and bool(_PAGE_NUMBER.fullmatch(" " + last.text))


def _middle(line: Line) -> float:
    return (line.bbox[1] + line.bbox[3]) / 2
