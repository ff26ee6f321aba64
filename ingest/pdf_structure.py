"""A PDF's structure, read in one pass before its passages: running lines, listing pages,
body font and the headings (from the outline, else from font size and weight).

The pass keeps only statistics (a few counters per page), so memory stays bounded. The
mode says where headings come from: ``outline`` (the PDF's bookmarks, placed on the page
by their text and destination), ``fonts`` (lines larger or bolder than the body text),
``pages`` (no usable headings: passages per page, running lines and listing pages still
kept out), or ``off`` (``pdf_structure`` disabled: no pass at all, each page's text
blocks chunked as one run, as the extractor did before structure).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pymupdf

from ingest.pdf_lines import Line, is_listing_page, page_lines

log = logging.getLogger(__name__)

BAND = 0.08  # running headers/footers sit in the top/bottom 8% of the page height
RUNNING_SHARE = 0.4  # ... and repeat, at the same place in the same font, on 40% of pages
MIN_RUNNING_PAGES = 3
HEADING_RATIO = 1.12  # a heading's font is at least 12% larger than the body's ...
MAX_BOLD_HEADING_WORDS = 12  # ... or bold at body size, short, and a block of its own
MAX_HEADING_CHARS = 200
MAX_HEADINGS_BASE, MAX_HEADINGS_PER_PAGE = 50, 8  # more is not an outline but noise
# The pass keeps the lines of the first pages up to this many characters (a few MB), so
# the passages need not read them again; longer documents re-read the remaining pages.
KEPT_LINE_CHARS = 2_000_000

Signature = tuple[str, int, str, float]


@dataclass(frozen=True)
class OutlineEntry:
    """A bookmark: its level (1 = top), title, page (1-based) and target y on the page."""

    level: int
    title: str
    page: int
    y: float | None


@dataclass
class DocumentLayout:
    """What the structure pass learnt about a document, used page by page afterwards."""

    mode: str = "pages"
    body_size: float = 0.0
    running: frozenset[Signature] = frozenset()
    listing_pages: frozenset[int] = frozenset()
    heading_levels: dict[tuple[float, bool], int] = field(default_factory=dict)
    outline: dict[int, list[OutlineEntry]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kept_lines: dict[int, list[Line]] = field(default_factory=dict, repr=False)

    def take_lines(self, page: pymupdf.Page) -> list[Line]:
        """Return the page's lines: kept by the pass (and forgotten now), or read again."""
        return self.kept_lines.pop(page.number + 1, None) or page_lines(page)

    def metadata(self) -> dict[str, object]:
        """Return what the document's metadata says about its structure."""
        meta: dict[str, object] = {"structure": self.mode}
        if self.listing_pages:
            meta["listing_pages"] = sorted(self.listing_pages)
        if self.notes:
            meta["structure_notes"] = list(self.notes)
        return meta

    def is_heading_style(self, line: Line) -> bool:
        """Return whether ``line`` looks like a heading by its font alone."""
        return line.size >= self.body_size * HEADING_RATIO or (
            line.bold and line.size >= self.body_size - 0.5
        )


def analyse(doc: pymupdf.Document) -> DocumentLayout:
    """Return the layout of ``doc`` from one pass over its pages' styled lines."""
    layout = DocumentLayout()
    signatures: Counter[Signature] = Counter()
    sizes: Counter[tuple[float, bool]] = Counter()
    listing: set[int] = set()
    kept = 0
    for number in range(doc.page_count):
        page = doc.load_page(number)
        lines = page_lines(page)
        kept += sum(len(line.text) for line in lines)
        if kept <= KEPT_LINE_CHARS:
            layout.kept_lines[number + 1] = lines
        signatures.update(set(band_signatures(lines, page.rect.height)))
        if is_listing_page(lines):
            listing.add(page.number + 1)
            continue
        for line in lines:
            sizes[(size_class(line.size), line.bold)] += len(line.text)
    threshold = max(MIN_RUNNING_PAGES, RUNNING_SHARE * doc.page_count)
    layout.running = frozenset(s for s, n in signatures.items() if n >= threshold)
    layout.listing_pages = frozenset(listing)
    if sizes:
        layout.body_size = max(sizes, key=lambda style: sizes[style])[0]
    _choose_headings(doc, layout, sizes)
    return layout


def band_signatures(lines: Sequence[Line], height: float) -> list[Signature]:
    """Return the signatures of lines in the page's top or bottom band, set apart by a gap.

    A signature is (band, y in 2-point steps, font, size): running headers and footers
    keep their place and font while their words change (chapter names, page numbers).
    """
    found = []
    for index, line in enumerate(lines):
        band = _band(line, height)
        if band and _set_apart(lines, index, band):
            found.append((band, round(line.bbox[1] / 2), line.font, line.size))
    return found


