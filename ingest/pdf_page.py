"""One PDF page -> text passages, OCR passages, its render and its embedded images.

Boxes are in PDF points of the page (origin top left, as PyMuPDF reports them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import pymupdf
from PIL import Image

from ingest.base import ExtractOptions
from ingest.image_decode import decoded_bytes
from ingest.layout import TextBlock, block_segments
from ingest.ocr import MAX_OCR_SIDE, ocr_image
from ingest.pdf_headings import page_headings
from ingest.pdf_lines import Line
from ingest.pdf_passages import PassageBuilder
from ingest.pdf_structure import DocumentLayout, OutlineEntry, is_running
from mmrag.domain import ExtractedSegment, Locator, Modality

logger = logging.getLogger(__name__)

OCR_DPI = 200
_KEPT_IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}


@dataclass
class PageContext:
    """What every page of one document shares: options, OCR switch, images already seen,
    the document's layout and the passages of the section that is still open."""

    doc: pymupdf.Document
    options: ExtractOptions
    ocr: bool
    layout: DocumentLayout
    passages: PassageBuilder
    seen_images: set[int] = field(default_factory=set)
    carried: list[OutlineEntry] = field(default_factory=list)  # headings for the next page


def page_segments(context: PageContext, page: pymupdf.Page) -> list[ExtractedSegment]:
    """Return the passages the page completes, OCR passages (scanned page), render, images.

    A section that continues on the next page yields its passages when it ends.
    """
    number = page.number + 1
    options = context.options
    if context.layout.mode == "off":
        blocks = text_blocks(page)
        segments = list(block_segments(blocks, options, page=number))
        text_chars = sum(len(b.text) for b in blocks)
    else:
        lines = context.layout.take_lines(page)
        segments = text_segments(context, lines, number, page.rect.height)
        text_chars = sum(len(ln.text) for ln in lines)
    if context.ocr and text_chars < options.ocr_min_text_chars:
        segments.extend(ocr_segments(page, options))
    render = render_page(page, options.page_render_dpi, options.max_image_pixels)
    segments.append(
        ExtractedSegment(
            modality=Modality.PAGE_IMAGE,
            locator=Locator(page=number, bbox=_box(page.rect)),
            media=render.tobytes("png"),
            media_type="image/png",
        )
    )
    segments.extend(image_segments(context, page))
    return segments


def text_blocks(page: pymupdf.Page) -> list[TextBlock]:
    """Return the page's non-empty text blocks in content order (structure off)."""
    blocks = []
    for x0, y0, x1, y1, text, _number, kind in page.get_text("blocks"):
        if kind == 0 and text.strip():
            blocks.append(TextBlock(text.strip(), _box(pymupdf.Rect(x0, y0, x1, y1))))
    return blocks


def text_segments(
    context: PageContext, lines: list[Line], page: int, height: float
) -> list[ExtractedSegment]:
    """Feed the page's body lines to the open section; return the passages that closed.

    Running headers/footers and listing pages (contents, index) give no passages.
    """
    layout, builder = context.layout, context.passages
    body = (
        []
        if page in layout.listing_pages
        else [
            line for index, line in enumerate(lines) if not is_running(layout, lines, index, height)
        ]
    )
    listing = page in layout.listing_pages
    found, left = page_headings(layout, body, page, [] if listing else context.carried)
    # A bookmark placed at the foot of a page whose heading is printed overleaf (or on a
    # page without body text) starts the next page instead, once; none from a contents page.
    context.carried = [] if listing else [replace(e, y=None) for e in left if e.page == page]
    marks = {mark.index: mark for mark in found}
    segments: list[ExtractedSegment] = []
    heading_end = -1
    for index, line in enumerate(body):
        if (mark := marks.get(index)) is not None:
            segments.extend(builder.heading(mark.level, mark.title))
            heading_end = index + mark.length
        segments.extend(builder.add(line, body=index >= heading_end))
    if layout.mode == "pages":
        segments.extend(builder.flush())
    return segments


def render_page(page: pymupdf.Page, dpi: int, max_pixels: int) -> pymupdf.Pixmap:
    """Return the page rendered at ``dpi``, lowered if it would exceed ``max_pixels``."""
    zoom = dpi / 72
    area = page.rect.width * page.rect.height * zoom * zoom
    if area > max_pixels:
        zoom *= (max_pixels / area) ** 0.5
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)


def ocr_segments(page: pymupdf.Page, options: ExtractOptions) -> list[ExtractedSegment]:
    """Return passages read by OCR from a render of the page, boxes in PDF points."""
    zoom = min(OCR_DPI / 72, MAX_OCR_SIDE / max(page.rect.width, page.rect.height, 1.0))
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace=pymupdf.csRGB)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    blocks = [line.as_block(1.0 / zoom) for line in ocr_image(image)]
    return list(block_segments(blocks, options, page=page.number + 1))


def image_segments(context: PageContext, page: pymupdf.Page) -> list[ExtractedSegment]:
    """Return the page's embedded images not seen on an earlier page and large enough."""
    options = context.options
    segments = []
    # One pass over the page's image placements; get_image_rects would hash every image.
    placed: dict[int, pymupdf.Rect] = {}
    for info in page.get_image_info(xrefs=True):
        placed.setdefault(info["xref"], pymupdf.Rect(info["bbox"]))
    for item in page.get_images(full=True):
        xref, width, height = item[0], item[2], item[3]
        if xref in context.seen_images or min(width, height) < options.min_image_side:
            continue
        if width * height > options.max_image_pixels or xref not in placed:
            continue
        if _over_decode_budget(item, options.max_image_decode_bytes):
            continue
        rects = [placed[xref]]
        context.seen_images.add(xref)
        encoded = _image_bytes(context.doc, xref)
        if encoded is not None:
            segments.append(
                ExtractedSegment(
                    modality=Modality.IMAGE,
                    locator=Locator(page=page.number + 1, bbox=_box(rects[0])),
                    media=encoded[0],
                    media_type=encoded[1],
                )
            )
    return segments


def _over_decode_budget(item: tuple[Any, ...], budget: int) -> bool:
    """Return True when the embedded image of ``get_images`` row ``item`` could not be decoded
    within ``budget`` bytes (its embedding would fail); a JPEG decodes reduced instead."""
    width, height, colorspace, image_filter = item[2], item[3], item[5], item[8]
    if image_filter == "DCTDecode":
        return False
    return decoded_bytes((width, height), "L" if colorspace == "DeviceGray" else "RGB") > budget


def _image_bytes(doc: pymupdf.Document, xref: int) -> tuple[bytes, str] | None:
    """Return an embedded image as (bytes, media type): PNG/JPEG kept, others as PNG."""
    try:
        info = doc.extract_image(xref)
        if info and info.get("ext") in _KEPT_IMAGE_TYPES:
            return info["image"], _KEPT_IMAGE_TYPES[info["ext"]]
        pix = pymupdf.Pixmap(doc, xref)
        if pix.colorspace is None or pix.colorspace.n > 3:
            pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
        return pix.tobytes("png"), "image/png"
    except Exception as exc:  # one undecodable image must not fail the whole document
        logger.warning("skipping undecodable PDF image xref=%s: %s", xref, exc)
        return None


def _box(rect: pymupdf.Rect) -> tuple[float, float, float, float]:
    """Return ``rect`` as a rounded (x0, y0, x1, y1) tuple."""
    return (round(rect.x0, 2), round(rect.y0, 2), round(rect.x1, 2), round(rect.y1, 2))
