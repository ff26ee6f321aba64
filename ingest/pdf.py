"""PDF -> per-page text passages, page renders, embedded images and OCR (PyMuPDF).

Pages stream one at a time: the document is reopened when segments are pulled and only
the current page's segments are held in memory, so a 2000-page manual stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymupdf

from ingest.base import Extraction, ExtractOptions
from ingest.ocr import ocr_available, ocr_unavailable_reason
from ingest.pdf_page import PageContext, page_segments
from ingest.pdf_passages import PassageBuilder
from ingest.pdf_structure import DocumentLayout, analyse
from mmrag.domain import ExtractedSegment
from mmrag.errors import BadInput

_METADATA_KEYS = {
    "title": "title", "author": "author", "subject": "subject", "keywords": "keywords",
    "creator": "creator", "producer": "producer", "creationDate": "creation_date",
    "modDate": "modification_date", "format": "pdf_version",
}  # fmt: skip


def extract_pdf(path: Path, media_type: str, options: ExtractOptions) -> Extraction:
    """Return the metadata, first-page thumbnail and streamed segments of a PDF."""
    doc = open_pdf(path, options)
    try:
        metadata = pdf_metadata(doc)
        first = doc.load_page(0)
        zoom = options.thumbnail_side / max(first.rect.width, first.rect.height, 1.0)
        thumbnail = first.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom)).tobytes("png")
        layout = analyse(doc) if options.pdf_structure else DocumentLayout(mode="off")
    except Exception as exc:  # MuPDF raises several error classes for damaged files
        raise BadInput(f"PDF is damaged: {exc}", code="pdf_corrupt") from exc
    finally:
        doc.close()
    if options.ocr and not ocr_available():
        metadata["ocr_unavailable"] = ocr_unavailable_reason()
    metadata.update(layout.metadata())
    return Extraction(
        media_type=media_type,
        metadata=metadata,
        segments=_segments(path, options, layout),
        thumbnail=thumbnail,
    )


def open_pdf(path: Path, options: ExtractOptions) -> pymupdf.Document:
    """Return the opened PDF, refusing corrupt, encrypted, empty and overlong documents."""
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # MuPDF raises several error classes for damaged files
        raise BadInput(f"PDF cannot be opened: {exc}", code="pdf_corrupt") from exc
    try:
        _check(doc, options)
    except BadInput:
        doc.close()
        raise
    except Exception as exc:  # a broken page tree fails when MuPDF counts the pages
        doc.close()
        raise BadInput(f"PDF cannot be read: {exc}", code="pdf_corrupt") from exc
    return doc


def pdf_metadata(doc: pymupdf.Document) -> dict[str, Any]:
    """Return the document's non-empty info fields under snake_case names, and page_count."""
    info = doc.metadata or {}
    metadata: dict[str, Any] = {
        name: str(info[key]).strip()
        for key, name in _METADATA_KEYS.items()
        if info.get(key) and str(info[key]).strip()
    }
    metadata["page_count"] = doc.page_count
    if doc.is_repaired:  # MuPDF rebuilt a damaged file: content may be missing
        metadata["repaired"] = True
    return metadata


def _check(doc: pymupdf.Document, options: ExtractOptions) -> None:
    """Raise :class:`BadInput` for a document that cannot or must not be extracted."""
    if doc.needs_pass:
        raise BadInput("PDF is encrypted and needs a password", code="pdf_encrypted")
    if doc.page_count == 0:
        raise BadInput("PDF has no pages", code="pdf_no_pages")
    if doc.page_count > options.max_pdf_pages:
        raise BadInput(
            f"PDF has {doc.page_count} pages; the limit is {options.max_pdf_pages}",
            code="pdf_too_many_pages",
        )


def _segments(
    path: Path, options: ExtractOptions, layout: DocumentLayout
) -> Iterator[ExtractedSegment]:
    """Yield every page's segments in page order, holding one page (and the lines of the
    open section) at a time."""
    doc = open_pdf(path, options)
    try:
        passages = PassageBuilder(options)
        context = PageContext(
            doc=doc, options=options, ocr=options.ocr and ocr_available(),
            layout=layout, passages=passages,
        )  # fmt: skip
        for index in range(doc.page_count):
            try:
                segments = page_segments(context, doc.load_page(index))
            except BadInput:
                raise
            except Exception as exc:  # a damaged page fails the document with its number
                raise BadInput(
                    f"PDF page {index + 1} is damaged: {exc}", code="pdf_corrupt"
                ) from exc
            yield from segments
        yield from passages.flush()
    finally:
        doc.close()
