"""PDFs: per-page passages with boxes, renders, embedded images, metadata and bad input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pymupdf
import pytest

from ingest.base import ExtractOptions
from ingest.extract import extract_file
from mmrag.domain import Modality
from mmrag.errors import BadInput

PdfBuilder = Callable[..., Path]
ZERO_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _code(path: Path, options: ExtractOptions) -> str:
    with pytest.raises(BadInput) as info:
        list(extract_file(path, options).segments)
    return info.value.code


def test_pages_passages_and_boxes(make_pdf: PdfBuilder, options: ExtractOptions) -> None:
    texts = [f"Page {n} explains the cooling loop. " * 20 for n in (1, 2, 3)]
    path = make_pdf(texts, title="Cooling", name="manual.bin")
    extraction = extract_file(path, options)
    assert extraction.media_type == "application/pdf"
    assert extraction.metadata["title"] == "Cooling"
    assert extraction.metadata["author"] == "Ada Tester"
    assert extraction.metadata["page_count"] == 3
    assert extraction.thumbnail and extraction.thumbnail.startswith(b"\x89PNG")
    segments = list(extraction.segments)
    text_segments = [s for s in segments if s.modality == Modality.TEXT]
    assert {s.locator.page for s in text_segments} == {1, 2, 3}
    assert extraction.metadata["structure"] == "pages"  # no outline, one font: page passages
    # Offsets index the document's passage text: rebuild it from the passages' own spans.
    document = [" "] * max(s.locator.char_end or 0 for s in text_segments)
    for segment in text_segments:
        start = segment.locator.char_start or 0
        assert "".join(document[start : start + len(segment.text)]).strip() in segment.text
        document[start : start + len(segment.text)] = list(segment.text)
    with pymupdf.open(path) as doc:
        for segment in text_segments:
            assert segment.locator.page is not None and segment.locator.bbox is not None
            assert f"Page {segment.locator.page} explains" in segment.text
            x0, y0, x1, y1 = segment.locator.bbox
            assert 60 <= x0 < x1 <= 552 and 90 <= y0 < y1 <= 710
            loc = segment.locator
            assert loc.char_end is not None and loc.char_start is not None
            assert loc.char_end - loc.char_start == len(segment.text)
            page = doc[segment.locator.page - 1]
            words = page.get_text("words", clip=pymupdf.Rect(segment.locator.bbox))
            assert segment.text.split()[0] in {w[4] for w in words}


def test_page_renders(make_pdf: PdfBuilder) -> None:
    options = ExtractOptions(ocr=False, page_render_dpi=36)
    segments = list(extract_file(make_pdf(["a b c", "d e f"]), options).segments)
    renders = [s for s in segments if s.modality == Modality.PAGE_IMAGE]
    assert [r.locator.page for r in renders] == [1, 2]
    assert renders[0].locator.bbox == (0.0, 0.0, 612.0, 792.0)
    assert renders[0].media_type == "image/png" and renders[0].media
    pixmap = pymupdf.Pixmap(renders[0].media)
    assert (pixmap.width, pixmap.height) == (306, 396)


def test_embedded_images(
    tmp_path: Path, options: ExtractOptions, png_factory: Callable[..., bytes]
) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "A figure follows below the heading text.")
    page.insert_image(pymupdf.Rect(100, 200, 300, 320), stream=png_factory((200, 120)))
    page.insert_image(pymupdf.Rect(400, 200, 410, 210), stream=png_factory((10, 10), "red"))
    doc.new_page().insert_image(pymupdf.Rect(50, 50, 250, 170), stream=png_factory((200, 120)))
    path = tmp_path / "figure.pdf"
    doc.save(path)
    images = [s for s in extract_file(path, options).segments if s.modality == Modality.IMAGE]
    assert len(images) == 1  # tiny icon skipped; the repeat on page 2 is the same xref
    image = images[0]
    assert image.locator.page == 1
    assert image.locator.bbox == pytest.approx((100, 200, 300, 320), abs=0.5)
    assert image.media_type in ("image/png", "image/jpeg") and image.media
    assert pymupdf.Pixmap(image.media).width == 200


def test_embedded_image_over_decode_budget_is_skipped(
    tmp_path: Path, options: ExtractOptions, png_factory: Callable[..., bytes]
) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), "A poster is embedded below.")
    page.insert_image(pymupdf.Rect(100, 200, 500, 600), stream=png_factory((1600, 1600)))
    path = tmp_path / "poster.pdf"
    doc.save(path)
    budget = replace(options, max_image_decode_bytes=4_000_000)  # the poster needs 10.24 MB
    for opts, images in ((options, 1), (budget, 0)):
        segments = list(extract_file(path, opts).segments)
        assert sum(s.modality == Modality.IMAGE for s in segments) == images
        assert any("poster" in s.text for s in segments if s.modality == Modality.TEXT)


def test_truncated_pdf(make_pdf: PdfBuilder, options: ExtractOptions) -> None:
    path = make_pdf(["some text"])
    path.write_bytes(path.read_bytes()[:300])
    assert _code(path, options) == "pdf_corrupt"


def test_encrypted_pdf(make_pdf: PdfBuilder, tmp_path: Path, options: ExtractOptions) -> None:
    with pymupdf.open(make_pdf(["secret"])) as doc:
        doc.save(
            tmp_path / "locked.pdf",
            encryption=pymupdf.PDF_ENCRYPT_AES_256,
            user_pw="user",
            owner_pw="owner",
        )
    assert _code(tmp_path / "locked.pdf", options) == "pdf_encrypted"


def test_zero_page_pdf(tmp_path: Path, options: ExtractOptions) -> None:
    path = tmp_path / "zero.pdf"
    path.write_bytes(ZERO_PAGE_PDF)
    assert _code(path, options) == "pdf_no_pages"


def test_too_many_pages(make_pdf: PdfBuilder) -> None:
    path = make_pdf(["one", "two", "three"])
    assert _code(path, ExtractOptions(ocr=False, max_pdf_pages=2)) == "pdf_too_many_pages"