def is_running(layout: DocumentLayout, lines: Sequence[Line], index: int, height: float) -> bool:
    """Return whether ``lines[index]`` is a running header or footer of the document."""
    line = lines[index]
    band = _band(line, height)
    if not band or not _set_apart(lines, index, band):
        return False
    return (band, round(line.bbox[1] / 2), line.font, line.size) in layout.running


def _band(line: Line, height: float) -> str:
    if line.bbox[1] <= BAND * height:
        return "top"
    if line.bbox[3] >= (1 - BAND) * height:
        return "bottom"
    return ""


def _set_apart(lines: Sequence[Line], index: int, band: str) -> bool:
    """Return whether no line comes within one line height of ``lines[index]`` on the
    body's side (below a header, above a footer): body text is set solid, running lines
    are not."""
    line = lines[index]
    gap = max(line.size, 1.0)
    for other in lines:
        below = other.bbox[1] > line.bbox[1] + 0.5
        above = other.bbox[1] < line.bbox[1] - 0.5
        if band == "top" and below and other.bbox[1] - line.bbox[3] < gap:
            return False
        if band == "bottom" and above and line.bbox[1] - other.bbox[3] < gap:
            return False
    return True


def size_class(size: float) -> float:
    return round(size * 2) / 2


def _choose_headings(
    doc: pymupdf.Document, layout: DocumentLayout, sizes: Counter[tuple[float, bool]]
) -> None:
    """Set the layout's mode: the outline if usable, else font styles, else pages."""
    limit = MAX_HEADINGS_BASE + MAX_HEADINGS_PER_PAGE * doc.page_count
    entries = read_outline(doc, layout.notes)
    if len(entries) > limit:
        layout.notes.append(f"outline ignored: {len(entries)} entries, more than {limit}")
        entries = []
    if entries:
        layout.mode = "outline"
        for entry in entries:
            layout.outline.setdefault(entry.page, []).append(entry)
        return
    layout.heading_levels = _font_levels(layout.body_size, sizes)
    if layout.heading_levels:
        layout.mode = "fonts"
    else:
        layout.notes.append("no outline and no heading fonts: passages follow pages")


def read_outline(doc: pymupdf.Document, notes: list[str]) -> list[OutlineEntry]:
    """Return the outline's entries that point at a page of the document, in order."""
    try:
        raw = doc.get_toc(simple=False)
    except Exception as exc:  # a broken outline tree must not fail the document
        notes.append(f"outline unreadable: {exc}")
        return []
    if not raw and _has_outline_root(doc):
        notes.append("outline unreadable: MuPDF found no entries in it (broken or cyclic)")
    entries, missing = [], 0
    for item in raw:
        level, title, page = item[0], str(item[1]).strip(), item[2]
        if not 1 <= page <= doc.page_count or not title or level < 1:
            missing += 1
            continue
        dest = item[3] if len(item) > 3 and isinstance(item[3], dict) else None
        entries.append(OutlineEntry(level, title, page, _target_y(doc, page, dest)))
    if missing:
        notes.append(f"{missing} outline entries point at no page of the document")
    return entries


def _has_outline_root(doc: pymupdf.Document) -> bool:
    """Return whether the catalog names an outline with a first entry."""
    try:
        kind, value = doc.xref_get_key(doc.pdf_catalog(), "Outlines")
        if kind != "xref":
            return False
        return doc.xref_get_key(int(value.split()[0]), "First")[0] == "xref"
    except Exception:  # not a PDF catalog MuPDF can read: nothing to report
        return False


def _target_y(doc: pymupdf.Document, page: int, dest: dict[str, Any] | None) -> float | None:
    """Return the bookmark's target y in page coordinates (top down), if it has one.

    PyMuPDF gives a direct destination's point in page coordinates already, and a named
    destination's in PDF space (bottom up), as the file holds it.
    """
    point = dest.get("to") if isinstance(dest, dict) else None
    if dest is None or not isinstance(point, pymupdf.Point):
        return None
    try:
        height = doc[page - 1].rect.height
        if dest.get("kind") == pymupdf.LINK_NAMED:
            point = point * doc[page - 1].transformation_matrix
    except Exception:  # a damaged page: place the heading at the top instead
        return None
    return float(point.y) if 0 <= point.y <= height else None


def _font_levels(body: float, sizes: Counter[tuple[float, bool]]) -> dict[tuple[float, bool], int]:
    """Return heading level per (size class, bold): larger first, bold body size last."""
    body_chars = sum(n for (size, _), n in sizes.items() if size == body)
    larger = sorted(
        {s for (s, _), n in sizes.items() if s >= body * HEADING_RATIO and n < body_chars},
        reverse=True,
    )
    levels = {(size, bold): rank for rank, size in enumerate(larger, 1) for bold in (False, True)}
    bold_body = sizes.get((body, True), 0)
    if bold_body and bold_body < 0.2 * body_chars:
        levels[(body, True)] = len(larger) + 1
    return levels
